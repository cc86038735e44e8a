"""What the benchmarks share: the databases they measure, timing in wall and CPU time, and the growth table.

Each script takes `--db FILE_OR_URL` once per database (say a 10,000-, a 100,000- and a 1,000,000-case demo
database); without one it makes a `--cases` demo database in a temporary folder. Every figure is measured on
every database, and the output's `growth` table sets each figure side by side by case count, so whether it grows
with the data or stays flat can be read at a glance. CPU time is printed beside wall time: on a shared machine
it is the fairer of the two.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def arguments(doc: str | None, *, cases: int = 100_000, repeats: int = 5) -> argparse.ArgumentParser:
    """The parser every benchmark starts from; scripts add their own options to it."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", default=[], metavar="FILE_OR_URL",
                        help="an existing database to measure; give it once per size for a growth table "
                        "(default: a new demo database in a temporary folder)")  # fmt: skip
    parser.add_argument("--cases", type=int, default=cases, help="cases in the new demo database")
    parser.add_argument("--repeats", type=int, default=repeats, help="runs per figure (medians are reported)")
    return parser


def make_demo(folder: Path, cases: int) -> str:
    """A new demo database of `cases` cases, made by the real command (a minute per 100,000 cases)."""
    path = str(folder / "demo.sqlite3")
    subprocess.run([sys.executable, "-m", "caselog", "--db", path, "demo", "--cases", str(cases)],
                   check=True, capture_output=True)  # fmt: skip
    return path


@contextmanager
def databases(args: argparse.Namespace) -> Iterator[list[str]]:
    """The databases to measure: those named by `--db`, or one new demo database removed afterwards."""
    if args.db:
        yield list(args.db)
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield [make_demo(Path(tmp), args.cases)]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    """Median, 95th percentile and max of `repeats` runs, in wall and CPU milliseconds, and the last result."""
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    for _ in range(max(repeats, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    figures = {
        "median_ms": round(statistics.median(walls), 1),
        "p95_ms": round(_p95(walls), 1),
        "max_ms": round(max(walls), 1),
        "cpu_median_ms": round(statistics.median(cpus), 1),
        "cpu_p95_ms": round(_p95(cpus), 1),
    }
    return figures, result


def machine() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_1_5_15": os.getloadavg()}


def _numbers(prefix: str, value: Any) -> Iterator[tuple[str, float]]:
    """Every numeric leaf of one result, named by its path (`week_all.median_ms`)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield prefix, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _numbers(f"{prefix}.{key}" if prefix else str(key), inner)


def growth(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure: its value at each database's case count, smallest database first."""
    rows: dict[str, dict[str, float]] = {}
    for run in sorted(runs, key=lambda r: r["database"]["cases"]):
        cases = str(run["database"]["cases"])
        for result in run["results"]:
            name = result.get("name", "?")
            for path, number in _numbers("", {k: v for k, v in result.items() if k not in ("name", "target")}):
                rows.setdefault(f"{name}.{path}", {})[cases] = number
    return [{"figure": figure, "by_cases": values} for figure, values in rows.items() if len(values) > 1]


def report(args: argparse.Namespace, measure: Callable[[str], dict[str, Any]]) -> None:
    """Run `measure` on each database (it returns {"database": {"cases": N, ...}, "results": [...]}) and print
    the whole as JSON: the machine, each run, and the growth table when more than one database was measured."""
    with databases(args) as targets:
        print_runs([measure(target) for target in targets])


def print_runs(runs: list[dict[str, Any]]) -> None:
    """The JSON every benchmark prints: the machine, each run, and the growth table when there are several."""
    out: dict[str, Any] = {"machine": machine(), "runs": runs}
    if len(runs) > 1:
        out["growth"] = growth(runs)
    print(json.dumps(out, indent=2, ensure_ascii=False))
