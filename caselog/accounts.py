"""Accounts, signing in, and the contract's roles table (section 4), enforced where data changes.

A database without accounts is single-user: nobody signs in and every action is allowed. Once an account
exists, every action needs a signed-in `Actor`, and `require` is the one place that says yes or no.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
MIN_PASSWORD_LENGTH = 12
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")

# Argon2id at OWASP's minimum or above: 19 MiB of memory, 2 passes, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: A hash of a random password nobody knows, with HASHER's parameters: an unknown, disabled or locked account is
#: checked against it, so that every failed sign-in costs the same time and the time tells nothing.
DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$33laQBBeS69x7MmjWcDSmQ$79Owc+RpAfL6BDEdfc7AKa3lDF94SyuRyZvWL+zDgLE"
#: The one answer to every failed sign-in, whatever the reason (the audit trail keeps the real one).
SIGN_IN_FAILED = (
    "Sign-in refused: the user name or password is wrong, or the account is disabled or locked for 15 minutes "
    "after repeated failures. Ask an administrator if it keeps happening."
)


class Action(StrEnum):
    VIEW = "view"  # view cases, print and export summaries and reports
    EDIT_DRAFT = "edit_draft"  # create and edit drafts, delete drafts
    SIGN = "sign"  # own cases only
    AMEND = "amend"  # own cases only, reason required
    ADDENDUM = "addendum"  # add outcomes and complications to a signed case
    REVIEW = "review"  # complication review status and notes
    READ_AUDIT = "read_audit"  # surgeons: own cases only
    ADMINISTER = "administer"  # accounts, backup, restore, clinic settings and policy


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
    Action.ADMINISTER: "administer CaseLog (accounts, backups, restores, the clinic's settings and policy)",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting. `None` in place of an Actor means the single-user mode of a database without accounts."""

    username: str
    full_name: str
    role: str
    #: An administrator reset the password: nothing is allowed until the account chooses a new one.
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    full_name: str
    role: str
    disabled: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None
    must_change_password: bool = False


def allowed(actor: Actor | None, action: Action, *, case_surgeon: str | None = None) -> bool:
    """Whether the roles table lets this actor do this (to a case of `case_surgeon`, where it matters)."""
    if actor is None:
        return True
    if actor.must_change_password:
        return False
    rule = PERMISSIONS[action].get(actor.role)
    if rule == "yes":
        return True
    if rule == "own":
        return case_surgeon is None or case_surgeon == actor.full_name
    return False


def password_change_needed(actor: Actor) -> NotPermitted:
    return NotPermitted(
        f"{actor.full_name}'s password was reset by an administrator: choose a new one before anything else, "
        "with 'caselog user passwd' (current password in CASELOG_PASSWORD, new one in CASELOG_NEW_PASSWORD, "
        "or asked) or by signing in to the app"
    )


def refusal(actor: Actor, action: Action, *, case_surgeon: str | None = None) -> NotPermitted:
    if actor.must_change_password:
        return password_change_needed(actor)
    role = ROLES.get(actor.role, actor.role)
    if PERMISSIONS[action].get(actor.role) == "own" and case_surgeon is not None:
        return NotPermitted(f"{actor.full_name} ({role}) may not {ACTION_WORDS[action]}: it is {case_surgeon}'s case")
    return NotPermitted(f"{actor.full_name} ({role}) may not {ACTION_WORDS[action]}")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords (caselog/data/common-passwords.txt), case-folded."""
    text = resources.files("caselog").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.casefold() for line in text.splitlines() if line and line != "#" and not line.startswith("# ")
    )


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None (NIST SP 800-63B: length and a list of common ones, no other rules).

    The one rule for every way a password is set: a new account, an administrator's reset, a change by its owner,
    from the command line or the app.
    """
    if not password.strip():
        return "is empty or only spaces"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"needs at least {MIN_PASSWORD_LENGTH} characters (it has {len(password)})"
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return "holds characters that cannot be stored; type it again"
    if len(set(password)) == 1:
        return "is one character repeated; choose a passphrase, e.g. a few unrelated words"
    if password.casefold() in common_passwords() or password.strip().casefold() in common_passwords():
        return "is one of the most common passwords, which are tried first; choose another"
    if username and len(username) >= 3 and username.casefold() in password.casefold():
        # NIST SP 800-63B: context-specific words (the user name) are tried first too; 'adminadminadmin'.
        return "holds the user name, which is tried first; choose a passphrase, e.g. a few unrelated words"
    return None


def _check_password(password: str, username: str | None = None) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise InvalidInput([Problem("password", problem)])


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False


def _account(row: AccountRow) -> Account:
    return Account(
        username=row.username,
        full_name=row.full_name,
        role=row.role,
        disabled=row.disabled,
        locked_until=row.locked_until,
        created_at=row.created_at,
        last_sign_in_at=row.last_sign_in_at,
        must_change_password=row.must_change_password,
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
        """Check a password. Failures are audited; five in a row lock the account for 15 minutes.

        Every failure gives the same message and costs one Argon2 verification (against a dummy hash when the
        account is unknown, disabled or locked), so neither the answer nor its time tells which accounts exist.
        """
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
            verified = _verify(row.password_hash if row is not None and failure is None else DUMMY_HASH, password)
            if failure is None and not verified:
                failure = "wrong password"
            if failure is None and row is not None:
                if HASHER.check_needs_rehash(row.password_hash):
                    row.password_hash = HASHER.hash(password)  # old parameters: upgraded while we know it
                row.failed_sign_ins = 0
                row.locked_until = None
                row.last_sign_in_at = now
                audit.record(session, username=username, action="sign_in", record_type="account", record_id=username,
                             details={"must_change_password": True} if row.must_change_password else None)  # fmt: skip
                return Actor(username=row.username, full_name=row.full_name, role=row.role,
                             must_change_password=row.must_change_password)  # fmt: skip
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
        raise NotPermitted(SIGN_IN_FAILED)

    def check_password(self, username: str, password: str) -> Actor:
        """Sign-in's checks without writing anything, for the one moment nothing can be written.

        Only `caselog audit key renew` uses it: on a workstation without the trail's key even a sign-in entry
        cannot be sealed. The same single answer and the same Argon2 cost as `sign_in`; the renewal itself
        then records the sign-in with its own entry.
        """
        with self.db.read() as session:
            row = session.execute(select(AccountRow).where(AccountRow.username == username)).scalar_one_or_none()
        usable = (row is not None and not row.disabled and not row.must_change_password
                  and (row.locked_until is None or row.locked_until <= store.utcnow()))  # fmt: skip
        verified = _verify(row.password_hash if row is not None and usable else DUMMY_HASH, password)
        if row is None or not usable or not verified:
            raise NotPermitted(SIGN_IN_FAILED)
        return Actor(username=row.username, full_name=row.full_name, role=row.role)

    def add_account(self, username: str, *, role: str, full_name: str, password: str) -> Account:
        problems: list[Problem] = []
        if not USERNAME_RE.fullmatch(username):
            problems.append(Problem("NAME", f"{username!r}: use 1 to 50 lower-case letters, digits, '.', '_' or '-'"))
        if role not in ROLES:
            problems.append(Problem("--role", f"unknown role {role!r} (surgeon, coordinator, quality, admin)"))
        full_name = full_name.strip()
        if not 1 <= len(full_name) <= 100:
            problems.append(Problem("--full-name", "is required, up to 100 characters"))
        weak = password_problem(password, username)
        if weak is not None:
            problems.append(Problem("password", weak))
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

    def disable_account(self, username: str) -> bool:
        """The account can no longer sign in; its cases and audit entries stay. False if it was disabled already.

        Refused for the last active administrator: nobody could manage accounts, back up or restore any more.
        """
        return self._change(username, "account_disable", {"disabled": True})

    def enable_account(self, username: str) -> bool:
        """A disabled account may sign in again. False if it was active already."""
        return self._change(username, "account_enable", {"disabled": False})

    def set_role(self, username: str, role: str) -> bool:
        """Give an account another role; refused for the last active administrator. False if it had that role."""
        if role not in ROLES:
            raise InvalidInput([Problem("--role", f"unknown role {role!r} (surgeon, coordinator, quality, admin)")])
        return self._change(username, "account_role", {"role": role})

    def reset_password(self, username: str, new_password: str) -> None:
        """An administrator sets a new password that its owner must replace at the next sign-in.

        It also lifts a lockout (the owner asked for help). An administrator changes their own password with
        `change_password`, which asks for the current one.
        """
        _check_password(new_password, username)
        self._require_admin("account_password_reset", username)
        if self.actor is not None and self.actor.username == username:
            raise InvalidInput([Problem("NAME", "to change your own password, use 'caselog user passwd'")])
        password_hash = HASHER.hash(new_password)
        with self.db.write() as session:
            row = self._row(session, username)
            changes: dict[str, list[Any]] = {"must_change_password": [row.must_change_password, True]}
            if row.locked_until is not None and row.locked_until > store.utcnow():
                changes["locked_until"] = [row.locked_until.isoformat(timespec="minutes"), None]
            row.password_hash = password_hash
            row.must_change_password = True
            row.failed_sign_ins = 0
            row.locked_until = None
            audit.record(session, username=self._who(), action="account_password_reset", record_type="account",
                         record_id=username, details={"changes": changes})  # fmt: skip

    def change_password(self, current_password: str, new_password: str) -> Actor:
        """The signed-in account changes its own password (the way out of an administrator's reset).

        Needs the current password even though the account is signed in: someone at an unlocked workstation
        must not be able to take the account over. Returns the actor as it is now (no change pending).
        """
        actor = self.actor
        if actor is None:
            raise NotPermitted("Sign in first: only a signed-in account changes its own password")
        _check_password(new_password, actor.username)
        if new_password == current_password:
            raise InvalidInput([Problem("password", "the new password must differ from the current one")])
        with self.db.read() as session:
            row = self._row(session, actor.username)
            current_ok = not row.disabled and _verify(row.password_hash, current_password)
        if not current_ok:
            refuse(self.db, actor, "account_password_change", "account", actor.username,
                   NotPermitted("password: the current password is wrong"))  # fmt: skip
        password_hash = HASHER.hash(new_password)
        with self.db.write() as session:
            row = self._row(session, actor.username)
            details = {"changes": {"must_change_password": [True, False]}} if row.must_change_password else None
            row.password_hash = password_hash
            row.must_change_password = False
            audit.record(session, username=actor.username, action="account_password_change", record_type="account",
                         record_id=actor.username, details=details)  # fmt: skip
            return Actor(username=row.username, full_name=row.full_name, role=row.role)

    def _row(self, session: Session, username: str) -> AccountRow:
        row = session.execute(select(AccountRow).where(AccountRow.username == username)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"Account {username} not found")
        return row

    def _change(self, username: str, action: str, values: Mapping[str, Any]) -> bool:
        """Set an account's fields, audited with old and new values; the last active administrator stays one."""
        self._require_admin(action, username)
        refused: NotPermitted | None = None
        with self.db.write() as session:
            # Locking every active administrator's row makes two administrators who demote each other at the
            # same moment take turns (PostgreSQL; SQLite writers take turns anyway), so one always remains.
            admins = set(session.execute(
                select(AccountRow.username).where(AccountRow.role == "admin", AccountRow.disabled.is_(False))
                .with_for_update()
            ).scalars())  # fmt: skip
            row = self._row(session, username)
            changes = {key: [getattr(row, key), new] for key, new in values.items() if getattr(row, key) != new}
            if not changes:
                return False
            stays_admin = values.get("role", row.role) == "admin" and not values.get("disabled", row.disabled)
            if admins == {username} and not stays_admin:
                refused = NotPermitted(
                    f"{username} is the last active administrator: add or enable another administrator first "
                    "(someone must manage accounts, back up and restore)"
                )
            else:
                for key, (_old, new) in changes.items():
                    setattr(row, key, new)
                audit.record(session, username=self._who(), action=action, record_type="account", record_id=username,
                             details={"changes": changes})  # fmt: skip
        if refused is not None:
            refuse(self.db, self.actor, action, "account", username, refused)
        return True

    def _who(self) -> str | None:
        return self.actor.username if self.actor else None

    def _require_admin(self, action: str, record_id: str | None) -> None:
        if self.actor is None and not accounts_exist(self.db):
            return  # single-user mode: there is nobody else to protect accounts from
        if self.actor is not None and self.actor.must_change_password:
            refuse(self.db, self.actor, action, "account", record_id, password_change_needed(self.actor))
        if self.actor is None or self.actor.role != "admin":
            who = self.actor.full_name if self.actor else "Nobody signed in"
            refuse(self.db, self.actor, action, "account", record_id, NotPermitted(f"{who} may not manage accounts"))
        with self.db.read() as session:  # as it is now: a session opened before a demotion or a disabling
            row = session.execute(select(AccountRow).where(AccountRow.username == self.actor.username)).scalar()
            still = row is not None and row.role == "admin" and not row.disabled and not row.must_change_password
        if not still:
            gone = NotPermitted(f"{self.actor.full_name} is no longer an active administrator; sign in again")
            refuse(self.db, self.actor, action, "account", record_id, gone)


def refuse(db: Database, actor: Actor | None, action: str, record_type: str, record_id: str | None,
           error: NotPermitted) -> NoReturn:  # fmt: skip
    """Record the refused attempt in its own transaction (the caller's is rolled back), then raise."""
    with db.write() as session:
        audit.record(session, username=actor.username if actor else None, action="refused", record_type=record_type,
                     record_id=record_id, details={"attempted": action, "message": error.message})  # fmt: skip
    raise error


# ---- what an administrator may read of the audit trail ----------------------------------------------------

HIDDEN = "(hidden)"
#: Fields of a case whose values say nothing about the patient: the workflow an administrator answers for.
WORKFLOW_FIELDS = frozenset({"case_number", "status", "signed_by", "signed_at", "review_status"})
#: Free text typed into a non-case entry that may name a patient (an export's search filter).
FREE_TEXT_DETAILS = frozenset({"search"})


def _hide_values(value: Any, key: str = "") -> Any:
    """A case's content or changes with every value hidden except empty ones and the workflow fields."""
    if isinstance(value, dict):
        return {k: _hide_values(v, k) for k, v in value.items()}
    if value is None or value == "" or value == [] or key.rsplit(".", 1)[-1] in WORKFLOW_FIELDS:
        return value
    return HIDDEN


def _hide_free_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: HIDDEN if k in FREE_TEXT_DETAILS and v else _hide_free_text(v) for k, v in value.items()}
    return value


def _for_administrator(entry: audit.AuditEntry) -> audit.AuditEntry:
    if entry.record_type != "case":
        return dataclasses.replace(entry, details=_hide_free_text(entry.details))
    details: dict[str, Any] = {}
    for key, value in entry.details.items():
        if key == "content":
            details[key] = _hide_values(value)
        elif key == "changes" and isinstance(value, dict):
            details[key] = {
                path: [_hide_values(old, path), _hide_values(new, path)] for path, (old, new) in value.items()
            }
        elif key in ("version", "attempted", "message", "document"):
            details[key] = value  # the record's version, a refusal (names staff, not patients), what was printed
        else:
            details[key] = _hide_values(value, key)
    return dataclasses.replace(entry, details=details, reason=HIDDEN if entry.reason else None)


def entries_for(actor: Actor | None, entries: list[audit.AuditEntry]) -> list[audit.AuditEntry]:
    """The audit entries as this actor may read them (contract section 4: administrators may not view cases).

    An administrator sees who did what to which case and when, with the changed fields' names, but no value that
    could identify the patient or tell their story: every case value except the workflow fields (status, signer,
    review status) and every reason is shown as "(hidden)", and so is an export's search text. Surgeons (their
    own cases) and quality staff see everything. The stored entries are never changed.
    """
    if actor is None or actor.role != "admin":
        return entries
    return [_for_administrator(e) for e in entries]
