"""Speed of the patient's pathway (issue 14), printed as JSON (issue targets in each entry's "target").

    python benchmarks/bench_pathway.py [--db FILE_OR_URL ...] [--cases 100000] [--repeats 5] [--add-patient]

- patient_pathway_view: `CaseService.patient_pathway` for a patient with 40 cases (blocks, ablations and
  rhizotomies over years, with follow-ups and complications), and the "patient pathway" PDF of it
  (`caselog.reports.pathway.write_patient_pathway`): < 300 ms together.
- indication_check: `CaseService.indication_check` of that patient's last ablation against their other 39 cases,
  as the case form asks while a surgeon types: < 20 ms.
- outside_policy_list: the quality desk's list (`caselog.quality.list_outside_policy`) over every case: < 2 s.

Each figure gives wall-clock and CPU milliseconds (benchmarks/common.py): on a machine shared with other work the
wall clock also counts the time other processes held the CPU. `--db` names an existing database, once per size
for a growth table (100,000 cases for the list's target); otherwise `caselog demo` makes one in a temporary
folder (about a minute). A database named by `--db` is only read: the 40-case patient (MRN BENCH-PATHWAY-40,
synthetic: the demo's own cases moved onto one patient) is measured when it is there, and written into it only
with `--add-patient`; the temporary demo database gets it always.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from common import arguments, report, timed

from caselog import vocab
from caselog.db.schema import open_database
from caselog.demo import generate_marked
from caselog.errors import NotFound
from caselog.quality import list_outside_policy
from caselog.records import CaseFilter, CaseRecord, Patient
from caselog.reports import ReportSettings
from caselog.reports.pathway import write_patient_pathway
from caselog.service import CaseService

MRN = "BENCH-PATHWAY-40"
PATIENT = Patient(MRN, "Benchmark", "Pathway", dt.date(1958, 3, 14), "female")


def forty_cases() -> list[CaseRecord]:
    """40 cases of one patient: the demo's blocks, ablations and rhizotomies (with their follow-ups and
    complications) of its first patients with more than one case, moved onto the benchmark patient."""
    records: list[CaseRecord] = []
    by_mrn: dict[str, list[CaseRecord]] = {}
    for record, _ in generate_marked(3000, seed=14, until=dt.date.today() - dt.timedelta(days=30)):
        by_mrn.setdefault(record.patient.mrn, []).append(record)
    for cases in by_mrn.values():
        if len(cases) > 1 and len(records) < 40:
            records.extend(cases[: 40 - len(records)])
    return sorted((dataclasses.replace(r, patient=PATIENT, status="final") for r in records),
                  key=lambda r: r.procedure_date)  # fmt: skip


def has_patient(service: CaseService) -> bool:
    try:
        service.patient_pathway(MRN)
    except NotFound:
        return False
    return True


def bench_view(service: CaseService, folder: Path, repeats: int) -> dict[str, Any]:
    view, pathway = timed(lambda: service.patient_pathway(MRN), repeats)
    settings = ReportSettings()
    both, _ = timed(
        lambda: write_patient_pathway(service.patient_pathway(MRN), folder / "pathway.pdf", settings=settings),
        repeats,
    )
    return {"name": "patient_pathway_view", "patient_cases": len(pathway.cases), "joints": len(pathway.rows),
            "view": view, "view_and_pdf": both, "pdf_bytes": (folder / "pathway.pdf").stat().st_size,
            "target": "< 300 ms (view and PDF)"}  # fmt: skip


def bench_check(service: CaseService, repeats: int) -> dict[str, Any]:
    pathway = service.patient_pathway(MRN)
    last = [entry.case for entry in pathway.cases if entry.case.procedure in vocab.ABLATIONS][-1]
    number = last.case_number or ""
    record = service.get_case(number).record
    figures, _ = timed(lambda: service.indication_check(record, number), max(repeats, 20))
    return {"name": "indication_check", "case": number, "patient_cases": len(pathway.cases), **figures,
            "target": "< 20 ms"}  # fmt: skip


def bench_outside_policy(service: CaseService, repeats: int) -> dict[str, Any]:
    figures, rows = timed(lambda: list_outside_policy(service, sort="procedure_date", descending=True), repeats)
    ablations = sum(service.count(CaseFilter(procedure=p)) for p in sorted(vocab.ABLATIONS))
    return {"name": "outside_policy_list", "ablations": ablations, "outside_policy": len(rows), **figures,
            "target": "< 2 s (2000 ms)"}  # fmt: skip


def measure(target: str, args: Any) -> dict[str, Any]:
    database = open_database(target)
    try:
        service = CaseService(database)
        made_here = not args.db  # the temporary demo database (common.databases): ours to write
        if (made_here or args.add_patient) and not has_patient(service):
            service.add_records(forty_cases(), into_real_database=True)
        results: list[dict[str, Any]] = []
        if has_patient(service):
            with TemporaryDirectory() as folder:
                results.append(bench_view(service, Path(folder), args.repeats))
            results.append(bench_check(service, args.repeats))
        else:
            results.append({"name": "patient_pathway_view", "skipped": f"no patient {MRN} in this database (only "
                            "read); --add-patient writes it, never into a shared benchmark database"})  # fmt: skip
        results.append(bench_outside_policy(service, args.repeats))
        return {"database": {"target": target, "cases": service.count()}, "results": results}
    finally:
        database.close()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--add-patient", action="store_true",
                        help=f"write the 40-case patient {MRN} into a --db database that lacks it")  # fmt: skip
    args = parser.parse_args()
    report(args, lambda target: measure(target, args))


if __name__ == "__main__":
    main()
