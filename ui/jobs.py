"""Long work the main window hands to the task runner: exports, case summary PDFs, demo data. No widgets here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from caselog.demo import generate_cases
from caselog.exchange import atomic_output, write_csv, write_json, write_xlsx
from caselog.records import CaseFilter, CaseView
from caselog.reports import ReportSettings, write_case_summaries
from caselog.service import CaseService

Progress = Callable[[int, int, str], None]

EXPORT_FORMATS = {
    "csv": "CSV for spreadsheets (*.csv)",
    "xlsx": "Excel workbook (*.xlsx)",
    "json": "CaseLog interchange file (*.json)",
}


def export_format(path: Path, chosen_filter: str) -> str:
    """The format from the file's extension, else from the filter the user picked in the dialog."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in EXPORT_FORMATS:
        return suffix
    for key, label in EXPORT_FORMATS.items():
        if label == chosen_filter:
            return key
    return "csv"


def _counted(views: Iterable[CaseView], total: int, progress: Progress) -> Iterator[CaseView]:
    for done, view in enumerate(views, start=1):
        if done % 200 == 0 or done == total:
            progress(done, total, f"Exported {done:,} of {total:,} cases")
        yield view


def export_cases(service: CaseService, case_filter: CaseFilter, path: Path, fmt: str) -> Callable[[Progress], int]:
    """Work that writes the filtered cases to `path` (complete or not at all) and returns how many."""

    def work(progress: Progress) -> int:
        total = service.count(case_filter)
        progress(0, total, "Exporting")
        views = _counted(service.iter_cases(case_filter), total, progress)
        if fmt == "xlsx":
            with atomic_output(path, "wb") as out:
                return write_xlsx(views, out)
        with atomic_output(path, "w", newline="" if fmt == "csv" else None) as out:
            return write_csv(views, out) if fmt == "csv" else write_json(views, out)

    return work


def case_summaries(
    service: CaseService, case_numbers: list[str], path: Path, settings: ReportSettings
) -> Callable[[Progress], Path]:
    def work(progress: Progress) -> Path:
        views = service.get_cases(case_numbers)
        write_case_summaries(views, path, settings=settings, progress=progress)
        return path

    return work


def load_demo(service: CaseService, count: int, *, seed: int = 1) -> Callable[[Progress], int]:
    """Add `count` made-up cases in batches, so other workstations are never locked out for long."""

    def work(progress: Progress) -> int:
        progress(0, count, "Making up demo cases")
        records = generate_cases(count, seed=seed)
        batch = 2000
        added = 0
        for start in range(0, len(records), batch):
            last = start + batch >= len(records)
            added += len(service.add_records(records[start : start + batch], refresh_statistics=last))
            progress(added, count, f"Added {added:,} of {count:,} demo cases")
        return added

    return work
