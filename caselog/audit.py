"""The audit trail: who did what to which record, when, with each changed field's old and new value.

Entries are appended in the same transaction as the change they describe. Each carries a SHA-256 over its
own content and the previous entry's hash; `verify` walks the chain and names the first entry that was
altered, removed or reordered. The database's triggers refuse updates and deletes outright.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import AuditEntryRow, AuditHeadRow

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
    parts = []
    for field in fields:
        if field is None:
            parts.append(b"-")
        else:
            data = field.encode("utf-8")
            parts.append(b"%d:" % len(data) + data)
    return b"|".join(parts)


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
    """Append entries in order, in the caller's transaction (an import of 10,000 cases is 10,000 entries)."""
    if not new:
        return []
    # Locking the head row (an UPDATE) makes concurrent writers take turns, so the chain never forks.
    head = session.execute(
        update(AuditHeadRow).where(AuditHeadRow.id == 1).values(last_id=AuditHeadRow.last_id)
        .returning(AuditHeadRow.last_id, AuditHeadRow.last_hash)
    ).first()  # fmt: skip
    if head is None:
        session.execute(insert(AuditHeadRow).values(id=1, last_id=0, last_hash=GENESIS))
        last_id, last_hash = 0, GENESIS
    else:
        last_id, last_hash = head
    occurred_at = store.utcnow()
    rows: list[dict[str, Any]] = []
    for entry in new:
        last_id += 1
        text = orjson.dumps(dict(entry.details or {}), default=str).decode("utf-8")
        content = _canonical(last_id, occurred_at, entry.username, entry.action, entry.record_type, entry.record_id,
                             text, entry.reason)  # fmt: skip
        digest = entry_hash(last_hash, content)
        rows.append({
            "id": last_id, "occurred_at": occurred_at, "username": entry.username, "action": entry.action,
            "record_type": entry.record_type, "record_id": entry.record_id, "details": text, "reason": entry.reason,
            "previous_hash": last_hash, "entry_hash": digest,
        })  # fmt: skip
        last_hash = digest
    store.bulk_insert(session, cast(Table, AuditEntryRow.__table__), rows)
    session.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(last_id=last_id, last_hash=last_hash))
    return [r["id"] for r in rows]


def _entry(row: AuditEntryRow) -> AuditEntry:
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {"unreadable": row.details}
    return AuditEntry(
        id=row.id, occurred_at=row.occurred_at, username=row.username, action=row.action,
        record_type=row.record_type, record_id=row.record_id, details=details if isinstance(details, dict) else {},
        reason=row.reason,
    )  # fmt: skip


def entries(db: Database, *, record_type: str | None = None, record_id: str | None = None,
            record_ids: set[str] | None = None) -> list[AuditEntry]:  # fmt: skip
    """The trail in order, optionally of one record."""
    with db.read() as session:
        query = select(AuditEntryRow).order_by(AuditEntryRow.id)
        if record_type is not None:
            query = query.where(AuditEntryRow.record_type == record_type)
        if record_id is not None:
            query = query.where(AuditEntryRow.record_id == record_id)
        found = [_entry(r) for r in session.execute(query).scalars()]
    if record_ids is not None:
        found = [e for e in found if e.record_id in record_ids]
    return found


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    problem: str | None
    first_bad_id: int | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(db: Database) -> VerifyResult:
    """Walk the chain from the first entry; name the first one altered, removed or out of order."""
    with db.read() as session:
        rows: Iterator[AuditEntryRow] = iter(
            session.execute(select(AuditEntryRow).order_by(AuditEntryRow.id).execution_options(yield_per=2000))
            .scalars()
        )  # fmt: skip
        previous_hash = GENESIS
        expected_id = 1
        checked = 0
        for row in rows:
            if row.id != expected_id:
                what = "removed" if row.id > expected_id else "reordered or duplicated"
                return VerifyResult(checked, f"entry {expected_id} is missing: entries were {what}", expected_id)
            if row.previous_hash != previous_hash:
                return VerifyResult(checked, f"entry {row.id} does not follow entry {row.id - 1}: entries were "
                                             "removed, reordered or altered", row.id)  # fmt: skip
            content = _canonical(row.id, row.occurred_at, row.username, row.action, row.record_type, row.record_id,
                                 row.details, row.reason)  # fmt: skip
            if entry_hash(previous_hash, content) != row.entry_hash:
                return VerifyResult(checked, f"entry {row.id} was altered after it was written", row.id)
            previous_hash = row.entry_hash
            expected_id += 1
            checked += 1
        head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one_or_none()
        if head is not None and (head.last_id != checked or head.last_hash != previous_hash):
            return VerifyResult(checked, f"the trail ends at entry {checked} but entry {head.last_id} was written: "
                                         "entries were removed from the end", checked + 1)  # fmt: skip
    return VerifyResult(checked, None, None)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A CASE object as {dotted path: value}; lists stay whole (levels, complications, codes...)."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix}.{key}" if prefix else key))
        return flat
    return {prefix: value}


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Each field whose value differs, as {path: [old, new]}; all fields when one side is absent."""
    before = flatten(dict(old)) if old is not None else {}
    after = flatten(dict(new)) if new is not None else {}
    return {
        path: [before.get(path), after.get(path)]
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path) or old is None or new is None
    }
