"""The quality desk's list of cases outside the clinic's policy, written out: CSV and XLSX files (the desk and
`caselog report outside-policy`) and JSON (the command line). Audited as every export is (caselog.exports):
the entry is made before a file takes its name, or before a byte reaches a terminal.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from caselog import vocab
from caselog.errors import InvalidInput
from caselog.exchange import _safe_text, _save_book, _xlsx_cell, atomic_output, header_sheet
from caselog.exports import filters_sheet, record_export
from caselog.quality import OutsidePolicyEntry, PolicyFilter, list_outside_policy, policy_filter_lines
from caselog.service import CaseService, Progress
from caselog.validation import Problem

FORMATS = ("csv", "xlsx", "json")
#: What the audit entry counts.
ROWS = "cases outside policy"

COLUMNS: tuple[tuple[str, int], ...] = (
    ("Case number", 13), ("Case status", 10), ("Procedure date", 13), ("MRN", 14), ("Patient", 26),
    ("Surgeon", 20), ("Procedure", 30), ("Levels", 24), ("Rule not met", 30), ("Findings", 80), ("Reason", 50),
)  # fmt: skip


def _values(e: OutsidePolicyEntry) -> list[Any]:
    return [
        e.case_number, vocab.label(vocab.CASE_STATUSES, e.case_status), e.procedure_date, e.mrn, e.patient_name,
        e.surgeon, e.procedure_label, e.levels_text, e.rules_text, "\n".join(e.findings), e.reason_text,
    ]  # fmt: skip


#: The columns people typed (may start like a spreadsheet formula): MRN, patient, surgeon, reason.
_TYPED = {3, 4, 5, 10}


def write_csv(entries: Iterable[OutsidePolicyEntry], out: IO[str]) -> int:
    """One row per case, UTF-8 with a byte-order mark (Excel keeps accents); typed text never runs as a formula."""
    out.write("\ufeff")
    writer = csv.writer(out, dialect="excel")
    writer.writerow([title for title, _ in COLUMNS])
    count = 0
    for e in entries:
        writer.writerow([_safe_text(v) if i in _TYPED else v for i, v in enumerate(_values(e))])
        count += 1
    return count


def write_xlsx(
    entries: Iterable[OutsidePolicyEntry], out: IO[bytes], *, filters: Sequence[tuple[str, str]], made_at: dt.datetime
) -> int:
    """Sheet "Outside policy" (the rows, real date cells, frozen header) and "Filters" (what was selected)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = header_sheet(book, "Outside policy", COLUMNS)
    count = 0
    for e in entries:
        sheet.append([_xlsx_cell(sheet, v) for v in _values(e)])
        count += 1
    filters_sheet(book, "CaseLog cases outside the clinic's policy", made_at, ("Cases", count), filters)
    _save_book(book, out)
    return count


def entry_json(e: OutsidePolicyEntry) -> dict[str, Any]:
    return {
        "case_number": e.case_number, "status": e.case_status, "procedure_date": e.procedure_date.isoformat(),
        "mrn": e.mrn, "patient": e.patient_name, "surgeon": e.surgeon, "procedure": e.procedure,
        "levels": e.levels_text, "rules": list(e.rules), "findings": list(e.findings), "reason": e.reason,
    }  # fmt: skip


def write_json(entries: Iterable[OutsidePolicyEntry], out: IO[str], *, filters: Sequence[tuple[str, str]]) -> int:
    """`{"filters": {...}, "cases": [...]}`, each case with its rules not met, the findings and the reason."""
    rows = [entry_json(e) for e in entries]
    json.dump({"filters": dict(filters), "cases": rows}, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return len(rows)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput([Problem("--format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")])


def export_outside_policy(
    service: CaseService,
    f: PolicyFilter,
    path: Path,
    fmt: str,
    *,
    sort: str = "procedure_date",
    descending: bool = False,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> int:
    """Every case outside the policy the filter selects, in the list's order, to `path` (complete or not at
    all, audited); returns how many."""
    _check_format(fmt)
    if progress is not None:
        progress(0, 0, "Checking the cases against the clinic's policy")
    entries = list_outside_policy(service, f, sort=sort, descending=descending)
    if progress is not None:
        progress(len(entries), len(entries), f"Writing {len(entries):,} cases")
    lines = policy_filter_lines(f)
    binary = fmt == "xlsx"
    with atomic_output(path, "wb" if binary else "w", newline="" if fmt == "csv" else None) as out:
        if fmt == "xlsx":
            count = write_xlsx(entries, out, filters=lines, made_at=now())
        elif fmt == "csv":
            count = write_csv(entries, out)
        else:
            count = write_json(entries, out, filters=lines)
        record_export(service, fmt, count, dict(lines), path, rows=ROWS)
    return count


def stream_outside_policy(service: CaseService, f: PolicyFilter, fmt: str, out: IO[str]) -> int:
    """The list to a terminal or a pipe (CSV or JSON), recorded before a byte leaves."""
    _check_format(fmt)
    if fmt == "xlsx":
        raise InvalidInput([Problem("--output", "xlsx needs --output FILE")])
    entries = list_outside_policy(service, f)
    lines = policy_filter_lines(f)
    record_export(service, fmt, len(entries), dict(lines), None, rows=ROWS)
    return write_csv(entries, out) if fmt == "csv" else write_json(entries, out, filters=lines)
