"""The standard aftercare a case summary prints for the referring physician, by procedure.

The case record holds no individual plan, so the summary prints the clinic's standard instructions for
the procedure, labelled as such, with the case's disposition and the next follow-up the clinic's schedule owes
(as the follow-up desk and the due list show it). Kept short and general on purpose: what to expect, what to
avoid and for how long, when to be seen, when to call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from caselog import followup, vocab
from caselog.followup import FollowUpSchedule
from caselog.records import CaseRecord, TreatedLevel


@dataclass(frozen=True, slots=True)
class StandardPlan:
    expect: str
    restrictions: str
    follow_up: str


_RHIZOTOMY_LIKE = StandardPlan(
    expect="Soreness at the treated levels for 1–2 weeks; relief usually begins within 2–4 weeks.",
    restrictions="No heavy lifting or strenuous exercise for 2–4 weeks; walking is encouraged.",
    follow_up="Review at 6 weeks.",
)
_DECOMPRESSION = StandardPlan(
    expect="Incision soreness for 2–3 weeks; leg symptoms often ease before back soreness does.",
    restrictions="No lifting over 5 kg, bending or twisting for 4–6 weeks; keep the incision dry until the wound "
    "check; no driving while taking opioid pain medication.",
    follow_up="Wound check at 2 weeks; review at 6 weeks.",
)

PLANS: dict[str, StandardPlan] = {
    "medial_branch_block": StandardPlan(
        expect="Numbness and relief for some hours from the local anaesthetic; the patient keeps a pain diary "
        "for 6–8 hours.",
        restrictions="No driving on the day of the block; usual activities the next day.",
        follow_up="Follow-up call in 1–2 days to review the diary (at least 80% relief supports radiofrequency "
        "ablation).",
    ),
    "radiofrequency_ablation": _RHIZOTOMY_LIKE,
    "endoscopic_rhizotomy": StandardPlan(
        expect=_RHIZOTOMY_LIKE.expect,
        restrictions="Keep the incision dry for 48 hours; no heavy lifting or strenuous exercise for 2–4 weeks.",
        follow_up="Wound check at 2 weeks; review at 6 weeks.",
    ),
    "laminectomy": _DECOMPRESSION,
    "laminotomy": _DECOMPRESSION,
}

WHEN_TO_CALL = (
    "Call the clinic (out of hours: the emergency department) for fever over 38 °C, wound redness or discharge, "
    "new weakness or numbness, bladder or bowel changes, or much worse pain."
)


def standard_plan(procedure: str) -> StandardPlan | None:
    """The standard instructions for `procedure`, or None where the clinic has none ("other")."""
    return PLANS.get(procedure)


#: One of the patient's other cases, as the summary's pathway gives them: (procedure date, procedure, levels).
OtherCase = tuple[dt.date, str, Iterable[TreatedLevel]]


def next_follow_up(
    record: CaseRecord, today: dt.date, *, schedule: FollowUpSchedule | None = None, others: Iterable[OtherCase] = ()
) -> tuple[str, dt.date, bool] | None:
    """The next follow-up the clinic's `schedule` (the default when not given) owes for this case as of `today`,
    as (timepoint, due date, overdue): the first timepoint neither done, missed nor ended, judged as the desk and
    the due list judge it (caselog.followup). None when nothing more is owed: every timepoint done or past its
    grace window, a final attempt (moved away, declined, died), or a later treatment of the patient at an
    overlapping joint among `others` (the patient's other cases)."""
    schedule = schedule or followup.default_schedule()
    superseded = followup.superseded_on(
        record.procedure_date,
        [(lv.level, lv.side) for lv in record.levels],
        [(day, procedure, [(lv.level, lv.side) for lv in levels]) for day, procedure, levels in others],
    )
    statuses = followup.case_timepoints(
        record.procedure_date,
        schedule.for_procedure(record.procedure),
        {o.timepoint: o.date for o in record.outcomes},
        [(a.timepoint, a.date, a.result) for a in record.follow_up_attempts],
        today,
        superseded,
    )
    found = followup.next_follow_up(statuses)
    return None if found is None else (found[0], found[1], found[1] <= today)


def next_follow_up_text(found: tuple[str, dt.date, bool] | None) -> str:
    """The summary's sentence about the next follow-up (empty when none is owed)."""
    if found is None:
        return ""
    timepoint, due, overdue = found
    label = vocab.label(vocab.TIMEPOINTS, timepoint)
    if overdue:
        return f"Outcome scores at {label} are overdue (due {due.isoformat()})."
    return f"Next outcome scores due at {label}."
