"""`caselog report durability`: the durability figures as CSV, JSON or the PDF report, audited as every export is.

CSV and JSON hold every number behind the figures (`Durability.tables()`); CSV puts the tables one under the
other, each under its title with a blank line between, JSON as a list of {title, columns, rows}. Without
--output, CSV and JSON go to standard output; the entry in the audit trail is made before a byte leaves
or a file takes its name.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from caselog.dashboard import DashboardService
from caselog.durability import CENSORING_RULE, Durability
from caselog.errors import EXIT_OK, InvalidInput
from caselog.exchange import atomic_output
from caselog.exports import filters_in_words, record_export
from caselog.records import CaseFilter
from caselog.reports.common import ReportSettings
from caselog.reports.durability import write_durability_report
from caselog.service import CaseService
from caselog.settings import load_settings
from caselog.tables import Cell
from caselog.validation import Problem

FORMATS = ("csv", "json", "pdf")
#: What the audit entry counts.
ROWS = "treated sides"


def _cell(value: Cell) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def write_csv(durability: Durability, out: IO[str]) -> None:
    """Every table under its title, a blank line between them; UTF-8 with a byte-order mark (Excel)."""
    out.write("\ufeff")
    writer = csv.writer(out, dialect="excel")
    writer.writerow(["Censoring", CENSORING_RULE])
    for table in durability.tables():
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([_cell(v) for v in row] for row in table.rows)


def durability_json(durability: Durability, filters: Mapping[str, str]) -> dict[str, Any]:
    """{"filters", "censoring", "tables": [{"title", "columns", "rows"}]}: the same numbers as the CSV."""
    tables = [
        {"title": t.title, "columns": list(t.columns), "rows": [[_cell(v) for v in row] for row in t.rows]}
        for t in durability.tables()
    ]
    return {"filters": dict(filters), "censoring": CENSORING_RULE, "tables": tables}


def write_json(durability: Durability, out: IO[str], filters: Mapping[str, str]) -> None:
    json.dump(durability_json(durability, filters), out, ensure_ascii=False, indent=2)
    out.write("\n")


def report_durability(
    service: CaseService, case_filter: CaseFilter, fmt: str, output: Path | None, *, out: IO[str] | None = None
) -> Durability:
    """Compute the figures for the cases `case_filter` selects and write them (audited); returns them."""
    if fmt not in FORMATS:
        raise InvalidInput([Problem("--format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")])
    if fmt == "pdf" and output is None:
        raise InvalidInput([Problem("--output", "a PDF needs --output FILE")])
    durability = DashboardService(service).durability(case_filter)
    filters = filters_in_words(case_filter)
    sides = sum(c.n for c in durability.curves)
    if fmt == "pdf":
        assert output is not None
        settings = ReportSettings.from_settings(load_settings())
        write_durability_report(durability, output, settings=settings, filters=filters)
        details = {"document": "durability report", "filters": dict(filters), ROWS: sides}
        try:
            service.record_event("print", record_type="report", details=details)
        except BaseException:  # a print the trail does not hold must not stay behind
            output.expanduser().unlink(missing_ok=True)
            raise
    elif output is None:
        record_export(service, fmt, sides, filters, None, rows=ROWS)
        _write(durability, fmt, out or sys.stdout, filters)
    else:
        with atomic_output(output, "w", newline="" if fmt == "csv" else None) as handle:
            _write(durability, fmt, handle, filters)
            record_export(service, fmt, sides, filters, output, rows=ROWS)
    return durability


def _write(durability: Durability, fmt: str, out: IO[str], filters: Mapping[str, str]) -> None:
    if fmt == "csv":
        write_csv(durability, out)
    else:
        write_json(durability, out, filters)


def durability_command(service: CaseService, args: argparse.Namespace, case_filter: CaseFilter) -> int:
    """`caselog report durability --format csv|json|pdf [FILTERS] [--output FILE]`."""
    durability = report_durability(service, case_filter, args.format, args.output)
    if args.output is not None:
        sides = sum(c.n for c in durability.curves)
        print(f"Wrote the durability figures ({sides} treated sides) to {args.output}.")
    return EXIT_OK
