"""The audit trail: append-only, tamper-evident, and complete enough to replay every case from it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from caselog import audit
from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import CaselogError, Conflict
from caselog.records import case_to_contract
from caselog.service import CaseService
from tests.factories import POLICY_REASON, TODAY, make_case, simple_case


def _some_history(db: Database) -> CaseService:
    service = CaseService(db, today=lambda: TODAY)
    for day in ("2025-01-02", "2025-01-03", "2025-01-04"):
        number = service.create_case(simple_case(day, outside_policy_reason=POLICY_REASON)).case_number
        service.sign_case(number)
    return service


def _without_triggers(db: Database, *statements: str) -> None:
    """What someone with direct access to the database file or server could do."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for sql in statements:
            conn.execute(text(sql))


def test_triggers_refuse_updates_and_deletes(db: Database) -> None:
    _some_history(db)
    for sql in ("UPDATE audit_log SET username = 'someone' WHERE id = 2", "DELETE FROM audit_log WHERE id = 2"):
        with pytest.raises(Exception, match="cannot be changed or deleted"), db.engine.begin() as conn:
            conn.execute(text(sql))
    assert audit.verify(db).ok and audit.verify(db).checked == 6


@pytest.mark.parametrize(
    ("tampering", "first_bad"),
    [
        ("UPDATE audit_log SET details = replace(details, 'draft', 'final') WHERE id = 3", 3),
        ("UPDATE audit_log SET username = 'quality' WHERE id = 2", 2),
        ("DELETE FROM audit_log WHERE id = 4", 4),
        ("DELETE FROM audit_log WHERE id = 6", 6),
        ("UPDATE audit_log SET id = id + 100 WHERE id = 3", 3),
    ],
)
def test_verify_names_the_first_altered_removed_or_reordered_entry(
    db: Database, tampering: str, first_bad: int
) -> None:
    _some_history(db)
    _without_triggers(db, tampering)
    result = audit.verify(db)
    assert not result.ok and result.first_bad_id == first_bad, result.problem


def test_swapping_two_entries_is_found(db: Database) -> None:
    _some_history(db)
    _without_triggers(db, "UPDATE audit_log SET id = -id WHERE id IN (2, 3)")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET id = CASE id WHEN -2 THEN 3 ELSE 2 END WHERE id IN (-2, -3)"))
    result = audit.verify(db)
    assert not result.ok and result.first_bad_id == 2


# ---- random work by random users, then the trail is replayed ------------------------------------------

PEOPLE = [
    Actor("okafor", "Dr. Amara Okafor", "surgeon"),
    Actor("raman", "Dr. Priya Raman", "surgeon"),
    Actor("cole", "Cole Mendez", "coordinator"),
    Actor("quinn", "Quinn Avery", "quality"),
]
OPERATIONS = ["create", "update", "sign", "amend", "delete", "addendum", "review"]


@pytest.fixture(scope="module")
def accounts_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "accounts.sqlite3"
    db = open_database(path)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="not used here")
    admin = AccountService(db, Actor("boss", "Clinic Admin", "admin"))
    for person in PEOPLE:
        admin.add_account(person.username, role=person.role, full_name=person.full_name, password="not used here")
    db.close()
    return path


def _apply(service: CaseService, operation: str, number: str | None, step: int) -> None:
    actor = service.actor
    assert actor is not None
    if operation == "create" or number is None:
        surgeon = actor.full_name if actor.role == "surgeon" else PEOPLE[step % 2].full_name
        service.create_case(make_case(surgeon=surgeon, notes=f"step {step}", outside_policy_reason=POLICY_REASON))
        return
    content = case_to_contract(service.get_case(number).record)
    if operation in ("update", "amend"):
        content["notes"] = f"changed at step {step}"
        content["levels"] = (
            content["levels"][:1] if step % 2 else [*content["levels"][:1], {"level": "L3-L4", "side": "left"}]
        )
        service.update_case(number, content, reason=f"correction {step}" if operation == "amend" else None)
    elif operation == "sign":
        service.sign_case(number)
    elif operation == "delete":
        service.delete_case(number, reason=f"duplicate {step}")
    elif operation == "addendum":
        used = {o["timepoint"] for o in content["outcomes"]}
        free = [t for t in ("3m", "6m", "12m") if t not in used]
        if free:
            content["outcomes"].append({"timepoint": free[0], "date": "2025-06-20", "nrs_back": step % 11})
        service.update_case(number, content)
    elif operation == "review" and content["complications"]:
        content["complications"][0]["review_status"] = ["open", "under_review", "closed"][step % 3]
        service.update_case(number, content)


def _replay(entries: list[audit.AuditEntry]) -> dict[str, dict[str, Any]]:
    """Each case's fields as the trail's new values leave them; a deleted case ends empty."""
    state: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.record_type != "case" or not entry.record_id or entry.action in ("refused", "print"):
            continue
        fields = state.setdefault(entry.record_id, {})
        if entry.action == "delete":
            state[entry.record_id] = {}
            continue
        for path, (_, new) in entry.changes.items():
            fields[path] = new
    return state


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(range(len(PEOPLE))), st.sampled_from(OPERATIONS), st.integers(0, 5)),
        min_size=5,
        max_size=25,
    )
)
def test_every_change_has_one_entry_and_the_trail_replays_to_the_data(
    accounts_template: Path, steps: list[tuple[int, str, int]]
) -> None:
    # Each example is another copy of the template: on a workstation of its own (its own checkpoints).
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as env:
        env.setenv("CASELOG_HOME", str(Path(folder) / "home"))
        path = Path(folder) / "c.sqlite3"
        shutil.copy(accounts_template, path)
        db = open_database(path)
        done = 0
        for step, (who, operation, pick) in enumerate(steps):
            service = CaseService(db, actor=PEOPLE[who], today=lambda: TODAY)
            numbers = [r.case_number for r in CaseService(db, actor=PEOPLE[3], today=lambda: TODAY).query()]
            number = numbers[pick % len(numbers)] if numbers else None
            before = len(audit.entries(db))
            try:
                _apply(service, operation, number, step)
            except (CaselogError, Conflict):
                assert len(audit.entries(db)) in (before, before + 1)  # at most the refusal itself
                continue
            after = audit.entries(db)
            changes = [e for e in after[before:] if e.action not in ("refused",)]
            assert len(changes) <= 1  # one entry per change (none when nothing changed)
            done += len(changes)
        entries = audit.entries(db)
        print(f"steps {len(steps)}, changes {done}, entries {len(entries)}")
        assert audit.verify(db).ok
        replayed = _replay(entries)
        reader = CaseService(db, actor=PEOPLE[3], today=lambda: TODAY)
        current = {v.case_number: audit.flatten(case_to_contract(v.record)) for v in reader.iter_cases()}
        for number, fields in replayed.items():
            if number in current:
                assert {k: fields.get(k) for k in current[number]} == current[number]
            else:
                assert fields == {}  # deleted: its last entry is the deletion
        assert set(current) <= set(replayed)
        db.close()
