"""Plain statistics for CaseLog's reports and dashboard: rates with Wilson intervals, quartiles, Kaplan-Meier.

Pure functions on plain numbers, no I/O and no Qt, so every figure a chart shows can be checked by hand.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


# ---- rates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """`events` out of `n` with its 95% Wilson interval; `proportion` is None when n is 0 (show it blank)."""

    events: int
    n: int
    proportion: float | None
    lower: float
    upper: float


def rate(events: int, n: int, z: float = Z_95) -> Rate:
    """A proportion with its Wilson interval, validated the same way as `wilson_interval`."""
    lower, upper = wilson_interval(events, n, z)
    return Rate(events=events, n=n, proportion=events / n if n else None, lower=lower, upper=upper)


# ---- quartiles ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quartiles:
    """Five-number summary of `n` values; every number is None when n is 0.

    Quantiles are Hyndman and Fan's type 7 (linear interpolation between order statistics), the default of
    numpy, R's `quantile()` and Excel's QUARTILE.INC, so a reviewer can reproduce them in any of those.
    """

    n: int
    minimum: float | None
    q1: float | None
    median: float | None
    q3: float | None
    maximum: float | None


EMPTY_QUARTILES = Quartiles(0, None, None, None, None, None)


def quantile(sorted_values: Sequence[float], p: float) -> float:
    """Type-7 quantile of values sorted ascending: x[h] interpolated at h = (n - 1) * p (0-based).

    Raises ValueError on no values or p outside [0, 1].
    """
    return _quantile_of_counts([(v, 1) for v in sorted_values], len(sorted_values), p)


def median(values: Iterable[float]) -> float | None:
    """Median (type 7, the usual mean of the middle two for even n), None when there are no values."""
    return summarize(values).median


def summarize(values: Iterable[float]) -> Quartiles:
    """Minimum, quartiles (type 7) and maximum of any values."""
    return summarize_counts(Counter(values))


def summarize_counts(counts: Mapping[float, int]) -> Quartiles:
    """The same summary from a frequency table {value: how many}, as SQL's GROUP BY returns it.

    Durations and scores are whole numbers in small ranges, so the database sends a few hundred counts
    instead of every value; the result is exactly that of `summarize` on the expanded values.
    """
    if any(c < 0 for c in counts.values()):
        raise ValueError("counts must not be negative")
    table = sorted((v, c) for v, c in counts.items() if c > 0)
    n = sum(c for _, c in table)
    if n == 0:
        return EMPTY_QUARTILES
    return Quartiles(
        n=n,
        minimum=table[0][0],
        q1=_quantile_of_counts(table, n, 0.25),
        median=_quantile_of_counts(table, n, 0.5),
        q3=_quantile_of_counts(table, n, 0.75),
        maximum=table[-1][0],
    )


def _quantile_of_counts(table: Sequence[tuple[float, int]], n: int, p: float) -> float:
    if n == 0:
        raise ValueError("no values: a quantile needs at least one")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    h = (n - 1) * p
    k = math.floor(h)
    low = _order_statistic(table, k)
    if h == k:
        return float(low)
    high = _order_statistic(table, k + 1)
    return float(low + (h - k) * (high - low))


def _order_statistic(table: Sequence[tuple[float, int]], k: int) -> float:
    """The k-th smallest value (0-based) of a sorted frequency table."""
    seen = 0
    for value, count in table:
        seen += count
        if k < seen:
            return value
    raise IndexError(k)  # unreachable for 0 <= k < n


# ---- Kaplan-Meier ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One subject's follow-up: the event happened at `time`, or (event False) it was censored then."""

    time: float
    event: bool


@dataclass(frozen=True, slots=True)
class SurvivalStep:
    """The curve at one distinct time: `at_risk` just before it, events and censorings at it, survival after."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """A Kaplan-Meier curve. `steps` has one entry per distinct time with an event or a censoring
    (censoring-only steps keep the survival and are where a chart draws its tick marks)."""

    n: int
    events: int
    steps: tuple[SurvivalStep, ...]

    @property
    def censored(self) -> int:
        return self.n - self.events

    def survival_at(self, time: float) -> float:
        """S(time): right-continuous, 1.0 before the first event."""
        found = 1.0
        for step in self.steps:
            if step.time > time:
                break
            found = step.survival
        return found

    def at_risk(self, time: float) -> int:
        """Subjects still followed at `time` (event or censoring at `time` or later), as printed under curves."""
        for step in self.steps:
            if step.time >= time:
                return step.at_risk
        return 0

    @property
    def median(self) -> float | None:
        """Median survival time: the first time the curve is at or below 0.5; None when it never gets there.

        (R's survfit takes the midpoint to the next event time when the curve sits exactly on 0.5;
        the first-time rule is the one in most textbooks and never invents a time nobody was seen at.)
        """
        for step in self.steps:
            if step.survival <= 0.5:
                return step.time
        return None


def kaplan_meier(observations: Iterable[Observation | tuple[float, bool]]) -> KaplanMeier:
    """Product-limit estimate from right-censored observations (time, event).

    Ties: at one time, events come before censorings, so a subject censored at t still counts as at
    risk for the events at t (the standard convention of Kaplan and Meier, R and SAS).
    Raises ValueError for a negative or non-finite time.
    """
    events_at: dict[float, int] = defaultdict(int)
    censored_at: dict[float, int] = defaultdict(int)
    for item in observations:
        time, event = (item.time, item.event) if isinstance(item, Observation) else item
        (events_at if event else censored_at)[time] += 1
    return kaplan_meier_counts(events_at, censored_at)


def kaplan_meier_counts(events_at: Mapping[float, int], censored_at: Mapping[float, int]) -> KaplanMeier:
    """The same estimate from counts per time ({time: events}, {time: censorings}), for many subjects."""
    for time, count in (*events_at.items(), *censored_at.items()):
        if not math.isfinite(time) or time < 0:
            raise ValueError(f"survival times must be finite and not negative, got {time}")
        if count < 0:
            raise ValueError(f"counts must not be negative, got {count} at {time}")
    n = sum(events_at.values()) + sum(censored_at.values())
    steps: list[SurvivalStep] = []
    at_risk = n
    survival = 1.0
    for time in sorted(
        t for t in events_at.keys() | censored_at.keys() if events_at.get(t, 0) or censored_at.get(t, 0)
    ):
        d, c = events_at.get(time, 0), censored_at.get(time, 0)
        if d:
            survival *= 1.0 - d / at_risk
        steps.append(SurvivalStep(time=time, at_risk=at_risk, events=d, censored=c, survival=survival))
        at_risk -= d + c
    return KaplanMeier(n=n, events=sum(events_at.values()), steps=tuple(steps))
