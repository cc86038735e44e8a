"""Settings of the whole clinic, kept in its database (table clinic_settings) rather than on one workstation.

What every workstation must apply alike lives here: the indication policy (caselog.policy), the identifiers
the clinic uses in exchange formats. Each value is JSON; the service layer lets administrators alone change it
and audits each change with the old and the new value (CaseService.set_clinic_setting).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caselog.db.tables import clinic_settings_t, utcnow


def read_setting(session: Session, name: str) -> Any | None:
    """The stored value, or None when the clinic never set it (callers apply their default)."""
    text = session.execute(select(clinic_settings_t.c.value).where(clinic_settings_t.c.name == name)).scalar()
    return None if text is None else json.loads(text)


def write_setting(session: Session, name: str, value: Any, username: str | None) -> Any | None:
    """Store `value` under `name` in the caller's transaction; returns the value it replaces (None if new)."""
    old = read_setting(session, name)
    row = {"value": json.dumps(value, ensure_ascii=False, sort_keys=True), "updated_at": utcnow(),
           "updated_by": username}  # fmt: skip
    if old is None and not _exists(session, name):
        session.execute(clinic_settings_t.insert().values(name=name, **row))
    else:
        session.execute(clinic_settings_t.update().where(clinic_settings_t.c.name == name).values(**row))
    return old


def _exists(session: Session, name: str) -> bool:
    return session.execute(select(clinic_settings_t.c.name).where(clinic_settings_t.c.name == name)).first() is not None
