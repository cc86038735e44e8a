"""The quality desk's list of cases outside the clinic's policy (caselog.quality), its CSV, XLSX and JSON
exports (caselog.policy_exports, audited) and `caselog report outside-policy`, on both databases.

The clinic below, by hand (default policy: two positive blocks at 80%, repeat after 6 months with >= 50% relief
at a follow-up 6 months or more after the last ablation, at most 2 sessions per region in 12 months):
- MRN-A: two positive blocks at L4-L5 left, then an ablation there (2025-00003): meets the policy.
- MRN-B: an ablation at L5-S1 right with no block and no relief recorded (2025-00004), reason recorded.
- MRN-C: one positive block at L4-L5 left, then an ablation (2025-00006) by Dr. Raman, no reason.
- MRN-A again: a repeat at L4-L5 left two months after the first (2025-00007), no reason: too soon, and the
  first one's relief was never recorded 6 months on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from caselog import audit
from caselog.errors import InvalidInput
from caselog.policy_exports import export_outside_policy, stream_outside_policy
from caselog.quality import (
    NO_REASON,
    OutsidePolicyEntry,
    PolicyFilter,
    list_outside_policy,
    policy_filter_lines,
    policy_in_words,
)
from caselog.service import CaseService
from tests.factories import simple_case
from tests.test_cli import run, write
from tests.test_cli_accounts import as_user, protected  # noqa: F401  (the fixture)

RAMAN = "Dr. Priya Raman"
LEFT = [{"level": "L4-L5", "side": "left"}]
RIGHT = [{"level": "L5-S1", "side": "right"}]
# Pain 8 before; 1 from 30 min to 1 h = 87.5% relief for 60 min after lidocaine (1-2 h): positive at 80%.
GOOD = {"anesthetic": "lidocaine", "pain_before": 8,
        "diary": [{"time": "30min", "pain": 1}, {"time": "1h", "pain": 1}, {"time": "2h", "pain": 4}]}  # fmt: skip
REASON = "Blocks done at the referring clinic; reports scanned."


def _patient(mrn: str, family: str) -> dict[str, Any]:
    return {**simple_case("2025-01-01")["patient"], "mrn": mrn, "family_name": family}


def _block(mrn: str, family: str, date: str) -> dict[str, Any]:
    return simple_case(date, procedure="medial_branch_block", cpt_codes=["64493"], prior_block_relief_percent=None,
                       levels=LEFT, block=GOOD, patient=_patient(mrn, family))  # fmt: skip


def _ablation(mrn: str, family: str, date: str, levels: list[dict[str, str]], **more: Any) -> dict[str, Any]:
    more = {"procedure": "radiofrequency_ablation", "prior_block_relief_percent": None, **more}
    return simple_case(date, cpt_codes=["64635"], levels=levels, patient=_patient(mrn, family), **more)


CLINIC = [
    _block("MRN-A", "Adams", "2025-01-06"),  # 2025-00001
    _block("MRN-A", "Adams", "2025-01-20"),  # 2025-00002
    _ablation("MRN-A", "Adams", "2025-02-03", LEFT),  # 2025-00003: meets
    _ablation("MRN-B", "Brown", "2025-02-10", RIGHT, outside_policy_reason=REASON),  # 2025-00004
    _block("MRN-C", "Chen", "2025-02-17"),  # 2025-00005
    _ablation("MRN-C", "Chen", "2025-03-03", LEFT, surgeon=RAMAN),  # 2025-00006
    _ablation("MRN-A", "Adams", "2025-04-07", LEFT, procedure="endoscopic_rhizotomy"),  # 2025-00007
]


@pytest.fixture
def clinic(service: CaseService) -> CaseService:
    service.import_cases({"format": "caselog-cases", "version": 2, "cases": CLINIC})
    return service


def _numbers(entries: list[OutsidePolicyEntry]) -> list[str]:
    return [e.case_number for e in entries]


def test_every_ablation_outside_the_policy_is_listed_with_the_rule_and_the_reason(clinic: CaseService) -> None:
    entries = list_outside_policy(clinic)
    assert _numbers(entries) == ["2025-00004", "2025-00006", "2025-00007"]
    brown, chen, adams = entries
    assert (brown.mrn, brown.patient_name, brown.procedure, brown.levels_text) == (
        "MRN-B", "Brown, Thị Hồng", "radiofrequency_ablation", "L5-S1 right")  # fmt: skip
    assert (brown.rules, brown.rules_text, brown.reason_text) == (("blocks",), "Positive blocks", REASON)
    assert "no block at this joint is recorded" in brown.findings[0]
    assert (chen.surgeon, chen.reason, chen.reason_text, chen.rules) == (RAMAN, None, NO_REASON, ("blocks",))
    assert "1 of 1 block" in chen.findings[0]
    assert adams.rules == ("repeat_interval", "repeat_relief")
    assert adams.rules_text == "Repeat interval; Relief before repeat"
    assert adams.procedure_label.startswith("Endoscopic rhizotomy") and adams.case_status == "draft"


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (PolicyFilter(with_reason=True), ["2025-00004"]),
        (PolicyFilter(with_reason=False), ["2025-00006", "2025-00007"]),
        (PolicyFilter(surgeon=RAMAN), ["2025-00006"]),
        (PolicyFilter(procedure="endoscopic_rhizotomy"), ["2025-00007"]),
        (PolicyFilter(procedure="medial_branch_block"), []),
        (PolicyFilter(date_from=dt.date(2025, 3, 3)), ["2025-00006", "2025-00007"]),
        (PolicyFilter(date_to=dt.date(2025, 3, 2)), ["2025-00004"]),
        (PolicyFilter(date_from=dt.date(2025, 3, 1), date_to=dt.date(2025, 3, 31), with_reason=False), ["2025-00006"]),
    ],
)
def test_filters(clinic: CaseService, f: PolicyFilter, expected: list[str]) -> None:
    assert _numbers(list_outside_policy(clinic, f)) == expected


def test_a_date_range_still_reads_the_blocks_before_it(clinic: CaseService) -> None:
    """MRN-A's first ablation meets the policy on the blocks of January, even when only February is listed."""
    assert list_outside_policy(clinic, PolicyFilter(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 2, 5))) == []


def test_sorting(clinic: CaseService) -> None:
    assert _numbers(list_outside_policy(clinic, sort="procedure_date", descending=True)) == [
        "2025-00007", "2025-00006", "2025-00004"]  # fmt: skip
    assert _numbers(list_outside_policy(clinic, sort="patient")) == ["2025-00007", "2025-00004", "2025-00006"]
    assert _numbers(list_outside_policy(clinic, sort="reason"))[0] == "2025-00004"  # recorded reasons first
    with pytest.raises(ValueError, match="unknown sort key"):
        list_outside_policy(clinic, sort="frobnicate")


def test_a_policy_of_one_block_lists_fewer(clinic: CaseService) -> None:
    """The list follows the clinic's policy as set, not a fixed rule: one positive block is enough for MRN-C."""
    from caselog.policy import PRESETS

    clinic.set_indication_policy(PRESETS["one_block_50"].policy)
    assert _numbers(list_outside_policy(clinic)) == ["2025-00004", "2025-00007"]


def _export_entries(service: CaseService) -> list[dict[str, Any]]:
    return [e.details for e in audit.entries(service.db) if e.action == "export"]


def test_csv_export_is_what_the_list_shows_and_is_audited(clinic: CaseService, tmp_path: Path) -> None:
    f = PolicyFilter(with_reason=False)
    path = tmp_path / "outside.csv"
    assert export_outside_policy(clinic, f, path, "csv", sort="procedure_date", descending=True) == 2
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Case number", "Case status", "Procedure date"] and rows[0][-3:] == [
        "Rule not met", "Findings", "Reason"]  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["2025-00007", "2025-00006"]
    assert rows[1][-1] == NO_REASON and "repeat 2 months after" in rows[1][-2]
    assert _export_entries(clinic)[-1] == {"format": "csv", "cases outside policy": 2,
                                           "filters": dict(policy_filter_lines(f)), "file": str(path)}  # fmt: skip


def test_xlsx_export_has_real_dates_and_the_filters(clinic: CaseService, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "outside.xlsx"
    assert export_outside_policy(clinic, PolicyFilter(surgeon=RAMAN), path, "xlsx") == 1
    book = load_workbook(path)
    sheet = book["Outside policy"]
    assert sheet["A2"].value == "2025-00006" and sheet["C2"].value == dt.datetime(2025, 3, 3)
    filters = {row[0]: row[1] for row in book["Filters"].iter_rows(values_only=True)}
    assert filters["Surgeon"] == RAMAN and filters["Cases"] == 1
    assert _export_entries(clinic)[-1]["format"] == "xlsx"


def test_typed_text_never_runs_as_a_formula(service: CaseService, tmp_path: Path) -> None:
    """A reason typed as "=HYPERLINK(...)" is text in the spreadsheet, in both formats."""
    from openpyxl import load_workbook

    formula = '=HYPERLINK("http://x.example","click")'
    typed = _ablation("MRN-B", "Brown", "2025-02-10", RIGHT, outside_policy_reason=formula)
    service.import_cases({"format": "caselog-cases", "version": 2, "cases": [typed]})
    export_outside_policy(service, PolicyFilter(), tmp_path / "x.csv", "csv")
    assert list(csv.reader(io.StringIO((tmp_path / "x.csv").read_text(encoding="utf-8-sig"))))[1][-1] == f"'{formula}"
    export_outside_policy(service, PolicyFilter(), tmp_path / "x.xlsx", "xlsx")
    cell = load_workbook(tmp_path / "x.xlsx")["Outside policy"]["K2"]
    assert (cell.value, cell.data_type) == (formula, "s")


def test_an_export_the_trail_cannot_record_leaves_no_file(clinic: CaseService, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(clinic, "record_event", refuse)
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        export_outside_policy(clinic, PolicyFilter(), folder / "outside.csv", "csv")
    assert list(folder.iterdir()) == []


def test_streams_and_bad_formats(clinic: CaseService) -> None:
    out = io.StringIO()
    assert stream_outside_policy(clinic, PolicyFilter(with_reason=True), "json", out) == 1
    data = json.loads(out.getvalue())
    assert data["filters"]["Reason"] == "recorded"
    assert data["cases"][0] | {"findings": None} == {
        "case_number": "2025-00004", "status": "draft", "procedure_date": "2025-02-10", "mrn": "MRN-B",
        "patient": "Brown, Thị Hồng", "surgeon": "Dr. Amara Okafor", "procedure": "radiofrequency_ablation",
        "levels": "L5-S1 right", "rules": ["blocks"], "findings": None, "reason": REASON,
    }  # fmt: skip
    assert _export_entries(clinic)[-1]["file"] == "-"
    for fmt, where in (("xlsx", "--output"), ("pdf", "--format")):
        with pytest.raises(InvalidInput) as caught:
            stream_outside_policy(clinic, PolicyFilter(), fmt, io.StringIO())
        assert caught.value.problems[0].path == where


def test_the_command_line_report(tmp_path: Path) -> None:
    db = str(tmp_path / "caselog.sqlite3")
    assert run("import", write(tmp_path / "clinic.json", {"format": "caselog-cases", "version": 2,
                                                          "cases": CLINIC}), db=db).returncode == 0  # fmt: skip
    shown = run("report", "outside-policy", "--format", "json", "--from", "2025-03-01", db=db)
    assert shown.returncode == 0, shown.stderr
    assert [c["case_number"] for c in json.loads(shown.stdout)["cases"]] == ["2025-00006", "2025-00007"]
    saved = run("report", "outside-policy", "--output", str(tmp_path / "o.csv"), db=db)
    assert saved.returncode == 0 and "3 cases outside the clinic's policy" in saved.stdout, saved.stderr
    assert len(list(csv.reader(io.StringIO((tmp_path / "o.csv").read_text(encoding="utf-8-sig"))))) == 4
    bad = run("report", "outside-policy", "--from", "2025-04-01", "--to", "2025-03-01", db=db)
    assert bad.returncode == 2 and bad.stderr.startswith("--from: "), bad.stderr
    xlsx = run("report", "outside-policy", "--format", "xlsx", db=db)
    assert xlsx.returncode == 2 and xlsx.stderr.startswith("--output: "), xlsx.stderr
    assert not (tmp_path / "missing").exists()
    nowhere = run("report", "outside-policy", "--output", str(tmp_path / "missing" / "o.csv"), db=db)
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr


def test_the_policy_the_list_is_judged_against_in_words() -> None:
    from caselog.policy import PRESETS, IndicationPolicy

    assert policy_in_words(PRESETS["one_block_50"].policy) == (
        "Policy – One block at 50% (some commercial payers): 1 positive block at 50% before a first ablation; a "
        "repeat 6 months or more after the last, with 50% relief lasting 6 months; at most 2 sessions per region in "
        "12 months."
    )
    own = policy_in_words(IndicationPolicy(2, 70, 9, 60, 3, 1))
    assert own.startswith("Policy – the clinic's own rules: 2 positive blocks at 70%") and "lasting 3 months" in own


def test_quality_staff_read_the_list_and_an_administrator_may_not(protected: str, tmp_path: Path) -> None:  # noqa: F811
    """Administrators may not view cases (contract section 4): exit 4, nothing printed, no file written."""
    folder = tmp_path / "output"
    folder.mkdir()
    for args in (["--output", str(folder / "o.csv")], ["--format", "json"]):
        refused = run("report", "outside-policy", *args, db=protected, env=as_user("boss"))
        assert refused.returncode == 4 and refused.stdout == "", refused.stderr
        assert "may not view cases" in refused.stderr and "Traceback" not in refused.stderr
    assert list(folder.iterdir()) == []
    # Two rhizotomies whose only block evidence is the relief recorded on them: one block of the two required.
    shown = run("report", "outside-policy", "--format", "json", db=protected, env=as_user("quinn"))
    assert shown.returncode == 0, shown.stderr
    assert [c["rules"] for c in json.loads(shown.stdout)["cases"]] == [["blocks"], ["blocks"]]
