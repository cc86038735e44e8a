"""Signing in from the command line, and the `user`, `sign` and `audit` commands (contract sections 3 and 4)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from caselog import audit, audit_anchor
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
from caselog.errors import EXIT_AUDIT_ALTERED, EXIT_OK, EXIT_OTHER, AuditAltered, InvalidInput, NotPermitted
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
    no_user = "This database has accounts: sign in with --user NAME (or CASELOG_USER)"
    username, password = _credentials(getattr(args, "user", None), no_user)
    actor = AccountService(db).sign_in(username, password)
    if _changing_own_password(args):
        args.current_password = password  # checked again by change_password; kept only for this command
    elif actor.must_change_password:
        refuse(db, actor, args.command, "account", actor.username, password_change_needed(actor))
    return actor


def _credentials(username: str | None, no_user: str) -> tuple[str, str]:
    """Who signs in (--user, else CASELOG_USER) and their password (CASELOG_PASSWORD, else asked in a terminal)."""
    username = username or os.environ.get("CASELOG_USER")
    if not username:
        raise NotPermitted(no_user)
    password = os.environ.get("CASELOG_PASSWORD")
    if password is None:
        if not _interactive():
            raise NotPermitted("No password given: set CASELOG_PASSWORD or run in a terminal to be asked")
        password = getpass.getpass(f"Password for {username}: ")
    return username, password


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
    more: list[str] = list(getattr(args, "more", None) or [])
    if args.case == "key":
        return audit_key_command(db, service.actor, more)
    if more or (getattr(args, "accept", False) and args.case != "verify"):
        raise InvalidInput([Problem("", "usage: caselog audit [CASE] | audit verify [--accept] | "
                                        "audit key export FILE | audit key import FILE")])  # fmt: skip
    if args.case == "verify":
        if service.actor is not None and not allowed(service.actor, Action.READ_AUDIT):
            refuse(db, service.actor, "audit_verify", "audit", None, refusal(service.actor, Action.READ_AUDIT))
        if getattr(args, "accept", False):
            _accept_current_state(db, service.actor)
        return report_verification(audit.verify(db))
    # The whole trail is streamed a batch at a time: a million entries print without being held in memory.
    found = service.history(args.case) if args.case else service.iter_audit_trail()
    printed = False
    for entry in found:
        print("\n".join(format_entry(entry)))
        printed = True
    if not printed:
        print("No audit entries.")
    return EXIT_OK


def report_verification(result: audit.VerifyResult) -> int:
    """Print what `audit verify` found; raise AuditAltered (exit 6) when the trail or the records were altered."""
    if result.problem is not None:
        raise AuditAltered(f"Audit trail altered: {result.problem} (checked {result.checked} entries).")
    if result.key_problem is not None:
        print(f"The audit trail's chain and records agree ({result.checked} entries), but {result.key_problem}.",
              file=sys.stderr)  # fmt: skip
        return EXIT_OTHER
    # Say which entries the seal covers: a trail whose seals were stripped and whose chain was recomputed shows
    # as entries 'written before the seal', which a database made by a sealing CaseLog never has.
    if result.unsealed >= result.checked and result.checked:
        sealed = "not sealed (written before CaseLog sealed its trail; sealed from the next entry on)"
    elif result.unsealed:
        sealed = (f"sealed from entry {result.unsealed + 1} (entries 1-{result.unsealed} were written before "
                  "CaseLog sealed its trail: chained, not sealed)")  # fmt: skip
    else:
        sealed = "sealed"
    print(f"ok: {result.checked} audit entries, chain intact, {sealed}, and every case and account agrees with it. "
          f"{audit.head_line(result.head)}")  # fmt: skip
    return EXIT_OK


def _accept_current_state(db: Database, actor: Actor | None) -> None:
    """An administrator accepts the database as it is now (replaced or put back on purpose): audited."""
    require(db, actor, Action.ADMINISTER, "audit_accept")
    head = audit.current_head(db)
    if head is None:
        return
    before = audit_anchor.checkpoint(db.display_name)
    audit_anchor.forget_checkpoint(db.display_name)
    details = {"workstation": audit_anchor.workstation(), "database_id": head.database_id,
               "previous_checkpoint": before.entry if before else None}  # fmt: skip
    with db.write() as session:
        audit.record(session, username=actor.username if actor else None, action="audit_accept",
                     record_type="audit", record_id=None, details=details)  # fmt: skip


def audit_key_command(db: Database, actor: Actor | None, more: list[str]) -> int:
    """`caselog audit key export FILE` (administrators) and `caselog audit key import FILE` (whoever holds the key).

    Importing needs no sign-in: without the key nothing can be signed in or written, and a file is only
    accepted when it is the very key the trail is sealed with. Both are audited.
    """
    if len(more) != 2 or more[0] not in ("export", "import"):
        raise InvalidInput([Problem("", "usage: caselog audit key export FILE | caselog audit key import FILE | "
                                        "caselog audit key renew")])  # fmt: skip
    verb, file = more[0], Path(more[1]).expanduser()
    head = audit.current_head(db)
    if head is None or not head.database_id:
        raise InvalidInput([Problem("", f"{db.display_name} has no audit trail to seal; run 'caselog init'")])
    if verb == "export":
        require(db, actor, Action.ADMINISTER, "audit_key_export")
        audit_anchor.export_key(head.database_id, head.key_id, file, db.display_name)
        where = str(file)
    else:
        where = str(audit_anchor.import_key(head.database_id, head.key_id, file, db.display_name))
    with db.write() as session:
        audit.record(session, username=actor.username if actor else None, action=f"audit_key_{verb}",
                     record_type="audit", record_id=None,
                     details={"workstation": audit_anchor.workstation(), "file": where})  # fmt: skip
    if verb == "export":
        print(f"Wrote the audit key of {db.display_name} to {file}. Keep it like a password; import it on each "
              "workstation with 'caselog audit key import FILE', then delete the copy.")  # fmt: skip
    else:
        print(f"Installed the audit key of {db.display_name} in {where}.")
    return EXIT_OK


def audit_key_renew(db: Database, username: str | None) -> int:
    """`caselog audit key renew`: a new key when the trail's key is lost on every workstation (administrators).

    The one way back to writing after the key is gone with its workstation (a restored backup on a new
    computer, no exported copy). It refuses while this workstation holds the right key, and over a trail whose
    chain or records do not verify; the password is checked without writing (nothing can be sealed yet), and
    the renewal records the sign-in and itself, sealed with the new key.
    """
    head = audit.current_head(db)
    if head is None or not head.database_id or head.key_id is None:
        raise InvalidInput([Problem("", f"{db.display_name} is not sealed yet; it makes its key at its next entry")])
    held = audit_anchor.load_key(head.database_id)
    if held is not None and audit_anchor.key_id(held) == head.key_id:
        raise InvalidInput([Problem("", f"this workstation holds the audit key of {db.display_name}: nothing to "
                                        "renew (copy it elsewhere with 'caselog audit key export FILE')")])  # fmt: skip
    actor: Actor | None = None
    if accounts_exist(db):
        username, password = _credentials(username, "Renewing the audit key needs an administrator: sign in with "
                                                    "--user NAME")  # fmt: skip
        actor = AccountService(db).check_password(username, password)
        if actor.role != "admin":
            raise NotPermitted(f"{actor.full_name} may not renew the audit key (administrators only)")
    result = audit.verify(db)
    if result.problem is not None:
        raise AuditAltered(f"Audit trail altered: {result.problem} (checked {result.checked} entries). A new key "
                           "would hide it; nothing was changed.")  # fmt: skip
    renewed = audit.renew_seal(db, actor.username if actor else None, result)
    print(f"Sealed the audit trail of {db.display_name} with a new key from entry {result.checked + 1} on; "
          f"the chain and every record of entries 1 to {result.checked} verified, their old seals can no longer "
          f"be checked. The renewal is entry {renewed.last_id}. Keep a copy of the new key apart from the "
          "backups: 'caselog audit key export FILE'.")  # fmt: skip
    return EXIT_OK


__all__ = [
    "EXIT_AUDIT_ALTERED",
    "audit_command",
    "audit_key_command",
    "report_verification",
    "require",
    "sign_command",
    "sign_in",
    "user_command",
]
