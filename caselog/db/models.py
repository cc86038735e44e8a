"""The tables: patients, cases, treated levels, complications, outcome scores, and the case-number counters.

Only the storage layer and the migrations use these classes; everything above works on `caselog.records`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import TextClause

from caselog import vocab
from caselog.fields import DURATION_MINUTES_MAX

#: Format version 3's scores, each checked against its range by the database too.
V3_MEASURES = ("nrs_neck", "nrs_arm", "ndi", "pgic")

# Named constraints let Alembic's batch mode rebuild SQLite tables and alter them on PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PatientRow(Base):
    """One MRN, one patient: demographics live here once, shared by all of the patient's cases."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_name", "family_name", "given_name"),
        # A new MRN is checked against the registered ones in upper case (ab-1001 beside AB-1001: one patient).
        Index("ix_patients_mrn_upper", text("upper(mrn)")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))

    cases: Mapped[list[CaseRow]] = relationship(back_populates="patient")


#: The filter columns a sort's index holds after its order (schema 0014).
_FILTER_COLUMNS = ("procedure_date", "surgeon", "procedure", "status")


def _number_order() -> tuple[TextClause, TextClause]:
    """An index's first columns for case numbers in numeric order within a year: year, then length (the list's
    order: caselog.db.queries.number_order), written as the index stores them."""
    return text("substr(case_number, 1, 4)"), text("length(case_number)")


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'final', 'amended')", name="status"),
        CheckConstraint(f"duration_minutes BETWEEN 1 AND {DURATION_MINUTES_MAX}", name="duration"),
        CheckConstraint("version >= 1", name="version"),
        # Every filter of the contract has an index that also serves the list's default order (newest first),
        # so a page of a filtered list never sorts all matching cases. Each ends with the other filter columns
        # (schema 0011): a count of any combination of them reads one index, never the cases' rows.
        Index("ix_cases_date_number", "procedure_date", "case_number", "surgeon", "procedure", "status"),
        Index("ix_cases_surgeon_date", "surgeon", "procedure_date", "case_number", "procedure", "status"),
        Index("ix_cases_procedure_date", "procedure", "procedure_date", "case_number", "surgeon", "status"),
        Index("ix_cases_status_date", "status", "procedure_date", "case_number", "surgeon", "procedure"),
        # The other sortable columns continue in the list's tie-break, the case number as a number, then hold the
        # filter columns (schema 0014): a page beside a filter walks the index and stops after 100 cases.
        Index("ix_cases_duration_order", "duration_minutes", *_number_order(), "case_number", *_FILTER_COLUMNS),
        Index("ix_cases_anesthesia_order", "anesthesia_type", *_number_order(), "case_number", *_FILTER_COLUMNS),
        # Each patient's latest case (the durability figures' last contact), from the index alone.
        Index("ix_cases_patient_date", "patient_id", "procedure_date"),
        # Case numbers in numeric order within a year (2026-99999 before 2026-100000): the list's sort by number.
        Index("ix_cases_number_order", *_number_order(), "case_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    procedure_date: Mapped[dt.date] = mapped_column(Date)
    facility: Mapped[str | None] = mapped_column(String(100))
    surgeon: Mapped[str] = mapped_column(String(100))
    assistants: Mapped[list[str]] = mapped_column(JSON, default=list)
    procedure: Mapped[str] = mapped_column(String(32))
    procedure_detail: Mapped[str | None] = mapped_column(String(200))
    cpt_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    diagnosis_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    indication: Mapped[str | None] = mapped_column(Text)
    injury_related: Mapped[bool] = mapped_column(Boolean, default=False)
    prior_block_relief_percent: Mapped[int | None] = mapped_column(Integer)
    start_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    end_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    anesthesia_type: Mapped[str] = mapped_column(String(32))
    sedation: Mapped[str | None] = mapped_column(String(16))
    asa_class: Mapped[str | None] = mapped_column(String(4))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    anesthesia_provider: Mapped[str | None] = mapped_column(String(100))
    estimated_blood_loss_ml: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    referring_physician: Mapped[str | None] = mapped_column(String(200))
    copy_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    fluoroscopy_time_s: Mapped[int | None] = mapped_column(Integer)
    # A diagnostic block's details (schema 0007): the anesthetic, the pain before it and the diary as
    # [[time, pain], ...] in the diary's order; NULL on every other case.
    block_anesthetic: Mapped[str | None] = mapped_column(String(16))
    block_anesthetic_detail: Mapped[str | None] = mapped_column(String(100))
    block_pain_before: Mapped[int | None] = mapped_column(Integer)
    block_diary: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    block_activities_possible: Mapped[bool | None] = mapped_column(Boolean)
    outside_policy_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    patient: Mapped[PatientRow] = relationship(back_populates="cases")


class CaseSearchRow(Base):
    """Case-folded MRN, names, case number and notes of each case, for `--search` in any script.

    A narrow table of its own (notes of 10,000 characters would not fit a PostgreSQL b-tree index). Since schema
    0011 a trigram index serves the search: an FTS5 table kept in step by triggers on SQLite, a pg_trgm GIN index
    on PostgreSQL (caselog.db.tables.SEARCH_INDEX_OBJECTS).
    """

    __tablename__ = "case_search"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class TreatedLevelRow(Base):
    __tablename__ = "treated_levels"
    __table_args__ = (
        UniqueConstraint("case_id", "level", name="uq_treated_levels_case_level"),
        Index("ix_treated_levels_level_case", "level", "case_id"),
        CheckConstraint("side IN ('left', 'right', 'bilateral')", name="side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    side: Mapped[str] = mapped_column(String(10))
    # A block's injected volume at this level (schema 0007).
    volume_ml: Mapped[float | None] = mapped_column(Float)


class ComplicationRow(Base):
    __tablename__ = "complications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    timing: Mapped[str] = mapped_column(String(16))
    onset_date: Mapped[dt.date] = mapped_column(Date, index=True)
    clavien_dindo: Mapped[str] = mapped_column(String(4))
    treatment: Mapped[str | None] = mapped_column(Text)
    resolved_date: Mapped[dt.date | None] = mapped_column(Date)
    review_status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    # Quality staff's notes on the review; not part of the interchange format.
    review_notes: Mapped[str | None] = mapped_column(Text)


def _in(column: str, keys: Iterable[object]) -> str:
    """A CHECK that `column` is one of a vocabulary's `keys` (NULL passes: a CHECK refuses only false)."""
    return f"{column} IN ({', '.join(repr(k) for k in keys)})"


class OutcomeScoreRow(Base):
    __tablename__ = "outcome_scores"
    __table_args__ = (
        UniqueConstraint("case_id", "timepoint", name="uq_outcome_scores_case_timepoint"),
        # Format version 3's answers (schema 0009): their ranges and keys, so a direct edit of the file cannot
        # store a value validation refuses.
        *(CheckConstraint(f"{m} BETWEEN {vocab.OUTCOME_MEASURES[m][0]} AND {vocab.OUTCOME_MEASURES[m][1]}",
                          name=m) for m in V3_MEASURES),
        CheckConstraint(_in("work_status", vocab.WORK_STATUSES), name="work_status"),
        CheckConstraint(_in("analgesics", vocab.ANALGESIC_USE), name="analgesics"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    timepoint: Mapped[str] = mapped_column(String(8))
    date: Mapped[dt.date] = mapped_column(Date)
    nrs_back: Mapped[int | None] = mapped_column(Integer)
    nrs_leg: Mapped[int | None] = mapped_column(Integer)
    odi: Mapped[int | None] = mapped_column(Integer)
    relief_percent: Mapped[int | None] = mapped_column(Integer)
    # Format version 3 (schema 0009).
    nrs_neck: Mapped[int | None] = mapped_column(Integer)
    nrs_arm: Mapped[int | None] = mapped_column(Integer)
    ndi: Mapped[int | None] = mapped_column(Integer)
    pgic: Mapped[int | None] = mapped_column(Integer)
    work_status: Mapped[str | None] = mapped_column(String(24))
    analgesics: Mapped[str | None] = mapped_column(String(16))
    returned_to_activities: Mapped[dt.date | None] = mapped_column(Date)
    physical_therapy: Mapped[bool | None] = mapped_column(Boolean)


class FollowUpAttemptRow(Base):
    """An attempt to reach a patient for a follow-up that gave no outcome (format version 3, schema 0009)."""

    __tablename__ = "follow_up_attempts"
    __table_args__ = (
        CheckConstraint(_in("result", vocab.FOLLOW_UP_RESULTS), name="result"),
        CheckConstraint(_in("timepoint", [t for t in vocab.TIMEPOINTS if t != "baseline"]), name="timepoint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    timepoint: Mapped[str] = mapped_column(String(8))
    date: Mapped[dt.date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class ClinicSettingRow(Base):
    """A setting of the whole clinic, kept in its database so every workstation applies the same one (the
    indication policy, identifiers for exchange): a JSON value, changed by administrators only, audited."""

    __tablename__ = "clinic_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(50))


class ClinicSecretRow(Base):
    """A secret of the whole clinic that never leaves the database: the research export's pseudonym key.

    Not a clinic setting: settings are readable by every role and their changes are audited with both
    values. Nothing in the service layer returns a secret (caselog.research uses it inside)."""

    __tablename__ = "clinic_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ScheduledProcedureRow(Base):
    """A procedure from the day's schedule (caselog.schedule), waiting to be completed as a case.

    It holds what the scheduling system knows; a case needs more (duration, anesthesia, disposition), so the
    entry stays here until someone completes it in the case form, which creates the draft case and marks it
    done in the same transaction."""

    __tablename__ = "scheduled_procedures"
    __table_args__ = (
        CheckConstraint("status IN ('to_complete', 'done', 'cancelled')", name="status"),
        Index("ix_scheduled_procedures_status_date", "status", "procedure_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_date: Mapped[dt.date] = mapped_column(Date)
    mrn: Mapped[str] = mapped_column(String(20))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    procedure: Mapped[str] = mapped_column(String(32))
    #: [[level, side], ...] in the schedule's order.
    levels: Mapped[list[list[str]]] = mapped_column(JSON)
    surgeon: Mapped[str] = mapped_column(String(100))
    #: The schedule file's name and line, as a person finds the entry again.
    source: Mapped[str] = mapped_column(String(200))
    source_line: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    imported_by: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="to_complete")
    #: The case that completed it (status `done`); a cancelled one's reason is in its audit entry.
    case_number: Mapped[str | None] = mapped_column(String(16))
    #: When it left the list, completed or cancelled.
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CaseCounterRow(Base):
    """Last running number handed out per year; bumped in the same transaction that adds the case."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class CaseAmendmentRow(Base):
    """A signed case's content before an amendment, with the reason: the case history stays readable."""

    __tablename__ = "case_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    amended_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text)
    previous_version: Mapped[int] = mapped_column(Integer)
    previous_content: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    """A person who signs in: surgeon, coordinator, quality reviewer or administrator."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("role IN ('surgeon', 'coordinator', 'quality', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    # Argon2id in its own encoded form (parameters and salt included); never printed or logged.
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an administrator's password reset: the next sign-in must choose a new password first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntryRow(Base):
    """One thing that happened. Never updated or deleted (triggers refuse it); each entry's hash covers its
    content and the previous entry's hash, so a later edit, removal or reordering breaks the chain."""

    __tablename__ = "audit_log"
    # The audit views filter by record, user, action and time, newest entry first; each filter's index holds the
    # other filters' columns, so several filters together are counted on one index alone (migration 0012).
    __table_args__ = (
        Index("ix_audit_log_record", "record_type", "record_id"),
        Index("ix_audit_log_username", "username", "id", "action", "occurred_at"),
        Index("ix_audit_log_action", "action", "id", "username", "occurred_at"),
        Index("ix_audit_log_occurred_at", "occurred_at", "id", "username", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str | None] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str | None] = mapped_column(String(50))
    details: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of entry_hash with the key kept outside the database (caselog.audit_anchor); NULL on
    # entries written before schema 0004.
    seal: Mapped[str | None] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The chain's last entry: one row, locked by each writer, so two workstations never fork the chain.

    It also names the database (a random id, for the workstations' checkpoints) and its seal: which key
    (`key_id`, a fingerprint, never the key), from which entry on, and the head's own HMAC.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    database_id: Mapped[str | None] = mapped_column(String(32))
    key_id: Mapped[str | None] = mapped_column(String(32))
    sealed_from: Mapped[int | None] = mapped_column(Integer)
    seal: Mapped[str | None] = mapped_column(String(64))


class DashboardStaleRow(Base):
    """A patient whose cases changed since the dashboard's stored tallies counted them, written by the database's
    own triggers (schema 0017, caselog.dashboard_tallies). `gen` rises with every further change: a build removes
    the mark only as it read it, so a change made while it counted stays marked."""

    __tablename__ = "dashboard_stale"

    patient_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    gen: Mapped[int] = mapped_column(Integer)


class DashboardStaleSliceRow(Base):
    """A slice (procedure year, surgeon, procedure) a case left by an update or a delete, marked as its patient is."""

    __tablename__ = "dashboard_stale_slices"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    surgeon: Mapped[str] = mapped_column(String(100), primary_key=True)
    procedure: Mapped[str] = mapped_column(String(32), primary_key=True)
    gen: Mapped[int] = mapped_column(Integer)


class DashboardSliceRow(Base):
    """One slice's additive dashboard count tables (the cases of one procedure by one surgeon in one year) as JSON:
    derived data, counted again when a change marks it stale and compared with the cases by `caselog check`.
    `cases` (the slice's cases) lets a build see that the slices still add up to the cases (a row deleted by hand)."""

    __tablename__ = "dashboard_slices"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    surgeon: Mapped[str] = mapped_column(String(100), primary_key=True)
    procedure: Mapped[str] = mapped_column(String(32), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str] = mapped_column(Text)


class DashboardYearRow(Base):
    """One year's slices summed (what a dashboard of every surgeon reads): derived from the stored slices, written
    with them and dropped when one of them is counted again."""

    __tablename__ = "dashboard_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cases: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str] = mapped_column(Text)


class DashboardSideRow(Base):
    """An ablation or rhizotomy's treated sides of one kind (repeated, or censored and followed, lost or died as of
    the day counted) at one time in days: the durability figures summed from the cases' rows. `recheck_on` is the
    first day the lost/died state could change with the date alone (a deadline of the schedule, an attempt or a
    case dated later); None when nothing can."""

    __tablename__ = "dashboard_sides"
    __table_args__ = (
        Index("ix_dashboard_sides_patient", "patient_id"),
        Index("ix_dashboard_sides_recheck", "recheck_on"),
        Index("ix_dashboard_sides_sums", "procedure", "kind", "days", "sides"),
        Index("ix_dashboard_sides_people", "procedure", "patient_id"),
    )

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sides: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer)
    procedure: Mapped[str] = mapped_column(String(32))
    procedure_date: Mapped[dt.date] = mapped_column(Date)
    surgeon: Mapped[str] = mapped_column(String(100))
    recheck_on: Mapped[dt.date | None] = mapped_column(Date)


class DashboardTallyStateRow(Base):
    """What the stored tallies were counted under (one row, id 1): the follow-up schedule setting's text (lost
    depends on it), the latest day counted (a clock set back counts everything again) and a version each build's
    write raises (a build writes only if no other wrote since its snapshot). No row: nothing stored."""

    __tablename__ = "dashboard_tally_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    schedule: Mapped[str] = mapped_column(Text)
    latest_day: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
