"""Speed of the coordinator's follow-up due list (issue 15), printed as JSON (targets in each entry's "target").

    python benchmarks/bench_followups.py [--db FILE ...] [--cases 100000] [--repeats 20]

- due_list: `FollowUpService.due()` as the follow-up desk opens it (overdue now and due in the next 7 days, every
  procedure and surgeon), then for 14 days and one surgeon: median and 95th percentile < 300 ms over 100,000 cases.
- counts: `FollowUpService.counts()` over every case (the desk's counts table; no target of the issue's, reported).

Each entry gives wall-clock and CPU milliseconds: on a machine shared with other work the wall clock also counts
the time other processes held the CPU.

`--db` names an existing database, once per size for a growth table (100,000 cases for the target); otherwise
`caselog demo` makes one in a temporary folder (a few minutes). The database is only read. "As of" is the
database's latest procedure date, so a database made on another day still has follow-ups falling due.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from common import arguments, report, timed
from sqlalchemy import func, select

from caselog.db.schema import open_database
from caselog.db.tables import attempts_t, cases_t
from caselog.followup import FollowUpService
from caselog.service import CaseService


def bench_due(follow: FollowUpService, surgeon: str, repeats: int) -> dict[str, Any]:
    follow.due(within_days=7)  # warm: the first run reads the pages from disk
    week, rows = timed(lambda: follow.due(within_days=7), repeats)
    filtered, _ = timed(lambda: follow.due(within_days=14, surgeon=surgeon), repeats)
    return {"name": "due_list", "rows": len(rows), "week_all": week, "fortnight_one_surgeon": filtered,
            "surgeon": surgeon, "target": "< 300 ms (median and p95)"}  # fmt: skip


def bench_counts(follow: FollowUpService, repeats: int) -> dict[str, Any]:
    figures, rows = timed(follow.counts, repeats)
    return {"name": "counts", "rows": len(rows), **figures, "target": "none (reported)"}


def measure(target: str, repeats: int) -> dict[str, Any]:
    database = open_database(target)
    try:
        with database.read() as session:
            latest = session.execute(select(func.max(cases_t.c.procedure_date))).scalar_one()
            attempts = session.execute(select(func.count()).select_from(attempts_t)).scalar_one()
            surgeon = session.execute(
                select(cases_t.c.surgeon).group_by(cases_t.c.surgeon).order_by(func.count().desc()).limit(1)
            ).scalar_one()
        as_of = latest if isinstance(latest, dt.date) else dt.date.fromisoformat(str(latest))
        service = CaseService(database, today=lambda: as_of)
        follow = FollowUpService(service)
        return {
            "database": {"cases": service.count(), "follow_up_attempts": attempts, "as_of": as_of.isoformat()},
            "results": [bench_due(follow, surgeon, repeats), bench_counts(follow, max(repeats // 5, 3))],
        }
    finally:
        database.close()


def main() -> None:
    args = arguments(__doc__, repeats=20).parse_args()
    report(args, lambda target: measure(target, args.repeats))


if __name__ == "__main__":
    main()
