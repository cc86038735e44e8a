"""The table of a case's fields (caselog.fields) against the models, the migrations, the record and docs/format.md."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text, inspect

from caselog import fields
from caselog.db.engine import open_engine
from caselog.db.models import CaseRow
from caselog.db.schema import head_revision, upgrade
from caselog.format_doc import format_doc
from caselog.records import CaseRecord
from caselog.validation import validate_case
from tests.factories import TODAY, make_case
from tests.helpers.migrations import downgrade

#: Columns of the cases table that are no field of the table: identity, system times, the anesthesia part.
NOT_FIELDS = {
    "id", "case_number", "version", "patient_id", "created_at", "updated_at", "signed_by", "signed_at",
    "anesthesia_type", "sedation", "asa_class", "emergency", "anesthesia_provider",
    # the block part's columns (caselog.db.tables.block_values)
    "block_anesthetic", "block_anesthetic_detail", "block_pain_before", "block_diary", "block_activities_possible",
}  # fmt: skip
COLUMN_TYPES: dict[str, tuple[type, ...]] = {
    "int": (Integer,), "text": (Text, String), "name": (String,), "choice": (String,), "date": (Date,),
    "datetime": (DateTime,), "bool": (Boolean,), "names": (JSON,), "codes": (JSON,),
}  # fmt: skip
RECORD_TYPES = typing.get_type_hints(CaseRecord)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "format.md"


@pytest.mark.parametrize("field", fields.STORED, ids=lambda f: f.key)
def test_each_stored_field_has_its_model_column_of_its_kind(field: fields.Field) -> None:
    """The models stay explicit (migrations need them); this keeps them and the table in step."""
    column = CaseRow.__table__.c[field.column]
    assert isinstance(column.type, COLUMN_TYPES[field.kind]), f"{field.key}: {column.type!r} for a {field.kind}"
    if field.max_len and isinstance(column.type, String) and column.type.length is not None:
        assert column.type.length >= field.max_len
    if field.kind == "choice" and isinstance(column.type, String) and column.type.length is not None:
        assert field.choices is not None and column.type.length >= max(map(len, field.choices))
    may_be_absent = type(None) in typing.get_args(RECORD_TYPES[field.key])
    assert column.nullable == may_be_absent, f"{field.key}: nullable={column.nullable}"


def test_every_column_of_the_cases_table_is_a_field_or_said_otherwise() -> None:
    columns = {c.name for c in CaseRow.__table__.columns}
    assert columns - NOT_FIELDS == {f.column for f in fields.STORED}


def test_every_field_of_the_record_is_in_the_table() -> None:
    nested = {"patient", "levels", "anesthesia", "complications", "outcomes", "block", "follow_up_attempts"}
    record_fields = {f.name for f in dataclasses.fields(CaseRecord)}
    assert record_fields == set(fields.BY_KEY)
    assert {f.key for f in fields.FIELDS if f.kind == "part"} == nested


def test_each_limit_of_the_table_is_what_validation_applies() -> None:
    """One field at its limit passes and one past it is refused, naming the field (limits written once)."""
    for f in fields.FIELDS:
        if f.kind != "int" or f.key == "duration_minutes":  # duration is checked against start and end
            continue
        ok, problems = validate_case(make_case(**{f.key: f.high}), today=TODAY)
        assert ok is not None and getattr(ok, f.key) == f.high, problems
        _, problems = validate_case(make_case(**{f.key: f.high + 1}), today=TODAY)
        assert [p.path for p in problems] == [f.key] and "out of range" in problems[0].message
    no_times = {"start_time": None, "end_time": None}
    assert validate_case(make_case(duration_minutes=fields.DURATION_MINUTES_MAX, **no_times), today=TODAY)[0]
    assert not validate_case(make_case(duration_minutes=fields.DURATION_MINUTES_MAX + 1, **no_times), today=TODAY)[0]


def test_the_database_check_on_duration_uses_the_same_limit() -> None:
    checks = [str(c.sqltext) for c in CaseRow.__table__.constraints if str(c.name).endswith("duration")]
    assert checks == [f"duration_minutes BETWEEN 1 AND {fields.DURATION_MINUTES_MAX}"]


def test_docs_format_md_holds_the_generated_field_list() -> None:
    """docs/format.md's field list is generated (python -m caselog.format_doc): it cannot drift."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- fields: begin -->\n(.*?)<!-- fields: end -->", text, re.S)
    assert found, "docs/format.md lost its generated block"
    assert found.group(1) == format_doc(), "run: python -m caselog.format_doc, paste between markers"


def test_migration_0006_adds_and_removes_the_fluoroscopy_column(tmp_path: Path) -> None:
    db = open_engine(tmp_path / "c.sqlite3")
    upgrade(db)
    assert "fluoroscopy_time_s" in {c["name"] for c in inspect(db.engine).get_columns("cases")}
    downgrade(db, "0005")
    assert "fluoroscopy_time_s" not in {c["name"] for c in inspect(db.engine).get_columns("cases")}
    assert upgrade(db).current == head_revision()
    assert "fluoroscopy_time_s" in {c["name"] for c in inspect(db.engine).get_columns("cases")}
    db.close()
