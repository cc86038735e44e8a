"""caselog.durability: loss to follow-up beside the curves, the sensitivity curve, the claims and the log-rank test,
worked out by hand from count tables, then from a small clinic through the real service."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import event

from caselog import stats
from caselog.accounts import AccountService, Actor
from caselog.dashboard import DashboardService
from caselog.db.engine import Database
from caselog.db.queries import plain_rows
from caselog.durability import (
    AT_RISK_MONTHS,
    CENSORING_RULE,
    CLINIC_PAGE,
    Durability,
    SideTally,
    days_of,
    durability_from_tallies,
    side_counts,
)
from caselog.durability_commands import report_durability
from caselog.errors import NotPermitted
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import TODAY, case_file, simple_case
from tests.test_cli import run, write


def _tally(
    repeats: dict[float, int], censored: dict[float, int], lost_at: dict[float, int], patients: int
) -> SideTally:
    tally = SideTally()
    tally.repeats.update(repeats)
    tally.censored.update(censored)
    tally.lost_at.update(lost_at)
    tally.patients = patients
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


# ---- from a small clinic, through the real service (SQLite and PostgreSQL) ---------------------------------

CARLA = {"mrn": "MRN-C", "family_name": "Novak", "given_name": "Carla", "birth_date": "1958-03-03", "sex": "female"}
DAN = {"mrn": "MRN-D", "family_name": "Okafor", "given_name": "Dan", "birth_date": "1962-07-07", "sex": "male"}
EVE = {"mrn": "MRN-E", "family_name": "Lindqvist", "given_name": "Eve", "birth_date": "1970-10-10", "sex": "female"}


def _case(day: str, procedure: str, patient: dict[str, str], level: str, side: str, *outcomes: tuple[str, str]) -> Any:
    scores = [{"timepoint": tp, "date": when, "nrs_back": 5} for tp, when in outcomes]
    return simple_case(day, procedure=procedure, patient=patient, levels=[{"level": level, "side": side}],
                       outcomes=scores)  # fmt: skip


LATER_CONTACT = [
    # Carla: an RFA with its baseline only (no follow-up), then seen again for a laminectomy 244 days later.
    _case("2024-01-10", "radiofrequency_ablation", CARLA, "L4-L5", "left", ("baseline", "2024-01-05")),
    _case("2024-09-10", "laminectomy", CARLA, "L2-L3", "bilateral"),
    # Dan: a rhizotomy seen at 6 months (185 days), after a block at another level on day 61.
    _case("2024-03-01", "endoscopic_rhizotomy", DAN, "L5-S1", "right", ("6m", "2024-09-02")),
    _case("2024-05-01", "medial_branch_block", DAN, "L3-L4", "left"),
    # Eve: a bilateral RFA with a baseline score only, never seen again.
    _case("2024-02-01", "radiofrequency_ablation", EVE, "L3-L4", "bilateral", ("baseline", "2024-01-20")),
]


@pytest.fixture
def later_contact(service: CaseService) -> Durability:
    service.import_cases(case_file(*LATER_CONTACT))
    return DashboardService(service, today=lambda: TODAY).durability()


def test_a_later_case_of_the_same_patient_is_a_contact(later_contact: Durability) -> None:
    """Carla's side is censored on her laminectomy (day 244), Dan's on his 6-month visit (day 185, later than
    his block on day 61); Eve's baseline is no follow-up, so her two sides are censored at day 0."""
    rfa = later_contact.curve("radiofrequency_ablation")
    rhizotomy = later_contact.curve("endoscopic_rhizotomy")
    assert rfa is not None and rhizotomy is not None
    assert [(s.time, s.at_risk, s.events, s.censored) for s in rfa.curve.steps] == [(0, 3, 0, 2), (244, 1, 0, 1)]
    assert [(s.time, s.censored) for s in rhizotomy.curve.steps] == [(185, 1)]
    assert (rfa.n, rfa.patients, rfa.no_contact, rhizotomy.no_contact) == (3, 2, 2, 0)


def test_lost_sides_are_counted_and_fail_on_their_last_contact_in_the_sensitivity_curve(
    later_contact: Durability,
) -> None:
    """As of TODAY every RFA visit after 2 weeks is missed with no outcome after it: both RFA cases are lost.
    Dan's rhizotomy was seen at 6 months, yet his 12-month visit (due 2025-03-01) is missed: lost too."""
    rfa = later_contact.curve("radiofrequency_ablation")
    rhizotomy = later_contact.curve("endoscopic_rhizotomy")
    assert rfa is not None and rhizotomy is not None and rfa.sensitivity and rhizotomy.sensitivity
    assert (rfa.lost, rfa.died, rhizotomy.lost) == (3, 0, 1)
    worst = rfa.sensitivity.curve
    assert [(s.time, s.at_risk, s.events, s.censored) for s in worst.steps] == [(0, 3, 2, 0), (244, 1, 1, 0)]
    assert rfa.sensitivity.median_days == 0 and rfa.median_days is None
    assert [(s.time, s.events) for s in rhizotomy.sensitivity.curve.steps] == [(185, 1)]


FAY = {"mrn": "MRN-F", "family_name": "Moreau", "given_name": "Fay", "birth_date": "1940-04-04", "sex": "female"}


def test_a_death_is_counted_beside_the_curve_and_is_no_contact(service: CaseService) -> None:
    """Fay was seen at 3 months (day 96) and died before her 6-month visit: her side is censored on day 96 (a
    death tells nothing about her pain), counted as died, not lost, and stays censored in the sensitivity curve."""
    case = _case("2024-01-15", "radiofrequency_ablation", FAY, "L4-L5", "right", ("3m", "2024-04-20"))
    case["follow_up_attempts"] = [{"timepoint": "6m", "date": "2024-07-01", "result": "died"}]
    service.import_cases({**case_file(case), "version": 3})
    rfa = DashboardService(service, today=lambda: TODAY).durability().curve("radiofrequency_ablation")
    assert rfa is not None and rfa.sensitivity is not None
    assert [(s.time, s.censored) for s in rfa.curve.steps] == [(96, 1)]
    assert (rfa.lost, rfa.died, rfa.no_contact) == (0, 1, 0)
    assert rfa.sensitivity.curve.events == 0


def test_the_figures_never_depend_on_today(service: CaseService) -> None:
    """The old rule censored unseen sides on today, so a later day lengthened every curve; now only the
    follow-up states beside it change with the day."""
    service.import_cases(case_file(*LATER_CONTACT))
    early = DashboardService(service, today=lambda: TODAY).durability()
    late = DashboardService(service, today=lambda: TODAY.replace(year=2030)).durability()
    assert [c.curve for c in early.curves] == [c.curve for c in late.curves]


def test_the_next_treatment_window_has_its_frame_written_into_the_sql(service: CaseService) -> None:
    """SQLAlchemy 2.1 binds a window frame's offset as a parameter; SQLite then took 78 s instead of 0.8 s to count
    the sides of a 100,000-case database in one range of patients (caselog.durability.LATER_DAYS)."""
    service.import_cases(case_file(*LATER_CONTACT))
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    engine = service.db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        with service.db.read() as session:
            plain_rows(session, side_counts(session, CaseFilter(), TODAY, patient_ids=(0, 10**9)))
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    windows = [statement for statement, _ in seen if " OVER (" in statement]
    assert windows and all(w.count("RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING") == 2 for w in windows)


def test_an_administrator_may_not_read_the_durability_figures(db: Database) -> None:
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*LATER_CONTACT))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"), today=lambda: TODAY)
    with pytest.raises(NotPermitted):
        report_durability(admin, CaseFilter(), "json", None, out=io.StringIO())


# ---- caselog report durability ----------------------------------------------------------------------------


def test_report_durability_as_csv_json_and_pdf(db_target: str, tmp_path: Path) -> None:
    assert run("import", write(tmp_path / "in.json", case_file(*LATER_CONTACT)), db=db_target).returncode == 0
    as_csv = run("report", "durability", db=db_target)
    assert as_csv.returncode == 0, as_csv.stderr
    lines = list(csv.reader(io.StringIO(as_csv.stdout.lstrip("\ufeff"))))
    assert lines[0] == ["Censoring", CENSORING_RULE]
    summary = lines[lines.index(["Durability of relief: time to repeat treatment at the same level and side"]) + 2]
    assert summary[:8] == ["Endoscopic rhizotomy (facet medial branch)", "1", "1", "0", "1", "1", "0", "0"]
    as_json = run("report", "durability", "--format", "json", "--procedure", "radiofrequency_ablation", db=db_target)
    data = json.loads(as_json.stdout)
    assert data["filters"] == {"procedure": "radiofrequency_ablation"} and data["censoring"] == CENSORING_RULE
    first = data["tables"][0]  # at risk at 6 months: Carla (day 244); nobody at 12
    assert first["rows"] == [["Radiofrequency ablation (facet medial branch)", 3, 2, 0, 3, 3, 0, 2, None, None, None,
                              None, 0.0, 1, 0, 0, 0, 0]]  # fmt: skip
    pdf = tmp_path / "durability.pdf"
    printed = run("report", "durability", "--format", "pdf", "--output", str(pdf), db=db_target)
    assert printed.returncode == 0 and "3 treated sides" not in printed.stdout and "4 treated sides" in printed.stdout
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())  # cells wrap
    assert "Durability of relief" in text and "censored at day 0, never at today" in text
    assert "Relief for up to 5 years" in text and "Novak" not in text
    trail = run("audit", db=db_target).stdout
    assert trail.count("durability report") == 1 and trail.count("treated sides") >= 3  # csv, json and pdf


def test_report_durability_refuses_bad_input_without_writing(db_target: str, tmp_path: Path) -> None:
    assert run("import", write(tmp_path / "in.json", case_file(*LATER_CONTACT)), db=db_target).returncode == 0
    no_output = run("report", "durability", "--format", "pdf", db=db_target)
    assert no_output.returncode == 2 and "--output" in no_output.stderr and "Traceback" not in no_output.stderr
    backwards = run("report", "durability", "--from", "2024-05-01", "--to", "2024-01-01", db=db_target)
    assert backwards.returncode == 2 and backwards.stderr.startswith("--from:")
    missing = run("report", "durability", "--format", "csv", "--output", str(tmp_path / "no" / "d.csv"), db=db_target)
    assert missing.returncode == 2 and not (tmp_path / "no").exists()
    unknown = run("report", "durability", "--format", "xlsx", db=db_target)
    assert unknown.returncode == 2
