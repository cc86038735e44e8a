"""Speed of the share of follow-ups reaching MCID (issue 15), printed as JSON.

    python benchmarks/bench_outcomes.py [--db FILE ...] [--cases 100000] [--repeats 5]

In-process, through the service layer: `caselog.outcomes.mcid_shares` in one read snapshot, unfiltered and with
a surgeon's and a level's filter. Wall time and the process's CPU time are both given: on a machine shared by
other work the CPU time is the query's own cost. `--db` names an existing database, once per size for a
growth table (100,000 cases for the target); otherwise `caselog demo` makes one in a temporary folder (about a
minute). Figures are medians.
"""

from __future__ import annotations

from typing import Any

from common import arguments, report, timed

from caselog.db.schema import open_database
from caselog.outcomes import mcid_shares
from caselog.records import CaseFilter
from caselog.service import CaseService


def bench_shares(service: CaseService, case_filter: CaseFilter, repeats: int) -> dict[str, Any]:
    def shares() -> int:
        with service.reading() as session:
            return len(mcid_shares(session, case_filter))

    figures, rows = timed(shares, repeats)
    return {**figures, "rows": rows}


def measure(target: str, repeats: int) -> dict[str, Any]:
    database = open_database(target)
    try:
        service = CaseService(database)
        filters = {"none": CaseFilter(), "surgeon": CaseFilter(surgeon=service.surgeons()[0]),
                   "level": CaseFilter(level="L4-L5")}  # fmt: skip
        return {
            "database": {"cases": service.count()},
            "results": [{"name": "mcid_shares", "target": "well under 1000 ms",
                         **{name: bench_shares(service, f, repeats) for name, f in filters.items()}}],
        }  # fmt: skip
    finally:
        database.close()


def main() -> None:
    args = arguments(__doc__).parse_args()
    report(args, lambda target: measure(target, args.repeats))


if __name__ == "__main__":
    main()
