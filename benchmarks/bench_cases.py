"""Speed and memory of the case records layer, printed as JSON (issue targets in each entry's "target").

    python benchmarks/bench_cases.py [--cases 100000] [--import-cases 10000] [--db postgresql+psycopg://...]

Runs the real `caselog` command in subprocesses where the target is about the command (demo, export memory),
and the service layer in-process where it is about a call (import, queries).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from caselog.db.schema import open_database
from caselog.exchange import atomic_output, read_interchange, write_json
from caselog.records import CaseFilter
from caselog.service import CaseService

CLI = [sys.executable, "-m", "caselog"]


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def write_import_file(folder: Path, count: int) -> Path:
    """`count` valid demo cases as an interchange JSON file (owner-only), numbered afresh on import."""
    folder = Path(tempfile.mkdtemp(dir=folder))  # each run its own files
    source_db = open_database(folder / "source.sqlite3")
    service = CaseService(source_db)
    from caselog.demo import generate_cases

    service.add_records(generate_cases(count, seed=42))
    path = folder / "import.json"
    with atomic_output(path) as out:  # owner-only, like every file CaseLog writes (patients, even synthetic)
        write_json(service.iter_cases(), out)
    source_db.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    for case in data["cases"]:
        case["case_number"] = None  # numbered afresh, as a file from another system would be
    with atomic_output(path) as out:
        out.write(json.dumps(data, ensure_ascii=False))
    return path


def timed_import(path: Path, db_target: str | Path) -> tuple[float, int]:
    """Seconds to import the file `path` into the open database `db_target` (read, parse, validate, store)."""
    target = open_database(db_target)
    try:
        seconds, numbers = _timed(lambda: CaseService(target).import_cases(read_interchange(path)))
    finally:
        target.close()
    return seconds, len(numbers)


def bench_import(folder: Path, count: int, db_target: str | None) -> dict[str, Any]:
    """Import `count` valid cases from a JSON file into an empty database: read, parse, validate, store."""
    path = write_import_file(folder, count)
    seconds, imported = timed_import(path, db_target or path.parent / "import.sqlite3")
    return {"name": "import_valid_cases", "cases": imported, "seconds": round(seconds, 3), "target": "< 3 s"}


def bench_demo(db: str, count: int) -> dict[str, Any]:
    seconds, result = _timed(lambda: subprocess.run([*CLI, "--db", db, "demo", "--cases", str(count)],
                                                    capture_output=True, text=True, check=True))  # fmt: skip
    return {"name": "demo_cases", "cases": count, "seconds": round(seconds, 3), "target": "< 60 s",
            "output": result.stdout.strip()}  # fmt: skip


def list_filters(service: CaseService) -> dict[str, tuple[CaseFilter, str]]:
    """Each contract filter (and a sort by patient), with the sort the list uses: name -> (filter, sort key)."""
    surgeon = service.surgeons()[0]
    year = dt.date.today().year
    filters = {
        "none": CaseFilter(),
        "date_range": CaseFilter(date_from=dt.date(year - 1, 1, 1), date_to=dt.date(year - 1, 3, 31)),
        "surgeon": CaseFilter(surgeon=surgeon),
        "procedure": CaseFilter(procedure="endoscopic_rhizotomy"),
        "level": CaseFilter(level="C5-C6"),
        "status": CaseFilter(status="draft"),
        "with_complications": CaseFilter(with_complications=True),
        "search_name": CaseFilter(search="иванова"),
        "search_case_number": CaseFilter(search=f"{year - 2}-0004"),
        "combined": CaseFilter(
            procedure="radiofrequency_ablation", level="L4-L5", surgeon=surgeon, date_from=dt.date(year - 3, 1, 1)
        ),
    }
    listed = {name: (case_filter, "procedure_date") for name, case_filter in filters.items()}
    listed["sorted_by_patient_desc"] = (CaseFilter(), "patient")
    return listed


def bench_queries(db: str, repeats: int = 5) -> dict[str, Any]:
    """Each contract filter: the count plus the first page of 100 rows, as the list and the app show them."""
    database = open_database(db)
    service = CaseService(database)
    total = service.count()
    results: dict[str, Any] = {}
    for name, (case_filter, sort) in list_filters(service).items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            matched = service.count(case_filter)
            page = service.query(case_filter, sort=sort, descending=True, limit=100)
            times.append(time.perf_counter() - start)
        results[name] = {"ms": round(statistics.median(times) * 1000, 1), "matched": matched, "page": len(page)}
    database.close()
    worst = max(r["ms"] for r in results.values())
    return {"name": "filtered_query_count_and_first_page", "cases": total, "worst_ms": worst,
            "target": "< 100 ms each", "filters": results}  # fmt: skip


def bench_export_memory(db: str, folder: Path) -> dict[str, Any]:
    """Peak memory of `caselog export`, measured by a fresh parent that has only that one child."""
    out = folder / "export.json"
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", probe, *CLI, "--db", db, "export", "--output", str(out)]
    seconds, result = _timed(lambda: subprocess.run(command, capture_output=True, text=True, check=True))
    peak_kb = int(result.stdout.strip())
    cases = len(json.loads(out.read_text(encoding="utf-8"))["cases"])
    return {"name": "json_export_streams", "cases": cases, "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1), "file_mb": round(out.stat().st_size / 1e6, 1),
            "target": "< 300 MB"}  # fmt: skip


def _fresh_pg_database(admin_url: str, name: str) -> str:
    """An empty database on the PostgreSQL server of `admin_url` (its user may create databases)."""
    from sqlalchemy import create_engine, make_url, text

    admin = make_url(admin_url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def run_all(folder: Path, *, import_db: str | None, big: str, cases: int, import_cases: int) -> list[dict[str, Any]]:
    return [
        bench_import(folder, import_cases, import_db),
        bench_demo(big, cases),
        bench_export_memory(big, folder),
        bench_queries(big),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--import-cases", type=int, default=10_000)
    parser.add_argument("--db", help="database for the large set (default: a temporary SQLite file)")
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="also run everything on PostgreSQL: a server URL whose user may create databases "
        "(e.g. the one .ci/start-postgres prints); results are printed side by side",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = args.db or str(folder / "big.sqlite3")
        report: dict[str, Any] = {
            "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load": os.getloadavg()},
            "sqlite": run_all(folder, import_db=None, big=big, cases=args.cases, import_cases=args.import_cases),
        }
        if args.pg:
            report["postgresql"] = run_all(
                folder,
                import_db=_fresh_pg_database(args.pg, "caselog_bench_import"),
                big=_fresh_pg_database(args.pg, "caselog_bench_big"),
                cases=args.cases,
                import_cases=args.import_cases,
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
