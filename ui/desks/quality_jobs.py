"""Long work for the quality desk, without widgets: the XLSX of exactly what the filters show, the complication
log PDF, and the CSV or XLSX of the cases outside the policy. All write atomically (complete or not at all) and
leave an audit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from caselog import audit, exports, policy_exports
from caselog.quality import ComplicationFilter, PolicyFilter, cases_by_procedure
from caselog.records import CaseFilter
from caselog.service import CaseService

if TYPE_CHECKING:
    from caselog.reports import ReportSettings

Progress = Callable[[int, int, str], None]


def export_complications(
    service: CaseService, f: ComplicationFilter, path: Path, *, sort: str, descending: bool
) -> Callable[[Progress], int]:
    """Work: every complication the filter selects, in the list's order, to `path`; returns how many."""

    def work(progress: Progress) -> int:
        return exports.export_complications(service, f, path, sort=sort, descending=descending, progress=progress)

    return work


def complication_log(
    service: CaseService, date_from: dt.date | None, date_to: dt.date | None, path: Path, settings: ReportSettings
) -> Callable[[Progress], tuple[int, int]]:
    """Work: the complication log PDF of every case in the date range (as `caselog report complications`): the
    rates' denominators are counted in SQL, and only the rows the log prints are read (a million cases are not
    loaded to list the few percent that had a complication)."""
    # reportlab loads here, on the GUI thread, not with the desk
    from caselog.reports.complications import LoggedRange, events_for_log, write_complication_log

    def work(progress: Progress) -> tuple[int, int]:
        case_filter = CaseFilter(date_from=date_from, date_to=date_to)
        counts = cases_by_procedure(service, case_filter)
        progress(0, 2, "Reading the complications")
        with service.reading() as session:
            found = events_for_log(session, case_filter)
        progress(1, 2, f"Laying out the complication log ({len(found):,} complications)")
        head = audit.head_line(audit.current_head(service.db))
        write_complication_log(LoggedRange(found, counts), path, date_from=date_from, date_to=date_to,
                               settings=settings, audit_head=head)  # fmt: skip
        events = len(found)
        cases = sum(counts.values())
        service.record_event("print", record_type="report", details={"document": "complication log",
                             "from": str(date_from), "to": str(date_to), "cases": cases})  # fmt: skip
        return cases, events

    return work


def export_outside_policy(
    service: CaseService, f: PolicyFilter, path: Path, fmt: str, *, sort: str, descending: bool
) -> Callable[[Progress], int]:
    """Work: every case outside the policy the filter selects, in the list's order, to `path`; returns how many."""

    def work(progress: Progress) -> int:
        return policy_exports.export_outside_policy(service, f, path, fmt, sort=sort, descending=descending,
                                                    progress=progress)  # fmt: skip

    return work
