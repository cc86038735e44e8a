"""Accounts, signing in, and one test per cell of the contract's roles table through the service layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from caselog import audit
from caselog.accounts import DUMMY_HASH, HASHER, HIDDEN, AccountService, Actor, password_problem
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import AccountRow
from caselog.errors import InvalidInput, NotFound, NotPermitted
from caselog.records import case_to_contract
from caselog.service import CaseService
from tests.factories import POLICY_REASON, TODAY, case_file, make_case, simple_case

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
            make_case(surgeon=OKAFOR, outside_policy_reason=POLICY_REASON),  # 2025-00001 own draft
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


def test_sign_in_failures_are_audited_and_lock_after_five(clinic: Database) -> None:
    accounts = AccountService(clinic)
    assert accounts.sign_in("okafor", PASSWORD) == ACTORS["surgeon"]
    for _ in range(5):
        with pytest.raises(NotPermitted, match="Sign-in refused"):
            accounts.sign_in("okafor", "guess")
    with pytest.raises(NotPermitted, match="Sign-in refused"):
        accounts.sign_in("okafor", PASSWORD)  # even the right password, for 15 minutes
    entries = audit.entries(clinic, record_type="account", record_id="okafor")
    assert [e.action for e in entries][-8:] == ["sign_in", *["sign_in_failed"] * 5, "account_locked", "sign_in_failed"]
    assert entries[-1].details["outcome"] == "account locked"  # the trail keeps the real reason


def test_every_failed_sign_in_says_the_same_and_checks_a_password(
    clinic: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown, wrong, disabled, locked: one message, and one Argon2 verification each (the same time)."""
    AccountService(clinic, ACTORS["admin"]).disable_account("cole")
    with clinic.write() as session:
        session.execute(update(AccountRow).where(AccountRow.username == "quinn")
                        .values(locked_until=store.utcnow() + dt.timedelta(minutes=10)))  # fmt: skip
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, hash_: str | bytes, password: str | bytes) -> bool:
        verified.append(str(hash_))
        return real_verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    messages = {}
    for case, username, password in [("unknown", "nobody", PASSWORD), ("wrong", "okafor", "not the password"),
                                     ("disabled", "cole", PASSWORD), ("locked", "quinn", PASSWORD)]:  # fmt: skip
        before = len(verified)
        with pytest.raises(NotPermitted) as refused:
            AccountService(clinic).sign_in(username, password)
        messages[case] = refused.value.message
        assert len(verified) == before + 1, f"{case}: the password was not checked against any hash"
    assert len(set(messages.values())) == 1 and "disabled" not in messages["unknown"].split(":")[0]
    assert verified[0] == verified[2] == verified[3] == DUMMY_HASH and verified[1] != DUMMY_HASH
    outcomes = [e.details["outcome"] for e in audit.entries(clinic) if e.action == "sign_in_failed"]
    assert outcomes == ["unknown user", "wrong password", "account disabled", "account locked"]


def test_the_dummy_hash_costs_what_a_real_one_does() -> None:
    assert not HASHER.check_needs_rehash(DUMMY_HASH)


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
    number = service.create_case(
        simple_case("2025-05-01", surgeon=RAMAN, outside_policy_reason=POLICY_REASON)
    ).case_number
    assert service.sign_case(number).signed_by == RAMAN
    entries = audit.entries(db, record_type="case", record_id=number)
    assert [e.action for e in entries] == ["create", "sign"] and entries[0].who == audit.SINGLE_USER


# ---- administrators' account management: the last administrator, enable, role, password reset ---------------

ADMIN = ACTORS["admin"]


def _refusals(db: Database) -> list[audit.AuditEntry]:
    return [e for e in audit.entries(db) if e.action == "refused"]


def test_the_last_active_administrator_cannot_disable_itself_or_drop_its_role(clinic: Database) -> None:
    admin = AccountService(clinic, ADMIN)
    with pytest.raises(NotPermitted, match="last active administrator"):
        admin.disable_account("boss")
    with pytest.raises(NotPermitted, match="last active administrator"):
        admin.set_role("boss", "quality")
    assert [(e.record_id, e.details["attempted"]) for e in _refusals(clinic)] == [
        ("boss", "account_disable"),
        ("boss", "account_role"),
    ]
    assert [(a.role, a.disabled) for a in admin.list_accounts() if a.username == "boss"] == [("admin", False)]
    # With a second active administrator, either may step down.
    admin.add_account("ada", role="admin", full_name="Ada Admin", password=PASSWORD)
    admin.disable_account("ada")
    with pytest.raises(NotPermitted, match="last active administrator"):
        admin.set_role("boss", "surgeon")  # a disabled administrator does not count
    admin.enable_account("ada")
    assert admin.set_role("boss", "quality") is True
    assert AccountService(clinic).sign_in("boss", PASSWORD).role == "quality"


def test_enable_and_role_changes_are_audited_with_old_and_new_values(clinic: Database) -> None:
    admin = AccountService(clinic, ADMIN)
    assert admin.disable_account("cole") is True and admin.disable_account("cole") is False
    assert admin.enable_account("cole") is True and admin.enable_account("cole") is False
    assert AccountService(clinic).sign_in("cole", PASSWORD).role == "coordinator"
    assert admin.set_role("cole", "quality") is True
    changes = [(e.action, e.username, e.details["changes"]) for e in audit.entries(clinic, record_id="cole")
               if e.action.startswith("account_")]  # fmt: skip
    assert changes[-3:] == [
        ("account_disable", "boss", {"disabled": [False, True]}),
        ("account_enable", "boss", {"disabled": [True, False]}),
        ("account_role", "boss", {"role": ["coordinator", "quality"]}),
    ]
    with pytest.raises(InvalidInput, match="unknown role"):
        admin.set_role("cole", "chief")
    with pytest.raises(NotFound):
        admin.enable_account("nobody")
    with pytest.raises(NotPermitted):
        AccountService(clinic, ACTORS["quality"]).enable_account("cole")


NEW_PASSWORD = "lumbar facet season 7"
TEMPORARY = "temporary pass 4417"


def test_a_reset_password_must_be_changed_before_anything_else(clinic: Database) -> None:
    admin = AccountService(clinic, ADMIN)
    for _ in range(5):  # locked out; the reset is how an administrator helps
        with pytest.raises(NotPermitted):
            AccountService(clinic).sign_in("okafor", "forgotten it")
    admin.reset_password("okafor", TEMPORARY)
    actor = AccountService(clinic).sign_in("okafor", TEMPORARY)
    assert actor.must_change_password
    with pytest.raises(NotPermitted, match="user passwd"):
        CaseService(clinic, actor=actor, today=lambda: TODAY).get_case("2025-00001")
    assert [a.must_change_password for a in admin.list_accounts() if a.username == "okafor"] == [True]
    with pytest.raises(NotPermitted, match="current password is wrong"):
        AccountService(clinic, actor).change_password("not it at all", NEW_PASSWORD)
    with pytest.raises(InvalidInput, match="must differ"):
        AccountService(clinic, actor).change_password(TEMPORARY, TEMPORARY)
    changed = AccountService(clinic, actor).change_password(TEMPORARY, NEW_PASSWORD)
    assert not changed.must_change_password
    assert CaseService(clinic, actor=changed, today=lambda: TODAY).get_case("2025-00001").case_number
    with pytest.raises(NotPermitted):
        AccountService(clinic).sign_in("okafor", TEMPORARY)
    assert not AccountService(clinic).sign_in("okafor", NEW_PASSWORD).must_change_password
    trail = audit.entries(clinic, record_id="okafor")
    reset = next(e for e in trail if e.action == "account_password_reset")
    assert reset.username == "boss" and reset.details["changes"]["must_change_password"] == [False, True]
    assert "locked_until" in reset.details["changes"]
    change = next(e for e in trail if e.action == "account_password_change")
    assert change.details["changes"] == {"must_change_password": [True, False]}
    text = repr(audit.entries(clinic))
    assert all(secret not in text for secret in (TEMPORARY, NEW_PASSWORD, "argon2"))


def test_a_reset_account_may_not_manage_accounts_either(clinic: Database) -> None:
    admin = AccountService(clinic, ADMIN)
    admin.add_account("ada", role="admin", full_name="Ada Admin", password=PASSWORD)
    admin.reset_password("ada", TEMPORARY)
    ada = AccountService(clinic).sign_in("ada", TEMPORARY)
    with pytest.raises(NotPermitted, match="password was reset"):
        AccountService(clinic, ada).list_accounts()
    with pytest.raises(InvalidInput, match="user passwd"):
        admin.reset_password("boss", TEMPORARY)  # one's own: with the current password, through passwd
    with pytest.raises(NotPermitted):
        AccountService(clinic, ACTORS["coordinator"]).reset_password("okafor", TEMPORARY)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("eleven char", "at least 12 characters"),
        (" " * 14, "only spaces"),
        ("\t \n" * 4, "only spaces"),
        ("Password1234", "most common"),
        ("QWERTYUIOP123", "most common"),
        ("1q2w3e4r5t6y", "most common"),  # from the measured list, not the hand-written block
        ("zzzzzzzzzzzzzz", "repeated"),
    ],
)
def test_weak_passwords_are_refused_everywhere(clinic: Database, password: str, message: str) -> None:
    problem = password_problem(password)
    assert problem is not None and message in problem
    admin = AccountService(clinic, ADMIN)
    with pytest.raises(InvalidInput, match=f"password: .*{message}"):
        admin.add_account("newbie", role="surgeon", full_name="New Surgeon", password=password)
    with pytest.raises(InvalidInput, match="password: "):
        admin.reset_password("okafor", password)
    with pytest.raises(InvalidInput, match="password: "):
        AccountService(clinic, ACTORS["surgeon"]).change_password(PASSWORD, password)


def test_good_passphrases_pass() -> None:
    for password in ("correct horse battery", "Ÿ-spine-2025-ok", "twelve chars"):
        assert password_problem(password) is None, password


# ---- what an administrator reads of a case's history ---------------------------------------------------------


def test_administrators_read_the_audit_trail_without_patient_identity(clinic: Database) -> None:
    _as(clinic, "surgeon").update_case(
        "2025-00002", _edited("2025-00002", clinic, notes="Seen by Mrs Nguyễn's daughter"), reason="Nguyễn asked"
    )
    CaseService(clinic, actor=ACTORS["coordinator"], today=lambda: TODAY).record_event(
        "export", record_type="export", details={"format": "csv", "filters": {"search": "Nguyễn"}}
    )
    identity = ("Nguyễn", "Thị Hồng", "MRN-1001", "1961-04-12", "Tolerated well", "Facet-mediated")
    admin = _as(clinic, "admin")
    for entries in (admin.history("2025-00002"), admin.audit_trail()):
        text = repr(entries)
        assert not [word for word in identity if word in text], text
    history = admin.history("2025-00002")
    # An imported signed case also has its `sign` entry (signer: the importing account) right after creation.
    created, amended = history[0], next(e for e in history if e.action == "amend")
    assert created.changes["patient.mrn"] == [None, HIDDEN] and created.changes["case_number"][1] == "2025-00002"
    assert created.changes["status"] == [None, "final"]
    assert amended.changes == {"notes": [HIDDEN, HIDDEN], "status": ["final", "amended"]}
    assert amended.reason == HIDDEN and amended.username == "okafor"
    # Quality staff and the case's surgeon still read everything; the stored entries are unchanged.
    for role in ("quality", "surgeon"):
        full = repr(_as(clinic, role).history("2025-00002"))
        assert "MRN-1001" in full and "Nguyễn asked" in full
    assert "Nguyễn" in repr(_as(clinic, "quality").audit_trail())


# ---- every account change is in the trail as the account became (audit verify replays them) -------------

NEW_PASSWORD = "a brand new clinic passphrase"


def test_account_management_of_every_kind_replays_clean(clinic: Database) -> None:
    admin = AccountService(clinic, ACTORS["admin"])
    admin.disable_account("cole")
    admin.enable_account("cole")
    admin.set_role("quinn", "coordinator")
    admin.reset_password("okafor", NEW_PASSWORD)
    okafor = AccountService(clinic).sign_in("okafor", NEW_PASSWORD)
    AccountService(clinic, okafor).change_password(NEW_PASSWORD, PASSWORD + " again")
    for _ in range(5):  # a lockout changes the account too
        with pytest.raises(NotPermitted):
            AccountService(clinic).sign_in("cole", "wrong wrong wrong")
    result = audit.verify(clinic)
    assert result.ok, result.problem
