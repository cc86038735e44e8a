"""caselog.stats: Wilson intervals, rates, quartiles and Kaplan-Meier against values worked out by hand."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from typing import Any

import lifelines
import lifelines.statistics
import lifelines.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st

from caselog.stats import (
    EMPTY_QUARTILES,
    Z_95,
    Observation,
    Quartiles,
    chi_square_sf_1,
    kaplan_meier,
    log_rank,
    median,
    quantile,
    rate,
    summarize,
    summarize_counts,
    wilson_interval,
)


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


# ---- rates ----------------------------------------------------------------------------------------------


def test_rate_carries_the_proportion_and_its_wilson_interval() -> None:
    r = rate(3, 40)
    assert (r.events, r.n, r.proportion) == (3, 40, 0.075)
    assert (r.lower, r.upper) == pytest.approx((0.025836, 0.198642), abs=2e-6)


def test_a_rate_of_no_cases_is_blank_not_zero() -> None:
    r = rate(0, 0)
    assert r.proportion is None and (r.lower, r.upper) == (0.0, 1.0)


def test_a_rate_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        rate(5, 4)


# ---- quartiles (Hyndman-Fan type 7) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # h = 3p: Q1 at h=0.75 -> 1 + 0.75 * 1; median at 1.5 -> 2.5; Q3 at 2.25 -> 3.25.
        ([1, 2, 3, 4], Quartiles(4, 1, 1.75, 2.5, 3.25, 4)),
        # h = 5p: Q1 at 1.25 -> 15 + 0.25 * 21 = 20.25; median at 2.5 -> (36 + 39) / 2; Q3 at 3.75 -> 39.75.
        ([7, 15, 36, 39, 40, 41], Quartiles(6, 7, 20.25, 37.5, 39.75, 41)),
        # Odd n, given unsorted: h = 2p: Q1 at 0.5 -> 1.5, median the middle value, Q3 at 1.5 -> 2.5.
        ([3, 1, 2], Quartiles(3, 1, 1.5, 2, 2.5, 3)),
        # h = 4p lands on whole numbers: Q1 = x[1], median = x[2], Q3 = x[3].
        ([10, 20, 30, 40, 50], Quartiles(5, 10, 20, 30, 40, 50)),
        ([5], Quartiles(1, 5, 5, 5, 5, 5)),
        # Ties: 2, 2, 2, 10 -> Q1 at 0.75 and median at 1.5 fall between twos; Q3 at 2.25 -> 2 + 0.25 * 8 = 4.
        ([2, 10, 2, 2], Quartiles(4, 2, 2, 2, 4, 10)),
    ],
)
def test_quartiles_match_hand_computed_values(values: list[int], expected: Quartiles) -> None:
    assert summarize(values) == expected
    assert summarize_counts(Counter(values)) == expected


def test_no_values_give_a_blank_summary() -> None:
    assert summarize([]) == EMPTY_QUARTILES == summarize_counts({})
    assert summarize_counts({7: 0}) == EMPTY_QUARTILES
    assert median([]) is None


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert median([4, 1, 3, 2]) == 2.5


def test_quantile_at_the_ends_is_the_minimum_and_maximum() -> None:
    assert quantile([1, 5, 9], 0.0) == 1 and quantile([1, 5, 9], 1.0) == 9
    assert quantile([1, 5, 9], 0.9) == pytest.approx(8.2)  # h = 1.8: 5 + 0.8 * 4


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_quantile_refuses_p_outside_zero_to_one(p: float) -> None:
    with pytest.raises(ValueError):
        quantile([1, 2], p)


def test_quantile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        summarize_counts({3: -1})


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=60))
def test_quartiles_agree_with_pythons_inclusive_method(values: list[int]) -> None:
    """statistics.quantiles(method="inclusive") is type 7 too: an independent implementation to agree with."""
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    got = summarize(values)
    assert (got.q1, got.median, got.q3) == pytest.approx((q1, med, q3), abs=1e-9)
    assert summarize_counts(Counter(values)) == got


# ---- Kaplan-Meier ---------------------------------------------------------------------------------------

# Freireich et al. (1963), 6-MP arm, weeks of remission; False marks a censored time. The textbook example
# (Kleinbaum & Klein, Survival Analysis, ch. 2) with events and censorings tied at 6 and at 10 weeks.
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False), (11, False),
    (13, True), (16, True), (17, False), (19, False), (20, False), (22, True), (23, True), (25, False),
    (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip


def test_kaplan_meier_reproduces_the_textbook_table() -> None:
    km = kaplan_meier(SIX_MP)
    assert (km.n, km.events, km.censored) == (21, 9, 12)
    events = [(s.time, s.at_risk, s.events, s.censored, round(s.survival, 4)) for s in km.steps if s.events]
    assert events == [
        (6, 21, 3, 1, 0.8571),  # 18/21
        (7, 17, 1, 0, 0.8067),  # x 16/17
        (10, 15, 1, 1, 0.7529),  # x 14/15
        (13, 12, 1, 0, 0.6902),  # x 11/12
        (16, 11, 1, 0, 0.6275),  # x 10/11
        (22, 7, 1, 0, 0.5378),  # x 6/7
        (23, 6, 1, 0, 0.4482),  # x 5/6
    ]
    censor_only = [(s.time, s.at_risk, s.censored) for s in km.steps if not s.events]
    assert censor_only == [(9, 16, 1), (11, 13, 1), (17, 10, 1), (19, 9, 1), (20, 8, 1), (25, 5, 1), (32, 4, 2),
                           (34, 2, 1), (35, 1, 1)]  # fmt: skip
    assert km.median == 23


def test_kaplan_meier_reads_survival_and_numbers_at_risk_between_steps() -> None:
    km = kaplan_meier(SIX_MP)
    assert km.survival_at(0) == 1.0
    assert km.survival_at(5.9) == 1.0
    assert km.survival_at(6) == pytest.approx(18 / 21)
    assert km.survival_at(12) == pytest.approx(18 / 21 * 16 / 17 * 14 / 15)
    assert km.survival_at(100) == pytest.approx(0.448179, abs=1e-6)
    assert [km.at_risk(t) for t in (0, 6, 6.5, 12, 23, 35, 36)] == [21, 21, 17, 12, 6, 1, 0]


def test_an_event_and_a_censoring_at_the_same_time_count_the_event_first() -> None:
    # At t=2 three are at risk (the censored one too): S = 2/3. Censoring first would give 1/2.
    km = kaplan_meier([(2, True), (2, False), (3, True)])
    assert [(s.time, s.at_risk, s.events, s.censored) for s in km.steps] == [(2, 3, 1, 1), (3, 1, 1, 0)]
    assert km.steps[0].survival == pytest.approx(2 / 3)
    assert km.steps[1].survival == 0.0
    assert km.median == 3


def test_median_is_the_first_time_at_or_below_one_half() -> None:
    km = kaplan_meier([Observation(1, True), Observation(2, True), Observation(3, True), Observation(4, True)])
    assert [s.survival for s in km.steps] == [0.75, 0.5, 0.25, 0.0]
    assert km.median == 2


def test_median_not_reached_is_none() -> None:
    km = kaplan_meier([(1, True), (5, False), (6, False)])
    assert km.steps[-1].survival == pytest.approx(2 / 3)
    assert km.median is None


def test_all_censored_keeps_survival_at_one() -> None:
    km = kaplan_meier([(4, False), (1, False), (4, False)])
    assert [(s.time, s.at_risk, s.censored, s.survival) for s in km.steps] == [(1, 3, 1, 1.0), (4, 2, 2, 1.0)]
    assert km.events == 0 and km.median is None


def test_no_observations_give_an_empty_curve() -> None:
    km = kaplan_meier([])
    assert (km.n, km.events, km.steps, km.median) == (0, 0, (), None)
    assert km.survival_at(10) == 1.0 and km.at_risk(0) == 0


def test_an_event_at_time_zero_counts() -> None:
    km = kaplan_meier([(0, True), (5, False)])
    assert km.steps[0].survival == 0.5 and km.median == 0


@pytest.mark.parametrize("time", [-1.0, math.inf, math.nan])
def test_impossible_times_are_refused(time: float) -> None:
    with pytest.raises(ValueError):
        kaplan_meier([(time, True)])


# ---- Greenwood band, the median's interval, survival at set times -------------------------------------


def test_greenwood_variance_and_log_log_band_match_the_textbook_at_six_weeks() -> None:
    """6-MP at 6 weeks: S = 18/21, Greenwood 3/(21*18), SE 0.0764; R's survfit(conf.type="log-log")
    prints 0.620 to 0.952 there. Worked by hand: v = log S = -0.15415, z sqrt(G) / v = -1.1327."""
    step = kaplan_meier(SIX_MP).steps[0]
    assert step.greenwood == pytest.approx(3 / (21 * 18))
    assert math.sqrt(step.variance) == pytest.approx(0.0764, abs=5e-5)
    assert (step.lower, step.upper) == pytest.approx((0.6197, 0.9516), abs=5e-5)


def test_band_is_one_before_the_first_event_and_zero_once_everyone_failed() -> None:
    km = kaplan_meier([(1, False), (2, True), (2, True), (3, True)])
    assert (km.steps[0].lower, km.steps[0].upper) == (1.0, 1.0)
    assert km.band_at(0.5) == (1.0, 1.0)
    assert (km.steps[-1].survival, km.steps[-1].lower, km.steps[-1].upper) == (0.0, 0.0, 0.0)
    # 2/3 failed at t=2: S = 1/3, Greenwood 2/(3*1) (the final step's infinite term is left out, as lifelines).
    assert km.steps[1].greenwood == pytest.approx(2 / 3) and km.steps[2].greenwood == pytest.approx(2 / 3)


def test_the_band_always_contains_the_estimate() -> None:
    for step in kaplan_meier(SIX_MP).steps:
        assert step.lower <= step.survival <= step.upper


def test_median_interval_reads_the_band_edges() -> None:
    """6-MP: the lower edge first reaches 0.5 at 13 weeks; the upper edge never does (R prints 13 and NA)."""
    km = kaplan_meier(SIX_MP)
    assert km.median_ci == (13, None)
    assert kaplan_meier([(1, False)]).median_ci == (None, None)
    assert kaplan_meier([]).median_ci == (None, None)


def test_survival_at_a_time_beyond_all_follow_up_is_left_blank() -> None:
    km = kaplan_meier([(2, True), (10, False), (12, False)])
    inside = km.estimate_at(11)
    assert (inside.at_risk, inside.survival) == (1, pytest.approx(2 / 3))
    assert inside.lower == km.steps[0].lower and inside.upper == km.steps[0].upper
    beyond = km.estimate_at(13)
    assert (beyond.at_risk, beyond.survival, beyond.lower, beyond.upper) == (0, None, None, None)
    # A curve that reached zero is known to stay there.
    assert kaplan_meier([(1, True)]).estimate_at(5).survival == 0.0
    assert kaplan_meier([]).estimate_at(0).survival is None


# ---- log-rank -----------------------------------------------------------------------------------------

# Freireich et al. (1963), placebo arm: every child relapsed.
PLACEBO = [(t, True) for t in (1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23)]


def test_log_rank_reproduces_the_textbook_comparison() -> None:
    """6-MP against placebo: observed 9 and 21, expected 19.25 and 10.75, chi-square 16.79 (R's survdiff)."""
    result = log_rank(kaplan_meier(SIX_MP), kaplan_meier(PLACEBO))
    assert (result.observed_a, result.observed_b) == (9, 21)
    assert result.expected_a == pytest.approx(19.25, abs=0.01)
    assert result.expected_b == pytest.approx(10.75, abs=0.01)
    assert result.statistic == pytest.approx(16.79, abs=0.01)
    assert result.p_value == pytest.approx(4.17e-5, rel=0.01)
    assert result.degrees_of_freedom == 1


def test_log_rank_is_symmetric_between_the_groups() -> None:
    ab = log_rank(kaplan_meier(SIX_MP), kaplan_meier(PLACEBO))
    ba = log_rank(kaplan_meier(PLACEBO), kaplan_meier(SIX_MP))
    assert ab.statistic == pytest.approx(ba.statistic) and ab.p_value == pytest.approx(ba.p_value)


def test_log_rank_of_identical_groups_finds_no_difference() -> None:
    result = log_rank(kaplan_meier(SIX_MP), kaplan_meier(SIX_MP))
    assert result.statistic == pytest.approx(0.0, abs=1e-12) and result.p_value == pytest.approx(1.0)


def test_log_rank_with_an_empty_group_has_nothing_to_compare() -> None:
    result = log_rank(kaplan_meier(SIX_MP), kaplan_meier([]))
    assert (result.statistic, result.p_value, result.n_b) == (None, None, 0)


def test_chi_square_tail_with_one_degree_of_freedom() -> None:
    assert chi_square_sf_1(3.841458820694124) == pytest.approx(0.05, abs=1e-12)
    assert chi_square_sf_1(0.0) == 1.0


# ---- cross-check against lifelines (an independent implementation) ----------------------------------


def _random_sides(seed: int, n: int, *, top: int, censored_share: float) -> list[tuple[float, bool]]:
    """Whole-day times in a short range, so ties between events and censorings are common."""
    rng = random.Random(seed)
    return [(float(rng.randint(0, top)), rng.random() >= censored_share) for _ in range(n)]


CROSS_CHECK_SETS: dict[str, list[tuple[float, bool]]] = {
    "6-MP": [(float(t), e) for t, e in SIX_MP],
    "placebo": [(float(t), e) for t, e in PLACEBO],
    "ties": [(3.0, True), (3.0, True), (3.0, False), (5.0, True), (5.0, False), (5.0, False), (8.0, True)],
    "censored at 0": [(0.0, False), (0.0, False), (0.0, True), (4.0, True), (6.0, False), (9.0, True)],
    "all censored": [(2.0, False), (7.0, False), (7.0, False), (11.0, False)],
    "all fail": [(1.0, True), (2.0, True), (2.0, True), (5.0, True)],
    "one side": [(30.0, True)],
    **{f"random {seed}": _random_sides(seed, 200, top=40, censored_share=0.4) for seed in range(4)},
    "random heavy censoring": _random_sides(7, 300, top=900, censored_share=0.85),
}


def _lifelines_fit(data: list[tuple[float, bool]]) -> Any:
    fitter = lifelines.KaplanMeierFitter()
    return fitter.fit([t for t, _ in data], [e for _, e in data])


def _inf_to_none(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


@pytest.mark.parametrize("name", list(CROSS_CHECK_SETS))
def test_curve_band_and_median_agree_with_lifelines(name: str) -> None:
    data = CROSS_CHECK_SETS[name]
    ours = kaplan_meier(data)
    theirs = _lifelines_fit(data)
    band = theirs.confidence_interval_
    for time, survival, greenwood, lower, upper in zip(
        theirs.timeline, theirs.survival_function_.iloc[:, 0], theirs._cumulative_sq_, band.iloc[:, 0],
        band.iloc[:, 1], strict=True,
    ):  # fmt: skip
        assert ours.survival_at(time) == pytest.approx(survival, abs=1e-9)
        assert ours.band_at(time) == pytest.approx((lower, upper), abs=1e-9)
        step = next((s for s in reversed(ours.steps) if s.time <= time), None)
        assert (step.greenwood if step else 0.0) == pytest.approx(greenwood, abs=1e-9)
    assert ours.median == _inf_to_none(theirs.median_survival_time_)
    medians = lifelines.utils.median_survival_times(band)
    assert ours.median_ci == (_inf_to_none(medians.iloc[0, 0]), _inf_to_none(medians.iloc[0, 1]))
    months = [t for t in (0.0, 6.0, 12.0, 24.0, 36.0) if t <= max(t for t, _ in data)]
    for time, survival in zip(months, theirs.survival_function_at_times(months), strict=True):
        assert ours.estimate_at(time).survival == pytest.approx(survival, abs=1e-9)


LOG_RANK_PAIRS = [
    ("6-MP", "placebo"),
    ("ties", "censored at 0"),
    ("all censored", "ties"),
    ("all censored", "all censored"),
    ("one side", "all fail"),
    ("random 0", "random 1"),
    ("random 2", "random heavy censoring"),
    ("random 3", "random 3"),
]


@pytest.mark.parametrize(("a", "b"), LOG_RANK_PAIRS)
def test_log_rank_agrees_with_lifelines(a: str, b: str) -> None:
    first, second = CROSS_CHECK_SETS[a], CROSS_CHECK_SETS[b]
    ours = log_rank(kaplan_meier(first), kaplan_meier(second))
    theirs = lifelines.statistics.logrank_test(
        [t for t, _ in first], [t for t, _ in second], [e for _, e in first], [e for _, e in second]
    )
    assert ours.statistic == pytest.approx(theirs.test_statistic, abs=1e-9)
    assert ours.p_value == pytest.approx(theirs.p_value, abs=1e-9)


def test_log_rank_with_an_empty_group_is_not_computable_in_lifelines_either() -> None:
    ours = log_rank(kaplan_meier(SIX_MP), kaplan_meier([]))
    theirs = lifelines.statistics.logrank_test([t for t, _ in SIX_MP], [], [e for _, e in SIX_MP], [])
    assert ours.p_value is None and math.isnan(theirs.p_value)
