"""Long work for the quality desk, without widgets: the XLSX of exactly what the filters show, and the
complication log PDF. Both write atomically (complete or not at all) and leave an audit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from caselog import audit, vocab
from caselog.exchange import atomic_output
from caselog.quality import ComplicationEntry, ComplicationFilter, count_complications, list_complications
from caselog.records import CaseFilter
from caselog.reports import ReportSettings, write_complication_log
from caselog.service import CaseService

Progress = Callable[[int, int, str], None]

EXPORT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Case number", 13), ("Case status", 10), ("Procedure date", 13), ("Procedure", 30), ("Surgeon", 20),
    ("Levels", 24), ("Category", 34), ("Description", 30), ("Timing", 14), ("Onset date", 12),
    ("Clavien-Dindo", 8), ("Treatment", 30), ("Resolved date", 12), ("Review status", 12), ("Review notes", 40),
)  # fmt: skip


def filter_lines(f: ComplicationFilter) -> list[tuple[str, str]]:
    """The filters in words, as the export's first sheet and the audit entry record them."""

    def any_or(value: str | None, labels: dict[str, str] | None = None) -> str:
        if value is None:
            return "any"
        return vocab.label(labels, value) if labels else value

    dates = "any" if f.date_from is None and f.date_to is None else f"{f.date_from or '…'} to {f.date_to or '…'}"
    return [
        ("Procedure date", dates),
        ("Procedure", any_or(f.procedure, vocab.PROCEDURES)),
        ("Surgeon", any_or(f.surgeon)),
        ("Category", any_or(f.category, vocab.COMPLICATION_CATEGORIES)),
        ("Clavien-Dindo grade", any_or(f.clavien_dindo)),
        ("Timing", any_or(f.timing, vocab.COMPLICATION_TIMINGS)),
        ("Review status", any_or(f.review_status, vocab.REVIEW_STATUSES)),
    ]


def write_complications_xlsx(
    entries: Iterable[ComplicationEntry], out: IO[bytes], *, filters: list[tuple[str, str]], made_at: dt.datetime
) -> int:
    """Sheet "Complications" (the rows, real date cells, frozen header) and "Filters" (what was selected)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    sheet = book.create_sheet("Complications")
    sheet.freeze_panes = "A2"
    for i, (_, width) in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    header = []
    for title, _ in EXPORT_COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for e in entries:
        values: list[Any] = [
            e.case_number, vocab.label(vocab.CASE_STATUSES, e.case_status), e.procedure_date, e.procedure_label,
            e.surgeon, e.levels_text, e.category_label, e.description, e.timing_label, e.onset_date, e.clavien_dindo,
            e.treatment, e.resolved_date, e.review_status_label, e.review_notes,
        ]  # fmt: skip
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            row.append(cell)
        sheet.append(row)
        count += 1
    about = book.create_sheet("Filters")
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 50
    about.append(["CaseLog complications export", None])
    about.append(["Made", made_at.strftime("%Y-%m-%d %H:%M")])
    about.append(["Complications", count])
    for name, value in filters:
        about.append([name, value])
    book.save(out)
    return count


def export_complications(
    service: CaseService, f: ComplicationFilter, path: Path, *, sort: str, descending: bool
) -> Callable[[Progress], int]:
    """Work: every complication the filter selects, in the list's order, to `path`; returns how many."""

    def work(progress: Progress) -> int:
        total = count_complications(service, f)
        progress(0, total, "Reading complications")
        entries = list_complications(service, f, sort=sort, descending=descending)
        progress(len(entries), total, f"Writing {len(entries):,} complications")
        with atomic_output(path, "wb") as out:
            count = write_complications_xlsx(entries, out, filters=filter_lines(f), made_at=dt.datetime.now())
        details = {"format": "xlsx", "complications": count, "filters": dict(filter_lines(f)), "file": str(path)}
        service.record_event("export", record_type="export", details=details)
        return count

    return work


def complication_log(
    service: CaseService, date_from: dt.date | None, date_to: dt.date | None, path: Path, settings: ReportSettings
) -> Callable[[Progress], tuple[int, int]]:
    """Work: the complication log PDF of every case in the date range (its rates need every case, with or
    without complications, so only the dates select; as `caselog report complications`)."""

    def work(progress: Progress) -> tuple[int, int]:
        case_filter = CaseFilter(date_from=date_from, date_to=date_to)
        total = service.count(case_filter)
        views = []
        for done, view in enumerate(service.iter_cases(case_filter), start=1):
            views.append(view)
            if done % 100 == 0 or done == total:
                progress(done, total, f"Read {done:,} of {total:,} cases")
        progress(total, total, "Laying out the complication log")
        head = audit.head_line(audit.current_head(service.db))
        write_complication_log(views, path, date_from=date_from, date_to=date_to, settings=settings, audit_head=head)
        events = sum(len(v.record.complications) for v in views)
        service.record_event("print", record_type="report", details={"document": "complication log",
                             "from": str(date_from), "to": str(date_to), "cases": len(views)})  # fmt: skip
        return len(views), events

    return work
