"""The standard aftercare a case summary prints for the referring physician, by procedure.

The case record holds no individual plan, so the summary prints the clinic's standard instructions for
the procedure, labelled as such, with the case's disposition and the next outcome timepoint. Kept short
and general on purpose: what to expect, what to avoid and for how long, when to be seen, when to call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caselog import vocab
from caselog.records import OutcomeScore


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

_FOLLOW_UP_TIMEPOINTS = [key for key in vocab.TIMEPOINTS if key != "baseline"]


def standard_plan(procedure: str) -> StandardPlan | None:
    """The standard instructions for `procedure`, or None where the clinic has none ("other")."""
    return PLANS.get(procedure)


def next_timepoint(outcomes: Sequence[OutcomeScore]) -> str | None:
    """The first follow-up timepoint after the latest one with scores (2 weeks when none has any).

    None once the last timepoint (5 years) is recorded."""
    recorded = {o.timepoint for o in outcomes}
    order = {key: i for i, key in enumerate(_FOLLOW_UP_TIMEPOINTS)}
    latest = max((order[key] for key in recorded if key in order), default=-1)
    following = _FOLLOW_UP_TIMEPOINTS[latest + 1 :]
    return vocab.label(vocab.TIMEPOINTS, following[0]) if following else None
