"""`caselog report outcomes`: the share of follow-ups reaching MCID per procedure, timepoint and measure, as CSV,
JSON or PDF. Every number of the dashboard's outcome chart, exportable; audited as every export and print is."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from caselog import vocab
from caselog.accounts import Actor
from caselog.dashboard import DashboardService
from caselog.db.engine import Database
from caselog.errors import EXIT_OK, InvalidInput
from caselog.exchange import atomic_output
from caselog.exports import filters_in_words, record_export
from caselog.outcomes import MCIDShare, measure_label
from caselog.records import CaseFilter
from caselog.service import CaseService
from caselog.validation import Problem

FORMATS = ("csv", "json", "pdf")
#: What the audit entry counts.
ROWS = "outcome rows"
COLUMNS = ("Procedure", "Timepoint", "Measure", "Follow-ups", "Reached MCID", "Share %", "95% CI low %",
           "95% CI high %")  # fmt: skip


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def share_cells(row: MCIDShare) -> tuple[Any, ...]:
    """One row as people read it: labels, counts, percentages with one decimal."""
    return (
        vocab.label(vocab.PROCEDURES, row.procedure), vocab.label(vocab.TIMEPOINTS, row.timepoint),
        measure_label(row.measure), row.n, row.reached, _percent(row.rate.proportion), _percent(row.rate.lower),
        _percent(row.rate.upper),
    )  # fmt: skip


def share_json(row: MCIDShare) -> dict[str, Any]:
    """One row with keys (for programs): the procedure, timepoint and measure keys and the plain fractions."""
    return {
        "procedure": row.procedure, "timepoint": row.timepoint, "measure": row.measure, "n": row.n,
        "reached": row.reached, "share": row.rate.proportion, "ci_low": row.rate.lower, "ci_high": row.rate.upper,
    }  # fmt: skip


def write_csv(rows: Sequence[MCIDShare], out: IO[str]) -> None:
    """UTF-8 with a byte-order mark (Excel), one row per procedure, timepoint and measure."""
    out.write("\ufeff")
    writer = csv.writer(out, dialect="excel")
    writer.writerow(COLUMNS)
    writer.writerows(share_cells(r) for r in rows)


def write_json(rows: Sequence[MCIDShare], out: IO[str], filters: dict[str, str]) -> None:
    json.dump({"filters": filters, "shares": [share_json(r) for r in rows]}, out, ensure_ascii=False, indent=2)
    out.write("\n")


def report_outcomes(
    service: CaseService,
    case_filter: CaseFilter,
    fmt: str,
    output: Path | None,
    *,
    generated_at: dt.datetime | None = None,
) -> int:
    """Write the report (CSV/JSON to standard output without `output`; a PDF needs a file); returns how many rows.

    The roles table applies through `CaseService.reading`; the audit entry is made before a file takes its name
    or a byte reaches the terminal, so nothing leaves unrecorded."""
    if fmt not in FORMATS:
        raise InvalidInput([Problem("--format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")])
    if fmt == "pdf" and output is None:
        raise InvalidInput([Problem("--output", "a PDF needs --output FILE")])
    if fmt == "pdf":
        from caselog.reports.common import ReportSettings
        from caselog.reports.output import check_output

        assert output is not None
        check_output(output)  # before any work: a typo in the folder costs nothing
    rows = DashboardService(service).mcid_shares(case_filter)
    filters = filters_in_words(case_filter)
    if fmt == "pdf":
        from caselog.reports.outcomes import write_outcomes_report
        from caselog.settings import load_settings

        assert output is not None
        write_outcomes_report(rows, output, case_filter=case_filter, generated_at=generated_at,
                              settings=ReportSettings.from_settings(load_settings()))  # fmt: skip
        try:
            service.record_event("print", record_type="report", details={"document": "outcomes report",
                                 "filters": filters, "rows": len(rows)})  # fmt: skip
        except BaseException:
            output.expanduser().unlink(missing_ok=True)  # unrecorded, it does not stay
            raise
        return len(rows)
    if output is None:
        record_export(service, fmt, len(rows), filters, None, rows=ROWS)
        _write(rows, sys.stdout, fmt, filters)
        return len(rows)
    with atomic_output(output, "w", newline="" if fmt == "csv" else None) as out:
        _write(rows, out, fmt, filters)
        record_export(service, fmt, len(rows), filters, output, rows=ROWS)
    return len(rows)


def _write(rows: Sequence[MCIDShare], out: IO[str], fmt: str, filters: dict[str, str]) -> None:
    if fmt == "csv":
        write_csv(rows, out)
    else:
        write_json(rows, out, filters)


def run(db: Database, actor: Actor | None, args: Any, case_filter: CaseFilter) -> int:
    """The command line's `report outcomes`: says where it wrote the file and how many rows."""
    count = report_outcomes(CaseService(db, actor=actor), case_filter, args.format, args.output)
    if args.output is not None:
        print(f"Wrote the outcomes report ({count} rows) to {args.output}.")
    return EXIT_OK
