"""Outcome measures by spine region and minimal clinically important difference (MCID) flags.

Which measures a follow-up asks depends on the region treated (the case's first level: the call list, the
form and the reports all use the same one): the Oswestry Disability Index and back/leg pain for lumbar and
thoracic cases, the Neck Disability Index and neck/arm pain for cervical ones, and for everyone the
Patient Global Impression of Change, work status, analgesic use, the date of return to normal activities and
whether physical therapy was prescribed. Only numbers and keys are stored, never questionnaire text.

MCID is judged against the case's own baseline outcome. The rules are data (`MCID_RULES`), read both by
`mcid` for one follow-up and, as SQL, by `mcid_shares` for the share of follow-ups reaching it per procedure
and timepoint; a test checks that both agree. No Qt here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from caselog import stats, vocab
from caselog.db import store
from caselog.records import CaseFilter, OutcomeScore, TreatedLevel
from caselog.service import CaseService

LUMBAR, CERVICAL, THORACIC = "lumbar", "cervical", "thoracic"

#: The scores asked in each region, in the order forms and reports show them.
REGION_SCORES: dict[str, tuple[str, ...]] = {
    LUMBAR: ("odi", "nrs_back", "nrs_leg"),
    THORACIC: ("odi", "nrs_back", "nrs_leg"),
    CERVICAL: ("ndi", "nrs_neck", "nrs_arm"),
}
#: Asked at every follow-up whatever the region (relief % is the clinic's older overall question, kept).
COMMON_MEASURES: tuple[str, ...] = (
    "relief_percent",
    "pgic",
    "work_status",
    "analgesics",
    "returned_to_activities",
    "physical_therapy",
)
#: Every score any region asks, in display order (a case may hold one its region does not ask: shown too).
ALL_SCORES: tuple[str, ...] = ("odi", "nrs_back", "nrs_leg", "ndi", "nrs_neck", "nrs_arm")


#: Short names of the answers that are not scores (the scores' are the format's, vocab.OUTCOME_MEASURE_LABELS).
_LABELS: dict[str, str] = {
    "work_status": "Work",
    "analgesics": "Analgesics",
    "returned_to_activities": "Back to activities",
    "physical_therapy": "Physical therapy",
}


def measure_label(measure: str) -> str:
    """The short name of a measure, as tables and charts head it ("NRS neck", "PGIC")."""
    return _LABELS.get(measure) or vocab.label(vocab.OUTCOME_MEASURE_LABELS, measure)


def region_of_levels(levels: Sequence[TreatedLevel | str]) -> str:
    """The region whose measures a case asks: that of its first level (lumbar when it has none yet)."""
    if not levels:
        return LUMBAR
    first = levels[0]
    return vocab.region_of(first if isinstance(first, str) else first.level)


def measures_for(levels: Sequence[TreatedLevel | str]) -> tuple[str, ...]:
    """The outcome fields a follow-up of a case at these levels asks, in display order."""
    return REGION_SCORES[region_of_levels(levels)] + COMMON_MEASURES


def scores_shown(levels: Sequence[TreatedLevel | str], held: Iterable[OutcomeScore]) -> tuple[str, ...]:
    """The score columns a table of these outcomes shows: the region's, then any other score an outcome holds
    (a cervical case with an ODI shows it: nothing recorded is ever hidden)."""
    found = tuple(held)
    region = REGION_SCORES[region_of_levels(levels)]
    others = tuple(m for m in ALL_SCORES if m not in region and any(getattr(o, m) is not None for o in found))
    return region + others


def scores_held(levels: Sequence[TreatedLevel | str], held: Iterable[OutcomeScore]) -> tuple[str, ...]:
    """The score columns a printed or read-only table shows: those holding a value, the region's first; the
    region's when none holds one (nothing to fill in there, and a narrow pane has no room for empty columns)."""
    found = tuple(held)
    shown = tuple(m for m in scores_shown(levels, found) if any(getattr(o, m) is not None for o in found))
    return shown or REGION_SCORES[region_of_levels(levels)]


def answers_text(outcome: OutcomeScore) -> str:
    """The answers beside the scores in words, for a line under a table: "working, opioid pain medication,
    back to usual activities on 2025-05-02, physical therapy prescribed"; blank when none was asked."""
    parts = []
    if outcome.work_status is not None:
        parts.append(vocab.label(vocab.WORK_STATUSES, outcome.work_status).lower())
    if outcome.analgesics is not None:
        parts.append(vocab.label(vocab.ANALGESIC_USE, outcome.analgesics).lower())
    if outcome.returned_to_activities is not None:
        parts.append(f"back to usual activities on {outcome.returned_to_activities.isoformat()}")
    if outcome.physical_therapy is not None:
        parts.append("physical therapy prescribed" if outcome.physical_therapy else "no physical therapy")
    return ", ".join(parts)


def pgic_text(pgic: int | None) -> str:
    """ "2 much improved"; blank when not asked."""
    return "" if pgic is None else f"{pgic} {vocab.PGIC.get(pgic, '').lower()}".strip()


# ---- MCID rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImprovementRule:
    """A score where lower is better: reached when it fell by at least `points` from baseline, or (when
    `percent` is set) by at least `percent` % of the baseline. Not measurable without both scores, or when
    the baseline leaves no room for the smallest improvement that counts (0, or under `points` without a
    percent rule): a floor effect is not a failure to improve."""

    measure: str
    points: int
    percent: int | None
    source: str

    def reached(self, baseline: int | None, follow_up: int | None) -> bool | None:
        if baseline is None or follow_up is None or baseline <= 0:
            return None
        if self.percent is None and baseline < self.points:
            return None
        gain = baseline - follow_up
        return gain >= self.points or (self.percent is not None and gain * 100 >= self.percent * baseline)


#: Oswestry Disability Index (0-100 %): 10 points. Ostelo RWJG et al. Interpreting change scores for pain and
#: functional status in low back pain: towards international consensus regarding minimal important change.
#: Spine 2008;33(1):90-94.
ODI_RULE = ImprovementRule("odi", 10, None, "Ostelo et al., Spine 2008;33:90-94")
#: Neck Disability Index (0-100 %): 10 points (the usual 5 of 50). MacDermid JC et al. Measurement properties of
#: the Neck Disability Index: a systematic review. J Orthop Sports Phys Ther 2009;39(5):400-417; Carreon LY et
#: al. Spine J 2010;10(6):469-474 (7.5 points after cervical fusion): the stricter 10 is used.
NDI_RULE = ImprovementRule("ndi", 10, None, "MacDermid et al., JOSPT 2009;39:400-417")
#: Pain NRS (0-10): 2 points or 30 %. Farrar JT et al. Clinical importance of changes in chronic pain intensity
#: measured on an 11-point numerical pain rating scale. Pain 2001;94(2):149-158; Ostelo et al. 2008.
NRS_SOURCE = "Farrar et al., Pain 2001;94:149-158"
NRS_RULES = tuple(ImprovementRule(m, 2, 30, NRS_SOURCE) for m in ("nrs_back", "nrs_leg", "nrs_neck", "nrs_arm"))

#: Score measures and their rule.
MCID_RULES: dict[str, ImprovementRule] = {r.measure: r for r in (ODI_RULE, NDI_RULE, *NRS_RULES)}

#: PGIC (1 very much improved ... 7 very much worse) at or below this is "much" or "very much improved", the
#: anchor Farrar et al. 2001 used for the NRS's MCID; it needs no baseline.
PGIC_REACHED_AT_MOST = 2
PGIC_SOURCE = "Farrar et al., Pain 2001;94:149-158 (PGIC anchor)"

#: The measures MCID is judged on in each region, in display order.
MCID_MEASURES: dict[str, tuple[str, ...]] = {region: (*scores, "pgic") for region, scores in REGION_SCORES.items()}


def pgic_reached(pgic: int | None) -> bool | None:
    return None if pgic is None else pgic <= PGIC_REACHED_AT_MOST


@dataclass(frozen=True, slots=True)
class MCIDFlags:
    """One follow-up's MCID per measure of its region: True reached, False not, None not measurable."""

    region: str
    flags: tuple[tuple[str, bool | None], ...]

    def get(self, measure: str) -> bool | None:
        return dict(self.flags).get(measure)

    @property
    def any_reached(self) -> bool:
        return any(reached for _, reached in self.flags)

    @property
    def measurable(self) -> bool:
        return any(reached is not None for _, reached in self.flags)


def _value(outcome: OutcomeScore | None, measure: str) -> Any:
    return None if outcome is None else getattr(outcome, measure, None)


def mcid(baseline: OutcomeScore | None, follow_up: OutcomeScore, region: str) -> MCIDFlags:
    """The MCID flags of one follow-up against the case's baseline (None: no baseline recorded)."""
    flags: list[tuple[str, bool | None]] = []
    for measure in MCID_MEASURES[region]:
        if measure == "pgic":
            flags.append((measure, pgic_reached(_value(follow_up, "pgic"))))
        else:
            rule = MCID_RULES[measure]
            flags.append((measure, rule.reached(_value(baseline, measure), _value(follow_up, measure))))
    return MCIDFlags(region, tuple(flags))


def case_mcid(levels: Sequence[TreatedLevel | str], outcomes: Iterable[OutcomeScore]) -> dict[str, MCIDFlags]:
    """MCID flags of every follow-up (non-baseline outcome) of a case, by timepoint."""
    found = tuple(outcomes)
    baseline = next((o for o in found if o.timepoint == "baseline"), None)
    region = region_of_levels(levels)
    return {o.timepoint: mcid(baseline, o, region) for o in found if o.timepoint != "baseline"}


def reached_text(flags: MCIDFlags) -> str:
    """The measures that reached MCID ("ODI, NRS back, PGIC"), "none" when none did among those measurable, and
    blank when nothing was measurable (no baseline, no PGIC)."""
    if not flags.measurable:
        return ""
    reached = [measure_label(m) for m, hit in flags.flags if hit]
    return ", ".join(reached) if reached else "none"


# ---- shares per procedure and timepoint ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MCIDShare:
    """Follow-ups at `timepoint` after `procedure` where `measure` was measurable (`n`) and reached MCID."""

    procedure: str
    timepoint: str
    measure: str
    n: int
    reached: int
    rate: stats.Rate


def _state_sql(measure: str, base: Any, follow: Any) -> ColumnElement[int]:
    """0 not measurable, 1 measured without reaching MCID, 2 reached: exactly `ImprovementRule.reached` (or
    `pgic_reached`), as SQL."""
    if measure == "pgic":
        return case((follow.c.pgic.is_(None), 0), (follow.c.pgic <= PGIC_REACHED_AT_MOST, 2), else_=1)
    rule = MCID_RULES[measure]
    before, after = base.c[measure], follow.c[measure]
    unmeasurable = or_(before.is_(None), after.is_(None), before <= 0)
    if rule.percent is None:
        unmeasurable = or_(unmeasurable, before < rule.points)
    reached: Any = before - after >= rule.points
    if rule.percent is not None:
        reached = or_(reached, (before - after) * 100 >= before * rule.percent)
    return case((unmeasurable, 0), (reached, 2), else_=1)


#: Levels of the cervical region (a case whose first level is one asks the neck's measures).
CERVICAL_LEVELS = tuple(level for level in vocab.LEVELS if vocab.region_of(level) == CERVICAL)
#: The measures one packed state stands for: the lumbar/thoracic ones, or (cervical) the neck's; then PGIC.
_GROUPS = (MCID_MEASURES[LUMBAR], MCID_MEASURES[CERVICAL])


def read_mcid_shares(service: CaseService, case_filter: CaseFilter | None = None) -> list[MCIDShare]:
    """The MCID shares through the service's checked read: the roles table applies (an administrator is refused and
    the refusal audited), as for every other figure, counted from the cases (the dashboard's stored tallies give
    the same for a filter of dates and surgeon: `caselog.dashboard.DashboardService.mcid_shares`)."""
    with service.reading() as session:
        return mcid_shares(session, case_filter)


def mcid_shares(session: Session, case_filter: CaseFilter | None = None) -> list[MCIDShare]:
    """The share of follow-ups reaching MCID per procedure, timepoint and measure, with Wilson intervals
    (`mcid_counts` made shares)."""
    return shares_from_counts(mcid_counts(session, case_filter))


def mcid_counts(session: Session, case_filter: CaseFilter | None = None) -> dict[tuple[str, str, str], list[int]]:
    """Per procedure, timepoint and measure: [follow-ups where it was measurable, those reaching MCID] (see
    `mcid_counts_by`)."""
    return mcid_counts_by(session, case_filter).get((), {})


def mcid_counts_by(
    session: Session,
    case_filter: CaseFilter | None = None,
    by: Sequence[ColumnElement[Any]] = (),
) -> dict[tuple[Any, ...], dict[tuple[str, str, str], list[int]]]:
    """Per group of `by` (columns of the case's row; the dashboard tallies' year and surgeon) among the filter's
    cases, per procedure, timepoint and measure: [follow-ups where it was measurable, those
    reaching MCID].

    One grouped query: each follow-up joined with its case's baseline, its region read from its first level,
    and the state of each of the region's measures (not measurable, not reached, reached) packed into one
    integer with the region, so SQL groups on procedure, timepoint and that integer (a few hundred rows
    for any number of cases; one integer rather than many CASE sums is what keeps 100,000 cases quick).
    Rows come in the contract's procedure order, then timepoint order, then the measures' order; a
    combination without any measurable follow-up is left out.
    """
    f = case_filter or CaseFilter()
    cases_t, levels_t = store.cases_t, store.levels_t
    follow = store.outcomes_t.alias("follow_up")
    base = store.outcomes_t.alias("baseline")
    first_cervical = select(levels_t.c.case_id).where(levels_t.c.level.in_(CERVICAL_LEVELS), levels_t.c.position == 0)
    if f == CaseFilter():  # every follow-up: the cervical cases read once into a list
        cervical: ColumnElement[bool] = follow.c.case_id.in_(first_cervical)
    else:  # a slice or a filter: each follow-up's first level looked up by index
        cervical = exists(first_cervical.where(levels_t.c.case_id == follow.c.case_id))
    states: list[ColumnElement[int]] = []
    for measures in _GROUPS:
        packed: ColumnElement[int] = literal(0)
        for measure in measures:
            packed = packed * 3 + _state_sql(measure, base, follow)
        states.append(packed)
    key = case((cervical, states[1] + 3 ** len(_GROUPS[0])), else_=states[0])
    stmt: Select[Any] = (
        select(*by, cases_t.c.procedure, follow.c.timepoint, key, func.count())
        .select_from(follow)
        .join(cases_t, cases_t.c.id == follow.c.case_id)
        .outerjoin(base, and_(base.c.case_id == follow.c.case_id, base.c.timepoint == literal("baseline")))
        .where(follow.c.timepoint != "baseline")
        .group_by(*by, cases_t.c.procedure, follow.c.timepoint, key)
    )
    stmt = store.filtered(stmt, f)
    totals: dict[tuple[Any, ...], dict[tuple[str, str, str], list[int]]] = {}
    width = len(by)
    for row in session.execute(stmt):
        procedure, timepoint, packed_key, count = row[width:]
        group, code = divmod(int(packed_key), 3 ** len(_GROUPS[0]))
        mine = totals.setdefault(tuple(row[:width]), {})
        for measure in reversed(_GROUPS[group]):
            code, state = divmod(code, 3)
            if state:
                total = mine.setdefault((procedure, timepoint, measure), [0, 0])
                total[0] += count
                total[1] += count * (state == 2)
    return totals


def shares_from_counts(totals: dict[tuple[str, str, str], list[int]]) -> list[MCIDShare]:
    """The shares from (procedure, timepoint, measure) -> [measurable follow-ups, reached], in display order."""
    procedures = {p: i for i, p in enumerate(vocab.PROCEDURES)}
    timepoints = {t: i for i, t in enumerate(vocab.TIMEPOINTS)}
    order = {m: i for i, m in enumerate((*ALL_SCORES, "pgic"))}
    keys = sorted(
        (k for k, (n, _) in totals.items() if n),
        key=lambda k: (procedures.get(k[0], len(procedures)), k[0], timepoints.get(k[1], 99), k[1], order[k[2]]),
    )
    return [MCIDShare(p, t, m, n, hits, stats.rate(hits, n)) for p, t, m in keys for n, hits in [totals[(p, t, m)]]]
