"""Plain statistics for CaseLog's reports and screens: rates with confidence intervals (pure functions, no I/O)."""

from __future__ import annotations

import math

#: The normal quantile for a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion `successes / n`, as fractions in [0, 1].

    Chosen over the textbook Wald interval because complication counts are small: Wald collapses
    to (0, 0) at 0/n and overshoots 1 near n/n, Wilson stays inside [0, 1] and keeps its coverage.

    With `n == 0` there is no information, so the interval is the whole range `(0.0, 1.0)`;
    reports show such a rate as blank rather than printing it.
    Raises ValueError for negative counts, `successes > n`, or a non-positive `z`.
    """
    if n < 0 or successes < 0:
        raise ValueError(f"counts must not be negative (successes={successes}, n={n})")
    if successes > n:
        raise ValueError(f"successes ({successes}) cannot exceed n ({n})")
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Exact bounds at the edges: rounding must not put 0/n above zero or n/n below one.
    lower = 0.0 if successes == 0 else max(0.0, centre - half_width)
    upper = 1.0 if successes == n else min(1.0, centre + half_width)
    return (lower, upper)
