"""Plain statistics for CaseLog's reports and dashboard: rates with Wilson intervals, quartiles, Kaplan-Meier
with its Greenwood band and the median's interval, and the log-rank test.

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
    #: Greenwood's sum of d / (n (n - d)) over the event times up to this one (lifelines' `cumulative_sq_`).
    greenwood: float = 0.0
    #: The 95% band at this time (exponential Greenwood, see `band`); 1.0 before the first event.
    lower: float = 1.0
    upper: float = 1.0

    @property
    def variance(self) -> float:
        """Greenwood's variance of the survival estimate: S(t)^2 times the sum."""
        return self.survival * self.survival * self.greenwood


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

    def band_at(self, time: float) -> tuple[float, float]:
        """The 95% band (lower, upper) at `time`, read like `survival_at` (1.0 before the first event)."""
        found = (1.0, 1.0)
        for step in self.steps:
            if step.time > time:
                break
            found = (step.lower, step.upper)
        return found

    @property
    def median_ci(self) -> tuple[float | None, float | None]:
        """The median's 95% interval: the first times the band's lower and upper edges are at or below 0.5.

        This is lifelines' `median_survival_times(kmf.confidence_interval_)` (Brookmeyer and Crowley's idea read
        off the band); None is an edge that never gets there ("not reached", lifelines' infinity).
        """
        return (_first_at_or_below(self.steps, 0.5, lower=True), _first_at_or_below(self.steps, 0.5, lower=False))

    def estimate_at(self, time: float) -> SurvivalEstimate:
        """Survival with its band and the number at risk at `time`; survival None beyond the last follow-up.

        Beyond the longest follow-up the curve says nothing (unless it already reached zero): a figure at
        60 months from sides followed for 2 years would be invented, so it is left blank.
        """
        at_risk = self.at_risk(time)
        survival = self.survival_at(time)
        if at_risk == 0 and (self.n == 0 or survival > 0):  # no side followed this long
            return SurvivalEstimate(time=time, at_risk=at_risk, survival=None, lower=None, upper=None)
        lower, upper = self.band_at(time)
        return SurvivalEstimate(time=time, at_risk=at_risk, survival=survival, lower=lower, upper=upper)


@dataclass(frozen=True, slots=True)
class SurvivalEstimate:
    """The curve read at one time: survival and its 95% band, None when the time lies beyond all follow-up."""

    time: float
    at_risk: int
    survival: float | None
    lower: float | None
    upper: float | None


def _first_at_or_below(steps: Sequence[SurvivalStep], q: float, *, lower: bool) -> float | None:
    """The first step time where the band's edge is at or below q; None when its last value stays above q."""
    if not steps or (steps[-1].lower if lower else steps[-1].upper) > q:
        return None
    return next(s.time for s in steps if (s.lower if lower else s.upper) <= q)


def band(survival: float, greenwood: float, z: float = Z_95) -> tuple[float, float]:
    """The exponential Greenwood (log(-log)) interval of one survival value, as lifelines' KaplanMeierFitter.

    With v = log S: exp(-exp(log(-v) -/+ z sqrt(greenwood) / v)). It stays inside [0, 1], unlike the plain
    S +/- z sqrt(Var). At S = 1 there is no information yet, so the band is (1, 1) (lifelines fills its
    0/0 with 1); at S = 0 it is (0, 0).
    """
    if survival >= 1.0:
        return (1.0, 1.0)
    if survival <= 0.0:
        return (0.0, 0.0)
    v = math.log(survival)
    spread = z * math.sqrt(greenwood) / v  # negative: v < 0
    log_minus_v = math.log(-v)
    return (math.exp(-math.exp(log_minus_v - spread)), math.exp(-math.exp(log_minus_v + spread)))


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
    greenwood = 0.0
    lower = upper = 1.0
    for time in sorted(
        t for t in events_at.keys() | censored_at.keys() if events_at.get(t, 0) or censored_at.get(t, 0)
    ):
        d, c = events_at.get(time, 0), censored_at.get(time, 0)
        if d:
            survival *= 1.0 - d / at_risk
            if d < at_risk:  # when all at risk fail the term is infinite; lifelines counts it as 0 (S is 0 then)
                greenwood += d / (at_risk * (at_risk - d))
            lower, upper = band(survival, greenwood)
        steps.append(
            SurvivalStep(time=time, at_risk=at_risk, events=d, censored=c, survival=survival, greenwood=greenwood,
                         lower=lower, upper=upper)
        )  # fmt: skip
        at_risk -= d + c
    return KaplanMeier(n=n, events=sum(events_at.values()), steps=tuple(steps))


# ---- log-rank ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRank:
    """The log-rank test of two curves: chi-square with 1 degree of freedom and its p-value.

    `observed_a`/`expected_a` are group A's events and those expected if both groups shared one curve.
    With a group empty there is nothing to compare: statistic and p-value are None.
    """

    n_a: int
    n_b: int
    observed_a: int
    expected_a: float
    observed_b: int
    expected_b: float
    variance: float
    statistic: float | None
    p_value: float | None
    degrees_of_freedom: int = 1


def chi_square_sf_1(x: float) -> float:
    """P(X >= x) for a chi-square with one degree of freedom: erfc(sqrt(x / 2))."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2.0))


def log_rank(a: KaplanMeier, b: KaplanMeier) -> LogRank:
    """Mantel's log-rank test from two curves' count tables, as lifelines.statistics.logrank_test.

    At each event time: expected events in A = d * n_A / n, variance d (n_A / n)(1 - n_A / n)(n - d) / (n - 1)
    (hypergeometric; the (n - d) / (n - 1) factor is 1 when n is 1). Statistic (O_A - E_A)^2 / V; when V is 0
    (no events at all) the statistic is 0 and p is 1, as lifelines' pseudo-inverse gives.
    """
    observed_a, expected_a, variance = 0, 0.0, 0.0
    events_b = 0
    steps_a, steps_b = a.steps, b.steps
    i = j = 0
    at_risk_a, at_risk_b = a.n, b.n
    while i < len(steps_a) or j < len(steps_b):
        time = min(steps_a[i].time if i < len(steps_a) else math.inf, steps_b[j].time if j < len(steps_b) else math.inf)
        d_a = c_a = d_b = c_b = 0
        if i < len(steps_a) and steps_a[i].time == time:
            d_a, c_a = steps_a[i].events, steps_a[i].censored
            i += 1
        if j < len(steps_b) and steps_b[j].time == time:
            d_b, c_b = steps_b[j].events, steps_b[j].censored
            j += 1
        d, n = d_a + d_b, at_risk_a + at_risk_b
        if d:
            share = at_risk_a / n
            expected_a += d * share
            variance += d * share * (1.0 - share) * ((n - d) / (n - 1) if n > 1 else 1.0)
            observed_a += d_a
            events_b += d_b
        at_risk_a -= d_a + c_a
        at_risk_b -= d_b + c_b
    expected_b = observed_a + events_b - expected_a
    if a.n == 0 or b.n == 0:
        statistic: float | None = None
        p_value: float | None = None
    else:
        statistic = (observed_a - expected_a) ** 2 / variance if variance > 0 else 0.0
        p_value = chi_square_sf_1(statistic)
    return LogRank(n_a=a.n, n_b=b.n, observed_a=observed_a, expected_a=expected_a, observed_b=events_b,
                   expected_b=expected_b, variance=variance, statistic=statistic, p_value=p_value)  # fmt: skip
