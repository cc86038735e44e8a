"""What each `caselog` command does once its arguments are parsed: call the service, print the result."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from caselog import audit, exports, fhir, fhir_import, fields, vocab
from caselog.accounts import Action, Actor
from caselog.db import cipher
from caselog.db.engine import Database, database_url, open_engine
from caselog.db.restore import checked_candidate, live_database_exists, live_has_accounts, put_in_place
from caselog.db.schema import SAME_PASSPHRASE, backup_database, check_database, open_database
from caselog.db.transfer import copy_database
from caselog.errors import EXIT_OK, EXIT_OTHER, InvalidInput, StorageError
from caselog.exchange import MAX_FILE_BYTES, parse_interchange, read_interchange, single_case
from caselog.followup import FollowUpService
from caselog.passphrases import new_passphrase, plain_warning, unlock_backup
from caselog.policy_exports import export_outside_policy, stream_outside_policy
from caselog.quality import PolicyFilter, cases_by_procedure
from caselog.records import CaseFilter, CaseListItem, CaseView, case_to_contract
from caselog.reports import ReportSettings, write_case_summaries, write_complication_log, write_surgeon_log
from caselog.reports.complications import LoggedRange, events_for_log
from caselog.reports.pathway import pathways_for, write_patient_pathway
from caselog.service import CaseService
from caselog.settings import load_settings
from caselog.settings_check import setting_problems
from caselog.signin import audit_command, report_verification, require, sign_command, sign_in, user_command
from caselog.validation import Problem, case_number_key

if TYPE_CHECKING:
    from caselog.pathway import BlockReading, Pathway
    from caselog.policy import IndicationPolicy

FilterOf = Callable[[argparse.Namespace], CaseFilter]


def run(args: argparse.Namespace, db: Database, filter_of: FilterOf, actor: Actor | None = None) -> int:
    service = CaseService(db, actor=actor)
    command = args.command
    if command == "sign":
        return sign_command(service, args.case)
    if command == "user":
        return user_command(db, actor, args)
    if command == "audit":
        return audit_command(db, service, args)
    if command == "import" and args.format == "schedule":
        return _import_schedule(service, args.file)
    if command == "import":
        return _import(service, args.file, getattr(args, "format", "json"))
    if command == "clinic":
        return _clinic(service, args)
    if command == "export":
        return _export(service, args, filter_of(args))
    if command == "list":
        return _list(service, filter_of(args))
    if command == "show":
        return _show(service, args.case, as_json=args.json)
    if command == "demo":
        return _demo(service, args.cases, args.seed, into_real_database=args.into_real_database)
    if command == "update":
        return _update(service, args)
    if command == "copy-to":
        require(db, actor, Action.ADMINISTER, "copy-to")
        return _copy_to(db, args.target)
    if command == "summary":
        return _summary(service, args)
    if command == "report" and args.report == "durability":
        from caselog.durability_commands import durability_command

        return durability_command(service, args, filter_of(args))
    if command == "report":
        return _report(service, args)
    if command == "delete":
        service.delete_case(args.case, reason=args.reason)
        print(f"Deleted draft {args.case}.")
        return EXIT_OK
    if command == "patient":
        return _patient(service, args)
    if command == "policy":
        return _policy(service, args)
    raise InvalidInput([Problem("", f"unknown command {command!r}")])


def _import(service: CaseService, file: str, fmt: str = "json") -> int:
    data = _read_stdin_json() if file == "-" else read_interchange(Path(file))
    if fmt == "json" and isinstance(data, dict) and data.get("resourceType") == "Bundle":
        raise InvalidInput([Problem(file, "is a FHIR bundle, not a CaseLog file: import it with --format fhir")])
    try:
        fhir_bundle = fmt == "fhir"
        numbers = fhir_import.import_bundle(service, data, where=file) if fhir_bundle else service.import_cases(data)
    except InvalidInput as exc:
        # A problem with the whole file (not one of its fields) is named after the file.
        raise InvalidInput([Problem(p.path or file, p.message) for p in exc.problems]) from None
    for number in numbers:
        print(number)
    return EXIT_OK


def _import_schedule(service: CaseService, file: str) -> int:
    from caselog.schedule import MAX_SCHEDULE_BYTES, import_schedule

    raw = sys.stdin.buffer.read(MAX_SCHEDULE_BYTES + 1) if file == "-" else None
    entries = import_schedule(service, Path(file), raw=raw)
    days = ", ".join(sorted({e.procedure_date.isoformat() for e in entries}))
    print(f"Added {len(entries)} scheduled procedure{'s' if len(entries) != 1 else ''} to complete ({days}).")
    return EXIT_OK


def _read_stdin_json() -> object:
    """Standard input under the same rules as a file (size, UTF-8, duplicate keys, nesting)."""
    return parse_interchange(sys.stdin.buffer.read(MAX_FILE_BYTES + 1), "-")


def _export(service: CaseService, args: argparse.Namespace, case_filter: CaseFilter) -> int:
    output: Path | None = args.output
    if output is None:
        exports.stream_cases(service, case_filter, args.format, sys.stdout)
    elif output.is_dir():
        raise InvalidInput([Problem("--output", f"{output} is a folder; give a file name")])
    else:
        count = exports.export_cases(service, case_filter, args.format, output)
        print(f"Exported {count} case{'s' if count != 1 else ''} to {output}.", file=sys.stderr)
    if args.format == "fhir" and service.clinic_setting(fhir.MRN_SYSTEM_SETTING) is None:
        print(f"Warning: the clinic has not set the system of its MRNs; they were exported under "
              f"{fhir.DEFAULT_MRN_SYSTEM}. An administrator sets it with 'caselog clinic set fhir-mrn-system URI'.",
              file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _clinic(service: CaseService, args: argparse.Namespace) -> int:
    """`caselog clinic show` and `caselog clinic set NAME VALUE` (administrators; the service audits it)."""
    if args.clinic_command == "set":
        stored, check = fhir.SETTINGS[args.name]
        service.set_clinic_setting(stored, check(args.value))
        print(f"{args.name} is now {service.clinic_setting(stored)}.")
        return EXIT_OK
    for name, (stored, _) in fhir.SETTINGS.items():
        value = service.clinic_setting(stored)
        default = {fhir.MRN_SYSTEM_SETTING: fhir.DEFAULT_MRN_SYSTEM}.get(stored)
        print(f"{name}  {value if value is not None else f'(not set; {default} is used)'}")
    return EXIT_OK


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[CaseListItem]) -> str:
    """The case list as a plain-text table that fits a wide terminal."""
    header = ["Case", "Date", "Patient", "MRN", "Procedure", "Levels", "Min", "Compl.", "Status"]
    lines = [
        [
            r.case_number,
            r.procedure_date.isoformat(),
            _cut(r.patient_name, 28),
            r.mrn,
            vocab.label(vocab.PROCEDURE_SHORT, r.procedure),
            _cut(r.levels_text, 34),
            str(r.duration_minutes),
            f"{r.complication_count} ({r.worst_grade})" if r.complication_count else "-",
            vocab.label(vocab.CASE_STATUSES, r.status),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
    return "\n".join(out)


def _list(service: CaseService, case_filter: CaseFilter) -> int:
    rows = service.query(case_filter)
    if not rows:
        print("No cases match." if service.count() else "No cases yet. Add some with 'caselog import FILE'.")
        return EXIT_OK
    print(format_table(rows))
    print(f"\n{len(rows)} case{'s' if len(rows) != 1 else ''}")
    return EXIT_OK


def format_case(view: CaseView) -> str:
    """One case as readable text, grouped the way staff think of it."""
    r = view.record
    p = r.patient
    a = r.anesthesia
    lines = [
        f"Case {view.case_number}  ({vocab.label(vocab.CASE_STATUSES, r.status)}, version {view.version})",
        "",
        f"Patient      {p.display_name}   MRN {p.mrn}",
        f"             born {p.birth_date} (age {p.age_on(r.procedure_date)} at the procedure), "
        f"{vocab.label(vocab.SEXES, p.sex).lower()}",
        f"Procedure    {r.procedure_label}" + (f": {r.procedure_detail}" if r.procedure_detail else ""),
        f"Date         {r.procedure_date}" + (f" at {r.facility}" if r.facility else ""),
        f"Surgeon      {r.surgeon}" + (f"; assisted by {', '.join(r.assistants)}" if r.assistants else ""),
        f"Levels       {r.levels_text}",
    ]
    if r.referring_physician:
        lines.append(f"Referred by  {r.referring_physician}")
    if r.copy_to:
        lines.append(f"Copy to      {'; '.join(r.copy_to)}")
    if r.procedure in vocab.FACET_NERVE_PROCEDURES:
        for lv in r.levels:
            lines.append(f"               {lv.level}: {', '.join(vocab.nerves_targeted(lv.level))}")
    if r.cpt_codes:
        lines.append(f"CPT          {' '.join(r.cpt_codes)}")
    if r.diagnosis_codes:
        lines.append(f"ICD-10       {' '.join(r.diagnosis_codes)}")
    if r.indication:
        lines.append(f"Indication   {r.indication}")
    if r.injury_related:
        lines.append("Injury       injury-related")
    if r.prior_block_relief_percent is not None:
        lines.append(f"Prior block  {r.prior_block_relief_percent}% relief")
    timing = f"{r.duration_minutes} min"
    if r.start_time and r.end_time:
        timing = f"{r.start_time:%H:%M}-{r.end_time:%H:%M} ({timing})"
    lines.append(f"Duration     {timing}")
    anesthesia = vocab.label(vocab.ANESTHESIA_TYPES, a.type)
    if a.sedation:
        anesthesia += f", {a.sedation} sedation"
    if a.asa_class:
        anesthesia += f", ASA {a.asa_text}"
    if a.provider:
        anesthesia += f", by {a.provider}"
    lines.append(f"Anesthesia   {anesthesia}")
    for f in fields.FIELDS:  # blood loss and the like, from the table of fields
        if f.shown == "course" and f.key != "disposition" and (value := getattr(r, f.key)) is not None:
            lines.append(f"{f.label:<12} {fields.display(f, value)}")
    lines.append(f"Disposition  {vocab.label(vocab.DISPOSITIONS, r.disposition)}")
    lines.append("")
    if r.complications:
        lines.append("Complications")
        for c in r.complications:
            review = vocab.label(vocab.REVIEW_STATUSES, c.review_status).lower()
            text = (
                f"  - {vocab.label(vocab.COMPLICATION_CATEGORIES, c.category)} ({c.timing}, onset {c.onset_date}, "
                f"Clavien-Dindo {c.clavien_dindo}, review {review})"
            )
            lines.append(text)
            for extra in (c.description, f"treated: {c.treatment}" if c.treatment else None,
                          f"resolved {c.resolved_date}" if c.resolved_date else None):  # fmt: skip
                if extra:
                    lines.append(f"      {extra}")
    else:
        lines.append("No complications recorded.")
    if r.outcomes:
        lines.append("")
        lines.append("Outcomes     timepoint  date        back  leg  ODI  relief")
        for o in r.outcomes:
            cells = [o.nrs_back, o.nrs_leg, o.odi, o.relief_percent]
            shown = ["-" if v is None else str(v) for v in cells]
            lines.append(
                f"             {o.timepoint:<9}  {o.date}  {shown[0]:>4}  {shown[1]:>3}  {shown[2]:>3}  "
                f"{shown[3] + '%' if cells[3] is not None else '-':>6}"
            )
    if r.notes:
        lines.append("")
        lines.append("Notes")
        lines.extend(f"  {line}" for line in r.notes.splitlines())
    if view.signed_by:
        lines.append("")
        lines.append(f"Signed by {view.signed_by} at {view.signed_at:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


def _show(service: CaseService, case_number: str, *, as_json: bool) -> int:
    view = service.get_case(case_number)
    if as_json:
        print(json.dumps(case_to_contract(view.record), ensure_ascii=False, indent=2))
    else:
        print(format_case(view))
    return EXIT_OK


def _demo(service: CaseService, count: int, seed: int, *, into_real_database: bool) -> int:
    """Made-up cases, all or none: one write transaction (a failure half-way leaves the database as it was).

    Cases are made and stored as a stream (caselog.demo.stream_cases), so memory stays flat for a million; a long
    run prints a line to stderr every DEMO_PROGRESS_EVERY cases."""
    from caselog.demo import clinic_schedule, stream_cases

    service.require_demo(into_real_database=into_real_database)
    records = stream_cases(count, seed=seed, schedule=clinic_schedule(service))
    shown = [0]

    def progress(stored: int) -> None:
        if count >= DEMO_PROGRESS_EVERY and (stored // DEMO_PROGRESS_EVERY > shown[0] // DEMO_PROGRESS_EVERY):
            print(f"demo: {stored:,} of {count:,} cases made (saved when all are made)", file=sys.stderr, flush=True)
        shown[0] = stored

    added, first, last = service.add_record_stream(
        records, into_real_database=into_real_database, batch=DEMO_BATCH, progress=progress
    )
    print(f"Added {added} demo cases ({first} to {last}).")
    return EXIT_OK


#: How often a long demo says how far it got (stderr); how many cases go to the database in one statement batch.
DEMO_PROGRESS_EVERY = 100_000
DEMO_BATCH = 5000


def _update(service: CaseService, args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = single_case(read_interchange(path), str(path))
    view = service.update_case(args.case, data, expected_version=args.expect_version, reason=args.reason)  # type: ignore[arg-type]
    print(f"Updated {view.case_number} (now version {view.version}, {vocab.label(vocab.CASE_STATUSES, view.status)}).")
    return EXIT_OK


def _copy_to(source: Database, target_text: str) -> int:
    target = open_database(target_text)
    try:
        copied = copy_database(source, target)
    finally:
        target.close()
    print(f"Copied {source.display_name} to {target.display_name}:")
    for table, count in copied.items():
        print(f"  {table}: {count} rows")
    return EXIT_OK


@contextlib.contextmanager
def _kept_only_if_audited(output: Path) -> Iterator[None]:
    """A PDF whose printing the audit trail could not record is removed: no patient data leaves unrecorded."""
    try:
        yield
    except BaseException:
        output.expanduser().unlink(missing_ok=True)
        raise


def report_settings() -> ReportSettings:
    """The facility's branding for PDFs, from the settings the desktop app edits."""
    return ReportSettings.from_settings(load_settings())


def _summary(service: CaseService, args: argparse.Namespace) -> int:
    if bool(args.cases) == bool(args.date):
        raise InvalidInput([Problem("CASE", "give case numbers or --date DATE (one of the two)")])
    if args.date:
        views = list(service.iter_cases(CaseFilter(date_from=args.date, date_to=args.date)))
        views.sort(key=lambda v: case_number_key(v.case_number))
    else:
        views = service.get_cases(list(args.cases))
    pathways = pathways_for(views, service.patient_pathway)  # each block's result, each ablation's check
    schedule = FollowUpService(service).schedule()  # the next follow-up as the desk and the due list show it
    write_case_summaries(views, args.output, settings=report_settings(), pathways=pathways, follow_up_schedule=schedule)
    with _kept_only_if_audited(args.output):
        for view in views:
            service.record_event("print", record_id=view.case_number, details={"document": "case summary"})
    count = len(views)
    print(f"Wrote {count} case summar{'ies' if count != 1 else 'y'} to {args.output}.")
    return EXIT_OK


def _report(service: CaseService, args: argparse.Namespace) -> int:
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise InvalidInput([Problem("--from", f"{args.date_from} is after --to {args.date_to}")])
    if args.report == "outside-policy":
        return _outside_policy(service, args)
    if args.report == "complications":
        in_range = CaseFilter(date_from=args.date_from, date_to=args.date_to)
        # Only the complications' rows are read (no case whole); the rates' denominators are counted in SQL.
        counts = cases_by_procedure(service, in_range)
        with service.reading() as session:
            found = events_for_log(session, in_range)
        write_complication_log(
            LoggedRange(found, counts), args.output, date_from=args.date_from, date_to=args.date_to,
            settings=report_settings(), audit_head=audit.head_line(audit.current_head(service.db)),
        )  # fmt: skip
        events = len(found)
        total = sum(counts.values())
        with _kept_only_if_audited(args.output):
            service.record_event("print", record_type="report", details={"document": "complication log",
                                 "from": str(args.date_from), "to": str(args.date_to), "cases": total})  # fmt: skip
        print(f"Wrote the complication log ({total} cases, {events} complications) to {args.output}.")
    else:
        case_filter = CaseFilter(date_from=args.date_from, date_to=args.date_to, surgeon=args.surgeon)
        views = list(service.iter_cases(case_filter))
        write_surgeon_log(
            views,
            args.output,
            surgeon=args.surgeon,
            date_from=args.date_from,
            date_to=args.date_to,
            settings=report_settings(),
        )
        with _kept_only_if_audited(args.output):
            service.record_event("print", record_type="report", details={"document": "surgeon case log",
                                 "surgeon": args.surgeon, "from": str(args.date_from), "to": str(args.date_to),
                                 "cases": len(views)})  # fmt: skip
        print(f"Wrote the case log of {args.surgeon} ({len(views)} cases) to {args.output}.")
    return EXIT_OK


def _outside_policy(service: CaseService, args: argparse.Namespace) -> int:
    f = PolicyFilter(date_from=args.date_from, date_to=args.date_to)
    if args.output is None:
        stream_outside_policy(service, f, args.format, sys.stdout)
    else:
        count = export_outside_policy(service, f, args.output, args.format)
        print(f"Wrote {count} case{'' if count == 1 else 's'} outside the clinic's policy to {args.output}.")
    return EXIT_OK


def _sign_in_if_readable(db: Database, args: argparse.Namespace) -> Actor | None:
    """Sign in where the accounts can still be read; a damaged database must stay checkable and restorable."""
    try:
        return sign_in(db, args)
    except StorageError:
        return None


def check(args: argparse.Namespace, target: str | None) -> int:
    """Storage, schema and stray rows first; then the audit trail (exit 6 when it or the records were altered)."""
    db = open_engine(target)
    try:
        _sign_in_if_readable(db, args)
        report = check_database(db)
        settings = setting_problems(db) if report.ok else []
        verified = audit.verify(db) if report.ok else None
    finally:
        db.close()
    if settings:
        print(f"{db.display_name}: the clinic's settings were changed outside CaseLog:", file=sys.stderr)
        for problem in settings:
            print(f"  {problem}", file=sys.stderr)
        if verified is not None and verified.altered:
            return report_verification(verified)
        return EXIT_OTHER
    if report.ok and verified is not None:
        if not verified.altered:
            encrypted = ", encrypted" if db.encrypted else ""
            print(f"ok: {db.display_name}{encrypted}, schema {report.revision}, {report.case_count} cases")
            warning = plain_warning(db)
            if warning:
                print(warning, file=sys.stderr)
        else:
            print("The audit trail says the records were changed outside CaseLog. Compare with your latest backup "
                  "('caselog restore FILE' puts one back; the replaced file is kept).", file=sys.stderr)  # fmt: skip
        return report_verification(verified)
    print(f"{db.display_name} has problems; do not add cases until they are solved:", file=sys.stderr)
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    print("Restore your latest backup with 'caselog restore FILE'.", file=sys.stderr)
    return EXIT_OTHER


def backup(args: argparse.Namespace, target: str | None) -> int:
    db = open_engine(target)
    try:
        actor = sign_in(db, args)
        require(db, actor, Action.ADMINISTER, "backup")
        passphrase: str | None = SAME_PASSPHRASE
        if getattr(args, "new_passphrase", False):
            passphrase = new_passphrase(cipher.BACKUP_KEY_ENV, what="backup passphrase")
            if passphrase is not None:
                cipher.remember(args.file, passphrase)
        count = backup_database(db, args.file, passphrase=passphrase)
        encrypted = cipher.is_encrypted(args.file)
        head_in_copy = audit.head_of_file(args.file)
        with db.write() as session:
            details = {"file": str(args.file), "cases": count}
            audit.record(session, username=actor.username if actor else None, action="backup",
                         record_type="database", record_id=None, details=details)  # fmt: skip
    finally:
        db.close()
    print(f"Backed up {count} cases to {args.file}" + (" (encrypted)." if encrypted else "."))
    if not encrypted:
        print(f"Warning: the backup {args.file} is not encrypted: keep it locked away, or encrypt the database "
              "('caselog encrypt') so that its backups are.", file=sys.stderr)  # fmt: skip
    print(f"{audit.head_line(head_in_copy)} (compare it with 'caselog audit verify' on the restored copy).")
    if head_in_copy is not None and head_in_copy.key_id is not None:
        print("The audit key is not in the backup (it must not travel with the database): keep a copy made with "
              "'caselog audit key export FILE' apart from the backups, or a restore on another computer will need "
              "an administrator's 'caselog audit key renew'.")  # fmt: skip
    return EXIT_OK


def restore(args: argparse.Namespace, target: str | None) -> int:
    """Check the copy first (a refused file leaves the database byte for byte as it was), then sign in and swap."""
    from caselog import paths

    if target is None:
        paths.data_dir().mkdir(mode=0o700, parents=True, exist_ok=True)  # a fresh workstation
    live = database_url(target)
    if live.get_backend_name() != "sqlite" or not live.database:
        raise InvalidInput("restore: for a PostgreSQL database use the server's own tools (pg_restore)")
    live_path = Path(live.database)
    if not live_path.parent.is_dir():
        raise InvalidInput(f"--db: folder {live_path.parent} does not exist")
    unlock_backup(args.file.expanduser(), live_path)
    with checked_candidate(args.file, live_path, require_accounts=live_has_accounts(live_path),
                           audit_key=getattr(args, "audit_key", None)) as candidate:  # fmt: skip
        actor: Actor | None = None
        if live_database_exists(live_path):
            db = open_engine(target)
            try:
                actor = _sign_in_if_readable(db, args)
                require(db, actor, Action.ADMINISTER, "restore")
            finally:
                db.close()
        result = put_in_place(candidate, live_path)
    db = open_database(target)
    try:
        audit.note_restore(db)  # the restored (older) trail is this workstation's checkpoint from now on
        safety = str(result.safety_copy) if result.safety_copy else None
        details: dict[str, object] = {"file": str(args.file), "cases": result.cases, "safety_copy": safety}
        if result.numbering_kept:
            details["numbering_continues_after"] = {str(y): n for y, n in sorted(result.numbering_kept.items())}
        with db.write() as session:
            audit.record(session, username=actor.username if actor else None, action="restore",
                         record_type="database", record_id=None, details=details)  # fmt: skip
    finally:
        db.close()
    kept = f" The replaced database was kept as {result.safety_copy}." if result.safety_copy else ""
    print(f"Restored {result.cases} cases from {args.file}.{kept}")
    if result.safety_copy is None and cipher.is_encrypted(live_path):
        whose = "the backup's passphrase" if cipher.is_encrypted(args.file.expanduser()) else "its new passphrase"
        print(f"{live_path} is encrypted with {whose}.")
    for year, last in sorted(result.numbering_kept.items()):
        print(f"Case numbers of {year} continue after {year}-{last:05d} (already used before the restore).")
    warning = plain_warning(db)  # an encrypted backup's cases are plain now, in a plain database
    if warning:
        print(warning, file=sys.stderr)
    return EXIT_OK


# ---- the patient's pathway and the clinic's policy --------------------------------------------------------


def _patient(service: CaseService, args: argparse.Namespace) -> int:
    """`caselog patient MRN`: read like `show` (not audited: nothing leaves but the screen); with `--output` the
    PDF, each of its cases audited as printed, as a case summary is."""
    from caselog.pathway import pathway_to_json

    pathway = service.patient_pathway(args.mrn)
    if args.output is not None:
        write_patient_pathway(pathway, args.output, settings=report_settings())
        with _kept_only_if_audited(args.output):
            for entry in pathway.cases:
                service.record_event("print", record_id=entry.case.case_number,
                                     details={"document": "patient pathway", "mrn": pathway.patient.mrn})  # fmt: skip
        # With --json the JSON alone goes to stdout, so that it can be piped.
        print(f"Wrote the pathway of {pathway.patient.mrn} ({len(pathway.cases)} cases) to {args.output}.",
              file=sys.stderr if args.json else sys.stdout)  # fmt: skip
        if not args.json:
            return EXIT_OK
    if args.json:
        print(json.dumps(pathway_to_json(pathway), ensure_ascii=False, indent=2))
    else:
        print(format_pathway(pathway))
    return EXIT_OK


def _reading_text(reading: BlockReading | None, threshold: int) -> str:
    from caselog.pathway import CONCORDANCE_TEXT, block_result_text, duration_text, percent_text

    if reading is None or reading.peak_relief is None:
        return block_result_text(reading)
    lasted = f"{duration_text(reading.relief_minutes)} at {threshold}% or more"
    return (f"peak relief {percent_text(reading.peak_relief)}, {lasted} ({CONCORDANCE_TEXT[reading.concordance]}): "
            f"{block_result_text(reading)}")  # fmt: skip


def _relief_period_lines(pathway: Pathway, case_number: str | None) -> list[str]:
    """An ablation's relief period at each of its joints, joints with the same period together."""
    from caselog.pathway import joints_text

    periods: dict[tuple[dt.date | None, str | None, tuple[tuple[dt.date, int], ...]], list[tuple[str, str]]] = {}
    for row in pathway.rows:
        for e in row.events:
            if e.kind == "ablation" and e.case_number == case_number:
                periods.setdefault((e.relief_until, e.relief_ended_by, e.relief), []).append(row.joint)
    lines = []
    for (until, ended, relief), joints in periods.items():
        if until is None:
            period = "no follow-up recorded yet"
        else:
            period = f"until {until} ({'next ablation there' if ended == 'next_ablation' else 'last follow-up'})"
        scores = ", ".join(f"{percent}% on {day}" for day, percent in relief)
        lines.append(f"    relief at {joints_text(joints)}: {period}" + (f"; {scores}" if scores else ""))
    return lines


def format_pathway(pathway: Pathway) -> str:
    """The pathway as readable text: the policy, each case in time order, then each joint's story."""
    from caselog.pathway import joint_text
    from caselog.policy import PRESETS, preset_of

    p, policy = pathway.patient, pathway.policy
    threshold = policy.relief_threshold_percent
    preset = preset_of(policy)
    lines = [
        f"Patient  {p.display_name}   MRN {p.mrn}   born {p.birth_date}",
        f"Policy   {PRESETS[preset].label if preset else 'set by the clinic'}: {_policy_summary(policy)}",
        "",
    ]
    if not pathway.cases:
        return "\n".join([*lines, "No cases."])
    for entry in pathway.cases:
        c = entry.case
        status = vocab.label(vocab.CASE_STATUSES, c.status)
        levels = "; ".join(lv.text for lv in c.levels)
        lines.append(f"{c.case_number}  {c.date}  {vocab.label(vocab.PROCEDURE_SHORT, c.procedure)}  {levels}  "
                     f"({status}, {c.surgeon})")  # fmt: skip
        if c.is_block:
            anesthetic = vocab.label(vocab.BLOCK_ANESTHETICS, c.block.anesthetic).lower() if c.block else "no details"
            lines.append(
                f"    block {entry.series} in its series; {anesthetic}; {_reading_text(entry.reading, threshold)}"
            )
        if entry.check.applies:
            verdict = "meets the clinic's policy" if entry.check.meets else "OUTSIDE the clinic's policy"
            lines.append(f"    indication: {verdict}")
            for f in entry.check.findings:
                lines.append(f"      [{'met' if f.met else 'NOT MET'}] {f.text}")
                lines.extend(f"          {e.case_number or 'this case'} ({e.date}): {e.text}" for e in f.evidence)
            if c.outside_policy_reason:
                lines.append(f"    reason given: {c.outside_policy_reason}")
            lines.extend(_relief_period_lines(pathway, c.case_number))
        for k in c.complications:
            lines.append(f"    complication: {vocab.label(vocab.COMPLICATION_CATEGORIES, k.category)} (onset "
                         f"{k.onset_date}, Clavien-Dindo {k.clavien_dindo})")  # fmt: skip
    lines += ["", "By joint"]
    for row in pathway.rows:
        marks = []
        for e in row.events:
            if e.kind == "block":
                result = "" if e.reading is None else f" {_block_result_word(e.reading)}"
                marks.append(f"{e.date} block {e.series}{result}")
            elif e.kind == "ablation":
                until = f" to {e.relief_until}" if e.relief_until else ""
                marks.append(f"{e.date} {vocab.label(vocab.PROCEDURE_SHORT, e.procedure)}{until}"
                             + (" (outside policy)" if e.outside_policy else ""))  # fmt: skip
            elif e.kind == "complication":
                marks.append(f"{e.date} complication")
            else:
                marks.append(f"{e.date} {vocab.label(vocab.PROCEDURE_SHORT, e.procedure)}")
        lines.append(f"  {joint_text(row.joint):<16} " + "; ".join(marks))
    if pathway.pairs:
        lines += ["", "Comparative blocks"]
        for pair in pathway.pairs:
            verdict = {True: "concordant", False: "discordant", None: "not judged"}[pair.concordant]
            short = f"{pair.short_acting.case_number} (short-acting, {pair.short_minutes} min)"
            long = f"{pair.long_acting.case_number} (long-acting, {pair.long_minutes} min)"
            lines.append(f"  {short} and {long}: {verdict}")
    return "\n".join(lines)


def _block_result_word(reading: BlockReading) -> str:
    from caselog.pathway import percent_text

    word = {True: "positive", False: "negative", None: "not measurable"}[reading.positive]
    return f"{percent_text(reading.peak_relief)} {word}".strip()


def _policy_summary(policy: IndicationPolicy) -> str:
    blocks = f"{policy.blocks_required} block{'s' if policy.blocks_required > 1 else ''}"
    return (f"{blocks} at {policy.relief_threshold_percent}% relief before a first ablation; a repeat "
            f"{policy.repeat_min_interval_months} months apart after {policy.repeat_relief_percent}% relief lasting "
            f"{policy.repeat_relief_months} months; at most {policy.max_sessions_per_12_months} sessions per region "
            "in 12 months")  # fmt: skip


def format_policy(policy: IndicationPolicy) -> str:
    """The policy in force, field by field, and the preset it is (with its source) or that the clinic set it."""
    from caselog.policy import LABELS, PRESETS, policy_to_json, preset_of

    preset = preset_of(policy)
    lines = [f"Indication policy: {PRESETS[preset].label if preset else 'set by the clinic (no preset)'}"]
    lines += [f"  {LABELS[name]:<52} {value}" for name, value in policy_to_json(policy).items()]
    if preset:
        lines += ["", f"Source: {PRESETS[preset].source}"]
    return "\n".join(lines)


def _policy(service: CaseService, args: argparse.Namespace) -> int:
    from caselog.policy import OPTIONS, PRESETS, policy_from_json, policy_problems, policy_to_json

    if args.policy_command == "show":
        current = service.indication_policy()
        print(json.dumps(policy_to_json(current), indent=2) if args.json else format_policy(current))
        return EXIT_OK
    fields_set = {field: getattr(args, field) for field in OPTIONS if getattr(args, field) is not None}
    if args.preset is None and not fields_set:
        raise InvalidInput(
            [Problem("policy set", "give --preset KEY or a value to change (see 'caselog policy set --help')")]
        )
    base = PRESETS[args.preset].policy if args.preset else service.indication_policy()
    values = {**policy_to_json(base), **fields_set}
    problems = policy_problems(values)
    if problems:
        raise InvalidInput([Problem(OPTIONS.get(p.path, p.path), p.message) for p in problems])
    new = policy_from_json(values)
    service.set_indication_policy(new)
    print(format_policy(new))
    return EXIT_OK
