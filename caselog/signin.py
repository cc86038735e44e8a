"""Signing in from the command line, and the `user`, `sign` and `audit` commands (contract sections 3 and 4)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from caselog import audit
from caselog.accounts import (
    ROLES,
    Account,
    AccountService,
    Action,
    Actor,
    accounts_exist,
    allowed,
    password_change_needed,
    refusal,
    refuse,
)
from caselog.db import store
from caselog.db.engine import Database
from caselog.errors import EXIT_AUDIT_ALTERED, EXIT_OK, AuditAltered, InvalidInput, NotPermitted
from caselog.service import CaseService
from caselog.validation import Problem


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _changing_own_password(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) == "user" and getattr(args, "user_command", None) == "passwd"


def sign_in(db: Database, args: argparse.Namespace) -> Actor | None:
    """The signed-in account for this command, or None for a database without accounts (single user).

    An account whose password an administrator reset may only run `caselog user passwd`; any other command is
    refused (exit 4, audited) with the way out.
    """
    if not accounts_exist(db):
        return None
    username = getattr(args, "user", None) or os.environ.get("CASELOG_USER")
    if not username:
        raise NotPermitted("This database has accounts: sign in with --user NAME (or CASELOG_USER)")
    password = os.environ.get("CASELOG_PASSWORD")
    if password is None:
        if not _interactive():
            raise NotPermitted("No password given: set CASELOG_PASSWORD or run in a terminal to be asked")
        password = getpass.getpass(f"Password for {username}: ")
    actor = AccountService(db).sign_in(username, password)
    if _changing_own_password(args):
        args.current_password = password  # checked again by change_password; kept only for this command
    elif actor.must_change_password:
        refuse(db, actor, args.command, "account", actor.username, password_change_needed(actor))
    return actor


def require(db: Database, actor: Actor | None, action: Action, what: str) -> None:
    """For commands outside the case service (backup, restore): the same roles table, the same audit."""
    if actor is not None and not allowed(actor, action):
        refuse(db, actor, what, "database", None, refusal(actor, action))


def _new_password() -> str:
    password = os.environ.get("CASELOG_NEW_PASSWORD")
    if password is not None:
        return password
    if not _interactive():
        raise InvalidInput([Problem("password", "set CASELOG_NEW_PASSWORD or run in a terminal to be asked")])
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat the new password: ") != first:
        raise InvalidInput([Problem("password", "the two passwords differ")])
    return first


def _status(account: Account) -> str:
    if account.disabled:
        return "disabled"
    if account.locked_until is not None and account.locked_until > store.utcnow():
        return "locked"
    return "new password due" if account.must_change_password else "active"


def user_command(db: Database, actor: Actor | None, args: argparse.Namespace) -> int:
    accounts = AccountService(db, actor)
    action = args.user_command
    if action == "add":
        account = accounts.add_account(
            args.name, role=args.role, full_name=args.full_name or args.name, password=_new_password()
        )
        print(f"Added {account.username} ({account.full_name}, {ROLES[account.role]}).")
    elif action == "disable":
        done = accounts.disable_account(args.name)
        print(f"Disabled {args.name}; it can no longer sign in." if done else f"{args.name} was disabled already.")
    elif action == "enable":
        done = accounts.enable_account(args.name)
        print(f"Enabled {args.name}; it can sign in again." if done else f"{args.name} is active already.")
    elif action == "role":
        done = accounts.set_role(args.name, args.role)
        print(f"{args.name} is now {ROLES[args.role]}." if done else f"{args.name} is {ROLES[args.role]} already.")
    elif action == "reset-password":
        accounts.reset_password(args.name, _new_password())
        print(f"Reset the password of {args.name}; at the next sign-in they must choose a new one.")
    elif action == "passwd":
        if actor is None:
            raise NotPermitted("This database has no accounts: there is no password to change")
        accounts.change_password(getattr(args, "current_password", ""), _new_password())
        print(f"Changed the password of {actor.username}.")
    else:
        rows = accounts.list_accounts()
        width = max([len(a.username) for a in rows] + [4])
        print(f"{'User'.ljust(width)}  {'Role'.ljust(14)}  {'Status'.ljust(16)}  Full name")
        for a in rows:
            print(f"{a.username.ljust(width)}  {ROLES[a.role].ljust(14)}  {_status(a).ljust(16)}  {a.full_name}")
    return EXIT_OK


def sign_command(service: CaseService, case_number: str) -> int:
    view = service.sign_case(case_number)
    assert view.signed_at is not None
    print(f"Signed {view.case_number} as {view.signed_by} at {view.signed_at:%Y-%m-%d %H:%M} UTC.")
    return EXIT_OK


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:59] + "…"


def format_entry(entry: audit.AuditEntry) -> list[str]:
    record = f"{entry.record_type} {entry.record_id}" if entry.record_id else entry.record_type
    lines = [f"{entry.id:>6}  {entry.occurred_at:%Y-%m-%d %H:%M:%S} UTC  {entry.who:<16}  {entry.action:<15}  {record}"]
    if entry.reason:
        lines.append(f"        reason: {entry.reason}")
    for path, (old, new) in entry.changes.items():
        lines.append(f"        {path}: {_short(old)} -> {_short(new)}")
    for key, value in entry.details.items():
        if key != "changes":
            lines.append(f"        {key}: {_short(value)}")
    return lines


def audit_command(db: Database, service: CaseService, args: argparse.Namespace) -> int:
    if args.case == "verify":
        if service.actor is not None and not allowed(service.actor, Action.READ_AUDIT):
            refuse(db, service.actor, "audit_verify", "audit", None, refusal(service.actor, Action.READ_AUDIT))
        result = audit.verify(db)
        if not result.ok:
            raise AuditAltered(f"Audit trail altered: {result.problem} (checked {result.checked} entries before it)")
        print(f"ok: {result.checked} audit entries, chain intact.")
        return EXIT_OK
    found = service.history(args.case) if args.case else service.audit_trail()
    for entry in found:
        print("\n".join(format_entry(entry)))
    if not found:
        print("No audit entries.")
    return EXIT_OK


__all__ = ["EXIT_AUDIT_ALTERED", "audit_command", "require", "sign_command", "sign_in", "user_command"]
