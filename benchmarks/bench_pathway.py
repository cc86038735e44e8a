"""Speed of the patient's pathway (issue 14), printed as JSON (issue targets in each entry's "target").

    python benchmarks/bench_pathway.py [--db FILE] [--cases 100000] [--repeats 5]

- patient_pathway_view: `CaseService.patient_pathway` for a patient with 40 cases (blocks, ablations and
  rhizotomies over years, with follow-ups and complications), and the "patient pathway" PDF of it
  (`caselog.reports.pathway.write_patient_pathway`): < 300 ms together.
- indication_check: `CaseService.indication_check` of that patient's last ablation against their other 39 cases,
  as the case form asks while a surgeon types: < 20 ms.
- outside_policy_list: the quality desk's list (`caselog.quality.list_outside_policy`) over every case: < 2 s.

`--db` names an existing database (100,000 cases for the list's target); otherwise `caselog demo` makes one in a
temporary folder (about a minute). The 40-case patient (MRN BENCH-PATHWAY-40, synthetic: the demo's own cases
moved onto one patient) is added to the database when it is not there yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _median_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


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


def ensure_patient(service: CaseService) -> None:
    try:
        service.patient_pathway(MRN)
    except NotFound:
        service.add_records(forty_cases(), into_real_database=True)


def bench_view(service: CaseService, folder: Path, repeats: int) -> dict[str, Any]:
    view_ms, view_runs = _median_ms(lambda: service.patient_pathway(MRN), repeats)
    pathway = service.patient_pathway(MRN)
    result: dict[str, Any] = {"name": "patient_pathway_view", "patient_cases": len(pathway.cases),
                              "joints": len(pathway.rows), "view_ms": round(view_ms, 1),
                              "view_runs_ms": [round(t, 1) for t in view_runs]}  # fmt: skip
    settings = ReportSettings()
    pdf_ms, pdf_runs = _median_ms(
        lambda: write_patient_pathway(service.patient_pathway(MRN), folder / "pathway.pdf", settings=settings),
        repeats,
    )
    result |= {"view_and_pdf_ms": round(pdf_ms, 1), "view_and_pdf_runs_ms": [round(t, 1) for t in pdf_runs],
               "pdf_bytes": (folder / "pathway.pdf").stat().st_size, "target": "< 300 ms (view and PDF)"}  # fmt: skip
    return result


def bench_check(service: CaseService, repeats: int) -> dict[str, Any]:
    pathway = service.patient_pathway(MRN)
    last = [entry.case for entry in pathway.cases if entry.case.procedure in vocab.ABLATIONS][-1]
    number = last.case_number or ""
    record = service.get_case(number).record
    check_ms, runs = _median_ms(lambda: service.indication_check(record, number), max(repeats, 20))
    return {"name": "indication_check", "case": number, "patient_cases": len(pathway.cases),
            "median_ms": round(check_ms, 2), "max_ms": round(max(runs), 2), "target": "< 20 ms"}  # fmt: skip


def bench_outside_policy(service: CaseService, repeats: int) -> dict[str, Any]:
    """Wall time (the target) and this process's CPU time of each run: on a machine shared with other work
    the wall time also counts the others' turns, the CPU time only the list's."""
    rows: list[Any] = []
    cpu: list[float] = []

    def listed() -> None:
        start = time.process_time()
        rows[:] = list_outside_policy(service, sort="procedure_date", descending=True)
        cpu.append(time.process_time() - start)

    seconds_ms, runs = _median_ms(listed, repeats)
    ablations = sum(service.count(CaseFilter(procedure=p)) for p in sorted(vocab.ABLATIONS))
    return {"name": "outside_policy_list", "cases": service.count(), "ablations": ablations,
            "outside_policy": len(rows), "seconds": round(seconds_ms / 1000, 3),
            "runs_s": [round(t / 1000, 3) for t in runs], "cpu_seconds": round(statistics.median(cpu), 3),
            "cpu_runs_s": [round(t, 3) for t in cpu], "target": "< 2 s"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an existing database (default: a new demo database in a temporary folder)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the new demo database")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = args.db
        if db_path is None:
            db_path = str(folder / "demo.sqlite3")
            subprocess.run([sys.executable, "-m", "caselog", "--db", db_path, "demo", "--cases", str(args.cases)],
                           check=True, capture_output=True)  # fmt: skip
        database = open_database(db_path)
        service = CaseService(database)
        ensure_patient(service)
        report = {
            "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_1_5_15": os.getloadavg()},
            "database": {"cases": service.count()},
            "results": [
                bench_view(service, folder, args.repeats),
                bench_check(service, args.repeats),
                bench_outside_policy(service, args.repeats),
            ],
        }
        database.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
