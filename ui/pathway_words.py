"""The patient view's words: a Pathway (caselog.pathway) turned into the timeline's rows and marks and the
lines of the case list, in the clinic's words. Nothing is computed here beyond wording what the pathway holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from caselog import vocab
from caselog.pathway import (
    CONCORDANCE_TEXT,
    CaseOnPathway,
    Pathway,
    PathwayEvent,
    block_result_text,
    duration_text,
    joints_text,
    percent_text,
)
from caselog.policy import PRESETS, IndicationPolicy, preset_of
from ui.pathway_chart import RESULT_SIGN, TimelineMark, TimelineRow


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the patient as the list under the chart shows it."""

    case_number: str
    date: dt.date
    procedure: str
    levels: str
    #: The block's reading or the ablation's relief, in words ("peak 85%, 6 h, positive (2nd block)").
    result: str
    #: The indication check ("meets the policy", "outside the policy: ...") or "" when it does not apply.
    indication: str
    #: The check's full summary (the findings and their evidence), shown as the cell's tooltip.
    indication_detail: str
    complications: str
    status: str


@dataclass(frozen=True, slots=True)
class PatientTimeline:
    """Everything the patient view shows, as plain words and rows."""

    title: str  # "Ada Lovelace · MRN 12345"
    facts: str  # "born 1960-01-01 · female · 10 cases, 2023-01-05 to 2025-08-01"
    policy: str  # the policy the results were read under
    rows: tuple[TimelineRow, ...]
    cases: tuple[CaseLine, ...]


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def policy_text(policy: IndicationPolicy) -> str:
    """The policy the results were read under, in one sentence."""
    key = preset_of(policy)
    name = PRESETS[key].label if key else "the clinic's own numbers"
    blocks = f"{policy.blocks_required} positive block{'s' if policy.blocks_required > 1 else ''}"
    return (
        f"Read under the clinic's policy ({name}): {blocks} at {policy.relief_threshold_percent}% relief or more "
        f"before a first ablation at a joint; a repeat at least {policy.repeat_min_interval_months} months after the "
        f"last, which gave {policy.repeat_relief_percent}% relief or more for {policy.repeat_relief_months} months; "
        f"at most {policy.max_sessions_per_12_months} ablation sessions per region in 12 months."
    )


def _procedure(key: str) -> str:
    return vocab.label(vocab.PROCEDURE_SHORT, key)


def _block_words(entry: CaseOnPathway, threshold: int) -> str:
    """A block's reading, its result first: "positive · 2nd block (lidocaine) · peak 88%, 1 h at 80% or more, as
    long as the anesthetic lasts"."""
    reading, block = entry.reading, entry.case.block
    series = f"{ordinal(entry.series)} block" if entry.series else "block"
    anesthetic = f" ({vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic).lower()})" if block else ""
    words = f"{block_result_text(reading)} · {series}{anesthetic}"
    if reading is None or reading.peak_relief is None:
        return words
    lasted = f"{duration_text(reading.relief_minutes)} at {threshold}% or more"
    return f"{words} · peak {percent_text(reading.peak_relief)}, {lasted}, {CONCORDANCE_TEXT[reading.concordance]}"


def _relief_words(event: PathwayEvent) -> str:
    """An ablation's relief, the latest first, and why its period ends where it does."""
    if event.relief_until is None:
        return "no follow-up recorded yet"
    why = "the next ablation at this joint" if event.relief_ended_by == "next_ablation" else "the last follow-up"
    period = f"relief period until {event.relief_until} ({why})"
    if not event.relief:
        return f"no relief recorded · {period}"
    day, percent = event.relief[-1]
    return f"{percent}% relief on {day} · {period}"


def _mark(event: PathwayEvent, entry: CaseOnPathway | None, threshold: int) -> TimelineMark:
    number = event.case_number or ""
    day = event.date.isoformat()
    if event.kind == "block":
        reading = event.reading
        sign = RESULT_SIGN[reading.positive if reading else None]
        peak = percent_text(reading.peak_relief) if reading and reading.peak_relief is not None else ""
        text = f"Block {event.series or ''}: {peak} {sign}".replace("  ", " ").replace(" :", ":")
        words = _block_words(entry, threshold) if entry else block_result_text(reading)
        return TimelineMark("block", number, event.date, text, f"Case {number}, {day}. {words}",
                            reading.positive if reading else None)  # fmt: skip
    if event.kind == "ablation":
        short = "Rhizotomy" if event.procedure == "endoscopic_rhizotomy" else "RFA"
        latest = f" · relief {event.relief[-1][1]}%" if event.relief else ""
        flag = " · outside policy" if event.outside_policy else ""
        bar_end = event.relief_ended_by or "no_follow_up"
        description = f"Case {number}, {day}. {_procedure(event.procedure)}: {_relief_words(event)}"
        if entry is not None and entry.check.applies:
            description += f". {entry.check.summary}"
        return TimelineMark("ablation", number, event.date, f"{short}{latest}{flag}", description,
                            until=event.relief_until, bar_end=bar_end)  # fmt: skip
    if event.kind == "complication" and event.complication is not None:
        c = event.complication
        what = vocab.label(vocab.COMPLICATION_CATEGORIES, c.category)
        return TimelineMark("complication", number, event.date, f"CD {c.clavien_dindo}",
                            f"Complication of case {number}, onset {day}: {what}, Clavien-Dindo grade "
                            f"{c.clavien_dindo}")  # fmt: skip
    return TimelineMark("procedure", number, event.date, _procedure(event.procedure),
                        f"Case {number}, {day}. {_procedure(event.procedure)}")  # fmt: skip


def _case_line(entry: CaseOnPathway, events: dict[str, PathwayEvent], threshold: int) -> CaseLine:
    case = entry.case
    if case.is_block:
        result = _block_words(entry, threshold)
    elif case.is_ablation and case.case_number in events:
        result = _relief_words(events[case.case_number])
    else:
        result = ""
    detail = entry.check.summary if entry.check.applies else ""
    if not entry.check.applies:
        indication = ""
    elif entry.check.meets:
        indication = "Meets the policy"
    elif case.outside_policy_reason:
        indication = "Outside the policy, reason given"
        detail += f"\nReason: {case.outside_policy_reason}"
    else:
        indication = "Outside the policy, no reason given"
    grades = ", ".join(f"CD {c.clavien_dindo} {vocab.label(vocab.COMPLICATION_CATEGORIES, c.category).lower()}"
                       for c in case.complications)  # fmt: skip
    return CaseLine(case.case_number or "", case.date, _procedure(case.procedure), joints_text(case.joints), result,
                    indication, detail, grades,
                    vocab.label(vocab.CASE_STATUSES, case.status))  # fmt: skip


def patient_timeline(pathway: Pathway) -> PatientTimeline:
    """What the patient view shows of a pathway, in words and rows (nothing is computed here)."""
    threshold = pathway.policy.relief_threshold_percent
    by_number = {entry.case.case_number: entry for entry in pathway.cases}
    rows = tuple(
        TimelineRow(row.text, tuple(_mark(e, by_number.get(e.case_number), threshold) for e in row.events))
        for row in pathway.rows
    )
    ablations = {e.case_number or "": e for row in pathway.rows for e in row.events if e.kind == "ablation"}
    cases = tuple(_case_line(entry, ablations, threshold) for entry in pathway.cases)
    p = pathway.patient
    count = len(pathway.cases)
    span = f", {pathway.cases[0].case.date} to {pathway.cases[-1].case.date}" if count else ""
    cases_text = f"{count} case{'s' if count != 1 else ''}{span}"
    facts = f"born {p.birth_date} · {vocab.label(vocab.SEXES, p.sex).lower()} · {cases_text}"
    pairs = [
        f"Comparative blocks at {joints_text(pair.joints)}: {duration_text(pair.short_minutes)} (short-acting, "
        f"{pair.short_acting.case_number}) and {duration_text(pair.long_minutes)} (long-acting, "
        f"{pair.long_acting.case_number}): "
        + {True: "concordant", False: "not concordant", None: "not judged"}[pair.concordant]
        for pair in pathway.pairs
    ]
    policy = " ".join([policy_text(pathway.policy), *pairs])
    return PatientTimeline(f"{p.display_name} · MRN {p.mrn}", facts, policy, rows, cases)
