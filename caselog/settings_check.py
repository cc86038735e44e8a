"""`caselog check` reads the clinic's settings and the research export's key as CaseLog would use them.

Each is refused where it is used when it was edited outside CaseLog (caselog.clinic, caselog.research); the check
says so before anyone meets the refusal mid-task: a damaged policy stops every ablation's indication check, a
damaged schedule the follow-up desk, a damaged key every research export.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from caselog import audit, clinic, fhir, followup, policy, research
from caselog.db.engine import Database
from caselog.db.tables import clinic_settings_t
from caselog.errors import CaselogError

#: How each known setting is read where it is used (a damaged value raises CaselogError saying how to repair it).
_READERS: dict[str, Callable[[object], object]] = {
    policy.SETTING: policy.policy_from_setting,
    followup.SETTING: followup.schedule_from_setting,
    fhir.MRN_SYSTEM_SETTING: lambda value: value,  # clinic.read_setting checks it
}


def setting_problems(db: Database) -> list[str]:
    """One sentence per damaged setting or key; empty when every one reads as CaseLog reads it."""
    problems: list[str] = []
    with db.read() as session:
        names = [
            name for (name,) in session.execute(select(clinic_settings_t.c.name).order_by(clinic_settings_t.c.name))
        ]
        for name in names:
            reader = _READERS.get(name)
            if reader is None:
                problems.append(f"The clinic's setting {name} is not one CaseLog knows: it was added outside CaseLog.")
                continue
            try:
                reader(clinic.read_setting(session, name))
            except CaselogError as exc:
                problems.append(str(exc))
        stored = research.stored_key(session)
    if stored is not None:
        try:
            research.key_bytes(stored)
        except CaselogError as exc:
            problems.append(str(exc))
    elif any(e.action == "research_key" for e in audit.entries(db, record_type="setting", record_id=research.KEY_NAME)):
        problems.append(str(research.damaged_key("removed from the database after it was made")))
    return problems
