"""A patient's pathway: diagnostic blocks read from their diary, each ablation checked against the clinic's
policy, and one timeline per treated joint.

A block read from its diary: relief against the pain before, how long it lasted, and whether that matches the
anesthetic used (the comparative-block check). Pure functions of the recorded values (caselog.records): nothing
here is stored, so a change of the clinic's threshold or policy re-reads every case. Relief at a diary time is
(before - then) / before; the duration at a threshold is the time of the last diary entry of the first unbroken
run of entries at or above it, a lower bound of the true duration (the diary is read at fixed times).
docs/decisions.md ("Pathway and policy") states the rules; tests/test_pathway.py works examples by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, NamedTuple

from caselog import vocab
from caselog.dates import add_months as add_months  # re-exported: callers of the pathway use it
from caselog.dates import whole_months as whole_months
from caselog.policy import IndicationPolicy, policy_to_json, preset_of
from caselog.records import BlockDetails, CaseRecord, Complication, OutcomeScore, Patient, TreatedLevel
from caselog.validation import case_number_key

Concordance = Literal["concordant", "shorter", "longer", "not_judged"]
CONCORDANCE_TEXT: dict[str, str] = {
    "concordant": "as long as the anesthetic lasts",
    "shorter": "shorter than the anesthetic lasts",
    "longer": "longer than the anesthetic lasts",
    "not_judged": "not judged (no usual duration for this anesthetic, or no diary)",
}


def relief_percent(before: int, pain: int) -> Fraction:
    """Relief from a pain score of `before` to `pain`, in percent, exact (negative when the pain is worse)."""
    return Fraction(100 * (before - pain), before)


def diary_relief(block: BlockDetails) -> list[tuple[str, Fraction]]:
    """Relief at each diary time, in the diary's order; empty without a diary or a pain score before."""
    if not block.diary or not block.pain_before:
        return []
    return [(e.time, relief_percent(block.pain_before, e.pain)) for e in block.diary]


def _measurable(block: BlockDetails) -> bool:
    return bool(block.diary) and bool(block.pain_before)


def peak_relief(block: BlockDetails) -> Fraction | None:
    """The best relief in the diary (at its lowest pain), or None when it cannot be measured."""
    if not _measurable(block):
        return None
    assert block.pain_before is not None
    return relief_percent(block.pain_before, min(e.pain for e in block.diary))


def relief_minutes(block: BlockDetails, threshold_percent: int) -> int:
    """Minutes after the injection that relief stayed at or above the threshold: the diary time ending the first
    unbroken run of entries at or above it (0 when no entry reaches it)."""
    if not _measurable(block):
        return 0
    before = block.pain_before
    assert before is not None
    needed = threshold_percent * before  # relief >= threshold  <=>  100 * (before - pain) >= threshold * before
    last = 0
    started = False
    for entry in block.diary:
        if 100 * (before - entry.pain) >= needed:
            started = True
            last = vocab.DIARY_MINUTES[entry.time]
        elif started:
            break
    return last


def concordance(block: BlockDetails, threshold_percent: int) -> Concordance:
    """Whether relief at the threshold lasted as long as the anesthetic usually does (vocab.ANESTHETIC_HOURS)."""
    return _concordance(block, relief_minutes(block, threshold_percent))


def _concordance(block: BlockDetails, minutes: int) -> Concordance:
    hours = vocab.ANESTHETIC_HOURS.get(block.anesthetic)
    if hours is None or not _measurable(block):
        return "not_judged"
    shortest, longest = hours
    if minutes < shortest * 60:
        return "shorter"
    if minutes > longest * 60:
        return "longer"
    return "concordant"


@dataclass(frozen=True, slots=True)
class BlockReading:
    """A block's diary read against a threshold: what the form, the summary and the pathway show."""

    peak_relief: Fraction | None
    relief_minutes: int
    concordance: Concordance
    #: Peak relief at or above the threshold, lasting at least as long as the anesthetic's shortest usual
    #: duration (not required for an anesthetic without one). None when the diary cannot tell.
    positive: bool | None


def read_block(block: BlockDetails, threshold_percent: int) -> BlockReading:
    """Peak relief, duration, concordance and the result of a block under a relief threshold."""
    if not _measurable(block):
        return BlockReading(None, 0, "not_judged", None)
    assert block.pain_before is not None
    peak = relief_percent(block.pain_before, min([e.pain for e in block.diary]))  # as peak_relief
    minutes = relief_minutes(block, threshold_percent)
    agreement = _concordance(block, minutes)
    return BlockReading(peak, minutes, agreement, peak >= threshold_percent and agreement != "shorter")


def percent_text(value: Fraction | None) -> str:
    """A relief as printed: whole percent, rounded half up (83.33 -> 83%)."""
    if value is None:
        return ""
    return f"{int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))}%"


def duration_text(minutes: int) -> str:
    """A relief duration as a reader says it: "45 min", "2 h", "18 h"."""
    if minutes < 60:
        return f"{minutes} min"
    hours = Fraction(minutes, 60)
    return f"{float(hours):g} h"


# ---- one case as the pathway sees it ------------------------------------------------------------------------

#: A facet joint: (level, side) with side "left" or "right"; a bilateral level is two joints.
Joint = tuple[str, str]
BLOCK = "medial_branch_block"


def joint_key(joint: Joint) -> tuple[int, str, str]:
    """Head-to-tail order of joints, left before right."""
    return (vocab.LEVEL_INDEX.get(joint[0], len(vocab.LEVELS)), joint[0], joint[1])


def joints_of(levels: Iterable[TreatedLevel]) -> tuple[Joint, ...]:
    """The joints of these levels, from the head down, left before right (bilateral -> both)."""
    found: list[Joint] = []
    for lv in levels:
        if lv.side == "bilateral":
            found += [(lv.level, "left"), (lv.level, "right")]
        else:
            found.append((lv.level, lv.side))
    return tuple(found) if len(found) <= 1 else tuple(sorted(set(found), key=joint_key))


def joint_text(joint: Joint) -> str:
    return f"{joint[0]} {joint[1]}"


def joints_text(joints: Iterable[Joint]) -> str:
    """Joints as staff write them, a level's two sides joined: "L4-L5 bilateral, L5-S1 left"."""
    sides: dict[str, list[str]] = {}
    for level, side in joints:
        sides.setdefault(level, []).append(side)
    return ", ".join(f"{level} {'bilateral' if len(s) == 2 else s[0]}" for level, s in sides.items())


_REGIONS = {level: vocab.region_of(level) for level in vocab.LEVELS}


def _region(level: str) -> str:
    return _REGIONS.get(level) or vocab.region_of(level)


#: Joints and regions of the level lists seen: a clinic treats few distinct combinations, and the quality desk's
#: list derives them for 100,000 cases at once. Bounded, so odd data cannot grow it without end.
_DERIVED: dict[tuple[TreatedLevel, ...], tuple[tuple[Joint, ...], tuple[str, ...]]] = {}
_DERIVED_MAX = 20_000


@dataclass(frozen=True, slots=True)
class PathwayCase:
    """The slim view of one case the pathway and the policy check read (any case of the patient)."""

    #: None for a case being entered (not saved yet).
    case_number: str | None
    date: dt.date
    procedure: str
    levels: tuple[TreatedLevel, ...]
    block: BlockDetails | None = None
    prior_block_relief_percent: int | None = None
    outcomes: tuple[OutcomeScore, ...] = ()
    complications: tuple[Complication, ...] = ()
    outside_policy_reason: str | None = None
    surgeon: str = ""
    status: str = "draft"
    # Derived once (the quality desk's list reads them for 100,000 cases): not compared, not given.
    joints: tuple[Joint, ...] = field(init=False, compare=False, repr=False)
    #: The spinal regions of its joints, from the head down ("cervical", "thoracic", "lumbar").
    regions: tuple[str, ...] = field(init=False, compare=False, repr=False)
    is_ablation: bool = field(init=False, compare=False, repr=False)
    is_block: bool = field(init=False, compare=False, repr=False)
    _readings: dict[int, BlockReading] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        derived = _DERIVED.get(self.levels)
        if derived is None:
            joints = joints_of(self.levels)
            regions = tuple(dict.fromkeys(_region(level) for level, _ in joints))
            derived = (joints, regions)
            if len(_DERIVED) < _DERIVED_MAX:
                _DERIVED[self.levels] = derived
        setattr_ = object.__setattr__
        setattr_(self, "joints", derived[0])
        setattr_(self, "regions", derived[1])
        setattr_(self, "is_ablation", self.procedure in vocab.ABLATIONS)
        setattr_(self, "is_block", self.procedure == BLOCK)
        setattr_(self, "_readings", {})

    def reading(self, threshold_percent: int) -> BlockReading | None:
        """The block's reading at this threshold (None without block details), read once per threshold."""
        if self.block is None:
            return None
        found = self._readings.get(threshold_percent)
        if found is None:
            found = self._readings[threshold_percent] = read_block(self.block, threshold_percent)
        return found

    @property
    def order(self) -> tuple[dt.date, bool, tuple[int, int, str]]:
        """Time order: by date, then case number (as a number); a case not saved yet comes last on its day."""
        return (self.date, self.case_number is None, case_number_key(self.case_number or ""))

    @property
    def name(self) -> str:
        """How a sentence names the case: "2025-00012 (2025-03-14)", or "this case" before it has a number."""
        return f"{self.case_number} ({self.date})" if self.case_number else f"this case ({self.date})"


def pathway_case(record: CaseRecord, case_number: str | None = None) -> PathwayCase:
    """The pathway's view of a case record (`case_number` for a record that does not carry its own)."""
    return PathwayCase(
        case_number=case_number or record.case_number,
        date=record.procedure_date,
        procedure=record.procedure,
        levels=record.levels,
        block=record.block,
        prior_block_relief_percent=record.prior_block_relief_percent,
        outcomes=record.outcomes,
        complications=record.complications,
        outside_policy_reason=record.outside_policy_reason,
        surgeon=record.surgeon,
        status=record.status,
    )


# ---- the indication check ---------------------------------------------------------------------------------

Rule = Literal["blocks", "repeat_interval", "repeat_relief", "sessions"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A case a finding rests on: its number (None for the case being entered), date and what it shows."""

    case_number: str | None
    date: dt.date
    text: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule of the policy applied at one joint ("L4-L5 left") or one region ("lumbar")."""

    rule: Rule
    where: str
    met: bool
    text: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class IndicationCheck:
    """Whether a case meets the clinic's policy, rule by rule. Only ablations are checked (`applies`)."""

    applies: bool
    meets: bool
    findings: tuple[Finding, ...]
    summary: str

    @property
    def outside_policy(self) -> bool:
        return self.applies and not self.meets

    @property
    def unmet(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.met)


NOT_APPLICABLE = IndicationCheck(False, True, (), "Not an ablation: the clinic's policy does not apply.")


def block_result_text(reading: BlockReading | None) -> str:
    """A block's result in words: "positive", "negative" or why it cannot be judged."""
    if reading is None or reading.positive is None:
        return "not measurable (no diary or no pain score before)"
    return "positive" if reading.positive else "negative"


def block_evidence(case: PathwayCase, threshold_percent: int) -> Evidence:
    """A block as evidence: its anesthetic, peak relief, how long relief stayed at the threshold, its result."""
    reading = case.reading(threshold_percent)
    parts = ["medial branch block"]
    if case.block is not None:
        parts.append(f"({vocab.label(vocab.BLOCK_ANESTHETICS, case.block.anesthetic).lower()})")
    text = " ".join(parts)
    if reading is not None and reading.peak_relief is not None:
        text += (
            f": {percent_text(reading.peak_relief)} peak relief, {duration_text(reading.relief_minutes)} at "
            f"{threshold_percent}% or more, {CONCORDANCE_TEXT[reading.concordance]}"
        )
    return Evidence(case.case_number, case.date, f"{text}: {block_result_text(reading)}")


#: A rule's verdict at one joint or region: whether it is met, and how to write out why (only called for the
#: checks someone reads: the quality desk's list writes out only the cases outside the policy).
Verdict = tuple[bool, Callable[[], list[Finding]]]


def _blocks_rule(case: PathwayCase, joint: Joint, before: Sequence[PathwayCase], policy: IndicationPolicy) -> Verdict:
    """First ablation at a joint: enough positive blocks at it before the case (or the case's own block relief
    when CaseLog holds no block there). `before`: the patient's other cases dated before it."""
    threshold, required = policy.relief_threshold_percent, policy.blocks_required
    blocks = [h for h in before if h.is_block and joint in h.joints]
    relief = case.prior_block_relief_percent
    if blocks:
        positive = sum(1 for b in blocks if (r := b.reading(threshold)) is not None and r.positive)
        met = positive >= required
    else:
        met = relief is not None and relief >= threshold and required <= 1

    def explain() -> list[Finding]:
        where = joint_text(joint)
        need = f"{required} positive block{'s' if required > 1 else ''} at {threshold}% relief required"
        if blocks:
            ordered = sorted(blocks, key=lambda h: h.order)
            evidence = tuple(block_evidence(b, threshold) for b in ordered)
            text = f"{where}: first ablation; {positive} of {len(blocks)} block{'s' if len(blocks) > 1 else ''} at "
            return [Finding("blocks", where, met, f"{text}this joint before it positive ({need})", evidence)]
        if relief is None:
            text = f"{where}: first ablation, but no block at this joint is recorded before it, in CaseLog or on this "
            return [Finding("blocks", where, met, f"{text}case ({need})")]
        evidence = (Evidence(case.case_number, case.date, f"block relief recorded on this case: {relief}%"),)
        if relief < threshold:
            text = f"{where}: first ablation; the block relief recorded on this case, {relief}%, is below {threshold}%"
        else:
            text = f"{where}: first ablation; the block relief recorded on this case ({relief}%) counts as one "
            text += "positive block, CaseLog holding no block at this joint"
        return [Finding("blocks", where, met, f"{text} ({need})", evidence)]

    return met, explain


def _repeat_rules(case: PathwayCase, joint: Joint, last: PathwayCase, policy: IndicationPolicy) -> Verdict:
    """A repeat at a joint: far enough after the last ablation there, which gave lasting relief."""
    required = policy.repeat_min_interval_months
    due = add_months(last.date, required)
    interval_met = case.date >= due
    relief_from = add_months(last.date, policy.repeat_relief_months)
    late = [o for o in last.outcomes if o.relief_percent is not None and relief_from <= o.date <= case.date]
    good = [o for o in late if o.relief_percent is not None and o.relief_percent >= policy.repeat_relief_percent]

    def explain() -> list[Finding]:
        where = joint_text(joint)
        earlier = Evidence(last.case_number, last.date, f"{vocab.label(vocab.PROCEDURE_SHORT, last.procedure)} at "
                           f"{where}")  # fmt: skip
        months = whole_months(last.date, case.date)
        text = f"{where}: repeat {months} month{'s' if months != 1 else ''} after {last.name}"
        text += f" (at least {required} required" + ("" if interval_met else f": not before {due}") + ")"
        findings = [Finding("repeat_interval", where, interval_met, text, (earlier,))]
        need = f"at least {policy.repeat_relief_percent}% relief lasting {policy.repeat_relief_months} months required"
        if good:
            shown = max(good, key=lambda o: o.date)
            relief = Evidence(last.case_number, shown.date, f"{shown.relief_percent}% relief at follow-up "
                              f"{vocab.label(vocab.TIMEPOINTS, shown.timepoint).lower()}")  # fmt: skip
            text = f"{where}: {last.name} gave {shown.relief_percent}% relief at its follow-up of {shown.date} ({need})"
            findings.append(Finding("repeat_relief", where, True, text, (earlier, relief)))
        elif late:
            best = max(late, key=lambda o: (o.relief_percent or 0, o.date))
            relief = Evidence(last.case_number, best.date, f"{best.relief_percent}% relief at follow-up")
            text = f"{where}: the best relief recorded {policy.repeat_relief_months} months or more after "
            text += f"{last.name} is {best.relief_percent}% ({need})"
            findings.append(Finding("repeat_relief", where, False, text, (earlier, relief)))
        else:
            text = f"{where}: no relief recorded {policy.repeat_relief_months} months or more after {last.name} "
            findings.append(Finding("repeat_relief", where, False, f"{text}({need})", (earlier,)))
        return findings

    return interval_met and bool(good), explain


def _sessions_rule(case: PathwayCase, region: str, recent: Sequence[PathwayCase], policy: IndicationPolicy) -> Verdict:
    """Ablation sessions of the patient in this region in the 12 months up to this case, this one included.
    `recent`: the patient's other ablations in those 12 months."""
    sessions = [h for h in recent if region in h.regions]
    count, limit = len(sessions) + 1, policy.max_sessions_per_12_months

    def explain() -> list[Finding]:
        text = f"{region}: {count} ablation session{'s' if count != 1 else ''} in the 12 months up to {case.date}, "
        text += f"this one included (at most {limit})"
        ordered = sorted(sessions, key=lambda h: h.order)
        evidence = tuple(Evidence(h.case_number, h.date, f"{vocab.label(vocab.PROCEDURE_SHORT, h.procedure)} at "
                                  f"{joints_text(h.joints)}") for h in ordered)  # fmt: skip
        return [Finding("sessions", region, count <= limit, text, evidence)]

    return count <= limit, explain


def _verdicts(case: PathwayCase, history: Iterable[PathwayCase], policy: IndicationPolicy) -> list[Verdict]:
    """Each joint is a first ablation (positive blocks before it) or a repeat (interval and lasting relief since
    the last ablation there); each region limits the sessions in a rolling 12 months."""
    day, number = case.date, case.case_number
    others = [h for h in history if h is not case and (number is None or h.case_number != number)]
    before = [h for h in others if h.date < day]  # read once for all the case's joints
    ablations = [h for h in before if h.is_ablation]
    verdicts: list[Verdict] = []
    for joint in case.joints:
        earlier = [h for h in ablations if joint in h.joints]
        if earlier:
            last = earlier[0] if len(earlier) == 1 else max(earlier, key=lambda h: h.order)
            verdicts.append(_repeat_rules(case, joint, last, policy))
        else:
            verdicts.append(_blocks_rule(case, joint, before, policy))
    if case.regions:
        start = add_months(day, -12)
        recent = [h for h in others if h.is_ablation and start < h.date <= day]
        verdicts.extend(_sessions_rule(case, region, recent, policy) for region in case.regions)
    return verdicts


def _explained(verdicts: list[Verdict]) -> IndicationCheck:
    findings = tuple(finding for _, explain in verdicts for finding in explain())
    unmet = [f for f in findings if not f.met]
    summary = (
        "Outside the clinic's policy: " + "; ".join(f.text for f in unmet) if unmet else "Meets the clinic's policy."
    )
    return IndicationCheck(True, not unmet, findings, summary)


def check_indication(case: PathwayCase, history: Iterable[PathwayCase], policy: IndicationPolicy) -> IndicationCheck:
    """Whether an ablation meets the clinic's policy at each of its joints and in each of its regions, with the
    evidence of each finding. `history` is the patient's other cases (the case itself, by number, is skipped)."""
    if not case.is_ablation:
        return NOT_APPLICABLE
    return _explained(_verdicts(case, history, policy))


def outside_policy_check(
    case: PathwayCase, history: Iterable[PathwayCase], policy: IndicationPolicy
) -> IndicationCheck | None:
    """The check of an ablation outside the policy; None when it meets it or is no ablation. Only the cases
    outside it are written out (the quality desk's list judges every ablation of the clinic)."""
    if not case.is_ablation:
        return None
    verdicts = _verdicts(case, history, policy)
    return None if all(met for met, _ in verdicts) else _explained(verdicts)


# ---- the whole clinic judged at once: the quality desk's list -----------------------------------------------


def block_positive(block: BlockDetails, threshold_percent: int) -> bool:
    """Whether read_block(block, threshold_percent).positive is True, in whole numbers: the quality desk's list
    judges every block of the clinic, and exact fractions cost more than the comparison needs."""
    before = block.pain_before
    if not block.diary or not before:
        return False
    if before < 0:  # not a pain score (a file edited by hand): as read_block reads it
        return read_block(block, threshold_percent).positive is True
    # peak relief >= threshold  <=>  100 * (before - lowest pain) >= threshold * before
    if 100 * (before - min([e.pain for e in block.diary])) < threshold_percent * before:
        return False
    hours = vocab.ANESTHETIC_HOURS.get(block.anesthetic)
    return hours is None or relief_minutes(block, threshold_percent) >= hours[0] * 60  # not "shorter"


class PolicyFacts(NamedTuple):
    """What the policy's rules read of one case, as plain values (PolicyJudge)."""

    date: dt.date
    is_ablation: bool
    is_block: bool
    joints: tuple[Joint, ...]
    regions: tuple[str, ...]
    prior_block_relief_percent: int | None
    #: A block whose result at the policy's threshold is positive (block_positive); False for any other case.
    positive: bool
    #: (date, relief %) of the case's follow-ups that recorded a relief (only an ablation's are read).
    reliefs: tuple[tuple[dt.date, int], ...]


def joints_and_regions(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[Joint, ...], tuple[str, ...]]:
    """The joints and regions of a case treating these (level, side) pairs, as PathwayCase derives them."""
    derived = _PAIRS.get(pairs)
    if derived is None:
        joints = joints_of(TreatedLevel(level, side) for level, side in pairs)
        derived = (joints, tuple(dict.fromkeys(_region(level) for level, _ in joints)))
        if len(_PAIRS) < _DERIVED_MAX:
            _PAIRS[pairs] = derived
    return derived


_PAIRS: dict[tuple[tuple[str, str], ...], tuple[tuple[Joint, ...], tuple[str, ...]]] = {}


class PolicyJudge:
    """Judges whole patients' histories against the policy, as the quality desk's list does for the clinic:
    `outside(cases)` finds the ablations outside it in one pass over a patient's cases. Dates a rule compares
    (six months on, twelve months back) are worked out once for all the patients judged."""

    def __init__(self, policy: IndicationPolicy) -> None:
        self.policy = policy
        self._shifted: dict[tuple[dt.date, int], dt.date] = {}

    def _months_from(self, day: dt.date, months: int) -> dt.date:
        found = self._shifted.get((day, months))
        if found is None:
            found = self._shifted[day, months] = add_months(day, months)
        return found

    def outside(self, cases: Sequence[PolicyFacts]) -> list[int]:
        """The indices of the ablations among one patient's cases (in time order: by date, then case number)
        that do not meet the policy: those for which outside_policy_check(case, cases, policy) is not None.
        Each joint's last ablation and blocks are kept as the pass goes, a day at a time (the rules read only
        the cases of earlier days); nothing is written out (outside_policy_check writes out those found)."""
        last_at: dict[Joint, PolicyFacts] = {}  # each joint's last ablation before the day being judged
        blocks_at: dict[Joint, list[int]] = {}  # each joint's blocks before that day: [how many, how many positive]
        ablations = [case for case in cases if case.is_ablation]
        # Sessions: this one and the others in 12 months; never more than the limit with few ablations in all.
        sessions_judged = len(ablations) > self.policy.max_sessions_per_12_months
        outside: list[int] = []
        first, count = 0, len(cases)
        while first < count:
            day = cases[first].date
            end = first + 1
            while end < count and cases[end].date == day:
                end += 1
            for i in range(first, end):
                case = cases[i]
                if case.is_ablation and not self._meets(case, last_at, blocks_at, sessions_judged and ablations):
                    outside.append(i)
            for i in range(first, end):
                case = cases[i]
                for joint in case.joints:
                    if case.is_ablation:
                        last_at[joint] = case  # the day's cases are in case number order: the last one wins
                    elif case.is_block:
                        blocks = blocks_at.get(joint)
                        if blocks is None:
                            blocks_at[joint] = [1, int(case.positive)]
                        else:
                            blocks[0] += 1
                            blocks[1] += case.positive
            first = end
        return outside

    def _meets(
        self,
        case: PolicyFacts,
        last_at: dict[Joint, PolicyFacts],
        blocks_at: dict[Joint, list[int]],
        ablations: list[PolicyFacts] | Literal[False],
    ) -> bool:
        """As all(met for met, _ in _verdicts(case, history, policy)); `ablations`: the patient's, when the
        sessions rule may not be met."""
        policy, day = self.policy, case.date
        for joint in case.joints:
            last = last_at.get(joint)
            if last is not None:  # _repeat_rules
                if day < self._months_from(last.date, policy.repeat_min_interval_months):
                    return False
                start = self._months_from(last.date, policy.repeat_relief_months)
                needed = policy.repeat_relief_percent
                if not any(start <= when <= day and relief >= needed for when, relief in last.reliefs):
                    return False
            else:  # _blocks_rule
                blocks = blocks_at.get(joint)
                if blocks:
                    if blocks[1] < policy.blocks_required:
                        return False
                else:
                    relief = case.prior_block_relief_percent
                    if relief is None or relief < policy.relief_threshold_percent or policy.blocks_required > 1:
                        return False
        if ablations and case.regions:  # _sessions_rule
            start = self._months_from(day, -12)
            recent = [h for h in ablations if h is not case and start < h.date <= day]
            for region in case.regions:
                if 1 + sum(1 for h in recent if region in h.regions) > policy.max_sessions_per_12_months:
                    return False
        return True


# ---- the patient's pathway: every case on a time axis, a row per treated joint -----------------------------


@dataclass(frozen=True, slots=True)
class CaseOnPathway:
    """A case with what the pathway reads from it: a block's reading and series number, an ablation's check."""

    case: PathwayCase
    #: A block's diary read at the policy's threshold (None for other cases and for a block without details).
    reading: BlockReading | None
    #: The policy check (NOT_APPLICABLE for anything but an ablation).
    check: IndicationCheck
    #: A block's place in the patient's series: 1 + the earlier blocks at any of its joints (None otherwise).
    series: int | None


EventKind = Literal["block", "ablation", "procedure", "complication"]
ReliefEnd = Literal["next_ablation", "last_follow_up"]


@dataclass(frozen=True, slots=True)
class PathwayEvent:
    """One mark on a joint's row: a block, an ablation with its period of relief, another procedure, or a
    complication of a case at that joint (on its onset date)."""

    kind: EventKind
    date: dt.date
    case_number: str | None
    procedure: str
    reading: BlockReading | None = None
    series: int | None = None
    #: An ablation's relief period ends at the next ablation at this joint, else at its last follow-up; None
    #: when neither exists (no follow-up recorded yet).
    relief_until: dt.date | None = None
    relief_ended_by: ReliefEnd | None = None
    #: (date, relief %) of the ablation's follow-ups within its period, in time order.
    relief: tuple[tuple[dt.date, int], ...] = ()
    outside_policy: bool = False
    complication: Complication | None = None


@dataclass(frozen=True, slots=True)
class JointRow:
    joint: Joint
    events: tuple[PathwayEvent, ...]

    @property
    def text(self) -> str:
        return joint_text(self.joint)


@dataclass(frozen=True, slots=True)
class ComparativePair:
    """A short-acting and a long-acting block at the same joints: concordant when the long-acting one's relief
    at the threshold lasted longer (None when either diary cannot tell)."""

    joints: tuple[Joint, ...]
    short_acting: PathwayCase
    long_acting: PathwayCase
    short_minutes: int
    long_minutes: int
    concordant: bool | None


@dataclass(frozen=True, slots=True)
class Pathway:
    patient: Patient
    policy: IndicationPolicy
    cases: tuple[CaseOnPathway, ...]
    rows: tuple[JointRow, ...]
    pairs: tuple[ComparativePair, ...]

    @property
    def outside_policy(self) -> tuple[CaseOnPathway, ...]:
        return tuple(c for c in self.cases if c.check.outside_policy)


def _series(cases: Sequence[PathwayCase]) -> dict[int, int]:
    """Each block's series number by its index in `cases` (time order)."""
    numbers: dict[int, int] = {}
    for i, case in enumerate(cases):
        if case.is_block:
            joints = set(case.joints)
            numbers[i] = 1 + sum(1 for earlier in cases[:i] if earlier.is_block and joints & set(earlier.joints))
    return numbers


def _pairs(cases: Sequence[PathwayCase], threshold_percent: int) -> list[ComparativePair]:
    """Each short- or long-acting block paired with the latest earlier unpaired block of the other kind at
    exactly the same joints."""
    pairs: list[ComparativePair] = []
    paired: set[int] = set()

    def acting(case: PathwayCase) -> str | None:
        anesthetic = case.block.anesthetic if case.block else None
        return "short" if anesthetic in vocab.SHORT_ACTING else "long" if anesthetic in vocab.LONG_ACTING else None

    for i, case in enumerate(cases):
        kind = acting(case) if case.is_block else None
        if kind is None:
            continue
        match = next((j for j in range(i - 1, -1, -1) if j not in paired and cases[j].is_block
                      and acting(cases[j]) not in (None, kind) and cases[j].joints == case.joints), None)  # fmt: skip
        if match is None:
            continue
        paired.update((i, match))
        short, long = (cases[match], case) if kind == "long" else (case, cases[match])
        assert short.block is not None and long.block is not None
        short_minutes = relief_minutes(short.block, threshold_percent)
        long_minutes = relief_minutes(long.block, threshold_percent)
        judged = _measurable(short.block) and _measurable(long.block)
        concordant = long_minutes > short_minutes if judged else None
        pairs.append(ComparativePair(case.joints, short, long, short_minutes, long_minutes, concordant))
    return pairs


def _ablation_event(
    case: PathwayCase, joint: Joint, later: Sequence[PathwayCase], check: IndicationCheck
) -> PathwayEvent:
    """An ablation at a joint with its period of relief: until the next ablation there, else its last follow-up."""
    following = next((h for h in later if h.is_ablation and joint in h.joints and h.date > case.date), None)
    follow_ups = [o.date for o in case.outcomes if o.date > case.date]
    until: dt.date | None
    ended: ReliefEnd | None
    if following is not None:
        until, ended = following.date, "next_ablation"
    elif follow_ups:
        until, ended = max(follow_ups), "last_follow_up"
    else:
        until, ended = None, None
    relief = tuple(sorted((o.date, o.relief_percent) for o in case.outcomes if o.relief_percent is not None
                          and case.date < o.date and (until is None or o.date <= until)))  # fmt: skip
    return PathwayEvent("ablation", case.date, case.case_number, case.procedure, relief_until=until,
                        relief_ended_by=ended, relief=relief, outside_policy=check.outside_policy)  # fmt: skip


def build_pathway(patient: Patient, cases: Iterable[PathwayCase], policy: IndicationPolicy) -> Pathway:
    """The patient's pathway from all their cases: readings, checks, series numbers, rows and pairs."""
    ordered = sorted(cases, key=lambda c: c.order)
    threshold = policy.relief_threshold_percent
    series = _series(ordered)
    entries: list[CaseOnPathway] = []
    events: dict[Joint, list[PathwayEvent]] = {}
    for i, case in enumerate(ordered):
        reading = case.reading(threshold) if case.is_block else None
        check = check_indication(case, ordered, policy)
        entries.append(CaseOnPathway(case, reading, check, series.get(i)))
        for joint in case.joints:
            row = events.setdefault(joint, [])
            if case.is_ablation:
                row.append(_ablation_event(case, joint, ordered[i + 1 :], check))
            else:
                kind: EventKind = "block" if case.is_block else "procedure"
                row.append(PathwayEvent(kind, case.date, case.case_number, case.procedure, reading=reading,
                                        series=series.get(i)))  # fmt: skip
            row.extend(PathwayEvent("complication", c.onset_date, case.case_number, case.procedure, complication=c)
                       for c in case.complications)  # fmt: skip
    rows = tuple(
        JointRow(joint, tuple(sorted(found, key=lambda e: (e.date, e.kind == "complication"))))
        for joint, found in sorted(events.items(), key=lambda item: joint_key(item[0]))
    )
    return Pathway(patient, policy, tuple(entries), rows, tuple(_pairs(ordered, threshold)))


# ---- the pathway as JSON (`caselog patient MRN --json`) ------------------------------------------------------


def _percent(value: Fraction | None) -> int | None:
    """A relief as printed (whole percent, half up), so the JSON says what the screen and the PDF say."""
    return None if value is None else int(percent_text(value).rstrip("%"))


def _reading_json(reading: BlockReading | None, series: int | None) -> dict[str, object] | None:
    if reading is None:
        return None if series is None else {"series": series}
    return {"series": series, "peak_relief_percent": _percent(reading.peak_relief),
            "relief_minutes": reading.relief_minutes, "concordance": reading.concordance,
            "positive": reading.positive}  # fmt: skip


def _evidence_json(e: Evidence) -> dict[str, object]:
    return {"case_number": e.case_number, "date": e.date.isoformat(), "text": e.text}


def check_to_json(check: IndicationCheck) -> dict[str, object]:
    """An indication check as data: whether it applies and is met, its summary and every finding's evidence."""
    return {
        "applies": check.applies,
        "meets": check.meets,
        "summary": check.summary,
        "findings": [{"rule": f.rule, "where": f.where, "met": f.met, "text": f.text,
                      "evidence": [_evidence_json(e) for e in f.evidence]} for f in check.findings],
    }  # fmt: skip


def _event_json(event: PathwayEvent) -> dict[str, object]:
    found: dict[str, object] = {"kind": event.kind, "date": event.date.isoformat(), "case_number": event.case_number,
                                "procedure": event.procedure}  # fmt: skip
    if event.kind == "block":
        found["block"] = _reading_json(event.reading, event.series)
    elif event.kind == "ablation":
        found.update(
            relief_until=event.relief_until.isoformat() if event.relief_until else None,
            relief_ended_by=event.relief_ended_by,
            relief=[{"date": day.isoformat(), "relief_percent": percent} for day, percent in event.relief],
            outside_policy=event.outside_policy,
        )
    elif event.complication is not None:
        c = event.complication
        found.update(category=c.category, clavien_dindo=c.clavien_dindo, timing=c.timing)
    return found


def pathway_to_json(pathway: Pathway) -> dict[str, object]:
    """The whole pathway as plain data: the patient, the policy applied, each case, each joint's row, the pairs."""
    p = pathway.patient
    return {
        "patient": {"mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
                    "birth_date": p.birth_date.isoformat(), "sex": p.sex},
        "policy": {**policy_to_json(pathway.policy), "preset": preset_of(pathway.policy)},
        "cases": [
            {
                "case_number": entry.case.case_number,
                "date": entry.case.date.isoformat(),
                "procedure": entry.case.procedure,
                "levels": [{"level": lv.level, "side": lv.side} for lv in entry.case.levels],
                "status": entry.case.status,
                "surgeon": entry.case.surgeon,
                "block": _reading_json(entry.reading, entry.series),
                "indication": check_to_json(entry.check) if entry.check.applies else None,
                "outside_policy_reason": entry.case.outside_policy_reason,
            }
            for entry in pathway.cases
        ],
        "joints": [{"level": row.joint[0], "side": row.joint[1], "events": [_event_json(e) for e in row.events]}
                   for row in pathway.rows],
        "comparative_pairs": [
            {"levels": [{"level": level, "side": side} for level, side in pair.joints],
             "short_acting": pair.short_acting.case_number, "long_acting": pair.long_acting.case_number,
             "short_acting_minutes": pair.short_minutes, "long_acting_minutes": pair.long_minutes,
             "concordant": pair.concordant}
            for pair in pathway.pairs
        ],
    }  # fmt: skip


# ---- the quality desk's list of cases outside the policy ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutsidePolicyCase:
    """One ablation outside the clinic's policy, as the quality desk lists it: the case, its patient, the
    findings not met with their evidence, and the reason recorded for doing it (None when none was given)."""

    case: PathwayCase
    mrn: str
    patient_name: str
    check: IndicationCheck

    @property
    def case_number(self) -> str | None:
        return self.case.case_number

    @property
    def reason(self) -> str | None:
        return self.case.outside_policy_reason

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The rules not met."""
        return self.check.unmet
