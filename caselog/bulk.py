"""Helpers for work over many cases at once (imports, demo data), shared by the service and the exchange."""

from __future__ import annotations

import contextlib
import gc
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Bulk work builds hundreds of thousands of small objects and no cycles; Python's cyclic collector
    would walk them again and again (a fifth of a 10,000-case import). Reference counting still frees them.

    On the way out the objects made meanwhile join the oldest generation unexamined (freeze, then unfreeze):
    re-enabling alone would have the next allocation walk every one of them at once, the caller's file and
    records still alive (a 10,000-case import paid 0.17 s CPU for that walk, for nothing to collect)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
            gc.unfreeze()


def copy_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """PostgreSQL: `rows` (each a mapping of `columns` to values converted as for an INSERT) into `table` by one
    COPY ... FROM STDIN, in the caller's transaction.

    Row by row, even pipelined, each INSERT costs the server a statement of its own: half its time in a demo
    went to starting and ending statements (20,000 cases: 22.9 s wall by executemany, 10.0 s by COPY). COPY
    holds every rule an INSERT does: each row meets the table's constraints, foreign keys, indexes and
    triggers. A failure is raised as SQLAlchemy's error for it (IntegrityError and so on), as executemany's
    would be; the caller's transaction is then undone whole."""
    from psycopg import Error  # the PostgreSQL driver, loaded with a server only

    dialect = connection.dialect
    quote = dialect.identifier_preparer
    sql = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) FROM STDIN"
    values: Callable[[Mapping[str, Any]], Any] = (
        operator.itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    refused: Error | None = None
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(values(row))
    except Error as exc:
        # PostgreSQL's message for a failed COPY quotes the row it stopped at (its CONTEXT line; its DETAIL may
        # hold a key): a patient's MRN, name and notes, which must reach no log (an INSERT's values are hidden:
        # hide_parameters) and must not decide which error the user is told (the message's words are matched).
        # Only the error's class (its SQLSTATE) and primary message go on, raised outside this block so that
        # nothing chains the original to it.
        refused = type(exc)(exc.diag.message_primary or type(exc).__name__)
    if refused is not None:
        raise DBAPIError.instance(sql, None, refused, Error, dialect=dialect)


def plan_with_values(session: Session) -> None:
    """PostgreSQL: plan every statement of the caller's transaction with the values it runs with.

    A batch looks patients and case numbers up 500 values at a time (`mrn IN (...)`), the same statement again
    and again; the driver prepares a statement run five times, and the server may then switch it to a generic
    plan made without the values. That plan read every patient and compared each with the 500 values one by one
    (a list of parameters cannot be hashed): 0.75 s a lookup at 130,000 cases and growing with the table, so a
    million-case demo took hours. Planned with its values, the lookup reads the MRN index (or hashes the list).
    SET LOCAL: the setting ends with the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
