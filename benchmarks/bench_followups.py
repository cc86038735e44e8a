"""Speed of the coordinator's follow-up due list (issue 15), printed as JSON (targets in each entry's "target").

    python benchmarks/bench_followups.py [--db FILE] [--cases 100000] [--repeats 20]

- due_list: `FollowUpService.due()` as the follow-up desk opens it (overdue now and due in the next 7 days, every
  procedure and surgeon), then for 14 days and one surgeon: median and 95th percentile < 300 ms over 100,000 cases.
- counts: `FollowUpService.counts()` over every case (the desk's counts table; no target of the issue's, reported).

Each entry gives wall-clock and CPU milliseconds: on a machine shared with other work the wall clock also counts
the time other processes held the CPU.

`--db` names an existing database (100,000 cases for the target); otherwise `caselog demo` makes one in a
temporary folder (a few minutes). The database is only read. "As of" is the database's latest procedure date, so
a database made on another day still has follow-ups falling due.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from caselog.db.schema import open_database
from caselog.db.tables import attempts_t, cases_t
from caselog.followup import FollowUpService
from caselog.service import CaseService


def _runs_ms(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each run (on a shared machine the CPU time is the one to compare)."""
    fn()  # warm: the first run reads the pages from disk
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _summary(runs: tuple[list[float], list[float]]) -> dict[str, Any]:
    wall, cpu = runs
    return {"median_ms": round(statistics.median(wall), 1), "p95_ms": round(_p95(wall), 1),
            "max_ms": round(max(wall), 1), "cpu_median_ms": round(statistics.median(cpu), 1),
            "cpu_p95_ms": round(_p95(cpu), 1)}  # fmt: skip


def bench_due(follow: FollowUpService, surgeon: str, repeats: int) -> dict[str, Any]:
    rows: list[int] = []

    def desk() -> None:
        rows[:] = [len(follow.due(within_days=7))]

    def fortnight() -> None:
        follow.due(within_days=14, surgeon=surgeon)

    week = _summary(_runs_ms(desk, repeats))
    filtered = _summary(_runs_ms(fortnight, repeats))
    return {"name": "due_list", "rows": rows[0], "week_all": week, "fortnight_one_surgeon": filtered,
            "surgeon": surgeon, "target": "< 300 ms (median and p95)"}  # fmt: skip


def bench_counts(follow: FollowUpService, repeats: int) -> dict[str, Any]:
    rows = follow.counts()
    return {"name": "counts", "rows": len(rows), **_summary(_runs_ms(follow.counts, repeats)),
            "target": "none (reported)"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an existing database (default: a new demo database in a temporary folder)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the new demo database")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db
        if db_path is None:
            db_path = str(Path(tmp) / "demo.sqlite3")
            subprocess.run([sys.executable, "-m", "caselog", "--db", db_path, "demo", "--cases", str(args.cases)],
                           check=True, capture_output=True)  # fmt: skip
        database = open_database(db_path)
        with database.read() as session:
            latest = session.execute(select(func.max(cases_t.c.procedure_date))).scalar_one()
            attempts = session.execute(select(func.count()).select_from(attempts_t)).scalar_one()
            surgeon = session.execute(
                select(cases_t.c.surgeon).group_by(cases_t.c.surgeon).order_by(func.count().desc()).limit(1)
            ).scalar_one()
        as_of = latest if isinstance(latest, dt.date) else dt.date.fromisoformat(str(latest))
        service = CaseService(database, today=lambda: as_of)
        follow = FollowUpService(service)
        report = {
            "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_1_5_15": os.getloadavg()},
            "database": {"cases": service.count(), "follow_up_attempts": attempts, "as_of": as_of.isoformat()},
            "results": [bench_due(follow, surgeon, args.repeats), bench_counts(follow, max(args.repeats // 5, 3))],
        }
        database.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
