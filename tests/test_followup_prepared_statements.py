"""The follow-up counts ask for later treatments a slice of case ids at a time; every slice is sent at one length,
so the driver keeps one prepared statement for them instead of one per length (each about 0.8 MB at 5,000 ids:
16 MB held after the counts at a million cases, issue 18). The counts stay the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from caselog import followup
from caselog.db.engine import Database
from caselog.demo import generate_cases
from caselog.followup import FollowUpService
from caselog.service import CaseService
from tests.factories import TODAY


def later_treatment_lengths(db: Database) -> set[int]:
    """How many case ids each later-treatment query the pooled SQLite connection keeps prepared asks for (from
    SQLite's sqlite_stmt table)."""
    raw = db.engine.raw_connection()
    try:
        rows = raw.driver_connection.execute("SELECT sql FROM sqlite_stmt").fetchall()  # type: ignore[union-attr]
    finally:
        raw.close()
    kept = [sql for (sql,) in rows if "min(later.procedure_date)" in sql]
    return {sql.split("earlier.id IN (", 1)[1].split(")", 1)[0].count("?") for sql in kept}


def test_later_treatments_are_asked_at_one_length(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few hundred cases (fewer unsettled than a slice holds), then slices of 7 ids: the same counts, and on
    SQLite only statements of a full slice's length are kept (a shorter last slice would keep its own)."""
    service = CaseService(db, today=lambda: TODAY)
    service.add_records(generate_cases(300, seed=5, until=TODAY, years=3))
    follow = FollowUpService(service)
    at_once = follow.counts()
    monkeypatch.setattr(followup, "_IDS_PER_QUERY", 7)
    sliced = follow.counts()
    assert sliced == at_once
    assert sum(row.overdue + row.lost for row in sliced) > 14  # at least a few slices of 7
    if db.engine.dialect.name == "sqlite":
        assert later_treatment_lengths(db) == {5000, 7}
