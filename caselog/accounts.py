"""Accounts, signing in, and the contract's roles table (section 4), enforced where data changes.

A database without accounts is single-user: nobody signs in and every action is allowed. Once an account
exists, every action needs a signed-in `Actor`, and `require` is the one place that says yes or no.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from caselog import audit
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import AccountRow
from caselog.errors import InvalidInput, NotFound, NotPermitted
from caselog.validation import Problem

ROLES: dict[str, str] = {
    "surgeon": "Surgeon",
    "coordinator": "OR coordinator",
    "quality": "Quality staff",
    "admin": "Administrator",
}
MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")

# Argon2id at OWASP's minimum or above: 19 MiB of memory, 2 passes, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Action(StrEnum):
    VIEW = "view"  # view cases, print and export summaries and reports
    EDIT_DRAFT = "edit_draft"  # create and edit drafts, delete drafts
    SIGN = "sign"  # own cases only
    AMEND = "amend"  # own cases only, reason required
    ADDENDUM = "addendum"  # add outcomes and complications to a signed case
    REVIEW = "review"  # complication review status and notes
    READ_AUDIT = "read_audit"  # surgeons: own cases only
    ADMINISTER = "administer"  # accounts, backup, restore


#: The contract's roles table. "own" means only cases whose surgeon is the account's full name.
PERMISSIONS: dict[Action, dict[str, str]] = {
    Action.VIEW: {"surgeon": "yes", "coordinator": "yes", "quality": "yes"},
    Action.EDIT_DRAFT: {"surgeon": "yes", "coordinator": "yes"},
    Action.SIGN: {"surgeon": "own"},
    Action.AMEND: {"surgeon": "own"},
    Action.ADDENDUM: {"surgeon": "yes", "coordinator": "yes", "quality": "yes"},
    Action.REVIEW: {"quality": "yes"},
    Action.READ_AUDIT: {"surgeon": "own", "quality": "yes", "admin": "yes"},
    Action.ADMINISTER: {"admin": "yes"},
}

ACTION_WORDS: dict[Action, str] = {
    Action.VIEW: "view cases",
    Action.EDIT_DRAFT: "create, edit or delete drafts",
    Action.SIGN: "sign this case",
    Action.AMEND: "amend this signed case",
    Action.ADDENDUM: "add follow-up to a signed case",
    Action.REVIEW: "review complications",
    Action.READ_AUDIT: "read this audit trail",
    Action.ADMINISTER: "manage accounts, back up or restore",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting. `None` in place of an Actor means the single-user mode of a database without accounts."""

    username: str
    full_name: str
    role: str


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    full_name: str
    role: str
    disabled: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None


def allowed(actor: Actor | None, action: Action, *, case_surgeon: str | None = None) -> bool:
    """Whether the roles table lets this actor do this (to a case of `case_surgeon`, where it matters)."""
    if actor is None:
        return True
    rule = PERMISSIONS[action].get(actor.role)
    if rule == "yes":
        return True
    if rule == "own":
        return case_surgeon is None or case_surgeon == actor.full_name
    return False


def refusal(actor: Actor, action: Action, *, case_surgeon: str | None = None) -> NotPermitted:
    role = ROLES.get(actor.role, actor.role)
    if PERMISSIONS[action].get(actor.role) == "own" and case_surgeon is not None:
        return NotPermitted(f"{actor.full_name} ({role}) may not {ACTION_WORDS[action]}: it is {case_surgeon}'s case")
    return NotPermitted(f"{actor.full_name} ({role}) may not {ACTION_WORDS[action]}")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _account(row: AccountRow) -> Account:
    return Account(
        username=row.username,
        full_name=row.full_name,
        role=row.role,
        disabled=row.disabled,
        locked_until=row.locked_until,
        created_at=row.created_at,
        last_sign_in_at=row.last_sign_in_at,
    )


def accounts_exist(db: Database) -> bool:
    with db.read() as session:
        return bool(session.execute(select(func.count()).select_from(AccountRow)).scalar_one())


class AccountService:
    """Accounts and signing in. Administrators manage accounts; the first account must be an administrator."""

    def __init__(self, db: Database, actor: Actor | None = None) -> None:
        self.db = db
        self.actor = actor

    def sign_in(self, username: str, password: str) -> Actor:
        """Check a password. Failures are audited; five in a row lock the account for 15 minutes."""
        now = store.utcnow()
        with self.db.write() as session:
            row = session.execute(select(AccountRow).where(AccountRow.username == username)).scalar_one_or_none()
            failure: str | None = None
            if row is None:
                failure = "unknown user"
            elif row.disabled:
                failure = "account disabled"
            elif row.locked_until is not None and row.locked_until > now:
                failure = "account locked"
            else:
                try:
                    HASHER.verify(row.password_hash, password)
                except (VerificationError, InvalidHashError):
                    failure = "wrong password"
            if failure is None and row is not None:
                if HASHER.check_needs_rehash(row.password_hash):
                    row.password_hash = HASHER.hash(password)  # old parameters: upgraded while we know it
                row.failed_sign_ins = 0
                row.locked_until = None
                row.last_sign_in_at = now
                audit.record(session, username=username, action="sign_in", record_type="account", record_id=username)
                return Actor(username=row.username, full_name=row.full_name, role=row.role)
            details: dict[str, object] = {"outcome": failure}
            if row is not None and failure == "wrong password":
                row.failed_sign_ins += 1
                if row.failed_sign_ins >= MAX_FAILED_SIGN_INS:
                    row.locked_until = now + LOCKOUT
                    row.failed_sign_ins = 0
                    details["locked_until"] = row.locked_until.isoformat(timespec="minutes")
            audit.record(session, username=username, action="sign_in_failed", record_type="account",
                         record_id=username, details=details)  # fmt: skip
            if "locked_until" in details:
                audit.record(session, username=username, action="account_locked", record_type="account",
                             record_id=username, details={"until": details["locked_until"]})  # fmt: skip
        # Outside the transaction, which is committed: the failed attempt stays in the trail.
        if failure == "account locked" or "locked_until" in details:
            raise NotPermitted(f"Account {username} is locked after repeated failed sign-ins; try again in 15 minutes")
        if failure == "account disabled":
            raise NotPermitted(f"Account {username} is disabled")
        raise NotPermitted("Unknown user or wrong password")

    def add_account(self, username: str, *, role: str, full_name: str, password: str) -> Account:
        problems: list[Problem] = []
        if not USERNAME_RE.fullmatch(username):
            problems.append(Problem("NAME", f"{username!r}: use 1 to 50 lower-case letters, digits, '.', '_' or '-'"))
        if role not in ROLES:
            problems.append(Problem("--role", f"unknown role {role!r} (surgeon, coordinator, quality, admin)"))
        full_name = full_name.strip()
        if not 1 <= len(full_name) <= 100:
            problems.append(Problem("--full-name", "is required, up to 100 characters"))
        if len(password) < MIN_PASSWORD_LENGTH:
            problems.append(Problem("password", f"needs at least {MIN_PASSWORD_LENGTH} characters"))
        if problems:
            raise InvalidInput(problems)
        first = not accounts_exist(self.db)
        if first and role != "admin":
            raise InvalidInput([Problem("--role", "the first account must be an administrator (admin)")])
        if not first:
            self._require_admin("account_add", username)
        password_hash = HASHER.hash(password)
        with self.db.write() as session:
            if session.execute(select(AccountRow.id).where(AccountRow.username == username)).first():
                raise InvalidInput([Problem("NAME", f"account {username} already exists")])
            row = AccountRow(username=username, full_name=full_name, role=role, password_hash=password_hash,
                             disabled=False, failed_sign_ins=0, created_at=store.utcnow())  # fmt: skip
            session.add(row)
            session.flush()
            audit.record(
                session, username=self._who(), action="account_add", record_type="account", record_id=username,
                details={"changes": {"full_name": [None, full_name], "role": [None, role]}},
            )  # fmt: skip
            return _account(row)

    def list_accounts(self) -> list[Account]:
        self._require_admin("account_list", None)
        with self.db.read() as session:
            rows = session.execute(select(AccountRow).order_by(AccountRow.username)).scalars()
            return [_account(r) for r in rows]

    def disable_account(self, username: str) -> None:
        self._require_admin("account_disable", username)
        with self.db.write() as session:
            changed = session.execute(
                update(AccountRow).where(AccountRow.username == username).values(disabled=True)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                raise NotFound(f"Account {username} not found")
            audit.record(session, username=self._who(), action="account_disable", record_type="account",
                         record_id=username, details={"changes": {"disabled": [False, True]}})  # fmt: skip

    def _who(self) -> str | None:
        return self.actor.username if self.actor else None

    def _require_admin(self, action: str, record_id: str | None) -> None:
        if self.actor is None and not accounts_exist(self.db):
            return  # single-user mode: there is nobody else to protect accounts from
        if self.actor is None or self.actor.role != "admin":
            who = self.actor.full_name if self.actor else "Nobody signed in"
            refuse(self.db, self.actor, action, "account", record_id, NotPermitted(f"{who} may not manage accounts"))


def refuse(db: Database, actor: Actor | None, action: str, record_type: str, record_id: str | None,
           error: NotPermitted) -> None:  # fmt: skip
    """Record the refused attempt in its own transaction (the caller's is rolled back), then raise."""
    with db.write() as session:
        audit.record(session, username=actor.username if actor else None, action="refused", record_type=record_type,
                     record_id=record_id, details={"attempted": action, "message": error.message})  # fmt: skip
    raise error
