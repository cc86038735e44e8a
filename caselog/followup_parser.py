"""The `caselog followups` command's arguments, apart from its running (caselog.followup_commands): building the
parser imports nothing but the vocabulary, so `caselog --help` stays quick."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caselog import vocab
from caselog.records import OutcomeScore
from caselog.vocab import FOLLOW_UP_TIMEPOINTS
from caselog.vocab import MAX_DUE_WITHIN_DAYS as MAX_WITHIN_DAYS

FORMATS = ("table", "csv", "json")
_WITHIN = re.compile(r"([0-9]{1,5})\s*([dw]?)", re.IGNORECASE)
#: What `--score KEY=VALUE` may set: every OUTCOME field but the timepoint and the date.
SCORE_KEYS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(OutcomeScore) if f.name not in ("timepoint", "date")
)


def within_days(text: str) -> int:
    """`14`, `14d` or `2w` as days (argparse type: the message names --within)."""
    match = _WITHIN.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (14, 14d or 2w)")
    days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
    if days > MAX_WITHIN_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_WITHIN_DAYS} days")
    return days


def add_parser(sub: Any, common: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser],
               add_filters: Callable[[argparse.ArgumentParser], None],
               date_type: Callable[[str], dt.date], positive: Callable[[str], int]) -> None:  # fmt: skip
    """The `followups` command and its actions, added to caselog's parser."""
    p = sub.add_parser("followups", help="follow-up: the due list, recording a follow-up, counts, the schedule",
                       description="Follow-up after procedures: who is due or overdue, recording a follow-up (scores "
                                   "or an attempt to reach the patient), counts per procedure and surgeon, and the "
                                   "clinic's schedule.", parents=[common])  # fmt: skip
    actions = p.add_subparsers(dest="followups_command", metavar="ACTION", parser_class=parser_class)
    actions.required = True
    due = actions.add_parser("due", help="follow-ups overdue now and due soon, by due date", parents=[common])
    due.add_argument("--within", type=within_days, default=7, metavar="DAYS",
                     help="upcoming follow-ups due in the next DAYS: 14, 14d or 2w (default 7 days)")  # fmt: skip
    due.add_argument("--overdue", action="store_true", help="only follow-ups already due (overdue)")
    due.add_argument("--surgeon", metavar="NAME", help="surgeon's name exactly as logged")
    due.add_argument("--procedure", choices=list(vocab.PROCEDURES), metavar="KEY", help="procedure key")
    due.add_argument("--format", choices=FORMATS, default="table")
    due.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (csv or json)")
    rec = actions.add_parser("record", help="record a follow-up: scores (--score) or an attempt (--result)",
                             parents=[common])  # fmt: skip
    rec.add_argument("case", metavar="CASE")
    rec.add_argument("--timepoint", required=True, choices=(*FOLLOW_UP_TIMEPOINTS, "baseline"), metavar="TP",
                     help="follow-up timepoint: " + ", ".join(FOLLOW_UP_TIMEPOINTS))  # fmt: skip
    what = rec.add_mutually_exclusive_group(required=True)
    what.add_argument("--result", choices=list(vocab.FOLLOW_UP_RESULTS), metavar="RESULT",
                      help="an attempt that gave no scores: " + ", ".join(vocab.FOLLOW_UP_RESULTS))  # fmt: skip
    what.add_argument("--score", action="extend", nargs="+", metavar="KEY=VALUE",
                      help="scores and answers (--score odi=32 pgic=2, or --score repeated): "
                           + ", ".join(SCORE_KEYS))  # fmt: skip
    rec.add_argument("--note", metavar="TEXT", help="with --result: a note (up to 500 characters)")
    rec.add_argument("--date", type=date_type, metavar="DATE", help="when (default: today)")
    rec.add_argument(
        "--expect-version",
        type=positive,
        metavar="N",
        help="refuse (exit 5) if the case is no longer at this version (as shown by 'caselog show')",
    )
    counts = actions.add_parser("counts", help="cases by follow-up state per procedure and surgeon",
                                parents=[common])  # fmt: skip
    add_filters(counts)
    counts.add_argument("--format", choices=FORMATS, default="table")
    counts.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (csv or json)")
    sched = actions.add_parser("schedule", help="the clinic's follow-up schedule: show; set (administrators)",
                               parents=[common])  # fmt: skip
    sched_actions = sched.add_subparsers(dest="schedule_command", metavar="show|set|reset", parser_class=parser_class)
    sched_actions.required = True
    show = sched_actions.add_parser("show", help="the timepoints owed after each procedure", parents=[common])
    show.add_argument("--json", action="store_true")
    changed = sched_actions.add_parser("set", help="set one procedure's timepoints ('none': no follow-up owed)",
                                       parents=[common])  # fmt: skip
    changed.add_argument("procedure", choices=list(vocab.PROCEDURES), metavar="PROCEDURE")
    changed.add_argument("timepoints", nargs="+", metavar="TIMEPOINT")
    sched_actions.add_parser("reset", help="set CaseLog's default schedule for every procedure (repairs a damaged one)",
                             parents=[common])  # fmt: skip


def writes(args: argparse.Namespace) -> bool:
    """Whether the command changes the database (a damaged one is refused before it writes)."""
    return args.followups_command == "record" or getattr(args, "schedule_command", None) in ("set", "reset")
