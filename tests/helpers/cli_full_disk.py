"""The real `caselog` command on a disk that is full: every SQLite connection may not grow the file.

    python -m tests.helpers.cli_full_disk --db FILE import cases.json

`PRAGMA max_page_count` set to the file's current size makes SQLite fail the next write that needs a new page
with SQLITE_FULL ("database or disk is full"), exactly as a full disk does; everything else is `caselog` itself.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import sqlcipher3
from sqlalchemy import event
from sqlalchemy.pool import Pool

from caselog.cli import main


@event.listens_for(Pool, "checkout")  # after the connection is set up (an encrypted one keyed first)
def _disk_is_full(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if isinstance(dbapi_connection, (sqlite3.Connection, sqlcipher3.dbapi2.Connection)):
        # Cannot go below the current size: this pins the database at exactly the pages it has.
        dbapi_connection.execute("PRAGMA max_page_count = 1")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
