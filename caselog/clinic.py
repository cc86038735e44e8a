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

from caselog import fhir, policy
from caselog.db.tables import clinic_settings_t, utcnow
from caselog.errors import CaselogError, InvalidInput

#: How an administrator sets each setting again when the stored value is damaged.
_SET_AGAIN = {
    policy.SETTING: "caselog policy set --preset KEY",
    fhir.MRN_SYSTEM_SETTING: "caselog clinic set fhir-mrn-system URI",
    "follow_up_schedule": "caselog followups schedule reset",  # caselog.followup.SETTING (which imports this)
}


def _damaged(name: str, what: str) -> CaselogError:
    how = _SET_AGAIN.get(name)
    again = f" ('{how}')" if how else ""
    return CaselogError(
        f"The clinic's setting {name} stored in the database is not valid ({what}); an administrator sets it "
        f"again{again}."
    )


def _check_mrn_system(value: object) -> None:
    """A stored MRN system goes into every FHIR id and MRN: text exactly as `caselog clinic set` stores it."""
    if not isinstance(value, str):
        raise _damaged(fhir.MRN_SYSTEM_SETTING, f"must be text, not {value!r}")
    try:
        checked = fhir.check_mrn_system(value)
    except InvalidInput as exc:
        raise _damaged(fhir.MRN_SYSTEM_SETTING, exc.problems[0].message) from None
    if checked != value:
        raise _damaged(fhir.MRN_SYSTEM_SETTING, f"{value!r} has blanks around it")


_CHECKS = {fhir.MRN_SYSTEM_SETTING: _check_mrn_system}


def read_setting(session: Session, name: str) -> Any | None:
    """The stored value, or None when the clinic never set it (callers apply their default).

    A row that holds no JSON, JSON `null`, or (for the settings checked here) a value of the wrong kind was
    edited outside CaseLog: it is refused with a message, never read as "not set" and replaced by a default.
    """
    text = session.execute(select(clinic_settings_t.c.value).where(clinic_settings_t.c.name == name)).scalar()
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON; a number too long for Python; nested past the stack
        raise _damaged(name, "not JSON") from None
    if value is None:
        raise _damaged(name, "null instead of a value")
    check = _CHECKS.get(name)
    if check is not None:
        check(value)
    return value


def write_setting(session: Session, name: str, value: Any, username: str | None) -> Any | None:
    """Store `value` under `name` in the caller's transaction; returns the value it replaces (None if new).

    A damaged stored value can be replaced (that is how an administrator repairs it); the text it held is
    returned as it was, for the audit entry."""
    stored = session.execute(select(clinic_settings_t.c.value).where(clinic_settings_t.c.name == name)).scalar()
    try:
        old = read_setting(session, name)
    except CaselogError:
        old = stored
    row = {"value": json.dumps(value, ensure_ascii=False, sort_keys=True), "updated_at": utcnow(),
           "updated_by": username}  # fmt: skip
    if stored is None:
        session.execute(clinic_settings_t.insert().values(name=name, **row))
    else:
        session.execute(clinic_settings_t.update().where(clinic_settings_t.c.name == name).values(**row))
    return old
