"""The straightforward way to store imported cases, kept as the yardstick of the fast one (issue 18).

One statement per row through SQLAlchemy's own type handling, and the audit chain written from its plain
definition (each field length-prefixed, SHA-256 over the previous hash and those bytes). The product's import
batches, skips conversions and caches; tests/test_import_scale.py checks it stores exactly these rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from caselog.db import store
from caselog.db.engine import Database
from caselog.records import CaseRecord, case_to_contract

GENESIS = "0" * 64


def plain_canonical(fields: Sequence[str | None]) -> bytes:
    """The bytes an audit entry's hash covers, as the audit module documents them."""
    return b"|".join(b"-" if f is None else b"%d:%s" % (len(f.encode()), f.encode()) for f in fields)


def _child_rows(table: Table, case_id: int, items: Sequence[Any]) -> list[dict[str, Any]]:
    columns = {c.name for c in table.c} - {"id", "case_id", "position"}
    rows = []
    for position, item in enumerate(items):
        values = dataclasses.asdict(item)
        assert columns <= set(values), f"{table.name}: columns the reference does not fill"
        rows.append({"case_id": case_id, "position": position, **{c: values[c] for c in columns}})
    return rows


def _audit_rows(session: Session, entries: list[tuple[str, str, dict[str, Any]]], now: dt.datetime) -> list[Any]:
    last = session.execute(select(func.max(store.audit_t.c.id))).scalar_one() or 0
    previous = GENESIS
    if last:
        previous = session.execute(select(store.audit_t.c.entry_hash).where(store.audit_t.c.id == last)).scalar_one()
    rows = []
    for offset, (action, number, details) in enumerate(entries, start=1):
        text = json.dumps(details, ensure_ascii=False, separators=(",", ":"), default=str)
        fields = (str(last + offset), now.isoformat(timespec="microseconds"), None, action, "case", number, text, None)
        digest = hashlib.sha256(previous.encode("ascii") + plain_canonical(fields)).hexdigest()
        rows.append({"id": last + offset, "occurred_at": now, "username": None, "action": action,
                     "record_type": "case", "record_id": number, "details": text, "reason": None,
                     "previous_hash": previous, "entry_hash": digest, "seal": None})  # fmt: skip
        previous = digest
    return rows


def reference_import(db: Database, records: Sequence[CaseRecord], now: dt.datetime) -> tuple[int, str]:
    """Store validated `records` (no one signed in) row by row; returns the audit chain's last (id, hash).

    The audit entries go into the audit table unsealed (the seal is a keyed copy of the hash, checked by
    `audit.verify` on the product's database instead); the head row is left to the caller to compare.
    """
    with db.write() as session:
        years = sorted({r.procedure_date.year for r in records})
        numbers = store.assign_case_numbers(session, records, {y: store.lock_counter(session, y) for y in years})
        patients: dict[str, int] = {}
        entries: list[tuple[str, str, dict[str, Any]]] = []
        for record, number in zip(records, numbers, strict=True):
            p = record.patient
            if p.mrn not in patients:
                added = session.execute(
                    insert(store.patients_t).values(
                        mrn=p.mrn,
                        family_name=p.family_name,
                        given_name=p.given_name,
                        birth_date=p.birth_date,
                        sex=p.sex,
                    )
                )
                patients[p.mrn] = cast(Any, added).inserted_primary_key[0]  # fmt: skip
            values = {**store.case_values(record), "case_number": number, "version": 1,
                      "patient_id": patients[p.mrn], "created_at": now, "updated_at": now}  # fmt: skip
            case_id = cast(Any, session.execute(insert(store.cases_t).values(values))).inserted_primary_key[0]
            for table, items in (
                (store.levels_t, record.levels),
                (store.complications_t, record.complications),
                (store.outcomes_t, record.outcomes),
                (store.attempts_t, record.follow_up_attempts),
            ):
                for row in _child_rows(table, case_id, items):
                    session.execute(insert(table).values(row))  # fmt: skip
            session.execute(insert(store.search_t).values(case_id=case_id, text=store.search_text(number, record)))
            content = case_to_contract(record)
            content["case_number"] = number
            entries.append(("import", number, {"content": content}))
            if record.status != "draft":
                session.execute(update(store.cases_t).where(store.cases_t.c.id == case_id)
                                .values(signed_by=record.surgeon, signed_at=now))  # fmt: skip
                entries.append(("sign", number, {"changes": {"signed_by": [None, record.surgeon]},
                                                 "arrived_signed": "import"}))  # fmt: skip
        rows = _audit_rows(session, entries, now)
        for row in rows:
            session.execute(insert(store.audit_t).values(row))
        return rows[-1]["id"], rows[-1]["entry_hash"]
