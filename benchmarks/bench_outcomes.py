"""Speed of the share of follow-ups reaching MCID (issue 15), printed as JSON.

    python benchmarks/bench_outcomes.py [--db FILE] [--cases 100000] [--repeats 5]

In-process, through the service layer: `caselog.outcomes.mcid_shares` in one read snapshot, unfiltered and with
a surgeon's and a level's filter. Wall time and the process's CPU time are both given: on a machine shared by
other work the CPU time is the query's own cost. `--db` names an existing database (100,000 cases for the
target); otherwise `caselog demo` makes one in a temporary folder (about a minute). Figures are medians.
"""

from __future__ import annotations

import argparse
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
from caselog.outcomes import mcid_shares
from caselog.records import CaseFilter
from caselog.service import CaseService


def bench_shares(service: CaseService, case_filter: CaseFilter, repeats: int) -> dict[str, Any]:
    walls, cpus, rows = [], [], 0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        with service.reading() as session:
            rows = len(mcid_shares(session, case_filter))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"ms": round(statistics.median(walls) * 1000, 1), "cpu_ms": round(statistics.median(cpus) * 1000, 1),
            "rows": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an existing database (default: a new demo database in a temporary folder)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the new demo database")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db
        if db_path is None:
            db_path = str(Path(tmp) / "demo.sqlite3")
            subprocess.run([sys.executable, "-m", "caselog", "--db", db_path, "demo", "--cases", str(args.cases)],
                           check=True, capture_output=True)  # fmt: skip
        database = open_database(db_path)
        service = CaseService(database)
        filters = {"none": CaseFilter(), "surgeon": CaseFilter(surgeon=service.surgeons()[0]),
                   "level": CaseFilter(level="L4-L5")}  # fmt: skip
        report = {
            "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_1_5_15": os.getloadavg()},
            "database": {"cases": service.count()},
            "results": [{"name": "mcid_shares", "target": "well under 1000 ms",
                         **{name: bench_shares(service, f, args.repeats) for name, f in filters.items()}}],
        }  # fmt: skip
        database.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
