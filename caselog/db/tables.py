"""The tables as SQLAlchemy Core handles, and a case record's row in the cases table, both ways.

Shared by writing (caselog.db.store) and reading (caselog.db.queries). The row mapping is built from the
table of fields (caselog.fields): a new scalar field needs no code here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table

from caselog.db.models import (
    AuditEntryRow,
    CaseCounterRow,
    CaseRow,
    CaseSearchRow,
    ClinicSecretRow,
    ClinicSettingRow,
    ComplicationRow,
    FollowUpAttemptRow,
    OutcomeScoreRow,
    PatientRow,
    ScheduledProcedureRow,
    TreatedLevelRow,
)
from caselog.fields import STORED, Field, compiled
from caselog.records import (
    Anesthesia,
    BlockDetails,
    CaseRecord,
    Complication,
    DiaryEntry,
    FollowUpAttempt,
    OutcomeScore,
    Patient,
    TreatedLevel,
)

T = TypeVar("T")
CHUNK = 500  # stays under every database's limit on bound parameters

cases_t = cast(Table, CaseRow.__table__)
patients_t = cast(Table, PatientRow.__table__)
levels_t = cast(Table, TreatedLevelRow.__table__)
complications_t = cast(Table, ComplicationRow.__table__)
outcomes_t = cast(Table, OutcomeScoreRow.__table__)
attempts_t = cast(Table, FollowUpAttemptRow.__table__)
counters_t = cast(Table, CaseCounterRow.__table__)
audit_t = cast(Table, AuditEntryRow.__table__)
search_t = cast(Table, CaseSearchRow.__table__)
clinic_settings_t = cast(Table, ClinicSettingRow.__table__)
clinic_secrets_t = cast(Table, ClinicSecretRow.__table__)
scheduled_t = cast(Table, ScheduledProcedureRow.__table__)


#: The search's trigram index (schema 0011), made by its migration rather than from the models: on SQLite the FTS5
#: table (and the shadow tables FTS5 keeps under its name), on PostgreSQL the pg_trgm GIN index.
SEARCH_FTS = "case_search_fts"
_FTS_SHADOWS = ("data", "idx", "docsize", "config")
SEARCH_INDEX_OBJECTS = frozenset({SEARCH_FTS, *(f"{SEARCH_FTS}_{s}" for s in _FTS_SHADOWS), "ix_case_search_text_trgm"})


#: PostgreSQL's index of the audit trail's record numbers in code point order (migration 0014), for the case-number
#: filter (caselog.audit); SQLite's ix_audit_log_record is in that order already.
AUDIT_CODE_POINT_INDEX = "ix_audit_log_record_code_points"


def in_models(name: str | None, _type: Any, _parents: Any) -> bool:
    """Alembic's `include_name`: compare the models with a database leaving out the search's trigram index and
    PostgreSQL's code point index of the audit trail."""
    return name not in SEARCH_INDEX_OBJECTS and name != AUDIT_CODE_POINT_INDEX


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def utcnow() -> dt.datetime:
    """Naive UTC, as stored: the same on every workstation whatever its time zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def like_pattern(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def patient_from_row(row: Any) -> Patient:
    return Patient(
        mrn=row.mrn, family_name=row.family_name, given_name=row.given_name, birth_date=row.birth_date, sex=row.sex
    )


def _row_value(f: Field, value: str) -> str:
    return f"list({value})" if f.kind in ("names", "codes") else value


def _record_value(f: Field, value: str) -> str:
    if f.kind in ("names", "codes"):
        return f"tuple({value} or ())"
    return f"bool({value})" if f.kind == "bool" else value


def block_values(block: BlockDetails | None) -> dict[str, Any]:
    """A block's columns of the cases table (all NULL on a case without block details)."""
    if block is None:
        return dict.fromkeys(BLOCK_COLUMNS)
    return {
        "block_anesthetic": block.anesthetic,
        "block_anesthetic_detail": block.anesthetic_detail,
        "block_pain_before": block.pain_before,
        "block_diary": [[e.time, e.pain] for e in block.diary],
        "block_activities_possible": block.activities_possible,
    }


BLOCK_COLUMNS = ("block_anesthetic", "block_anesthetic_detail", "block_pain_before", "block_diary",
                 "block_activities_possible")  # fmt: skip


def block_from_row(row: Any) -> BlockDetails | None:
    if row.block_anesthetic is None:
        return None
    return BlockDetails(
        anesthetic=row.block_anesthetic,
        anesthetic_detail=row.block_anesthetic_detail,
        pain_before=row.block_pain_before,
        diary=tuple(DiaryEntry(time, pain) for time, pain in row.block_diary or ()),
        activities_possible=row.block_activities_possible,
    )


#: The cases-table columns that come from the record itself (not identity, version or times), written out from
#: the table of fields (see caselog.fields.compiled: an import calls it once per case).
case_values: Callable[[CaseRecord], dict[str, Any]] = compiled(
    "case_values",
    [
        "def case_values(record):",
        "    a = record.anesthesia",
        "    return {",
        *(f"        {f.column!r}: {_row_value(f, f'record.{f.key}')}," for f in STORED),
        "        'anesthesia_type': a.type, 'sedation': a.sedation, 'asa_class': a.asa_class,",
        "        'emergency': a.emergency, 'anesthesia_provider': a.provider,",
        "        **block_values(record.block),",
        "    }",
    ],
    {"block_values": block_values},
)

#: A case record from its cases-table row joined with its patient, and its children (levels, complications,
#: outcomes, follow-up attempts), written out from the table of fields.
record_from_row: Callable[
    [Any, Iterable[TreatedLevel], Iterable[Complication], Iterable[OutcomeScore], Iterable[FollowUpAttempt]],
    CaseRecord,
] = compiled(
    "record_from_row",
    [
        "def record_from_row(row, levels, complications, outcomes, attempts=()):",
        "    return CaseRecord(",
        "        case_number=row.case_number, patient=patient_from_row(row), levels=tuple(levels),",
        "        anesthesia=Anesthesia(type=row.anesthesia_type, sedation=row.sedation, asa_class=row.asa_class,",
        "                              emergency=bool(row.emergency), provider=row.anesthesia_provider),",
        "        complications=tuple(complications), outcomes=tuple(outcomes), block=block_from_row(row),",
        "        follow_up_attempts=tuple(attempts),",
        *(f"        {f.key}={_record_value(f, f'row.{f.column}')}," for f in STORED),
        "    )",
    ],
    {
        "CaseRecord": CaseRecord,
        "Anesthesia": Anesthesia,
        "patient_from_row": patient_from_row,
        "block_from_row": block_from_row,
    },
)
