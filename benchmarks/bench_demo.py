"""How long `caselog demo --cases N` takes, and how much memory it needs (issue 18).

Runs the real command in a child process on a new SQLite database in a temporary folder (removed afterwards) and
reports its wall and CPU seconds (the child's own user + system time, from the kernel) and its peak resident
memory (the child's ru_maxrss), then counts the cases it stored. Target: a million cases in under ten minutes on
the 2-core machine; a smaller N is printed beside the same pace (N / 1,000,000 of ten minutes). Memory has no
number in the issue: the figure shows whether it stays flat as N grows (`--more N` adds a run of N cases, and the
output's growth table sets the runs side by side).

    python benchmarks/bench_demo.py                       # 100,000 cases
    nice -n 5 python benchmarks/bench_demo.py --cases 1000000 --workdir /tmp/x
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import arguments, print_runs

MILLION_TARGET_S = 600.0


def measure(cases: int, workdir: str | None) -> dict[str, Any]:
    """One demo run of `cases` cases into a new database; the folder is removed afterwards."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench-demo-") as tmp:
        path = Path(tmp) / "demo.sqlite3"
        command = [sys.executable, "-m", "caselog", "--db", str(path), "demo", "--cases", str(cases)]
        root = Path(__file__).resolve().parents[1]
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stderr is not None
        out, err = child.stdout.read(), child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"caselog demo --cases {cases} failed ({child.returncode}): {err.strip()}")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            stored = con.execute("SELECT count(*) FROM cases").fetchone()[0]
            years = con.execute("SELECT count(DISTINCT substr(case_number, 1, 4)) FROM cases").fetchone()[0]
            sites = con.execute("SELECT count(DISTINCT facility) FROM cases").fetchone()[0]
            longest = con.execute("SELECT max(length(case_number)) FROM cases").fetchone()[0]
        target = MILLION_TARGET_S * cases / 1_000_000
    return {
        "database": {"cases": stored, "years": years, "facilities": sites},
        "results": [
            {
                "name": "demo",
                "wall_s": round(wall, 1),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                "target": f"wall under {target:.0f} s (ten minutes a million)",
                "met": wall < target,
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "progress_lines": len([line for line in err.splitlines() if line.startswith("demo:")]),
                "six_digit_numbers": longest > len("YYYY-NNNNN"),
                "printed": out.strip(),
            }
        ],
    }


def main() -> None:
    parser = arguments(__doc__, cases=100_000, repeats=1)
    parser.add_argument("--more", type=int, action="append", default=[], metavar="N", help="another run, of N cases")
    parser.add_argument("--workdir", help="where the temporary database folder goes (default: the system's)")
    args = parser.parse_args()
    if args.db:
        parser.error("--db: this benchmark makes its own databases (it measures the making)")
    counts = [args.cases, *args.more]
    runs = [measure(n, args.workdir) for n in counts]
    print_runs(runs)


if __name__ == "__main__":
    main()
