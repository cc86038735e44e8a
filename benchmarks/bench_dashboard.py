"""Speed of the dashboard and the quality desk's complications view (issue 6), printed as JSON.

    python benchmarks/bench_dashboard.py [--db FILE] [--cases 100000] [--repeats 5]

In-process, through the service layer the desktop app calls: `DashboardService.build` (whole, then each
chart on its own), the durability figures alone (with what they say: sides, lost, medians, the log-rank
test) and `caselog.quality.list_complications` / `count_complications` (each filter's first
page of rows plus its count, as the view shows them). `--db` names an existing database (100,000 cases for
the targets); otherwise `caselog demo` makes one in a temporary folder (about a minute). Figures are
medians of `--repeats` runs.
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

from caselog.dashboard import DashboardService
from caselog.db.schema import open_database
from caselog.quality import ComplicationFilter, count_complications, list_complications
from caselog.records import CaseFilter
from caselog.service import CaseService

PAGE = 100


def _median_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1), result


def bench_dashboard(service: CaseService, repeats: int) -> dict[str, Any]:
    dashboard = DashboardService(service)
    whole_ms, board = _median_ms(lambda: dashboard.build(CaseFilter()), repeats)
    parts = {
        "cases_per_month": dashboard.cases_per_month,
        "complication_rates": dashboard.complication_rates,
        "durations": dashboard.durations,
        "pain_scores": dashboard.pain_scores,
        "durability": dashboard.durability,
    }
    part_ms = {name: _median_ms(lambda fn=fn: fn(CaseFilter()), repeats)[0] for name, fn in parts.items()}
    surgeon = service.surgeons()[0]
    year = dt.date.today().year
    filtered = {
        "surgeon": CaseFilter(surgeon=surgeon),
        "last_year": CaseFilter(date_from=dt.date(year - 1, 1, 1), date_to=dt.date(year - 1, 12, 31)),
    }
    filtered_ms = {name: _median_ms(lambda f=f: dashboard.build(f), repeats)[0] for name, f in filtered.items()}
    return {
        "name": "dashboard_build",
        "cases": board.cases,
        "ms": whole_ms,
        "parts_ms": part_ms,
        "filtered_build_ms": filtered_ms,
        "durability_sides": {c.procedure: c.n for c in board.durability.curves},
        "target": "< 2000 ms",
    }


def bench_durability(service: CaseService, repeats: int) -> dict[str, Any]:
    """The durability figures alone (curves with bands, follow-up states, sensitivity, log-rank), and what they say."""
    dashboard = DashboardService(service)
    ms, durability = _median_ms(lambda: dashboard.durability(CaseFilter()), repeats)
    cpu = []  # the processor time alone: on a shared, loaded machine the wall clock says more about the others
    for _ in range(repeats):
        start = time.process_time()
        dashboard.durability(CaseFilter())
        cpu.append(time.process_time() - start)
    comparison = durability.comparison
    return {
        "name": "durability_figures",
        "ms": ms,
        "cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "target": "< 2000 ms (within the dashboard's build)",
        "curves": {
            c.procedure: {
                "sides": c.n, "patients": c.patients, "repeats": c.repeats, "lost": c.lost, "died": c.died,
                "never_seen_again": c.no_contact, "steps": len(c.curve.steps), "median_days": c.median_days,
                "median_ci_days": list(c.median_ci_days),
                "relief": {r.months: None if r.survival is None else round(r.survival, 4) for r in c.relief},
            }
            for c in durability.curves
        },
        "log_rank": None if comparison is None else {"chi_square": comparison.result.statistic,
                                                     "p_value": comparison.result.p_value},
    }  # fmt: skip


def bench_complications(service: CaseService, repeats: int) -> dict[str, Any]:
    """Each filter: the count plus the first page, as the complications view shows them."""
    surgeon = service.surgeons()[0]
    year = dt.date.today().year
    filters = {
        "none": (ComplicationFilter(), "procedure_date"),
        "date_range_quarter": (ComplicationFilter(date_from=dt.date(year - 1, 1, 1), date_to=dt.date(year - 1, 3, 31)),
                               "procedure_date"),
        "procedure": (ComplicationFilter(procedure="radiofrequency_ablation"), "procedure_date"),
        "surgeon": (ComplicationFilter(surgeon=surgeon), "procedure_date"),
        "category": (ComplicationFilter(category="hematoma"), "procedure_date"),
        "clavien_dindo": (ComplicationFilter(clavien_dindo="IIIb"), "procedure_date"),
        "timing": (ComplicationFilter(timing="postoperative"), "procedure_date"),
        "review_open": (ComplicationFilter(review_status="open"), "procedure_date"),
        "combined": (ComplicationFilter(procedure="laminectomy", surgeon=surgeon, date_from=dt.date(year - 3, 1, 1),
                                        review_status="open"), "procedure_date"),
        "sorted_by_grade_desc": (ComplicationFilter(), "clavien_dindo"),
        "sorted_by_review_status": (ComplicationFilter(), "review_status"),
    }  # fmt: skip
    results: dict[str, Any] = {}
    for name, (f, sort) in filters.items():

        def view(f: ComplicationFilter = f, sort: str = sort) -> tuple[int, int]:
            matched = count_complications(service, f)
            page = list_complications(service, f, sort=sort, descending=sort != "procedure_date", limit=PAGE)
            return matched, len(page)

        ms, (matched, page) = _median_ms(view, repeats)
        results[name] = {"ms": ms, "matched": matched, "page": page}
    worst = max(r["ms"] for r in results.values())
    return {"name": "complications_view_filter_count_and_first_page", "worst_ms": worst, "target": "< 200 ms each",
            "filters": results}  # fmt: skip


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
        report = {
            "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_1_5_15": os.getloadavg()},
            "database": {"cases": service.count()},
            "results": [
                bench_dashboard(service, args.repeats),
                bench_durability(service, args.repeats),
                bench_complications(service, args.repeats),
            ],
        }
        database.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
