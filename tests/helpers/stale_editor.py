"""One of several clients editing the same case from the same stale copy, round after round.

    python -m tests.helpers.stale_editor --db TARGET --case NUMBER --worker W --rounds R --sync DIR

Round r (0-based): wait for DIR/go-r, then `update_case(expected_version=r + 1)` with notes naming the round
and the worker; print `r W saved` or `r W conflict`, then create DIR/done-r-W. Every client of a round holds
the same version, so exactly one may save and the others must be refused.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from caselog.db.schema import open_database
from caselog.errors import CaselogError, Conflict
from caselog.service import CaseService
from tests.factories import TODAY, make_case


def notes_for(round_: int, worker: int) -> str:
    return f"round {round_} written by client {worker}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--case", required=True)
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--sync", type=Path, required=True)
    args = parser.parse_args()
    db = open_database(args.db)
    service = CaseService(db, today=lambda: TODAY)
    status = 0
    for r in range(args.rounds):
        content = make_case(notes=notes_for(r, args.worker))
        while not (args.sync / f"go-{r}").exists():
            time.sleep(0.002)
        try:
            service.update_case(args.case, content, expected_version=r + 1)
            print(f"{r} {args.worker} saved", flush=True)
        except Conflict:
            print(f"{r} {args.worker} conflict", flush=True)
        except CaselogError as exc:
            print(f"ERROR {type(exc).__name__}: {exc.message}", file=sys.stderr, flush=True)
            status = exc.exit_status
        (args.sync / f"done-{r}-{args.worker}").touch()
    db.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
