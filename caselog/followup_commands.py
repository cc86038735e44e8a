"""`caselog followups ...`: the coordinator's due list, recording a follow-up, counts, and the clinic's schedule.

    caselog followups due [--within 14d|2w|N] [--overdue] [--surgeon NAME] [--procedure KEY]
                          [--format table|csv|json] [--output FILE]
    caselog followups record CASE --timepoint TP (--result R [--note TEXT] | --score KEY=VALUE ...) [--date DATE]
    caselog followups counts [FILTERS] [--format table|csv|json] [--output FILE]
    caselog followups schedule show [--json] | schedule set PROCEDURE TIMEPOINT... | schedule reset (administrators)

Exit statuses as the contract's (2 a bad value, naming its option, nothing written; 3 no such case; 4 not
permitted; 5 someone else changed the case first).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from caselog import vocab
from caselog.errors import EXIT_OK, CaselogError, InvalidInput
from caselog.exchange import _safe_text, atomic_output
from caselog.exports import record_export
from caselog.followup import (
    CASE_STATES,
    FOLLOW_UP_TIMEPOINTS,
    DueFollowUp,
    FollowUpCounts,
    FollowUpSchedule,
    FollowUpService,
    default_schedule,
    total_counts,
)
from caselog.followup_parser import SCORE_KEYS
from caselog.records import CaseFilter, FollowUpAttempt, OutcomeScore
from caselog.service import CaseService
from caselog.validation import Problem

_YES = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}
#: A score as typed: ASCII digits (int() also takes Arabic-Indic, full-width digits and "1_0").
_WHOLE = re.compile(r"[+-]?[0-9]{1,9}")


# ---- running ----------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, service: CaseService, case_filter: Callable[[argparse.Namespace], CaseFilter]) -> int:
    follow = FollowUpService(service)
    action = args.followups_command
    if action == "due":
        return _due(follow, args)
    if action == "record":
        return _record(follow, args)
    if action == "counts":
        return _counts(follow, args, case_filter(args))
    return _schedule(follow, args)


def _check_output(args: argparse.Namespace) -> None:
    if args.output is not None and args.format == "table":
        raise InvalidInput([Problem("--output", "needs --format csv or json")])


def _emit(service: CaseService, args: argparse.Namespace, count: int, rows: str, filters: dict[str, str],
          write: Callable[[IO[str]], None]) -> None:  # fmt: skip
    """To the terminal or a file (complete or not at all); csv and json leave an export entry in the trail."""
    if args.format == "table":
        write(sys.stdout)
        return
    if args.output is None:
        record_export(service, args.format, count, filters, None, rows=rows)
        write(sys.stdout)
        return
    with atomic_output(args.output, "w", newline="" if args.format == "csv" else None) as out:
        write(out)
        record_export(service, args.format, count, filters, args.output, rows=rows)
    print(f"Wrote {count} {rows} to {args.output}.")


# -- due


DUE_COLUMNS = ("due_date", "status", "days_overdue", "timepoint", "case_number", "mrn", "patient", "birth_date",
               "procedure", "procedure_date", "levels", "surgeon", "region", "attempts", "last_attempt")  # fmt: skip
#: The columns people typed (may start like a spreadsheet formula).
_TYPED = {"mrn", "patient", "surgeon"}


def due_json(item: DueFollowUp) -> dict[str, Any]:
    return {
        "due_date": item.due_date.isoformat(), "status": item.status, "days_overdue": item.days_overdue,
        "timepoint": item.timepoint, "case_number": item.case_number, "mrn": item.mrn, "patient": item.patient_name,
        "birth_date": item.birth_date.isoformat(), "procedure": item.procedure,
        "procedure_date": item.procedure_date.isoformat(), "levels": item.levels, "surgeon": item.surgeon,
        "region": item.region, "attempts": item.attempts,
        "last_attempt": item.last_attempt.isoformat() if item.last_attempt else None,
    }  # fmt: skip


def write_due_csv(items: Iterable[DueFollowUp], out: IO[str]) -> None:
    """One row per follow-up owed, UTF-8 with a byte-order mark (Excel keeps accents)."""
    out.write("\ufeff")
    writer = csv.writer(out, dialect="excel")
    writer.writerow(DUE_COLUMNS)
    for item in items:
        row = due_json(item)
        writer.writerow([_safe_text(row[c]) if c in _TYPED else ("" if row[c] is None else row[c])
                         for c in DUE_COLUMNS])  # fmt: skip


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_due_table(items: Sequence[DueFollowUp], today: dt.date) -> str:
    """The call list as a plain-text table: due date, status, timepoint, patient, procedure, attempts so far."""
    if not items:
        return f"No follow-ups due (as of {today.isoformat()})."
    header = ["Due", "Status", "TP", "Case", "MRN", "Patient", "Born", "Procedure", "Levels", "Surgeon", "Tries"]
    lines = [header] + [
        [i.due_date.isoformat(), f"overdue {i.days_overdue} d" if i.status == "overdue" else "upcoming",
         i.timepoint, i.case_number, i.mrn, _cut(i.patient_name, 26), i.birth_date.isoformat(),
         vocab.label(vocab.PROCEDURE_SHORT, i.procedure), _cut(i.levels, 30), _cut(i.surgeon, 20),
         f"{i.attempts} (last {i.last_attempt.isoformat()})" if i.last_attempt else str(i.attempts)]
        for i in items
    ]  # fmt: skip
    widths = [max(len(row[n]) for row in lines) for n in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    overdue = sum(1 for i in items if i.status == "overdue")
    text.append(f"{len(items)} follow-ups ({overdue} overdue) as of {today.isoformat()}.")
    return "\n".join(text)


def _due(follow: FollowUpService, args: argparse.Namespace) -> int:
    _check_output(args)
    items = follow.due(within_days=args.within, upcoming=not args.overdue, surgeon=args.surgeon,
                       procedure=args.procedure)  # fmt: skip
    today = follow.today()
    filters = {"as_of": today.isoformat(), "within_days": str(args.within), "overdue_only": str(args.overdue),
               "surgeon": args.surgeon or "", "procedure": args.procedure or ""}  # fmt: skip

    def write(out: IO[str]) -> None:
        if args.format == "table":
            print(format_due_table(items, today), file=out)
        elif args.format == "csv":
            write_due_csv(items, out)
        else:
            json.dump({"as_of": today.isoformat(), "follow_ups": [due_json(i) for i in items]}, out,
                      ensure_ascii=False, indent=2)  # fmt: skip
            out.write("\n")

    _emit(follow.service, args, len(items), "follow-ups due", filters, write)
    return EXIT_OK


# -- record


def _score_value(key: str, text: str) -> Any:
    if key in vocab.OUTCOME_MEASURES:
        if _WHOLE.fullmatch(text) is None:
            raise InvalidInput([Problem(f"--score {key}", f"{text!r} is not a whole number")])
        return int(text)
    if key == "returned_to_activities":
        try:
            if len(text) != 10:
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput([Problem(f"--score {key}", f"{text!r} is not a date as YYYY-MM-DD")]) from None
    if key == "physical_therapy":
        if text.casefold() not in _YES:
            raise InvalidInput([Problem(f"--score {key}", f"{text!r}: yes or no")])
        return _YES[text.casefold()]
    return text


def parse_scores(items: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs as OUTCOME fields; every problem named by `--score KEY` at once."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not text.strip():
            problems.append(Problem("--score", f"{item!r} is not KEY=VALUE"))
        elif key not in SCORE_KEYS:
            problems.append(Problem("--score", f"unknown score {key!r}; one of {', '.join(SCORE_KEYS)}"))
        elif key in values:
            problems.append(Problem(f"--score {key}", "is given twice"))
        else:
            try:
                values[key] = _score_value(key, text.strip())
            except InvalidInput as exc:
                problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    return values


#: Where a recorded follow-up's field is given on the command line.
_OPTION_OF = {"timepoint": "--timepoint", "date": "--date", "result": "--result", "note": "--note"}


def _as_options(exc: InvalidInput) -> InvalidInput:
    """The problems of the new outcome or attempt (caselog.followup names them `outcome.KEY`, `attempt.KEY`)
    named by the option that gave the value."""
    problems = []
    for p in exc.problems:
        head, _, field = p.path.partition(".")
        if head in ("outcome", "attempt") and field:
            name = field.split("[")[0]
            option = _OPTION_OF.get(name) or f"--score {name}"
            problems.append(Problem(option, p.message))
        else:
            problems.append(p)
    return InvalidInput(problems)


def _record(follow: FollowUpService, args: argparse.Namespace) -> int:
    when = args.date or follow.today()
    try:
        if args.result is not None:
            attempt = FollowUpAttempt(args.timepoint, when, args.result, args.note)
            view = follow.record_attempt(args.case, attempt, expected_version=args.expect_version)
            done = vocab.label(vocab.FOLLOW_UP_RESULTS, args.result).lower()
        else:
            if args.note is not None:
                raise InvalidInput([Problem("--note", "goes with --result (an attempt); scores have no note")])
            outcome = OutcomeScore(args.timepoint, when, **parse_scores(args.score))
            view = follow.record_outcome(args.case, outcome, expected_version=args.expect_version)
            done = "scores"
    except InvalidInput as exc:
        raise _as_options(exc) from None
    print(f"Recorded the {vocab.label(vocab.TIMEPOINTS, args.timepoint)} follow-up ({done}) of case "
          f"{view.case_number}, now at version {view.version}.")  # fmt: skip
    return EXIT_OK


# -- counts


COUNT_COLUMNS = ("procedure", "surgeon", "cases", "complete", "overdue", "lost", "died")


def counts_json(row: FollowUpCounts) -> dict[str, Any]:
    return {"procedure": row.procedure, "surgeon": row.surgeon, "cases": row.cases, "complete": row.complete,
            "overdue": row.overdue, "lost": row.lost, "died": row.died}  # fmt: skip


def format_counts_table(rows: Sequence[FollowUpCounts]) -> str:
    header = ["Procedure", "Surgeon", "Cases", *(CASE_STATES[s] for s in ("complete", "overdue", "lost", "died"))]
    total = total_counts(rows)
    lines = [header] + [
        [vocab.label(vocab.PROCEDURE_SHORT, r.procedure) if r.procedure else "All procedures",
         r.surgeon if r.surgeon is not None else "All surgeons",
         *(str(n) for n in (r.cases, r.complete, r.overdue, r.lost, r.died))]
        for r in [*rows, total]
    ]  # fmt: skip
    widths = [max(len(row[n]) for row in lines) for n in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if n >= 2 else cell.ljust(w) for n, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in lines
    )


def _counts(follow: FollowUpService, args: argparse.Namespace, case_filter: CaseFilter) -> int:
    _check_output(args)
    rows = follow.counts(case_filter)
    filters = {k: str(v) for k, v in dataclasses.asdict(case_filter).items() if v not in (None, False, ())}

    def write(out: IO[str]) -> None:
        if args.format == "table":
            print(format_counts_table(rows), file=out)
        elif args.format == "csv":
            out.write("\ufeff")
            writer = csv.writer(out, dialect="excel")
            writer.writerow(COUNT_COLUMNS)
            for row in [*rows, total_counts(rows)]:
                values = counts_json(row)
                writer.writerow([_safe_text(values[c]) if c == "surgeon" else values[c] for c in COUNT_COLUMNS])
        else:
            json.dump({"as_of": follow.today().isoformat(), "rows": [counts_json(r) for r in rows],
                       "total": counts_json(total_counts(rows))}, out, ensure_ascii=False, indent=2)  # fmt: skip
            out.write("\n")

    _emit(follow.service, args, len(rows), "follow-up count rows", filters, write)
    return EXIT_OK


# -- schedule


def format_schedule(schedule: FollowUpSchedule) -> str:
    width = max(len(vocab.label(vocab.PROCEDURE_SHORT, p)) for p, _ in schedule.entries)
    lines = ["Follow-up schedule: " + ("CaseLog's default" if schedule.is_default else "set by the clinic")]
    for procedure, timepoints in schedule.entries:
        owed = ", ".join(vocab.label(vocab.TIMEPOINTS, tp) for tp in timepoints) or "no follow-up"
        lines.append(f"  {vocab.label(vocab.PROCEDURE_SHORT, procedure):<{width}}  {owed}")
    return "\n".join(lines)


def _schedule(follow: FollowUpService, args: argparse.Namespace) -> int:
    if args.schedule_command == "show":
        current = follow.schedule()
        print(json.dumps(current.to_json(), indent=2) if args.json else format_schedule(current))
        return EXIT_OK
    if args.schedule_command == "reset":
        follow.set_schedule(default_schedule())
        print(format_schedule(default_schedule()))
        return EXIT_OK
    given = list(args.timepoints)
    if given == ["none"]:
        given = []
    elif "none" in given:
        raise InvalidInput([Problem("TIMEPOINT", "'none' goes alone (the procedure owes no follow-up)")])
    unknown = [tp for tp in given if tp not in FOLLOW_UP_TIMEPOINTS]
    if unknown:
        known = ", ".join(FOLLOW_UP_TIMEPOINTS)
        raise InvalidInput([Problem("TIMEPOINT", f"{tp!r} is not a follow-up timepoint; one of {known} (or none)")
                            for tp in unknown])  # fmt: skip
    try:
        current = follow.schedule()
    except CaselogError as exc:  # damaged in the database: one procedure set on top of it cannot repair it
        raise CaselogError(f"{exc.message} 'caselog followups schedule reset' sets CaseLog's default over it; "
                           "then set each procedure's timepoints again.") from None  # fmt: skip
    try:
        new = current.with_procedure(args.procedure, given)
    except InvalidInput as exc:
        raise InvalidInput([Problem("TIMEPOINT", p.message) for p in exc.problems]) from None
    follow.set_schedule(new)
    print(format_schedule(new))
    return EXIT_OK
