"""The `caselog` command (contract section 3): argument parsing, dispatch, and exit statuses.

Every command opens the database, calls the service layer and prints; errors a user can cause come back
as CaselogError and leave with the contract's exit status. No traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from caselog import followup_parser, paths, vocab
from caselog.errors import EXIT_INVALID, EXIT_OK, EXIT_OTHER, CaselogError, InvalidInput
from caselog.files import FULL_DISK_ERRNOS, open_private_append, private_folder, private_process, write_error
from caselog.records import CaseFilter
from caselog.validation import Problem

if TYPE_CHECKING:
    from caselog.db.engine import Database

# Building the parser imports nothing that talks to a database (SQLAlchemy, Alembic, reportlab): `caselog --help`
# and a usage error answer at once; each command imports what it needs when it runs.

log = logging.getLogger("caselog")


#: What `caselog import --format` reads.
IMPORT_FORMATS = ("json", "fhir", "schedule")


class UsageError(InvalidInput):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as InvalidInput (exit 2) instead of leaving through SystemExit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError([Problem("", f"{self.prog}: {message}")])


def _date(text: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _registered(text: str, names: Sequence[str]) -> str:
    if text not in names:
        choices = ", ".join(repr(name) for name in names)
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {choices})")
    return text


def _export_format(text: str) -> str:
    """A format `caselog.exports.FORMATS` registers (read when the option is given: `--help` stays light)."""
    from caselog.exports import FORMATS

    return _registered(text, list(FORMATS))


def _clinic_setting(text: str) -> str:
    """A setting `caselog clinic set` changes (caselog.fhir.SETTINGS)."""
    from caselog.fhir import SETTINGS

    return _registered(text, list(SETTINGS))


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="procedure date on or after")
    group.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="procedure date on or before")
    group.add_argument("--surgeon", metavar="NAME", help="surgeon's name exactly as logged")
    group.add_argument("--procedure", choices=list(vocab.PROCEDURES), metavar="KEY", help="procedure key")
    group.add_argument("--level", choices=list(vocab.LEVELS), metavar="LEVEL", help="treated level, e.g. L4-L5")
    group.add_argument("--status", choices=list(vocab.CASE_STATUSES), metavar="STATUS")
    group.add_argument("--with-complications", action="store_true", help="only cases with complications")
    group.add_argument("--search", metavar="TEXT", help="matches MRN, names, case number and notes")


def _filter(args: argparse.Namespace) -> CaseFilter:
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise InvalidInput([Problem("--from", f"{args.date_from} is after --to {args.date_to}")])
    return CaseFilter(
        date_from=args.date_from,
        date_to=args.date_to,
        surgeon=args.surgeon,
        procedure=args.procedure,
        level=args.level,
        status=args.status,
        with_complications=args.with_complications,
        search=args.search,
    )


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="TARGET",
        help="SQLite file or SQLAlchemy URL (default: $CASELOG_DB, else caselog.sqlite3 in the user data folder)",
    )
    common.add_argument(
        "--user",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="account to sign in with once the database has accounts (default: $CASELOG_USER); "
        "the password comes from $CASELOG_PASSWORD or a prompt",
    )
    parser = _Parser(prog="caselog", description="Surgical case log for spine clinics.", parents=[common])
    parser.add_argument("--version", action="store_true", help="print CaseLog's version, its schema version and "
                        "the database in use with its schema, then exit")  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = command("init", "create the database (encrypted when a passphrase is given) or upgrade it")
    p.add_argument("--keyring", action="store_true", help="keep the passphrase in the system keyring for this user")
    p.add_argument("--app-role", metavar="NAME",
                   help="PostgreSQL, run as the tables' owner: grant the role the app connects as what it needs, "
                        "and nothing that could change or delete audit entries (see README)")  # fmt: skip
    p = command("import", "import a case file (CaseLog JSON or a FHIR R4 bundle) or the day's schedule: all or none")
    p.add_argument("file", metavar="FILE", help="interchange file ('-' for standard input)")
    p.add_argument("--format", choices=list(IMPORT_FORMATS), default="json",
                   help="json: CaseLog's interchange file; fhir: a FHIR R4 bundle as CaseLog exports it; "
                        "schedule: the day's scheduled procedures (CSV), to complete as cases")  # fmt: skip
    p = command("export", "export cases as JSON, CSV, XLSX, a FHIR R4 bundle or a de-identified research ZIP")
    p.add_argument("--format", type=_export_format, default="json", metavar="FORMAT",
                   help="json (the default), csv, xlsx, fhir or research")  # fmt: skip
    p.add_argument("--output", type=Path, metavar="FILE")
    _add_filters(p)
    p = command("list", "list cases as a table")
    _add_filters(p)
    p = command("show", "show one case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--json", action="store_true", help="print the contract's CASE object")
    p = command("demo", "add realistic synthetic cases")
    p.add_argument("--cases", type=_positive, required=True, metavar="N")
    p.add_argument("--seed", type=int, default=1, metavar="S")
    p.add_argument(
        "--into-real-database",
        action="store_true",
        help="add made-up patients even though the database holds real cases (use a test database instead)",
    )
    command("check", "check the database's integrity")
    p = command("encrypt", "encrypt a plain database (passphrase from $CASELOG_DB_KEY or asked)")
    p.add_argument("--keyring", action="store_true", help="keep the passphrase in the system keyring for this user")
    p = command("rekey", "change an encrypted database's passphrase (the new one from $CASELOG_NEW_DB_KEY or asked)")
    p.add_argument("--keyring", action="store_true", help="keep the passphrase in the system keyring for this user")
    p = command("backup", "consistent copy of the database, safe while in use")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--new-passphrase", action="store_true",
                   help="encrypt the copy with its own passphrase ($CASELOG_BACKUP_KEY or asked) instead of the "
                        "database's")  # fmt: skip
    p = command("restore", "replace the database with a checked copy (a safety copy is kept)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "--audit-key",
        type=Path,
        metavar="KEYFILE",
        help="the backup's audit key ('caselog audit key export'), on a workstation that does not hold it",
    )
    p = command("update", "replace a case's content with the CASE object in FILE")
    p.add_argument("case", metavar="CASE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--reason", metavar="TEXT", help="required when the case is signed")
    p.add_argument(
        "--expect-version",
        type=_positive,
        metavar="N",
        help="refuse (exit 5) if the case is no longer at this version (as shown by 'caselog show')",
    )
    p = command("copy-to", "copy the whole database, history included, into another (empty) one")
    p.add_argument("target", metavar="TARGET", help="file path or URL, e.g. postgresql+psycopg://user@host/caselog")
    p = command("summary", "PDF case summaries, each case on new pages")
    p.add_argument("cases", nargs="*", metavar="CASE")
    p.add_argument("--date", type=_date, metavar="DATE", help="every case of that day, in case-number order")
    p.add_argument("--output", type=Path, required=True, metavar="FILE")
    p = command("report", "PDF reports for quality review and credentialing")
    reports = p.add_subparsers(dest="report", metavar="REPORT", parser_class=_Parser)
    reports.required = True
    r = reports.add_parser("complications", help="complication log for quality review", parents=[common])
    r.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
    r.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
    r.add_argument("--output", type=Path, required=True, metavar="FILE")
    r = reports.add_parser("surgeon-log", help="case log of one surgeon", parents=[common])
    r.add_argument("--surgeon", required=True, metavar="NAME")
    r.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
    r.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
    r.add_argument("--output", type=Path, required=True, metavar="FILE")
    r = reports.add_parser("outside-policy", help="ablations outside the clinic's indication policy (CSV, JSON, "
                           "XLSX)", parents=[common])  # fmt: skip
    r.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
    r.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
    r.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
    r.add_argument("--output", type=Path, metavar="FILE", help="default: standard output (CSV or JSON)")
    r = reports.add_parser("durability", help="durability of relief after ablations and rhizotomies: curves with "
                           "95%% bands, loss to follow-up, the claims, the log-rank test (CSV, JSON, PDF)",
                           parents=[common])  # fmt: skip
    _add_filters(r)
    r.add_argument("--format", choices=["csv", "json", "pdf"], default="csv")
    r.add_argument("--output", type=Path, metavar="FILE", help="default: standard output (CSV or JSON); a PDF needs it")
    r = reports.add_parser("outcomes", help="share of follow-ups reaching MCID per procedure, timepoint and "
                           "measure (CSV, JSON, PDF)", parents=[common])  # fmt: skip
    _add_filters(r)
    r.add_argument("--format", choices=["csv", "json", "pdf"], default="csv")
    r.add_argument("--output", type=Path, metavar="FILE", help="default: standard output (CSV or JSON)")
    p = command("sign", "the signed-in surgeon signs the case: final, locked")
    p.add_argument("case", metavar="CASE")
    p = command("user", "accounts: add, list, disable, enable, role, reset-password (administrators); passwd")
    users = p.add_subparsers(dest="user_command", metavar="ACTION", parser_class=_Parser)
    users.required = True
    u = users.add_parser("add", help="add an account; the password comes from $CASELOG_NEW_PASSWORD or a prompt",
                         parents=[common])  # fmt: skip
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", required=True, choices=["surgeon", "coordinator", "quality", "admin"])
    u.add_argument("--full-name", metavar="TEXT", help="as written in the cases' surgeon field (default: NAME)")
    users.add_parser("list", help="list accounts", parents=[common])
    for action, help_text in (
        ("disable", "disable an account (not the last active administrator)"),
        ("enable", "let a disabled account sign in again"),
        ("reset-password", "set a new password (from $CASELOG_NEW_PASSWORD or a prompt) that its owner must "
                           "change at the next sign-in; also lifts a lockout"),
    ):  # fmt: skip
        u = users.add_parser(action, help=help_text, parents=[common])
        u.add_argument("name", metavar="NAME")
    u = users.add_parser("role", help="give an account another role (not the last active administrator)",
                         parents=[common])  # fmt: skip
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", required=True, choices=["surgeon", "coordinator", "quality", "admin"])
    users.add_parser("passwd", help="change your own password: the current one from $CASELOG_PASSWORD, the new "
                                    "one from $CASELOG_NEW_PASSWORD, else asked", parents=[common])  # fmt: skip
    p = command(
        "audit",
        "the audit trail of one case or all; 'caselog audit verify' checks the chain, its seals "
        "and the records; 'caselog audit key export|import FILE' carries the seal key between workstations",
    )
    p.add_argument("case", nargs="?", metavar="CASE|verify|key")
    p.add_argument("more", nargs="*", metavar="export|import FILE", help=argparse.SUPPRESS)
    p.add_argument("--accept", action="store_true",
                   help="with verify: accept the database as it is now on this workstation (replaced or put back on "
                        "purpose; administrators; audited)")  # fmt: skip
    p = command("clinic", "settings of the whole clinic: 'clinic show'; 'clinic set NAME VALUE' (administrators)")
    clinic = p.add_subparsers(dest="clinic_command", metavar="ACTION", parser_class=_Parser)
    clinic.required = True
    clinic.add_parser("show", help="the clinic's settings", parents=[common])
    c = clinic.add_parser("set", help="change a setting (administrators; audited)", parents=[common])
    c.add_argument("name", type=_clinic_setting, metavar="NAME",
                   help="fhir-mrn-system: the URI of the system the clinic's MRNs belong to (FHIR export)")  # fmt: skip
    c.add_argument("value", metavar="VALUE")
    p = command("delete", "delete a draft case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p = command("patient", "the patient's pathway: every case by joint, blocks with their relief, ablations with "
                           "the policy check and their relief")  # fmt: skip
    p.add_argument("mrn", metavar="MRN")
    p.add_argument("--json", action="store_true", help="print the pathway as JSON")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write the patient pathway PDF to FILE (recorded in the audit trail as a print)")  # fmt: skip
    _add_policy_parser(command("policy", "the clinic's indication policy: show it; set it (administrators)"), common)
    followup_parser.add_parser(sub, common, _Parser, _add_filters, _date, _positive)
    return parser


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _add_policy_parser(p: argparse.ArgumentParser, common: _Parser) -> None:
    from caselog.policy import LABELS, OPTIONS, PRESETS

    actions = p.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    shown = actions.add_parser("show", help="the policy in force and where its preset comes from", parents=[common])
    shown.add_argument("--json", action="store_true", help="print the policy's fields as JSON")
    changed = actions.add_parser("set", help="change the policy: a preset, then any value (administrators; audited)",
                                 parents=[common])  # fmt: skip
    changed.add_argument("--preset", choices=list(PRESETS), metavar="KEY",
                         help="start from a preset: " + ", ".join(PRESETS))  # fmt: skip
    for field, option in OPTIONS.items():
        changed.add_argument(option, dest=field, type=_whole, metavar="N", help=LABELS[field])


def _target(args: argparse.Namespace) -> str | None:
    return getattr(args, "db", None) or os.environ.get("CASELOG_DB") or None


#: Commands that change cases or accounts: a damaged database is refused before they write into it.
#: Reading commands stay open so that people can still export what a damaged file holds.
WRITING_COMMANDS = frozenset({"import", "demo", "update", "delete", "sign", "user", "clinic", "policy"})


def _open(args: argparse.Namespace) -> Database:
    from caselog.db.schema import open_database
    from caselog.db.transfer import storage_warnings

    writes = args.command in WRITING_COMMANDS or (args.command == "followups" and followup_parser.writes(args))
    db = open_database(_target(args), verify=writes)
    for warning in storage_warnings(db):
        print(warning, file=sys.stderr)
    return db


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")  # a message never fails to print
    with private_process():
        return _run(argv)


def _version_asked(argv: Sequence[str]) -> tuple[bool, str | None]:
    """`caselog [--db TARGET] --version`, and nothing else: (asked, the --db given)."""
    parser = _Parser(prog="caselog", add_help=False)
    parser.add_argument("--version", action="store_true")
    parser.add_argument("--db")
    try:
        known, rest = parser.parse_known_args(argv)
    except UsageError:
        return False, None
    return bool(known.version) and not rest, known.db


def _run(argv: Sequence[str] | None) -> int:
    try:
        asked, db = _version_asked(sys.argv[1:] if argv is None else argv)
        if asked:
            from caselog.version import version_lines

            print("\n".join(version_lines(db or os.environ.get("CASELOG_DB") or None)))
            return EXIT_OK
        args = build_parser().parse_args(argv)
        if args.version:
            raise UsageError([Problem("--version", "goes alone, or with --db: caselog [--db TARGET] --version")])
        return _dispatch(args)
    except CaselogError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        if isinstance(exc, UsageError):
            print("Try 'caselog --help'.", file=sys.stderr)
        return exc.exit_status
    except BrokenPipeError:
        # The reader went away (`caselog export | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("Interrupted; nothing more was written.", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in FULL_DISK_ERRNOS and exc.filename:
            print(write_error(exc, exc.filename).message, file=sys.stderr)  # a full disk names the file
            return EXIT_OTHER
        from caselog.db.engine import describe_storage_error

        friendly = describe_storage_error(exc, "")
        if friendly is not None:
            print(friendly.message.replace("The database  ", "The database "), file=sys.stderr)
            return friendly.exit_status
        where = _log_crash(exc)
        print(f"caselog: unexpected error ({type(exc).__name__}); details were written to {where}. "
              "'caselog check' says whether the database itself is damaged.", file=sys.stderr)  # fmt: skip
        return EXIT_OTHER


def _log_crash(exc: BaseException) -> str:
    """Keep the traceback for the developers, away from the user's terminal."""
    try:
        target = private_folder(paths.log_dir()) / "caselog-errors.log"
        with open_private_append(target) as handle:
            handle.write(f"--- {dt.datetime.now().isoformat()}\n")
            handle.write("".join(traceback.format_exception(exc)))
        return str(target)
    except OSError:
        return "nowhere (the log folder is not writable)"


def _dispatch(args: argparse.Namespace) -> int:
    from caselog import commands, passphrases
    from caselog.signin import sign_in

    if args.command == "init":
        passphrases.prepare_new_database(passphrases.sqlite_file(_target(args)))
    passphrases.unlock(passphrases.sqlite_file(_target(args)))
    # Commands that open the database themselves (it may be missing, damaged or about to be replaced).
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "init": lambda a: _cmd_init(a, _target(a)),
        "check": lambda a: commands.check(a, _target(a)),
        "backup": lambda a: commands.backup(a, _target(a)),
        "restore": lambda a: commands.restore(a, _target(a)),
        "encrypt": lambda a: passphrases.encrypt_command(a, _target(a)),
        "rekey": lambda a: passphrases.rekey_command(a, _target(a)),
    }
    handler = handlers.get(args.command)
    if handler is not None:
        return handler(args)
    db = _open(args)
    try:
        if args.command == "audit" and args.case == "key" and (args.more or [""])[0] in ("import", "renew"):
            # Whoever holds the database's key may install it; without it nobody could sign in here.
            # (A renewal checks an administrator's password itself, without writing.)
            from caselog.signin import audit_key_command, audit_key_renew

            if args.more == ["renew"]:
                return audit_key_renew(db, getattr(args, "user", None))
            return audit_key_command(db, None, list(args.more))
        actor = sign_in(db, args)
        if args.command == "followups":
            from caselog import followup_commands
            from caselog.service import CaseService

            return followup_commands.run(args, CaseService(db, actor=actor), _filter)
        if args.command == "report" and args.report == "outcomes":
            from caselog import outcomes_commands

            return outcomes_commands.run(db, actor, args, _filter(args))
        return commands.run(args, db, _filter, actor)
    finally:
        db.close()


def _cmd_init(args: argparse.Namespace, target: str | None) -> int:
    from caselog.db.engine import open_engine
    from caselog.db.health import verify_storage
    from caselog.db.schema import upgrade
    from caselog.passphrases import after_init
    from caselog.signin import sign_in

    db = open_engine(target)
    try:
        verify_storage(db)
        result = upgrade(db)
        sign_in(db, args)
        after_init(db, args)
        if getattr(args, "app_role", None):
            _grant_app_role(db, args.app_role)
        if result.previous == result.current:
            print(f"Database {db.display_name} is up to date (schema {result.current}).")
        elif result.previous is None:
            kind = "encrypted database" if db.encrypted else "database"
            print(f"Created {kind} {db.display_name} (schema {result.current}).")
        else:
            print(f"Upgraded {db.display_name} from schema {result.previous} to {result.current}.")
            if result.backup:
                print(f"The previous file was copied to {result.backup}.")
    finally:
        db.close()
    return EXIT_OK


def _grant_app_role(db: Database, role: str) -> None:
    from caselog.audit_anchor import grant_app_role

    if db.is_sqlite:
        raise InvalidInput([Problem("--app-role", "is for a PostgreSQL database (an SQLite file has no roles)")])
    with db.engine.begin() as conn:
        grant_app_role(conn, role)
    print(f"Granted {role} what CaseLog needs: it may add to the audit trail and read it, never change or delete "
          "it, disable its triggers or alter any table. Run this again after each upgrade.")  # fmt: skip


__all__ = ["EXIT_INVALID", "build_parser", "main"]
