"""A workstation adding cases one at a time through the service: prints each case number once its commit returned.

    python -m tests.helpers.case_writer --db TARGET --prefix W1 --count 250 [--go FILE]

Opens the database, prints `ready`, waits for --go to exist (so several writers start together), then prints
one case number per line, flushed, only after `create_case` returned. Errors a user would see go to
standard error as `ERROR <kind>: <message>` with the contract's exit status.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from caselog.db.schema import open_database
from caselog.errors import CaselogError
from caselog.service import CaseService
from tests.factories import TODAY, make_case


def case_for(prefix: str, n: int, *, shared_mrns: int = 0) -> dict[str, object]:
    """A valid case of the writer's own new patient, or (shared_mrns) of one of a few patients all writers share."""
    case = make_case(notes=f"{prefix} case {n}: tolerated well.\nSeen again at six weeks.")
    mrn = f"SHARED-{n % shared_mrns}" if shared_mrns else f"{prefix}-{n}"
    case["patient"] = {**case["patient"], "mrn": mrn}
    return case


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--prefix", required=True, help="MRN prefix: letters and digits, unique per writer")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--go", type=Path, help="wait until this file exists before adding cases")
    parser.add_argument("--mrns", type=int, default=0, help="share this many MRNs with other writers (0: own)")
    args = parser.parse_args()
    try:
        db = open_database(args.db)
        service = CaseService(db, today=lambda: TODAY)
        print("ready", flush=True)
        while args.go is not None and not args.go.exists():
            time.sleep(0.002)
        for n in range(args.count):
            view = service.create_case(case_for(args.prefix, n, shared_mrns=args.mrns))
            print(view.case_number, flush=True)
        db.close()
    except CaselogError as exc:
        print(f"ERROR {type(exc).__name__}: {exc.message}", file=sys.stderr, flush=True)
        return exc.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
