"""Accounts, signing in, and one test per cell of the contract's roles table through the service layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from caselog import audit
from caselog.accounts import HASHER, AccountService, Actor
from caselog.db.engine import Database
from caselog.db.models import AccountRow
from caselog.errors import InvalidInput, NotPermitted
from caselog.records import case_to_contract
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case, simple_case

OKAFOR = "Dr. Amara Okafor"
RAMAN = "Dr. Priya Raman"
PASSWORD = "correct horse battery"
ACTORS = {
    "surgeon": Actor("okafor", OKAFOR, "surgeon"),
    "coordinator": Actor("cole", "Cole Mendez", "coordinator"),
    "quality": Actor("quinn", "Quinn Avery", "quality"),
    "admin": Actor("boss", "Clinic Admin", "admin"),
}


@pytest.fixture
def clinic(db: Database) -> Database:
    """Cases of two surgeons (a draft and a signed one each), then the accounts that protect them."""
    single = CaseService(db, today=lambda: TODAY)
    single.import_cases(
        case_file(
            make_case(surgeon=OKAFOR),  # 2025-00001 own draft
            make_case(surgeon=OKAFOR, status="final"),  # 2025-00002 own signed
            make_case(surgeon=RAMAN),  # 2025-00003 other's draft
            make_case(surgeon=RAMAN, status="final"),  # 2025-00004 other's signed
        )
    )
    accounts = AccountService(db)
    accounts.add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    admin = AccountService(db, ACTORS["admin"])
    for actor in ACTORS.values():
        if actor.role != "admin":
            admin.add_account(actor.username, role=actor.role, full_name=actor.full_name, password=PASSWORD)
    return db


def _as(db: Database, role: str) -> CaseService:
    return CaseService(db, actor=ACTORS[role], today=lambda: TODAY)


def _edited(number: str, db: Database, **changes: Any) -> dict[str, Any]:
    content = case_to_contract(CaseService(db, actor=ACTORS["quality"], today=lambda: TODAY).get_case(number).record)
    content.update(changes)
    return content


def _follow_up(number: str, db: Database) -> dict[str, Any]:
    content = _edited(number, db)
    content["outcomes"] = [*content["outcomes"], {"timepoint": "3m", "date": "2025-06-14", "nrs_back": 1}]
    return content


def _review(number: str, db: Database) -> dict[str, Any]:
    content = _edited(number, db)
    content["complications"][0]["review_status"] = "closed"
    return content


ATTEMPTS: dict[str, Callable[[CaseService, Database], object]] = {
    "view": lambda s, db: s.get_case("2025-00003"),
    "export": lambda s, db: list(s.iter_cases()),
    "create draft": lambda s, db: s.create_case(make_case()),
    "edit draft": lambda s, db: s.update_case("2025-00003", _edited("2025-00003", db, notes="edited")),
    "delete draft": lambda s, db: s.delete_case("2025-00003", reason="entered twice"),
    "sign own": lambda s, db: s.sign_case("2025-00001"),
    "sign other's": lambda s, db: s.sign_case("2025-00003"),
    "amend own": lambda s, db: s.update_case("2025-00002", _edited("2025-00002", db, notes="x"), reason="typo"),
    "amend other's": lambda s, db: s.update_case("2025-00004", _edited("2025-00004", db, notes="x"), reason="typo"),
    "addendum": lambda s, db: s.update_case("2025-00004", _follow_up("2025-00004", db)),
    "addendum call": lambda s, db: s.add_addendum(
        "2025-00004", outcomes=[{"timepoint": "3m", "date": "2025-06-14", "odi": 20}]
    ),
    "review status": lambda s, db: s.update_case("2025-00004", _review("2025-00004", db)),
    "review notes": lambda s, db: s.set_review("2025-00004", 0, review_status="under_review", notes="M&M"),
    "audit own": lambda s, db: s.history("2025-00001"),
    "audit other's": lambda s, db: s.history("2025-00003"),
    "accounts": lambda s, db: AccountService(db, s.actor).list_accounts(),
}

# The contract's roles table, cell by cell: which role may make which attempt.
ALLOWED: dict[str, set[str]] = {
    "view": {"surgeon", "coordinator", "quality"},
    "export": {"surgeon", "coordinator", "quality"},
    "create draft": {"surgeon", "coordinator"},
    "edit draft": {"surgeon", "coordinator"},
    "delete draft": {"surgeon", "coordinator"},
    "sign own": {"surgeon"},
    "sign other's": set(),
    "amend own": {"surgeon"},
    "amend other's": set(),
    "addendum": {"surgeon", "coordinator", "quality"},
    "addendum call": {"surgeon", "coordinator", "quality"},
    "review status": {"quality"},
    "review notes": {"quality"},
    "audit own": {"surgeon", "quality", "admin"},
    "audit other's": {"quality", "admin"},
    "accounts": {"admin"},
}


@pytest.mark.parametrize("role", list(ACTORS))
@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_roles_table(clinic: Database, attempt: str, role: str) -> None:
    service = _as(clinic, role)
    before = len(audit.entries(clinic))
    if role in ALLOWED[attempt]:
        ATTEMPTS[attempt](service, clinic)
        return
    with pytest.raises(NotPermitted):
        ATTEMPTS[attempt](service, clinic)
    # The refusal itself is in the trail, and nothing else was written.
    after = audit.entries(clinic)
    assert len(after) == before + 1
    assert after[-1].action == "refused" and after[-1].username == ACTORS[role].username


def test_signing_sets_signer_time_and_locks(clinic: Database) -> None:
    surgeon = _as(clinic, "surgeon")
    view = surgeon.sign_case("2025-00001")
    assert (view.status, view.signed_by) == ("final", OKAFOR) and view.signed_at is not None
    with pytest.raises(InvalidInput, match="needs a reason"):
        surgeon.update_case("2025-00001", _edited("2025-00001", clinic, notes="changed"))
    with pytest.raises(NotPermitted):
        _as(clinic, "coordinator").delete_case("2025-00001", reason="x")


def test_addendum_keeps_a_signed_case_signed(clinic: Database) -> None:
    view = _as(clinic, "coordinator").update_case("2025-00004", _follow_up("2025-00004", clinic))
    assert view.status == "final" and view.record.outcomes[-1].timepoint == "3m"
    assert audit.entries(clinic, record_type="case", record_id="2025-00004")[-1].action == "addendum"


def test_amendment_keeps_the_reason_and_old_values_readable(clinic: Database) -> None:
    view = _as(clinic, "surgeon").update_case(
        "2025-00002", _edited("2025-00002", clinic, notes="Corrected"), reason="Wrong note"
    )
    assert view.status == "amended"
    [entry] = [e for e in _as(clinic, "quality").history("2025-00002") if e.action == "amend"]
    assert entry.reason == "Wrong note" and entry.changes["notes"] == ["Tolerated well.", "Corrected"]


def test_review_notes_survive_an_edit(clinic: Database) -> None:
    _as(clinic, "quality").set_review("2025-00003", 0, review_status="under_review", notes="Discuss at M&M")
    _as(clinic, "coordinator").update_case("2025-00003", _edited("2025-00003", clinic, notes="more detail"))
    complication = _as(clinic, "quality").get_case("2025-00003").record.complications[0]
    assert (complication.review_status, complication.review_notes) == ("under_review", "Discuss at M&M")


def test_sign_in_failures_are_clear_audited_and_lock_after_five(clinic: Database) -> None:
    accounts = AccountService(clinic)
    assert accounts.sign_in("okafor", PASSWORD) == ACTORS["surgeon"]
    with pytest.raises(NotPermitted, match="Unknown user or wrong password"):
        accounts.sign_in("nobody", PASSWORD)
    for _ in range(4):
        with pytest.raises(NotPermitted, match="wrong password"):
            accounts.sign_in("okafor", "guess")
    with pytest.raises(NotPermitted, match="locked"):
        accounts.sign_in("okafor", "guess")
    with pytest.raises(NotPermitted, match="locked"):
        accounts.sign_in("okafor", PASSWORD)  # even the right password, for 15 minutes
    actions = [e.action for e in audit.entries(clinic, record_type="account", record_id="okafor")]
    assert actions[-8:] == ["sign_in", *["sign_in_failed"] * 5, "account_locked", "sign_in_failed"]


def test_disabled_account_cannot_sign_in(clinic: Database) -> None:
    AccountService(clinic, ACTORS["admin"]).disable_account("cole")
    with pytest.raises(NotPermitted, match="disabled"):
        AccountService(clinic).sign_in("cole", PASSWORD)


def test_old_password_hashes_are_upgraded_at_sign_in(clinic: Database) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with clinic.write() as session:
        session.execute(update(AccountRow).where(AccountRow.username == "quinn").values(password_hash=weak))
    AccountService(clinic).sign_in("quinn", PASSWORD)
    with clinic.read() as session:
        stored = session.query(AccountRow).filter_by(username="quinn").one().password_hash
    assert stored != weak and not HASHER.check_needs_rehash(stored) and "m=19456,t=2" in stored


def test_first_account_must_be_admin_and_then_nobody_else_adds_accounts(db: Database) -> None:
    with pytest.raises(InvalidInput, match="first account must be an administrator"):
        AccountService(db).add_account("okafor", role="surgeon", full_name=OKAFOR, password=PASSWORD)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    with pytest.raises(NotPermitted):
        AccountService(db).add_account("eve", role="admin", full_name="Eve", password=PASSWORD)
    with pytest.raises(NotPermitted, match="sign in"):
        CaseService(db).count()


def test_a_known_password_appears_nowhere_in_the_database_file(tmp_path: Path) -> None:
    from caselog.db.schema import open_database

    path = tmp_path / "c.sqlite3"
    db = open_database(path)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="Zebra-Quokka-4417")
    AccountService(db).sign_in("boss", "Zebra-Quokka-4417")
    db.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("c.sqlite3"))
    assert b"Zebra-Quokka-4417" not in raw and "Zebra-Quokka-4417".encode("utf-16-le") not in raw


def test_single_user_mode_signs_as_the_case_surgeon(db: Database) -> None:
    service = CaseService(db, today=lambda: TODAY)
    number = service.create_case(simple_case("2025-05-01", surgeon=RAMAN)).case_number
    assert service.sign_case(number).signed_by == RAMAN
    entries = audit.entries(db, record_type="case", record_id=number)
    assert [e.action for e in entries] == ["create", "sign"] and entries[0].who == audit.SINGLE_USER
