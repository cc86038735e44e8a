"""caselog.exports: one registry of export formats for the command line and the app, audited in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import pytest

from caselog import exports
from caselog.cli import main
from caselog.db.engine import Database
from caselog.errors import StorageError
from caselog.exports import FORMATS, ExportFormat
from caselog.quality import ComplicationFilter
from caselog.records import CaseFilter, CaseView
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case
from ui import jobs
from ui.desks import quality_jobs


def _exports(service: CaseService) -> list[dict[str, Any]]:
    return [e.details for e in service.audit_trail() if e.action == "export"]


@pytest.fixture
def clinic(service: CaseService) -> CaseService:
    service.import_cases(case_file(make_case(), simple_case("2024-05-02", procedure="laminotomy")))
    return service


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_writes_the_filtered_cases_and_one_audit_entry(
    clinic: CaseService, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    count = exports.export_cases(clinic, CaseFilter(procedure="laminotomy"), fmt, target)
    assert count == 1 and target.stat().st_size > 0
    assert _exports(clinic) == [
        {"format": fmt, "cases": 1, "filters": {"procedure": "laminotomy"}, "file": str(target)}
    ]


def _plain_text(cases: Iterable[CaseView], out: IO[str]) -> int:
    count = 0
    for view in cases:
        out.write(f"{view.case_number}\n")
        count += 1
    return count


def test_a_new_format_is_one_entry_for_the_command_line_and_the_app(
    db: Database, db_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering a writer is all it takes: `caselog export --format` and the app's dialog offer it, both audit it."""
    CaseService(db).import_cases(case_file(make_case(), simple_case("2024-05-02", procedure="laminotomy")))
    monkeypatch.setitem(FORMATS, "txt", ExportFormat("txt", "Case numbers", _plain_text))
    target = tmp_path / "numbers.txt"
    assert main(["--db", db_target, "export", "--format", "txt", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8").split() == ["2024-00001", "2025-00001"]
    assert "Case numbers (*.txt)" in exports.FORMATS["txt"].dialog_filter
    app_target = tmp_path / "from-the-app.txt"
    assert jobs.export_cases(CaseService(db), CaseFilter(), app_target, "txt")(lambda *_: None) == 2
    assert [d["format"] for d in _exports(CaseService(db))] == ["txt", "txt"]


def test_an_export_the_trail_cannot_record_is_not_kept(
    clinic: CaseService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the app as from the command line: the audit entry comes before the file takes its name."""

    def full_disk(*_: Any, **__: Any) -> None:
        raise StorageError("The audit trail could not be written: the disk is full")

    monkeypatch.setattr(clinic, "record_event", full_disk)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "cases.xlsx"
    with pytest.raises(StorageError):
        jobs.export_cases(clinic, CaseFilter(), target, "xlsx")(lambda *_: None)
    complications = out / "complications.xlsx"
    with pytest.raises(StorageError):
        quality_jobs.export_complications(clinic, ComplicationFilter(), complications, sort="procedure_date",
                                          descending=False)(lambda *_: None)  # fmt: skip
    assert list(out.iterdir()) == []


def test_the_complications_export_is_audited_like_every_export(clinic: CaseService, tmp_path: Path) -> None:
    target = tmp_path / "complications.xlsx"
    f = ComplicationFilter(procedure="laminotomy")
    assert exports.export_complications(clinic, f, target, sort="procedure_date", descending=False) == 0
    (entry,) = _exports(clinic)
    assert entry["format"] == "xlsx" and entry["complications"] == 0 and entry["file"] == str(target)
    assert entry["filters"]["Procedure"] == "Laminotomy / hemilaminectomy"


def test_a_streamed_export_is_json_only_and_recorded_first(clinic: CaseService) -> None:
    class Refusing:
        def write(self, _text: str) -> int:
            raise AssertionError("written before the audit entry")

    with pytest.raises(AssertionError, match="written before"):
        exports.stream_cases(clinic, CaseFilter(), "json", Refusing())  # type: ignore[arg-type]
    assert len(_exports(clinic)) == 1
    with pytest.raises(Exception, match="--output FILE"):
        exports.stream_cases(clinic, CaseFilter(), "csv", Refusing())  # type: ignore[arg-type]


def test_filters_in_words_name_only_what_selects() -> None:
    chosen = CaseFilter(surgeon="Dr. Raman", with_complications=True)
    assert exports.filters_in_words(chosen) == {"surgeon": "Dr. Raman", "with_complications": "True"}
    assert exports.filters_in_words(dataclasses.replace(chosen, surgeon=None, with_complications=False)) == {}
