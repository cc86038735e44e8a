"""`caselog check`'s look for unreadable stored values builds each column's condition once per table pass."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from caselog.db import stored_values
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import make_case
from tests.helpers.raw import raw_connect


def test_each_columns_condition_is_built_once_even_when_it_names_the_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count and the naming of the cases share one condition (it was built three times for a damaged column)."""
    path = tmp_path / "clinic.sqlite3"
    db = open_database(path)
    CaseService(db).create_case(make_case())
    db.close()
    with raw_connect(path) as conn:
        conn.execute("UPDATE cases SET procedure_date = 'garbage'")
    built: Counter[str] = Counter()
    real = stored_values._unreadable

    def counted(column: object, c: str) -> tuple[str, str] | None:
        built[f"{column.table.name}.{column.name}"] += 1  # type: ignore[attr-defined]
        return real(column, c)  # type: ignore[arg-type]

    monkeypatch.setattr(stored_values, "_unreadable", counted)
    db = open_database(path, migrate=False)
    try:
        with db.read() as session:
            problems = stored_values.unreadable_values(session)
    finally:
        db.close()
    assert len(problems) == 1 and problems[0].startswith("cases.procedure_date: 1 value is not a date (case 20")
    assert built["cases.procedure_date"] == 1
    assert set(built.values()) == {1}
