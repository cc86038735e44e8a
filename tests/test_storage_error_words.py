"""A database failure's sentence is chosen from PostgreSQL's primary message alone: the DETAIL of a duplicate key
quotes the row's value, and a value such as an MRN holding "FULL" or "BUSY" once made a clash of two saves read
as a full disk or a busy database."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from caselog.db.engine import Database, describe_storage_error
from caselog.errors import Conflict


def test_a_duplicate_key_is_a_conflict_whatever_words_its_value_holds(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite's messages quote no values")
    with pytest.raises(sa_exc.IntegrityError) as caught, db.engine.begin() as conn:
        for _ in range(2):
            conn.execute(text("INSERT INTO patients (mrn, family_name, given_name, birth_date, sex) VALUES "
                              "('CAREFULLY-BUSY', 'Nguyễn', 'Thị', '1960-01-01', 'female')"))  # fmt: skip
    assert "CAREFULLY" in str(caught.value)  # the server's DETAIL does quote the value
    told = describe_storage_error(caught.value, "the clinic's database")
    assert isinstance(told, Conflict), told
    assert "CAREFULLY" not in str(told)
