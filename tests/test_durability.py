"""caselog.durability: loss to follow-up beside the curves, the sensitivity curve, the claims and the log-rank test,
worked out by hand from count tables, then from a small clinic through the real service."""

from __future__ import annotations

from collections import defaultdict

import pytest

from caselog import stats
from caselog.durability import (
    AT_RISK_MONTHS,
    CLINIC_PAGE,
    SideTally,
    days_of,
    durability_from_tallies,
)


def _tally(
    repeats: dict[float, int], censored: dict[float, int], lost_at: dict[float, int], patients: int
) -> SideTally:
    tally = SideTally()
    tally.repeats.update(repeats)
    tally.censored.update(censored)
    tally.lost_at.update(lost_at)
    tally.patients.update(range(patients))
    return tally


def test_the_sensitivity_curve_counts_lost_sides_as_repeats_on_their_last_contact() -> None:
    """Five sides: repeats at 100 and 200 days; censored at 0 (lost, never seen), 50 (lost) and 150 days.
    Censored: S(100) = 2/3 (three at risk), S(200) = 0. Lost as failures: 4/5 at 0, 3/5 at 50, 2/5 at 100."""
    tally = _tally({100: 1, 200: 1}, {0: 1, 50: 1, 150: 1}, {0: 1, 50: 1}, patients=4)
    tally.no_contact = 1
    curve = durability_from_tallies({"radiofrequency_ablation": tally}).curves[0]
    assert (curve.n, curve.patients, curve.repeats, curve.censored, curve.lost, curve.no_contact) == (5, 4, 2, 3, 2, 1)
    assert curve.curve.survival_at(100) == pytest.approx(2 / 3) and curve.median_days == 200
    worst = curve.sensitivity
    assert worst is not None and worst.failures == 4
    assert [round(s.survival, 4) for s in worst.curve.steps] == [0.8, 0.6, 0.4, 0.4, 0.0]
    assert worst.median_days == 100 and worst.median_months == 3.3
    assert curve.sensitivity_table().rows[0][:6] == (0, 0.0, 5, 1, 0, 0.8)


def test_relief_is_read_at_six_to_sixty_months_and_left_blank_beyond_follow_up() -> None:
    tally = _tally({200: 1}, {400: 2}, {}, patients=3)
    curve = durability_from_tallies({"endoscopic_rhizotomy": tally}).curves[0]
    assert [r.months for r in curve.relief] == list(AT_RISK_MONTHS) == [6, 12, 24, 36, 60]
    six, twelve = curve.relief_at(6), curve.relief_at(12)
    assert six is not None and (six.days, six.at_risk, six.survival) == (183, 3, 1.0)
    assert twelve is not None and (twelve.days, twelve.at_risk) == (365, 2)
    assert twelve.survival == pytest.approx(2 / 3)
    km = stats.kaplan_meier([(200, True), (400, False), (400, False)])
    assert (twelve.lower, twelve.upper) == (km.steps[0].lower, km.steps[0].upper)
    assert [r.survival for r in curve.relief[2:]] == [None, None, None]  # nobody followed 2 years
    assert days_of(60) == 1826


def test_the_claims_sit_beside_the_clinics_median_and_relief_at_12_and_60_months() -> None:
    rfa = _tally({100: 1, 150: 1, 300: 1}, {400: 1}, {}, patients=4)
    durability = durability_from_tallies({"radiofrequency_ablation": rfa})
    table = durability.claims_table()
    assert [row[:3] for row in table.rows] == [
        ("Radiofrequency ablation (facet medial branch)", "Relief for 6-12 months", CLINIC_PAGE),
        ("Endoscopic rhizotomy (facet medial branch)", "Relief for up to 5 years", CLINIC_PAGE),
    ]
    # RFA: 3/4, 2/4 at 150 days (the median: 4.9 months), 1/4 at 300; relief at 12 months 25%, at 60 blank.
    assert table.rows[0][3:5] == (4, 4.9)
    assert table.rows[0][7] == 25.0 and table.rows[0][10:] == (None, None, None)
    assert table.rows[1][3:] == (0, None, None, None, None, None, None, None, None, None)
    assert durability.comparison is None  # no rhizotomy to compare with


def test_the_log_rank_test_compares_rhizotomy_with_rfa() -> None:
    rhizotomy = _tally({700: 1}, {900: 3}, {}, patients=4)
    rfa = _tally({100: 2, 200: 2}, {}, {}, patients=4)
    durability = durability_from_tallies({"radiofrequency_ablation": rfa, "endoscopic_rhizotomy": rhizotomy})
    assert [c.procedure for c in durability.curves] == ["endoscopic_rhizotomy", "radiofrequency_ablation"]
    comparison = durability.comparison
    assert comparison is not None
    assert (comparison.procedure_a, comparison.procedure_b) == ("endoscopic_rhizotomy", "radiofrequency_ablation")
    expected = stats.log_rank(durability.curves[0].curve, durability.curves[1].curve)
    assert comparison.result == expected
    # By hand: at 100 days 8 at risk (4 each), 2 repeats: E = 1, V = 2 * 1/2 * 1/2 * 6/7; at 200: 6 at risk
    # (4 and 2), 2 repeats: E = 4/3, V = 2 * 2/3 * 1/3 * 4/5; at 700: 4 and 0 at risk, E = 1, V = 0.
    assert expected.expected_a == pytest.approx(1 + 4 / 3 + 1)
    assert expected.variance == pytest.approx(3 / 7 + 16 / 45)
    assert expected.statistic == pytest.approx((1 - 10 / 3) ** 2 / (3 / 7 + 16 / 45))
    row = comparison.table().rows[0]
    assert row[:3] == ("Endoscopic rhizotomy (facet medial branch)", 4, 1) and row[5] == 1


def test_every_durability_table_has_a_cell_per_column() -> None:
    tallies: dict[str, SideTally] = defaultdict(SideTally)
    tallies["radiofrequency_ablation"] = _tally({30: 1}, {0: 1, 90: 2}, {90: 1}, patients=2)
    tallies["endoscopic_rhizotomy"] = _tally({}, {800: 1}, {}, patients=1)
    tables = durability_from_tallies(tallies).tables()
    assert len(tables) == 8  # summary, relief, claims, log-rank, two curves, two sensitivity curves
    assert all(len(row) == len(t.columns) for t in tables for row in t.rows)
