"""The fast import (issue 18) stores exactly what the straightforward path stores, and stays all or nothing.

The import batches its rows, converts values itself and hashes the audit chain in one pass; none of that may
change a stored byte. tests/helpers/reference_import.py stores the same validated cases one row at a time
through SQLAlchemy; every table is compared as the driver reads it (the stored text on SQLite), ids aside.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from caselog import audit
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import Base
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.errors import InvalidInput
from caselog.exchange import write_json
from caselog.service import CaseService
from caselog.validation import validate_file
from tests.helpers.reference_import import reference_import
from tests.test_fhir import empty_twin as empty_twin  # a second, empty database on the same backend

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, 891011)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """300 demo cases as an interchange file's content: every other one numbered afresh, the rest keeping
    the number it was exported with (both ways an import numbers cases)."""
    source = open_database(tmp_path_factory.mktemp("source") / "source.sqlite3")
    try:
        service = CaseService(source)
        service.add_records(generate_cases(300, seed=18))
        out = io.StringIO()
        write_json(service.iter_cases(), out)
    finally:
        source.close()
    data: dict[str, Any] = json.loads(out.getvalue())
    for case in data["cases"][::2]:
        case["case_number"] = None
    return data


def _stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as the driver returns them, sorted; row ids dropped, a case or a patient named by its
    case number or MRN instead. The audit head is left out (it names its database)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as session:
        conn = session.connection()
        case_numbers: dict[int, str] = dict(conn.exec_driver_sql("SELECT id, case_number FROM cases").all())
        mrns: dict[int, str] = dict(conn.exec_driver_sql("SELECT id, mrn FROM patients").all())
        for table in Base.metadata.sorted_tables:
            if table.name in ("audit_head", "dashboard_stale", "dashboard_stale_slices"):
                continue  # the chain's head; the dashboard's marks (one per statement on PostgreSQL)
            names = [c.name for c in table.c if not (c.name == "id" and table.name != "audit_log")]
            names = [n for n in names if not (table.name == "audit_log" and n == "seal")]
            quoted = ", ".join(f'"{n}"' for n in names)
            rows = []
            for row in conn.exec_driver_sql(f'SELECT {quoted} FROM "{table.name}"').all():
                named = dict(zip(names, row, strict=True))
                if "case_id" in named:
                    named["case_id"] = case_numbers.get(named["case_id"], named["case_id"])
                if "patient_id" in named and table.name != "audit_log":
                    named["patient_id"] = mrns.get(named["patient_id"], named["patient_id"])
                rows.append(tuple(named.items()))
            tables[table.name] = sorted(rows, key=repr)
    return tables


def test_import_stores_every_row_as_the_straightforward_path_does(
    db: Database, empty_twin: CaseService, demo_file: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases, patients, levels, complications, outcomes, attempts, search rows, counters and the audit entries
    with their hashes: the same after the fast import as after one insert per row."""
    monkeypatch.setattr(store, "utcnow", lambda: NOW)
    numbers = CaseService(db).import_cases(copy.deepcopy(demo_file))
    records, problems = validate_file(copy.deepcopy(demo_file), today=dt.date.today())
    assert not problems
    last_id, last_hash = reference_import(empty_twin.db, records, NOW)

    imported, expected = _stored(db), _stored(empty_twin.db)
    assert len(imported["cases"]) == len(numbers) == 300
    assert len(imported["audit_log"]) > 300  # signed cases add their signature entries
    for name in expected:
        assert imported[name] == expected[name], f"{name} differs from the straightforward path's rows"
    verified = audit.verify(db)
    assert verified.ok, verified.problem  # the seals, left out above, check against the key
    with db.read() as session:
        head = session.execute(select(store.audit_t.c.id, store.audit_t.c.entry_hash)
                               .order_by(store.audit_t.c.id.desc()).limit(1)).one()  # fmt: skip
    assert tuple(head) == (last_id, last_hash)


def test_a_refused_case_at_the_end_of_a_large_file_leaves_nothing_written(
    db: Database, demo_file: dict[str, Any]
) -> None:
    """All or nothing: a clash found while storing (an MRN given for another patient) refuses every case."""
    data = copy.deepcopy(demo_file)
    first, last = data["cases"][0], data["cases"][-1]
    last["patient"] = {**first["patient"], "family_name": "Someone-Else"}
    with pytest.raises(InvalidInput) as refused:
        CaseService(db).import_cases(data)
    assert any(p.path == "cases[299].patient" for p in refused.value.problems)
    with db.read() as session:
        for table in (store.cases_t, store.patients_t, store.levels_t, store.audit_t, store.search_t):
            assert session.execute(select(func.count()).select_from(table)).scalar_one() == 0, table.name
