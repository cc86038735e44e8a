"""Speed of importing cases (issue 18) beside its floor, printed as JSON (the target in each entry's "target").

    python benchmarks/bench_import.py [--cases 10000] [--also-cases 1000 --also-cases 100000] [--repeats 3]

- import: `CaseService.import_cases(read_interchange(FILE))` of `--cases` valid demo cases (numbered afresh)
  into a new, empty SQLite database, as `caselog import` does it: read, parse, validate, store, audit.
- floor: the very rows that import wrote (every table it changed: patients, cases, levels, complications,
  outcomes, follow-up attempts, search rows, year counters, audit entries with their hashes and seals, the audit
  head), read back from the imported database as tuples, then inserted into another new, empty database through
  a raw sqlite3 connection: one executemany per table in one transaction, with the pragmas CaseLog's own
  connections use (WAL, synchronous FULL, foreign keys). Nothing is parsed, validated, hashed or converted: the
  least any import of those rows can cost. The run checks the floor's database holds exactly the import's rows.
- ratio: import over floor, wall clock and CPU time (the fairer figure on a shared machine); target < 5 at 10,000.

Each repeat makes both databases afresh and times the import and its floor one after the other, so load from
other work falls on both alike; medians are reported. `--also-cases` adds sizes for the growth table.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_cases import timed_import, write_import_file
from common import arguments, print_runs

from caselog.db.schema import open_database

TARGET_RATIO = 5.0
PRAGMAS = ("PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL", "PRAGMA journal_mode = WAL")

Rows = dict[str, list[tuple[Any, ...]]]


def empty_database(path: Path) -> Path:
    """A new database with CaseLog's schema and nothing else, made the way `caselog` makes one."""
    open_database(path).close()
    return path


def table_rows(path: Path) -> Rows:
    """Every row of every ordinary table (SQLite's own statistics aside), in storage order. The search index's
    FTS5 tables and the dashboard's stale marks (schema 0017) are left out: the floor's rows fill them through the
    same triggers as the import's."""
    with sqlite3.connect(path) as conn:
        names = [n for (n,) in conn.execute(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_list t ON t.schema = 'main' AND t.name = m.name "
            "WHERE m.type = 'table' AND t.type = 'table' AND m.name NOT LIKE 'sqlite_%' "
            "AND m.name NOT IN ('dashboard_stale', 'dashboard_stale_slices') ORDER BY m.rowid")]  # fmt: skip
        return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in names}


def written_rows(before: Rows, after: Rows) -> list[tuple[str, bool, list[tuple[Any, ...]]]]:
    """(table, whether rows replace existing ones, rows) for each table the import added to or changed, in
    schema order (parents before the rows that refer to them)."""
    written = []
    for name, rows in after.items():
        old = set(before.get(name, []))
        new = [row for row in rows if row not in old]
        if new:
            written.append((name, bool(old), new))
    return written


def floor_insert(path: Path, written: list[tuple[str, bool, list[tuple[Any, ...]]]]) -> None:
    """The rows inserted as cheaply as SQLite allows: prepared tuples, executemany, one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        conn.execute("BEGIN IMMEDIATE")
        for name, replacing, rows in written:
            verb = "INSERT OR REPLACE" if replacing else "INSERT"
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f'{verb} INTO "{name}" VALUES ({marks})', rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _clock(fn: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _figures(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(walls), 1), "max_ms": round(max(walls), 1),
            "cpu_median_ms": round(statistics.median(cpus), 1)}  # fmt: skip


def measure(folder: Path, cases: int, repeats: int) -> dict[str, Any]:
    """Import `cases` cases `repeats` times, each beside its floor; the medians and their ratio."""
    source = write_import_file(folder, cases)
    template = table_rows(empty_database(folder / f"template-{cases}.sqlite3"))
    imports: tuple[list[float], list[float]] = ([], [])
    floors: tuple[list[float], list[float]] = ([], [])
    written: list[tuple[str, bool, list[tuple[Any, ...]]]] = []
    imported = 0
    for run in range(max(repeats, 1)):
        target = empty_database(folder / f"import-{cases}-{run}.sqlite3")
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        _, imported = timed_import(source, target)
        imports[0].append((time.perf_counter() - start_wall) * 1000)
        imports[1].append((time.process_time() - start_cpu) * 1000)
        after = table_rows(target)
        written = written_rows(template, after)
        floor = empty_database(folder / f"floor-{cases}-{run}.sqlite3")
        wall, cpu = _clock(lambda: floor_insert(floor, written))  # noqa: B023 (called at once)
        floors[0].append(wall)
        floors[1].append(cpu)
        if table_rows(floor) != after:
            raise SystemExit(f"the floor's database differs from the import's at {cases} cases: not the same rows")
    import_figures, floor_figures = _figures(*imports), _figures(*floors)
    ratio = round(import_figures["median_ms"] / floor_figures["median_ms"], 2)
    cpu_ratio = round(import_figures["cpu_median_ms"] / floor_figures["cpu_median_ms"], 2)
    return {
        "database": {"cases": imported},
        "results": [{
            "name": "import_vs_raw_sqlite3_floor",
            "cases": imported,
            "rows_written": {name: len(rows) for name, _, rows in written},
            "import": import_figures,
            "floor": floor_figures,
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "target": f"ratio < {TARGET_RATIO:g} at 10,000 cases",
            "met": ratio < TARGET_RATIO,
        }],
    }  # fmt: skip


def parse() -> argparse.Namespace:
    parser = arguments(__doc__, cases=10_000, repeats=3)
    parser.add_argument("--also-cases", type=int, action="append", default=[], metavar="N",
                        help="another import size to measure, for the growth table (say 1000 or 100000)")  # fmt: skip
    args = parser.parse_args()
    if args.db:
        parser.error("--db is not used: each import goes into a new, empty database")
    return args


def main() -> None:
    args = parse()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(Path(tmp), cases, args.repeats) for cases in sorted({args.cases, *args.also_cases})]
    print_runs(runs)


if __name__ == "__main__":
    main()
