"""The audit trail: who did what to which record, when, with each changed field's old and new value.

Entries are appended in the same transaction as the change they describe. Each carries a SHA-256 over its
own content and the previous entry's hash; `verify` walks the chain and names the first entry that was
altered, removed or reordered. The database's triggers refuse updates and deletes outright.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import ColumnElement, Table, event, func, insert, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from caselog import audit_anchor
from caselog.db import cipher, store
from caselog.db.engine import Database
from caselog.db.models import AccountRow, AuditEntryRow, AuditHeadRow
from caselog.errors import CaselogError
from caselog.records import CaseFilter, case_to_contract

GENESIS = "0" * 64
SINGLE_USER = "(single user)"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: dt.datetime
    username: str | None
    action: str
    record_type: str
    record_id: str | None
    details: dict[str, Any]
    reason: str | None

    @property
    def who(self) -> str:
        return self.username or SINGLE_USER

    @property
    def changes(self) -> dict[str, list[Any]]:
        """Changed fields as {path: [old, new]}; a creation's whole content counts as new values."""
        found = self.details.get("changes")
        if isinstance(found, dict):
            return found
        content = self.details.get("content")
        if isinstance(content, dict):
            return {path: [None, value] for path, value in flatten(content).items()}
        return {}


def _canonical(entry_id: int, occurred_at: dt.datetime, username: str | None, action: str, record_type: str,
               record_id: str | None, details: str, reason: str | None) -> bytes:  # fmt: skip
    """The exact bytes an entry's hash covers: each field length-prefixed, so no two entries share them.

    (Length prefixes, not JSON: re-escaping a large case's details for every entry of an import cost more
    than the import itself.)
    """
    fields = (str(entry_id), occurred_at.isoformat(timespec="microseconds"), username, action, record_type,
              record_id, details, reason)  # fmt: skip
    return b"|".join([_prefixed(field) for field in fields])


def _prefixed(field: str | None) -> bytes:
    """One field of the canonical form: its UTF-8 bytes after their length, or `-` for none."""
    if field is None:
        return b"-"
    data = field.encode("utf-8")
    return b"%d:%b" % (len(data), data)


def entry_hash(previous_hash: str, content: bytes) -> str:
    return hashlib.sha256(previous_hash.encode("ascii") + content).hexdigest()


class NewEntry(NamedTuple):
    """An entry to append (a tuple: an import makes ten thousand of them)."""

    username: str | None
    action: str
    record_type: str
    record_id: str | None
    details: Mapping[str, Any] | None = None
    reason: str | None = None


def record(
    session: Session,
    *,
    username: str | None,
    action: str,
    record_type: str,
    record_id: str | None,
    details: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> int:
    """Append one entry to the chain inside the caller's transaction; returns its id."""
    return record_many(session, [NewEntry(username, action, record_type, record_id, details, reason)])[0]


def record_many(session: Session, new: list[NewEntry]) -> list[int]:
    """Append entries in order, in the caller's transaction (an import of 10,000 cases is 10,000 entries).

    Each entry is sealed with the database's key (made here at the first sealed entry); without the key on
    this workstation nothing can be added, and the caller's whole transaction is refused (AuditKeyMissing).
    """
    if not new:
        return []
    # Locking the head row (an UPDATE) makes concurrent writers take turns, so the chain never forks.
    found = session.execute(
        update(AuditHeadRow).where(AuditHeadRow.id == 1).values(last_id=AuditHeadRow.last_id)
        .returning(AuditHeadRow.last_id, AuditHeadRow.last_hash, AuditHeadRow.database_id, AuditHeadRow.key_id,
                   AuditHeadRow.sealed_from)
    ).first()  # fmt: skip
    if found is None:
        database_id = uuid.uuid4().hex
        session.execute(insert(AuditHeadRow).values(id=1, last_id=0, last_hash=GENESIS, database_id=database_id,
                                                    sealed_from=1))  # fmt: skip
        last_id, last_hash, stored_key_id, sealed_from = 0, GENESIS, None, 1
    else:
        last_id, last_hash, stored_id, stored_key_id, stored_from = found
        # (Both are set by migration 0004; a head without them gets them now, and verify names the gap.)
        database_id = stored_id or uuid.uuid4().hex
        sealed_from = stored_from if stored_from is not None else last_id + 1
    location = audit_anchor.location_of(session.connection().engine.url)
    key = _sealing_key(database_id, stored_key_id, location)
    follows = _follows_checkpoint(session, location, database_id, last_id)
    occurred_at = store.utcnow()
    # The canonical form of each entry (as `_canonical`) put together in one pass: the fields an import's
    # entries share are prefixed once, and the details' UTF-8 comes straight from orjson, never re-encoded.
    shared: dict[str | None, bytes] = {}
    occurred = _prefixed(occurred_at.isoformat(timespec="microseconds"))
    rows: list[dict[str, Any]] = []
    for entry in new:
        last_id += 1
        details = entry.details if type(entry.details) is dict else dict(entry.details or {})
        if entry.record_type == "account" and entry.record_id is not None:
            state = _account_state(session, entry.record_id)
            if state is not None:
                details = {**details, "account_state": state}
        raw = orjson.dumps(details, default=str)
        parts = []
        for value in (entry.username, entry.action, entry.record_type):
            part = shared.get(value)
            if part is None:
                part = shared[value] = _prefixed(value)
            parts.append(part)
        content = b"|".join((_prefixed(str(last_id)), occurred, *parts, _prefixed(entry.record_id),
                             b"%d:%b" % (len(raw), raw), _prefixed(entry.reason)))  # fmt: skip
        digest = entry_hash(last_hash, content)
        rows.append({
            "id": last_id, "occurred_at": occurred_at, "username": entry.username, "action": entry.action,
            "record_type": entry.record_type, "record_id": entry.record_id, "details": raw.decode("utf-8"),
            "reason": entry.reason, "previous_hash": last_hash, "entry_hash": digest,
            "seal": audit_anchor.seal(key, digest),
        })  # fmt: skip
        last_hash = digest
    store.bulk_insert(session, cast(Table, AuditEntryRow.__table__), rows)
    new_key_id = audit_anchor.key_id(key)
    session.execute(
        update(AuditHeadRow).where(AuditHeadRow.id == 1).values(
            last_id=last_id, last_hash=last_hash, database_id=database_id, key_id=new_key_id,
            sealed_from=sealed_from, seal=audit_anchor.head_seal(key, last_id, last_hash, sealed_from))
    )  # fmt: skip
    _checkpoint_after_commit(session, Head(database_id, location, last_id, last_hash, new_key_id), follows=follows)
    return [r["id"] for r in rows]


def _sealing_key(database_id: str, stored_key_id: str | None, location: str) -> bytes:
    """The key to seal with: the database's own, or (at its first sealed entry) a new or shared one."""
    if stored_key_id is None:
        return audit_anchor.key_for_new_seal(database_id)
    key = audit_anchor.load_key(database_id)
    if key is None:
        raise audit_anchor.AuditKeyMissing(audit_anchor.missing_key_message(database_id, location))
    if audit_anchor.key_id(key) != stored_key_id:
        raise audit_anchor.AuditKeyMissing(
            f"The audit key in {audit_anchor.key_path(database_id)} is not the key the audit trail of {location} "
            "is sealed with; nothing was saved. Run 'caselog audit verify', and ask IT for the database's key."
        )
    return key


class Head(NamedTuple):
    """Where the chain ends, and which database it is."""

    database_id: str
    location: str
    last_id: int
    last_hash: str
    key_id: str | None

    def checkpoint(self) -> audit_anchor.Checkpoint:
        return audit_anchor.Checkpoint(self.database_id, self.last_id, self.last_hash, self.key_id)


def _follows_checkpoint(session: Session, location: str, database_id: str, last_id: int) -> bool:
    """Whether the chain a write extends still holds the entry this workstation last saw there.

    When it does not (an older copy was put back, entries were rewritten), the checkpoint must keep that
    evidence: writing past the old entry number must not move it on.
    """
    mark = audit_anchor.checkpoint(location)
    if mark is None:
        return True
    if mark.database_id != database_id or mark.entry > last_id:
        return False
    if mark.entry == 0:
        return True
    found = session.execute(select(AuditEntryRow.entry_hash).where(AuditEntryRow.id == mark.entry)).scalar()
    return found == mark.entry_hash


def _checkpoint_after_commit(session: Session, head: Head, *, follows: bool) -> None:
    """Once the entries are committed (never before), this workstation remembers the head it wrote."""
    first = "caselog_audit_head" not in session.info
    session.info["caselog_audit_head"] = head
    session.info["caselog_audit_follows"] = follows and session.info.get("caselog_audit_follows", True)

    def noted(done: Session) -> None:
        written = done.info.pop("caselog_audit_head", None)
        if isinstance(written, Head) and done.info.pop("caselog_audit_follows", False):
            audit_anchor.note_head(written.location, written.checkpoint())

    if first:
        event.listen(session, "after_commit", noted, once=True)
        event.listen(session, "after_rollback", _forget_pending, once=True)


def _forget_pending(session: Session) -> None:
    session.info.pop("caselog_audit_head", None)
    session.info.pop("caselog_audit_follows", None)


def account_digest(role: str, full_name: str, disabled: bool, password_hash: str) -> str:
    """What an account's entries record of the state it was left in (no password hash is ever stored)."""
    text = "\x1f".join((role, full_name, "disabled" if disabled else "active", password_hash))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _account_state(session: Session, username: str) -> str | None:
    row = session.execute(
        select(AccountRow.role, AccountRow.full_name, AccountRow.disabled, AccountRow.password_hash)
        .where(AccountRow.username == username)
    ).first()  # fmt: skip
    return account_digest(*row) if row is not None else None


def current_head(db: Database) -> Head | None:
    """The chain's head as the database holds it (for backups and reports), or None without a trail."""
    try:
        with db.read() as session:
            row = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one_or_none()
            if row is None:
                return None
            return Head(row.database_id or "", db.display_name, row.last_id, row.last_hash, row.key_id)
    except (SQLAlchemyError, CaselogError):
        return None


def head_of_file(path: Path) -> Head | None:
    """The head held by an SQLite file (a backup), read without writing to it."""
    try:
        conn = cipher.connect_file(path, readonly=True)
        try:
            row = conn.execute("SELECT database_id, last_id, last_hash, key_id FROM audit_head WHERE id = 1").fetchone()
        finally:
            conn.close()
    except cipher.SQLITE_ERRORS:
        return None
    except CaselogError:  # encrypted with a passphrase not known here
        return None
    return Head(row[0] or "", str(path), row[1], row[2], row[3]) if row else None


def note_restore(db: Database) -> None:
    """CaseLog's own restore put another copy in place: forget this workstation's checkpoint of that location.

    Call it right after the file was replaced and before the restore's audit entry is written; that entry
    (like every write) then records the restored trail's new head as the checkpoint.
    """
    audit_anchor.forget_checkpoint(db.display_name)


def renew_seal(db: Database, username: str | None, verified: VerifyResult) -> Head:
    """Seal the trail with a new key from the next entry on, when the old key is lost everywhere.

    The chain and the records were just verified (`verified`); only the old seals cannot be checked any more.
    The renewal is itself an entry, sealed with the new key and naming both keys' fingerprints and the first
    entry the new key seals, so an auditor sees where the old seals end; workstations that saw the old key
    report the change until an administrator accepts it.
    """
    with db.write() as session:
        head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).scalar_one()
        if head.last_id != verified.checked or not head.database_id:
            raise CaselogError("The audit trail changed while it was being checked; run the renewal again.")
        old_key_id = head.key_id
        key = audit_anchor.new_key(head.database_id)
        sealed_from = head.last_id + 1
        head.key_id = audit_anchor.key_id(key)
        head.sealed_from = sealed_from
        head.seal = audit_anchor.head_seal(key, head.last_id, head.last_hash, sealed_from)
        session.flush()
        entries = [NewEntry(username, "sign_in", "account", username)] if username else []
        entries.append(NewEntry(username, "audit_key_renewed", "audit", None, {
            "workstation": audit_anchor.workstation(), "previous_key_id": old_key_id,
            "key_id": audit_anchor.key_id(key), "sealed_from": sealed_from,
        }, "the audit key was lost; entries before the renewal keep their chain, not their seals"))  # fmt: skip
        record_many(session, entries)
    found = current_head(db)
    assert found is not None
    audit_anchor.note_head(db.display_name, found.checkpoint(), force=True)
    return found


def head_line(head: Head | None) -> str:
    """The head as an auditor compares it: "Audit trail: entry 1234, head 3f2a9c1e…"."""
    if head is None:
        return "Audit trail: none"
    return f"Audit trail: entry {head.last_id}, head {head.last_hash[:12]}…"


#: The columns an entry on screen or in a listing needs (not its hashes and seal).
_LISTED = (AuditEntryRow.id, AuditEntryRow.occurred_at, AuditEntryRow.username, AuditEntryRow.action,
           AuditEntryRow.record_type, AuditEntryRow.record_id, AuditEntryRow.details, AuditEntryRow.reason)  # fmt: skip


def _entry(row: Any) -> AuditEntry:
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {"unreadable": row.details}
    return AuditEntry(
        id=row.id, occurred_at=row.occurred_at, username=row.username, action=row.action,
        record_type=row.record_type, record_id=row.record_id, details=details if isinstance(details, dict) else {},
        reason=row.reason,
    )  # fmt: skip


def entries(db: Database, *, record_type: str | None = None, record_id: str | None = None) -> list[AuditEntry]:
    """The trail in order, optionally of one record (a record's entries are few: one indexed query)."""
    return list(iter_entries(db, AuditFilter(record_type=record_type, record_id=record_id)))


#: Entries per page of the audit views, and per query when the whole trail is streamed.
PAGE_SIZE = 200
_STREAM_BATCH = 2000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries a listing of the trail shows. Every field is a condition of the query: the database finds
    the entries and counts them, so a listing reads one page whatever the trail's length."""

    #: A username, or SINGLE_USER for the entries written without one (a database without accounts).
    who: str | None = None
    action: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    #: Entries of cases whose number starts with this (the views' "case number" box).
    case_number_prefix: str | None = None
    #: Entries at or after this UTC time, and before `occurred_before` (UTC, not included).
    occurred_from: dt.datetime | None = None
    occurred_before: dt.datetime | None = None
    #: Only the entries of this surgeon's cases (what a surgeon may read: their own cases' entries).
    surgeon: str | None = None

    def within_local_days(self, first: dt.date, last: dt.date) -> AuditFilter:
        """The entries of these days (inclusive) as this computer's clock counts them, as the views show times."""
        return replace(self, occurred_from=_utc_midnight(first), occurred_before=_utc_midnight(last + dt.timedelta(1)))


def _utc_midnight(day: dt.date) -> dt.datetime:
    """The local midnight that starts `day`, as the stored (naive UTC) times are written."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC).replace(tzinfo=None)


def _prefix_end(prefix: str) -> str | None:
    """The first string after every string starting with `prefix`, in code point order (None: no such string)."""
    last = ord(prefix[-1])
    following = 0xE000 if 0xD7FF <= last < 0xE000 else last + 1  # past the surrogates, which no text holds
    return prefix[:-1] + chr(following) if last < 0x10FFFF else None


def _indexed(column: Any) -> Any:
    return column


def _unindexed(column: Any) -> Any:
    """The column as SQLite's planner may not use an index for (a unary plus): it walks the entry numbers instead."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _conditions(f: AuditFilter, *, sqlite: bool, column: Callable[[Any], Any] = _indexed) -> list[ColumnElement[bool]]:
    e = AuditEntryRow
    found: list[ColumnElement[bool]] = []
    if f.who is not None:
        found.append(column(e.username).is_(None) if f.who == SINGLE_USER else column(e.username) == f.who)
    if f.action is not None:
        found.append(column(e.action) == f.action)
    if f.record_type is not None or f.case_number_prefix or f.surgeon is not None:
        found.append(column(e.record_type) == (f.record_type or "case"))
    if f.record_id is not None:
        found.append(column(e.record_id) == f.record_id)
    if f.case_number_prefix:
        prefix = f.case_number_prefix
        # A range of an index in code point order: SQLite's own text order, PostgreSQL's "C" collation (its index
        # ix_audit_log_record_code_points; the database's collation may order otherwise, and LIKE read every entry).
        number = column(e.record_id) if sqlite else column(e.record_id).collate("C")
        found.append(number >= prefix)
        end = _prefix_end(prefix)
        if end is not None:
            found.append(number < end)
    if f.surgeon is not None:
        cases = store.cases_t.c
        found.append(column(e.record_id).in_(select(cases.case_number).where(cases.surgeon == f.surgeon)))
    if f.occurred_from is not None:
        found.append(column(e.occurred_at) >= f.occurred_from)
    if f.occurred_before is not None:
        found.append(column(e.occurred_at) < f.occurred_before)
    return found


@dataclass(frozen=True, slots=True)
class Span:
    """How many entries a filter selects and, where the listing needs them, the first and last entry numbers among
    them (the range a page may walk)."""

    count: int
    first: int | None = None
    last: int | None = None


def _clustered(f: AuditFilter, sqlite: bool) -> bool:
    """Whether the filter's entries may lie anywhere in the trail, in a stretch the planner cannot see from an index
    in entry order (dates, case numbers, a surgeon's cases); SQLite is then told how to find a page.

    (A user or an action has its own index in entry order: a page is a walk of it, whatever the trail's length.
    PostgreSQL's planner weighs each filter from its statistics by itself.)
    """
    return sqlite and (f.case_number_prefix is not None or f.surgeon is not None or f.occurred_from is not None
                       or f.occurred_before is not None)  # fmt: skip


def count_entries(db: Database, f: AuditFilter) -> int:
    """How many entries the filter selects (counted in the database, on an index)."""
    with db.read() as session:
        query = select(func.count()).select_from(AuditEntryRow).where(*_conditions(f, sqlite=db.is_sqlite))
        return int(session.execute(query).scalar_one())


def span_of(db: Database, f: AuditFilter) -> Span:
    """The filter's count, and the first and last entry numbers a page of it needs (one pass of an index)."""
    with db.read() as session:
        return _span(session, f, db.is_sqlite)


def _span(session: Session, f: AuditFilter, sqlite: bool) -> Span:
    e = AuditEntryRow
    if not _clustered(f, sqlite):
        query = select(func.count()).select_from(AuditEntryRow).where(*_conditions(f, sqlite=sqlite))
        return Span(int(session.execute(query).scalar_one()))
    count, first, last = session.execute(
        select(func.count(), func.min(e.id), func.max(e.id)).where(*_conditions(f, sqlite=sqlite))
    ).one()  # fmt: skip
    return Span(int(count), first, last)


def page_of_entries(db: Database, f: AuditFilter, *, newest_first: bool = True, after: int | None = None,
                    limit: int = PAGE_SIZE, span: Span | None = None) -> list[AuditEntry]:  # fmt: skip
    """One page of the filter's entries in entry order (newest first by default), from the entry after entry
    number `after` (the last one of the page before; None: the first page). Keyset paging: an entry written while
    someone reads does not shift the next page, and the thousandth page costs what the first does.

    `span` (`span_of` the same filter, as a view counts it anyway) spares a page of a clustered filter its own count.
    """
    with db.read() as session:
        return _page(session, f, sqlite=db.is_sqlite, newest_first=newest_first, after=after, limit=limit, span=span)


#: A clustered filter with at most this many entries is found on its own index and sorted by entry number; more
#: (and dense enough in their stretch of the trail) are found by walking the entry numbers from the newest.
_SORT_AT_MOST = 20_000
_WALK_DENSITY = 50  # walk when at least one entry in this many of the stretch matches


def _page(session: Session, f: AuditFilter, *, sqlite: bool, newest_first: bool, after: int | None, limit: int,
          span: Span | None = None) -> list[AuditEntry]:  # fmt: skip
    e = AuditEntryRow
    keyset = [] if after is None else [e.id < after if newest_first else e.id > after]
    order = e.id.desc() if newest_first else e.id.asc()
    if not _clustered(f, sqlite):
        query = select(*_LISTED).where(*_conditions(f, sqlite=sqlite), *keyset).order_by(order).limit(limit)
        return [_entry(row) for row in session.execute(query)]
    span = span or _span(session, f, sqlite)
    if not span.count or span.first is None or span.last is None:
        return []
    stretch = span.last - span.first + 1
    if span.count > _SORT_AT_MOST and span.count * _WALK_DENSITY >= stretch:
        # Walk the entry numbers within the filter's stretch, testing each entry: no index of the filter, no sort.
        where = [e.id.between(span.first, span.last), *keyset, *_conditions(f, sqlite=True, column=_unindexed)]
        query = select(*_LISTED).where(*where).order_by(order).limit(limit)
    else:
        # Few entries: found on the filter's index, their numbers sorted (not their rows), then read.
        numbers = _unindexed(e.id)
        ids = select(e.id).where(*_conditions(f, sqlite=True), *keyset)
        ids = ids.order_by(numbers.desc() if newest_first else numbers.asc()).limit(limit)
        query = select(*_LISTED).where(e.id.in_(ids.scalar_subquery())).order_by(order)
    return [_entry(row) for row in session.execute(query)]


def iter_entries(db: Database, f: AuditFilter | None = None) -> Iterator[AuditEntry]:
    """Every entry the filter selects, oldest first, a batch at a time: memory stays flat for a million entries."""
    f = f or AuditFilter()
    after: int | None = None
    span = span_of(db, f) if _clustered(f, db.is_sqlite) else None
    while True:
        with db.read() as session:
            found = _page(session, f, sqlite=db.is_sqlite, newest_first=False, after=after, limit=_STREAM_BATCH,
                          span=span)  # fmt: skip
        yield from found
        if len(found) < _STREAM_BATCH:
            return
        after = found[-1].id


def entry_choices(db: Database, f: AuditFilter | None = None) -> tuple[list[str], list[str]]:
    """The users (SINGLE_USER for entries without one) and the actions present among the filter's entries, for the
    views' filter lists. Without a filter each is a walk of its index from one distinct value to the next (a few
    dozen lookups, however long the trail); within a filter (a surgeon's own cases) a grouped query."""
    f = f or AuditFilter()
    with db.read() as session:
        if f == AuditFilter():
            users = _distinct(session, AuditEntryRow.username)
            actions = _distinct(session, AuditEntryRow.action)
            unnamed = session.execute(select(AuditEntryRow.id).where(AuditEntryRow.username.is_(None)).limit(1))
            if unnamed.first() is not None:
                users.append(None)
        else:
            where = _conditions(f, sqlite=db.is_sqlite)
            users = list(session.execute(select(AuditEntryRow.username).where(*where).distinct()).scalars())
            actions = [a for a in session.execute(select(AuditEntryRow.action).where(*where).distinct()).scalars()]
    return sorted({u or SINGLE_USER for u in users}), sorted(a for a in actions if a is not None)


def _distinct(session: Session, column: InstrumentedAttribute[Any]) -> list[Any]:
    """The column's distinct non-null values by a loose index scan: from each value, the next larger one."""
    found: list[Any] = []
    value = session.execute(select(func.min(column))).scalar()
    while value is not None:
        found.append(value)
        value = session.execute(select(func.min(column)).where(column > value)).scalar()
    return found


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    problem: str | None
    first_bad_id: int | None
    #: The trail is sealed but this workstation lacks the key: the seals could not be checked.
    key_problem: str | None = None
    head: Head | None = None
    #: Entries at the start written before the trail was sealed (a database older than the seal): chained only.
    unsealed: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None and self.key_problem is None

    @property
    def altered(self) -> bool:
        return self.problem is not None


_MAX_NAMED = 5  # records named in one message; the count says how many more


def verify(db: Database) -> VerifyResult:
    """Everything the trail can prove about the database, first problem first:

    the chain (no entry altered, removed or reordered), the seals (no entry or head made without the key),
    this workstation's checkpoint (no older copy put back, no other database in its place), and the replay
    (each case and account is what its entries left it; nothing added, changed or removed without them).
    A clean result moves this workstation's checkpoint forward.
    """
    with db.read() as session:
        tables = set(inspect(session.connection()).get_table_names())
        if not {"audit_log", "audit_head"} <= tables:
            gone = ", ".join(sorted({"audit_log", "audit_head"} - tables))
            return VerifyResult(0, f"the audit trail's table {gone} is gone", None)
        head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one_or_none()
        if head is None or not head.database_id or head.sealed_from is None:
            return VerifyResult(0, "the audit trail's head (where the chain ends and how it is sealed) was removed",
                                None)  # fmt: skip
        location = db.display_name
        key: bytes | None = None
        key_problem: str | None = None
        if head.key_id is not None:
            key = audit_anchor.load_key(head.database_id)
            if key is None:
                key_problem = audit_anchor.missing_key_message(head.database_id, location).replace(
                    "; nothing was saved", "; its seals could not be checked"
                )
            elif audit_anchor.key_id(key) != head.key_id:
                key, key_problem = None, (
                    f"the audit key in {audit_anchor.key_path(head.database_id)} is not the key this database's "
                    "trail is sealed with: either the database's record of its key was changed, or this "
                    "workstation holds another database's key; its seals could not be checked")  # fmt: skip
        anchor_problem = _anchor_problem(head, location)
        if anchor_problem is not None:
            return VerifyResult(0, anchor_problem, None)
        mark = audit_anchor.checkpoint(location)
        chain = _walk_chain(session, head, key, mark)
        if chain.problem is not None:
            return VerifyResult(chain.checked, chain.problem, chain.first_bad_id)
        if mark is not None and mark.entry > chain.checked:
            return VerifyResult(
                chain.checked,
                f"the trail went back from entry {mark.entry} to {chain.checked}: this workstation saw entry "
                f"{mark.entry} of this database, which is no longer there (an older copy of the database was put "
                "back, or entries were cut off)",
                chain.checked + 1,
            )
        if mark is not None and mark.entry > 0 and chain.hash_at_mark != mark.entry_hash:
            return VerifyResult(
                chain.checked,
                f"entry {mark.entry} is not the entry this workstation saw: the trail was rewritten up to there",
                mark.entry,
            )
        if chain.checked == 0:
            cases = session.execute(select(func.count()).select_from(store.cases_t)).scalar_one()
            accounts = session.execute(select(func.count()).select_from(AccountRow)).scalar_one()
            if cases or accounts:
                return VerifyResult(0, f"the audit trail is empty, but the database holds {cases} cases and "
                                    f"{accounts} accounts: its entries were removed", 1)  # fmt: skip
        records = _replay_problems(session, chain.checked)
        if records:
            return VerifyResult(chain.checked, records, None)
    result = Head(head.database_id, location, chain.checked, chain.last_hash, head.key_id)
    if key_problem is None:
        audit_anchor.note_head(location, result.checkpoint())
    unsealed = chain.checked if head.key_id is None else min(head.sealed_from - 1, chain.checked)
    return VerifyResult(chain.checked, None, None, key_problem, result, unsealed)


def _anchor_problem(head: AuditHeadRow, location: str) -> str | None:
    """What this workstation remembers of the database at this place that no longer holds."""
    mark = audit_anchor.checkpoint(location)
    if mark is None:
        return None
    if mark.database_id != head.database_id:
        return (
            f"the database at {location} is not the one this workstation last saw there (its id changed from "
            f"{mark.database_id} to {head.database_id}): it was replaced outside CaseLog. If that was done on "
            "purpose, an administrator accepts it with 'caselog audit verify --accept'"
        )
    if mark.key_id is not None and mark.key_id != head.key_id:
        return (
            "the audit trail's seal was removed or replaced: this workstation saw it sealed with key "
            f"{mark.key_id}, the database now names {head.key_id or 'none'}"
        )
    return None


class _Chain(NamedTuple):
    checked: int
    last_hash: str
    hash_at_mark: str | None
    problem: str | None
    first_bad_id: int | None


def _walk_chain(session: Session, head: AuditHeadRow, key: bytes | None,
                mark: audit_anchor.Checkpoint | None) -> _Chain:  # fmt: skip
    """Walk the chain from the first entry; name the first one altered, removed, reordered or forged."""
    assert head.sealed_from is not None
    sealed_from = head.sealed_from if head.key_id is not None else None
    # Plain rows, not ORM objects: a trail of a million entries is walked in seconds.
    rows = session.execute(
        select(*cast(Table, AuditEntryRow.__table__).columns).order_by(AuditEntryRow.id)
        .execution_options(yield_per=5000)
    )  # fmt: skip
    previous_hash = GENESIS
    expected_id = 1
    at_mark: str | None = None
    for row in rows:
        if row.id != expected_id:
            what = "removed" if row.id > expected_id else "reordered or duplicated"
            return _Chain(expected_id - 1, previous_hash, at_mark, f"entry {expected_id} is missing: entries were "
                          f"{what}", expected_id)  # fmt: skip
        if row.previous_hash != previous_hash:
            return _Chain(row.id - 1, previous_hash, at_mark, f"entry {row.id} does not follow entry {row.id - 1}: "
                          "entries were removed, reordered or altered", row.id)  # fmt: skip
        content = _canonical(row.id, row.occurred_at, row.username, row.action, row.record_type, row.record_id,
                             row.details, row.reason)  # fmt: skip
        if entry_hash(previous_hash, content) != row.entry_hash:
            return _Chain(row.id - 1, previous_hash, at_mark, f"entry {row.id} was altered after it was written",
                          row.id)  # fmt: skip
        if sealed_from is None and row.seal is not None:
            return _Chain(row.id - 1, previous_hash, at_mark, f"entry {row.id} is sealed but the database no longer "
                          "names its key: the seal was removed", row.id)  # fmt: skip
        if sealed_from is not None and row.id >= sealed_from:
            if row.seal is None:
                return _Chain(row.id - 1, previous_hash, at_mark, f"entry {row.id} has no seal: it was written or "
                              "rewritten without CaseLog's key", row.id)  # fmt: skip
            if key is not None and not hmac.compare_digest(row.seal, audit_anchor.seal(key, row.entry_hash)):
                return _Chain(row.id - 1, previous_hash, at_mark, f"entry {row.id} has a forged seal: it was "
                              "written or rewritten without CaseLog's key", row.id)  # fmt: skip
        if mark is not None and row.id == mark.entry:
            at_mark = row.entry_hash
        previous_hash = row.entry_hash
        expected_id += 1
    checked = expected_id - 1
    if head.last_id != checked or head.last_hash != previous_hash:
        return _Chain(checked, previous_hash, at_mark, f"the trail ends at entry {checked} but entry {head.last_id} "
                      "was written: entries were removed from the end", checked + 1)  # fmt: skip
    if head.key_id is None and head.seal is not None:
        return _Chain(checked, previous_hash, at_mark, "the trail's head is sealed but the database no longer names "
                      "its key: the seal was removed", None)  # fmt: skip
    if head.key_id is not None and key is not None:
        expected = audit_anchor.head_seal(key, head.last_id, head.last_hash, head.sealed_from)
        if head.seal is None or not hmac.compare_digest(head.seal, expected):
            return _Chain(checked, previous_hash, at_mark, f"the trail's end (entry {head.last_id}) was moved "
                          "without CaseLog's key: entries were removed from the end", checked + 1)  # fmt: skip
    return _Chain(checked, previous_hash, at_mark, None, None)


# ---- the replay: each record is what its entries left it --------------------------------------------------

_LIST_ITEM = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")


def _apply(state: dict[str, Any], entry_details: str, action: str) -> dict[str, Any] | None:
    """A record's flattened state after one entry (None: deleted). Creation holds the whole content."""
    if action == "delete":
        return None
    details = orjson.loads(entry_details)
    if not isinstance(details, dict):
        return state
    content = details.get("content")
    if isinstance(content, dict):
        state = flatten(content)
    found = details.get("changes")
    if isinstance(found, dict):
        for path, change in found.items():
            if not isinstance(change, list) or len(change) != 2:
                continue
            item = _LIST_ITEM.match(path)
            if item is None:
                state[path] = change[1]
                continue
            # One field of one list element (a complication's review): change it inside the list.
            name, index, field = item.group(1), int(item.group(2)), item.group(3)
            items = state.get(name)
            if isinstance(items, list) and index < len(items) and isinstance(items[index], dict) \
                    and field in items[index]:  # fmt: skip
                items = [dict(x) if isinstance(x, dict) else x for x in items]
                items[index][field] = change[1]
                state[name] = items
    return state


def _case_digest(state: Mapping[str, Any], fields: frozenset[str]) -> bytes:
    """The part of a case the trail speaks for, as one digest: every contract field, and the signer once signed."""
    picked = {k: state.get(k) for k in fields}
    if state.get("signed_by") is not None:
        picked["signed_by"] = state["signed_by"]
    return hashlib.sha256(orjson.dumps(picked, option=orjson.OPT_SORT_KEYS, default=str)).digest()


def _stream_records(session: Session, record_type: str, up_to: int) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(record id, [(action, details), ...]) for each record of a type, its entries in order; one at a time."""
    rows = session.execute(
        select(AuditEntryRow.record_id, AuditEntryRow.action, AuditEntryRow.details)
        .where(AuditEntryRow.record_type == record_type, AuditEntryRow.record_id.is_not(None),
               AuditEntryRow.id <= up_to)
        .order_by(AuditEntryRow.record_id, AuditEntryRow.id)
        .execution_options(yield_per=2000)
    )  # fmt: skip
    current: str | None = None
    group: list[tuple[str, str]] = []
    for record_id, action, details in rows:
        if record_id != current:
            if current is not None:
                yield current, group
            current, group = record_id, []
        group.append((action, details))
    if current is not None:
        yield current, group


def _replay_problems(session: Session, up_to: int) -> str | None:
    """Cases and accounts that differ from what their entries say, as one message (None: all agree)."""
    problems = _case_problems(session, up_to) + _account_problems(session, up_to)
    if not problems:
        return None
    more = f"; and {len(problems) - _MAX_NAMED} more" if len(problems) > _MAX_NAMED else ""
    return "; ".join(problems[:_MAX_NAMED]) + more + " (changed directly in the database, without an audit entry)"


def _replayed_case(session: Session, case_number: str, up_to: int) -> dict[str, Any] | None:
    state: dict[str, Any] | None = {}
    for _, entries in _stream_records_of(session, "case", case_number, up_to):
        for action, details in entries:
            state = _apply(state or {}, details, action)
    return state


def _stream_records_of(session: Session, record_type: str, record_id: str,
                       up_to: int) -> Iterator[tuple[str, list[tuple[str, str]]]]:  # fmt: skip
    rows = session.execute(
        select(AuditEntryRow.action, AuditEntryRow.details)
        .where(AuditEntryRow.record_type == record_type, AuditEntryRow.record_id == record_id,
               AuditEntryRow.id <= up_to)
        .order_by(AuditEntryRow.id)
    ).all()  # fmt: skip
    yield record_id, [(a, d) for a, d in rows]


def _case_problems(session: Session, up_to: int) -> list[str]:
    fields: frozenset[str] | None = None
    expected: dict[str, bytes] = {}
    for number, entries in _stream_records(session, "case", up_to):
        state: dict[str, Any] | None = {}
        created = False
        for action, details in entries:
            state = _apply(state or {}, details, action)
            created = created or (state is not None and "case_number" in state)
            if state is None:
                created = False
        if state is not None and created:
            if fields is None:
                fields = frozenset(k for k in state if "[" not in k and k != "signed_by")
            expected[number] = _case_digest(state, fields)
    # Cases logged before the trail existed (schema 0001) have no entry of their own.
    trail_began = session.execute(select(AuditEntryRow.occurred_at).where(AuditEntryRow.id == 1)).scalar()
    problems: list[str] = []
    for view in store.iter_views(session, CaseFilter()):
        number = view.case_number
        now = flatten(case_to_contract(view.record))
        if view.signed_by is not None:
            now["signed_by"] = view.signed_by
        if fields is None:
            fields = frozenset(k for k in now if k != "signed_by")
        want = expected.pop(number, None)
        if want is None:
            if trail_began is not None and view.created_at < trail_began:
                continue
            problems.append(f"case {number} has no audit entry: it was added directly")
            continue
        replayed = None
        if _case_digest(now, fields) != want:
            replayed = _replayed_case(session, number, up_to) or {}
            if replayed.get("signed_by") is None:
                now.pop("signed_by", None)  # the trail does not name the signer of an imported signed case
            if _case_digest(now, fields) != _case_digest(replayed, fields):
                paths = sorted(k for k in fields | {"signed_by"} if now.get(k) != replayed.get(k))
                problems.append(f"case {number} ({', '.join(paths[:4])}{', …' if len(paths) > 4 else ''}) differs "
                                "from its audit trail")  # fmt: skip
    problems.extend(f"case {number} was removed" for number in sorted(expected))
    return problems


def _account_problems(session: Session, up_to: int) -> list[str]:
    expected: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for username, entries in _stream_records(session, "account", up_to):
        digest: str | None = None
        fields: dict[str, Any] = {}
        for _, text in entries:
            details = orjson.loads(text)
            if not isinstance(details, dict):
                continue
            if isinstance(details.get("account_state"), str):
                digest = details["account_state"]
            found = details.get("changes")
            if isinstance(found, dict):
                for name in ("full_name", "role", "disabled"):
                    change = found.get(name)
                    if isinstance(change, list) and len(change) == 2:
                        fields[name] = change[1]
        if digest is not None or fields:
            expected[username] = (digest, fields)
    problems: list[str] = []
    rows = session.execute(
        select(AccountRow.username, AccountRow.role, AccountRow.full_name, AccountRow.disabled,
               AccountRow.password_hash).order_by(AccountRow.username)
    )  # fmt: skip
    for username, role, full_name, disabled, password_hash in rows:
        found_expected = expected.pop(username, None)
        if found_expected is None:
            problems.append(f"account {username} has no audit entry: it was added directly")
            continue
        digest, fields = found_expected
        if digest is not None:
            if digest != account_digest(role, full_name, disabled, password_hash):
                problems.append(f"account {username} (role, full name, disabled or password) differs from its "
                                "audit trail")  # fmt: skip
            continue
        now = {"full_name": full_name, "role": role, "disabled": bool(disabled)}
        changed = sorted(k for k, v in fields.items() if now[k] != v)
        if changed:
            problems.append(f"account {username} ({', '.join(changed)}) differs from its audit trail")
    # Accounts are disabled, never deleted: one the trail knows that is gone was removed directly.
    problems.extend(f"account {username} was removed" for username in sorted(expected))
    return problems


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A CASE object as {dotted path: value}; lists stay whole (levels, complications, codes...)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}

    def walk(inner: dict[str, Any], path: str) -> None:
        for key, item in inner.items():
            where = f"{path}.{key}" if path else key
            if isinstance(item, dict):
                walk(item, where)
            else:
                flat[where] = item

    walk(value, prefix)
    return flat


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Each field whose value differs, as {path: [old, new]}; all fields when one side is absent."""
    before = flatten(dict(old)) if old is not None else {}
    after = flatten(dict(new)) if new is not None else {}
    return {
        path: [before.get(path), after.get(path)]
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path) or old is None or new is None
    }
