"""Exports: the formats the command line and the desktop app write, and the one place an export is audited.

A new case export format is one entry in `FORMATS` (a writer taking the cases and an open file). Whatever
the format, the file is written atomically (complete or not at all) and the audit entry is made before the
file takes its name: an export the trail cannot record is not kept (contract section 4).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from caselog import fhir, research, vocab
from caselog.errors import InvalidInput
from caselog.exchange import atomic_output, header_sheet, write_csv, write_json, write_xlsx
from caselog.quality import ComplicationEntry, ComplicationFilter, count_complications, list_complications
from caselog.records import CaseFilter, CaseView
from caselog.service import CaseService, Progress
from caselog.validation import Problem

Writer = Callable[[Iterable[CaseView], Any], int]


@dataclass(frozen=True)
class ExportFormat:
    """One way to write cases out: `write(cases, file) -> how many`, into a text or a binary file.

    A format that depends on the clinic or on who exports gives `prepare`, which makes the writer instead.
    """

    name: str  # as `--format` knows it, and the file's extension unless `suffix` says otherwise
    label: str  # as a save dialog offers it
    write: Writer | None
    binary: bool = False
    newline: str | None = None  # "" where the writer chooses its own line ends (CSV)
    streams: bool = False  # may go to standard output (`caselog export` without --output)
    suffix: str = ""  # the file name's ending where it is not the name ("fhir.json", "zip")
    #: For a writer that depends on the clinic or the exporting account (FHIR's MRN system; the research
    #: export's role and key): makes it from the service, refusing there before anything is read or written.
    prepare: Callable[[CaseService], Writer] | None = None

    @property
    def extension(self) -> str:
        return self.suffix or self.name

    @property
    def dialog_filter(self) -> str:
        return f"{self.label} (*.{self.extension})"

    def writer(self, service: CaseService) -> Writer:
        """The writer for this account; a refusal comes here, before anything is read or written."""
        if self.prepare is not None:
            return self.prepare(service)
        assert self.write is not None
        return self.write


def _fhir_writer(service: CaseService) -> Writer:
    return fhir.bundle_writer(service.clinic_setting(fhir.MRN_SYSTEM_SETTING))


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("json", "CaseLog interchange file", write_json, streams=True),
        ExportFormat("csv", "CSV for spreadsheets", write_csv, newline=""),
        ExportFormat("xlsx", "Excel workbook", write_xlsx, binary=True),
        ExportFormat(
            "fhir", "FHIR R4 bundle", fhir.write_bundle, streams=True, suffix="fhir.json", prepare=_fhir_writer
        ),
        ExportFormat(
            "research",
            "De-identified research export (ZIP)",
            None,
            binary=True,
            suffix="zip",
            prepare=research.writer,
        ),
    )
}


def export_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise InvalidInput(
            [Problem("--format", f"unknown export format {name!r}; one of {', '.join(FORMATS)}")]
        ) from None


def filters_in_words(case_filter: CaseFilter) -> dict[str, str]:
    """The filters that select something, as the audit entry records them."""
    return {
        field.name: str(value)
        for field in dataclasses.fields(case_filter)
        if (value := getattr(case_filter, field.name)) not in (None, False, ())
    }


def record_export(
    service: CaseService, fmt: str, count: int, filters: Mapping[str, str], file: Path | None, *, rows: str = "cases"
) -> None:
    """The audit entry of an export, from wherever it was made: format, how many `rows`, the filters, the file."""
    details = {"format": fmt, rows: count, "filters": dict(filters), "file": str(file or "-")}
    service.record_event("export", record_type="export", details=details)


def _counted(views: Iterable[CaseView], total: int, progress: Progress) -> Iterator[CaseView]:
    for done, view in enumerate(views, start=1):
        if done % 200 == 0 or done == total:
            progress(done, total, f"Exported {done:,} of {total:,} cases")
        yield view


def export_cases(
    service: CaseService, case_filter: CaseFilter, fmt: str, path: Path, *, progress: Progress | None = None
) -> int:
    """Write the filtered cases to `path` in format `fmt` (complete or not at all); returns how many."""
    form = export_format(fmt)
    write = form.writer(service)
    views = service.iter_cases(case_filter)
    if progress is not None:
        total = service.count(case_filter)
        progress(0, total, "Exporting")
        views = _counted(views, total, progress)
    write = form.writer(service)
    with atomic_output(path, "wb" if form.binary else "w", newline=form.newline) as out:
        count = write(views, out)
        record_export(service, fmt, count, filters_in_words(case_filter), path)
    return count


def stream_cases(service: CaseService, case_filter: CaseFilter, fmt: str, out: IO[str]) -> int:
    """Write the filtered cases to a terminal or a pipe. Recorded before a byte leaves: what was printed cannot
    be taken back if the trail then refused the entry (no seal key, a full disk)."""
    form = export_format(fmt)
    if not form.streams:
        raise InvalidInput([Problem("--output", f"{fmt} export needs --output FILE")])
    write = form.writer(service)
    views = service.iter_cases(case_filter)
    record_export(service, fmt, service.count(case_filter), filters_in_words(case_filter), None)
    return write(views, out)


# ---- the quality desk's complications -----------------------------------------------------------------------

COMPLICATION_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Case number", 13), ("Case status", 10), ("Procedure date", 13), ("Procedure", 30), ("Surgeon", 20),
    ("Levels", 24), ("Category", 34), ("Description", 30), ("Timing", 14), ("Onset date", 12),
    ("Clavien-Dindo", 8), ("Treatment", 30), ("Resolved date", 12), ("Review status", 12), ("Review notes", 40),
)  # fmt: skip


def complication_filter_lines(f: ComplicationFilter) -> list[tuple[str, str]]:
    """The filters in words, as the export's second sheet and the audit entry record them."""

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

    book = Workbook(write_only=True)
    sheet = header_sheet(book, "Complications", COMPLICATION_COLUMNS)
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
    filters_sheet(book, "CaseLog complications export", made_at, ("Complications", count), filters)
    book.save(out)
    return count


def filters_sheet(book: Any, title: str, made_at: dt.datetime, counted: tuple[str, int],
                  filters: Iterable[tuple[str, str]]) -> None:  # fmt: skip
    """An export's second sheet, "Filters": what it is, when it was made, how many rows, what was selected."""
    about = book.create_sheet("Filters")
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 50
    about.append([title, None])
    about.append(["Made", made_at.strftime("%Y-%m-%d %H:%M")])
    about.append(list(counted))
    for name, value in filters:
        about.append([name, value])


def export_complications(
    service: CaseService,
    f: ComplicationFilter,
    path: Path,
    *,
    sort: str,
    descending: bool,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> int:
    """Every complication the filter selects, in the list's order, to an XLSX at `path`; returns how many."""
    if progress is not None:
        progress(0, count_complications(service, f), "Reading complications")
    entries = list_complications(service, f, sort=sort, descending=descending)
    if progress is not None:
        progress(len(entries), len(entries), f"Writing {len(entries):,} complications")
    lines = complication_filter_lines(f)
    with atomic_output(path, "wb") as out:
        count = write_complications_xlsx(entries, out, filters=lines, made_at=now())
        record_export(service, "xlsx", count, dict(lines), path, rows="complications")
    return count
