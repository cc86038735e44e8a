"""Long work the main window hands to the task runner: exports, case summary PDFs, demo data. No widgets here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from caselog import exports
from caselog.exports import FORMATS
from caselog.records import CaseFilter
from caselog.research import may_release
from caselog.service import CaseService

if TYPE_CHECKING:
    from caselog.reports import ReportSettings

Progress = Callable[[int, int, str], None]

#: Every format's save dialog filter, CSV first (what most people open the list in).
EXPORT_FILTERS = {f.name: f.dialog_filter for f in sorted(FORMATS.values(), key=lambda f: f.name != "csv")}


def export_filters(service: CaseService) -> dict[str, str]:
    """The save dialog's filters for this account: the de-identified research export only to those the service
    lets release it (quality staff), as the quality desk offers it; the others would only meet a refusal."""
    return {name: label for name, label in EXPORT_FILTERS.items() if name != "research" or may_release(service)}


def export_format(path: Path, chosen_filter: str, offered: Mapping[str, str] = EXPORT_FILTERS) -> str:
    """The format from the file's ending (the longest that fits: `x.fhir.json` is FHIR, not CaseLog JSON),
    else from the filter the user picked in the dialog; only among the formats `offered`."""
    name = path.name.lower()
    endings = sorted((f for f in FORMATS.values() if f.name in offered), key=lambda f: -len(f.extension))
    for form in endings:
        if name.endswith(f".{form.extension}"):
            return form.name
    for key, label in offered.items():
        if label == chosen_filter:
            return key
    return "csv"


def export_path(path: Path, fmt: str) -> Path:
    """The file name with the format's ending, added when the user left it out."""
    ending = f".{FORMATS[fmt].extension}"
    return path if path.name.lower().endswith(ending) else path.with_name(f"{path.name}{ending}")


def export_cases(service: CaseService, case_filter: CaseFilter, path: Path, fmt: str) -> Callable[[Progress], int]:
    """Work that writes the filtered cases to `path` (complete or not at all, and audited) and returns how many."""

    def work(progress: Progress) -> int:
        return exports.export_cases(service, case_filter, fmt, path, progress=progress)

    return work


def case_summaries(
    service: CaseService, case_numbers: list[str], path: Path, settings: ReportSettings
) -> Callable[[Progress], Path]:
    # reportlab is loaded here, on the GUI thread, for the first PDF (not at the app's start)
    from caselog.followup import FollowUpService
    from caselog.reports import write_case_summaries
    from caselog.reports.pathway import pathways_for

    def work(progress: Progress) -> Path:
        views = service.get_cases(case_numbers)
        pathways = pathways_for(views, service.patient_pathway)
        schedule = FollowUpService(service).schedule()  # the next follow-up as the desk shows it
        write_case_summaries(
            views, path, settings=settings, progress=progress, pathways=pathways, follow_up_schedule=schedule
        )
        return path

    return work


def load_demo(service: CaseService, count: int, *, seed: int = 1) -> Callable[[Progress], int]:
    """Add `count` made-up cases, all or none (one transaction, as `caselog demo`), as a stream."""
    from caselog.demo import clinic_schedule, stream_cases  # loaded with the first demo, not at the app's start

    def work(progress: Progress) -> int:
        progress(0, count, "Making up demo cases")
        records = stream_cases(count, seed=seed, schedule=clinic_schedule(service))

        def made(stored: int) -> None:
            progress(stored, count, f"Made {stored:,} of {count:,} demo cases (saved when all are made)")

        added, _, _ = service.add_record_stream(records, batch=2000, progress=made)
        return added

    return work
