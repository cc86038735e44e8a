"""Schema 0016: the letter-case check of new MRNs reads an index on `upper(mrn)` instead of every patient (a
network's 338,000 at a million cases, once per batch of 500 new MRNs), on SQLite and PostgreSQL alike; the
check itself still refuses a twin typed in other letter case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select, text

from caselog.db.engine import Database
from caselog.db.schema import upgrade
from caselog.db.tables import patients_t
from caselog.errors import InvalidInput
from caselog.service import CaseService
from tests.factories import simple_case
from tests.helpers.migrations import downgrade


def _add(service: CaseService, mrn: str, day: str) -> None:
    service.create_case(simple_case(day, patient={"mrn": mrn, "family_name": "Nguyễn", "given_name": "Thị",
                                                  "birth_date": "1960-01-01", "sex": "female"}))  # fmt: skip


def _plan(db: Database, mrns: list[str]) -> str:
    """How the database reads the letter-case check's statement (PostgreSQL told not to read the table whole:
    at a test's size it would, whatever indexes there are)."""
    stmt = select(patients_t.c.mrn).where(func.upper(patients_t.c.mrn).in_(mrns))
    with db.engine.connect() as conn:
        if db.is_sqlite:
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            return " ".join(str(row[3]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        conn.execute(text("SET enable_seqscan = off"))
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        return " ".join(str(row[0]) for row in conn.execute(text("EXPLAIN " + sql)))


def test_the_letter_case_check_reads_the_index_and_still_refuses_a_twin(service: CaseService, db: Database) -> None:
    for n in range(5):
        _add(service, f"AB-{n}", f"2025-02-1{n}")
    assert "ix_patients_mrn_upper" in _plan(db, ["AB-3", "CD-9"])
    asked: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        asked.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        try:
            _add(service, "ab-3", "2025-02-20")
        except InvalidInput as exc:
            refused = str(exc)
        else:
            refused = ""
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert "AB-3" in refused and "letter case" in refused
    assert any("upper(patients.mrn) IN" in s for s in asked)


def test_schema_0016_adds_the_index_and_its_downgrade_removes_it(service: CaseService, db: Database) -> None:
    _add(service, "EF-1", "2025-02-21")
    downgrade(db, "0015_search_statistics")
    assert "ix_patients_mrn_upper" not in _plan(db, ["EF-1"])
    upgrade(db, copy_first=False)
    assert "ix_patients_mrn_upper" in _plan(db, ["EF-1"])
    if not db.is_sqlite:  # the planner has the expression's statistics at once (ANALYZE in the upgrade)
        with db.engine.connect() as conn:
            analysed = "SELECT count(*) FROM pg_stats WHERE tablename = 'ix_patients_mrn_upper'"
            assert conn.execute(text(analysed)).scalar_one() == 1
    assert service.find_patient("EF-1") is not None
