"""caselog.stats: the Wilson score interval against values worked out by hand and published tables."""

from __future__ import annotations

import math

import pytest

from caselog.stats import Z_95, wilson_interval


def _by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The textbook formula, written out separately from the implementation."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = (z / (1 + z * z / n)) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # 0/10: lower is exactly 0, upper z²/n / (1 + z²/n) = 0.38415 / 1.38415.
        (0, 10, 0.0, 0.277533),
        # 5/10: centre exactly 1/2, half-width 1.416008 * sqrt(0.025 + 0.0096036) = 0.263407.
        (5, 10, 0.236593, 0.763407),
        # 10/10: mirror of 0/10, upper exactly 1.
        (10, 10, 0.722467, 1.0),
        # 1/100, a typical complication rate: published as 0.18% to 5.45%.
        (1, 100, 0.001767, 0.054486),
        # 3/40: centre 0.112239, half-width 1.788227 * 0.048318 = 0.086404.
        (3, 40, 0.025836, 0.198642),
    ],
)
def test_wilson_matches_hand_computed_values(k: int, n: int, low: float, high: float) -> None:
    lower, upper = wilson_interval(k, n)
    assert lower == pytest.approx(low, abs=2e-6)
    assert upper == pytest.approx(high, abs=2e-6)


@pytest.mark.parametrize(("k", "n"), [(1, 3), (7, 19), (50, 1000), (999, 1000)])
def test_wilson_agrees_with_the_formula_written_out(k: int, n: int) -> None:
    assert wilson_interval(k, n) == pytest.approx(_by_hand(k, n), abs=1e-12)


def test_edges_are_exact_not_rounded() -> None:
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_no_cases_means_no_knowledge() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_interval_is_symmetric_between_successes_and_failures() -> None:
    low, high = wilson_interval(3, 17)
    mirror_low, mirror_high = wilson_interval(14, 17)
    assert low == pytest.approx(1 - mirror_high)
    assert high == pytest.approx(1 - mirror_low)


def test_interval_contains_the_observed_rate_and_narrows_with_more_cases() -> None:
    small = wilson_interval(2, 20)
    large = wilson_interval(200, 2000)
    assert small[0] < 0.1 < small[1]
    assert large[0] < 0.1 < large[1]
    assert large[1] - large[0] < small[1] - small[0]


def test_a_larger_z_gives_a_wider_interval() -> None:
    narrow = wilson_interval(4, 30, z=1.0)
    wide = wilson_interval(4, 30, z=Z_95)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


@pytest.mark.parametrize(("k", "n", "z"), [(-1, 10, Z_95), (1, -1, Z_95), (11, 10, Z_95), (1, 10, 0.0), (1, 10, -2.0)])
def test_impossible_counts_are_refused(k: int, n: int, z: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n, z)
