"""Follow-up: the clinic's schedule per procedure, when each follow-up falls due, and who is owed one now.

The schedule is a clinic setting (caselog.clinic: administrators set it, audited; a damaged stored value is
refused, never replaced by the default). Due dates are computed from the procedure date whenever they are
asked for, never stored: every path into the data (form, import, demo, restore, a direct edit) gives a case its
due dates the moment it is saved, and a changed schedule applies to every case at once. Statuses and states are
defined in docs/decisions.md ("Follow-up"); the functions here are pure, the service reads the rows they need
in a few set-based queries (the due list: one range query on procedure dates per procedure and timepoint).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from caselog import clinic, vocab
from caselog.accounts import Action
from caselog.bulk import cyclic_gc_paused
from caselog.dates import add_months
from caselog.db.pathway_queries import _day, _raw
from caselog.db.queries import filtered
from caselog.db.tables import attempts_t, cases_t, levels_t, outcomes_t, patients_t
from caselog.errors import CaselogError, InvalidInput
from caselog.records import CaseFilter, CaseView, FollowUpAttempt, OutcomeScore
from caselog.service import CaseService
from caselog.validation import Problem, case_number_key

#: The clinic setting's name (caselog.clinic).
SETTING = "follow_up_schedule"

_ABLATION_SCHEDULE = ("2w", "6w", "3m", "6m", "12m", "24m", "36m", "48m", "5y")
_DECOMPRESSION_SCHEDULE = ("2w", "6w", "3m", "6m", "12m", "24m")
#: The default schedule (sources in docs/decisions.md, "Follow-up"): ablations to 5 years, as the published
#: durability claims they test; a diagnostic block has its pain diary on the case and a 2-week check;
#: decompressions to 2 years; other procedures to 3 months.
DEFAULT_TIMEPOINTS: dict[str, tuple[str, ...]] = {
    "endoscopic_rhizotomy": _ABLATION_SCHEDULE,
    "radiofrequency_ablation": _ABLATION_SCHEDULE,
    "medial_branch_block": ("2w",),
    "laminectomy": _DECOMPRESSION_SCHEDULE,
    "laminotomy": _DECOMPRESSION_SCHEDULE,
    "other": ("2w", "6w", "3m"),
}
#: Procedures that end an earlier case's follow-up when done later at an overlapping joint of the same patient:
#: the joint was treated again, so the earlier treatment's later results can no longer be measured (a block is
#: diagnostic and ends nothing).
SUPERSEDING: frozenset[str] = vocab.ABLATIONS | {"laminectomy", "laminotomy"}
FOLLOW_UP_TIMEPOINTS = vocab.FOLLOW_UP_TIMEPOINTS
_ORDER = {tp: i for i, tp in enumerate(vocab.TIMEPOINTS)}
MAX_WITHIN_DAYS = vocab.MAX_DUE_WITHIN_DAYS

TimepointStatus = Literal["done", "ended", "upcoming", "overdue", "missed"]
CaseState = Literal["complete", "overdue", "lost", "died"]
CASE_STATES: dict[str, str] = {"complete": "Complete", "overdue": "Overdue", "lost": "Lost to follow-up",
                               "died": "Died"}  # fmt: skip


# ---- the schedule ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FollowUpSchedule:
    """Procedure key -> the timepoints a follow-up is owed at, in timepoint order; every procedure listed."""

    entries: tuple[tuple[str, tuple[str, ...]], ...]

    def for_procedure(self, procedure: str) -> tuple[str, ...]:
        """The timepoints owed after this procedure (none for a key the vocabulary does not know)."""
        return dict(self.entries).get(procedure, ())

    def as_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self.entries)

    def to_json(self) -> dict[str, list[str]]:
        """As stored in the clinic setting: {procedure: [timepoint, ...]}."""
        return {procedure: list(timepoints) for procedure, timepoints in self.entries}

    def with_procedure(self, procedure: str, timepoints: Iterable[str]) -> FollowUpSchedule:
        """This schedule with one procedure's timepoints replaced (checked: InvalidInput naming the problem)."""
        return schedule_from_json({**self.to_json(), procedure: list(timepoints)})

    @property
    def is_default(self) -> bool:
        return self == default_schedule()


def default_schedule() -> FollowUpSchedule:
    return FollowUpSchedule(tuple((p, DEFAULT_TIMEPOINTS[p]) for p in vocab.PROCEDURES))


def schedule_problems(value: object) -> list[Problem]:
    """What is wrong with a stored or given schedule, each at its procedure (empty when it is valid)."""
    if not isinstance(value, dict):
        return [Problem(SETTING, f"must be an object of procedures, not {type(value).__name__}")]
    problems = [Problem(str(key), "is not a procedure key") for key in value if key not in vocab.PROCEDURES]
    problems += [Problem(key, "is missing: every procedure has a schedule (an empty one owes no follow-up)")
                 for key in vocab.PROCEDURES if key not in value]  # fmt: skip
    for key, timepoints in value.items():
        if key not in vocab.PROCEDURES:
            continue
        if not isinstance(timepoints, list) or not all(isinstance(tp, str) for tp in timepoints):
            problems.append(Problem(key, "must be a list of timepoints"))
            continue
        for tp in timepoints:
            if tp == "baseline":
                problems.append(Problem(key, "baseline is recorded before the procedure, not a follow-up"))
            elif tp not in vocab.TIMEPOINTS:
                problems.append(Problem(key, f"unknown timepoint {tp!r}; one of {', '.join(FOLLOW_UP_TIMEPOINTS)}"))
        problems += [Problem(key, f"timepoint {tp} appears twice") for tp in sorted(set(timepoints))
                     if timepoints.count(tp) > 1]  # fmt: skip
    return problems


def schedule_from_json(value: object) -> FollowUpSchedule:
    """A schedule from its JSON form, timepoints put in their order; InvalidInput naming every problem."""
    problems = schedule_problems(value)
    if problems:
        raise InvalidInput(problems)
    assert isinstance(value, dict)
    return FollowUpSchedule(tuple((p, tuple(sorted(value[p], key=_ORDER.__getitem__))) for p in vocab.PROCEDURES))


def schedule_from_setting(value: object | None) -> FollowUpSchedule:
    """The schedule from the clinic setting's stored value: the default when never set. A stored value that is
    not a valid schedule (the database edited outside CaseLog) is refused, never replaced by the default."""
    if value is None:
        return default_schedule()
    try:
        return schedule_from_json(value)
    except InvalidInput as exc:
        raise CaselogError(
            f"The clinic's follow-up schedule stored in the database is not valid ({exc.message}); an "
            "administrator sets it again ('caselog followups schedule set PROCEDURE TIMEPOINT...')."
        ) from None


# ---- due dates and statuses (pure) ----------------------------------------------------------------------------


def due_date(procedure_date: dt.date, timepoint: str) -> dt.date:
    """When a follow-up falls due: 14 or 42 days after the procedure, or whole calendar months after it."""
    days, months = vocab.TIMEPOINT_DUE[timepoint]
    return procedure_date + dt.timedelta(days=days) if days else add_months(procedure_date, months)


def offset_days(timepoint: str) -> int:
    """The timepoint's distance from the procedure in days, nominally (a month is 365.25 / 12 days)."""
    days, months = vocab.TIMEPOINT_DUE[timepoint]
    return days or int(months * 365.25 / 12)


def grace_days(timepoint: str) -> int:
    """Days after the due date a follow-up is still overdue rather than missed: a quarter of the time since the
    procedure, at least 2 weeks and at most 90 days (2w and 6w: 14; 3m: 22; 6m: 45; 12m and later: 90)."""
    return min(max(offset_days(timepoint) // 4, 14), 90)


def expected_window(procedure_date: dt.date, timepoint: str) -> tuple[dt.date, dt.date]:
    """The days a follow-up at `timepoint` is expected on: its grace window either side of the due date, never
    on or before the procedure day (the case form warns about a score dated outside it)."""
    due, grace = due_date(procedure_date, timepoint), dt.timedelta(days=grace_days(timepoint))
    return max(due - grace, procedure_date + dt.timedelta(days=1)), due + grace


def timepoint_status(due: dt.date, timepoint: str, *, done: bool, ended: bool, today: dt.date,
                     superseded_on: dt.date | None = None) -> TimepointStatus:  # fmt: skip
    """One timepoint of one case, as of `today` (`ended`: a final attempt dated on or before today;
    `superseded_on`: the date of a later treatment at an overlapping joint, see `superseded_on`). A later
    treatment ends the timepoints due after it at once, and on its day the ones still owed before it: a timepoint
    missed before the later treatment stays missed."""
    if done:
        return "done"
    if ended:
        return "ended"
    if superseded_on is not None and (due > superseded_on or superseded_on <= today):
        owed_then = due > superseded_on or superseded_on <= due + dt.timedelta(days=grace_days(timepoint))
        return "ended" if owed_then else "missed"
    if due > today:
        return "upcoming"
    if today <= due + dt.timedelta(days=grace_days(timepoint)):
        return "overdue"
    return "missed"


def sides_overlap(one: str, other: str) -> bool:
    """Two sides of one joint overlap: the same side, or either bilateral."""
    return one == other or "bilateral" in (one, other)


def superseded_on(
    procedure_date: dt.date,
    levels: Iterable[tuple[str, str]],
    others: Iterable[tuple[dt.date, str, Iterable[tuple[str, str]]]],
) -> dt.date | None:
    """When a later treatment of the same patient ended this case's follow-up: the earliest of `others` (the
    patient's other cases as (procedure date, procedure, (level, side) pairs)) dated after this case, that is an
    ablation, rhizotomy, laminectomy or laminotomy (SUPERSEDING) at a joint overlapping one of this case's (same
    level, sides overlapping). None when no later case does."""
    treated = [(level, side) for level, side in levels]
    found = [day for day, procedure, joints in others
             if day > procedure_date and procedure in SUPERSEDING
             and any(level == mine and sides_overlap(side, my_side)
                     for level, side in joints for mine, my_side in treated)]  # fmt: skip
    return min(found, default=None)


@dataclass(frozen=True, slots=True)
class CaseFollowUp:
    """One case's follow-up as of a day: its state and its last real contact with the patient."""

    state: CaseState
    #: The latest date of an outcome after the procedure (baseline is no follow-up contact); None without one.
    last_contact: dt.date | None
    #: The date of the attempt that ended the follow-up (moved away, declined, died), if any.
    ended_on: dt.date | None = None


def _final(attempts: Iterable[tuple[str, dt.date, str]], today: dt.date, last_outcome: dt.date | None,
           superseded: dt.date | None = None) -> tuple[str, dt.date] | None:  # fmt: skip
    """The attempt that ended the follow-up, as (result, date): a death, else the earliest moved-away or declined
    dated on or before today, unless an outcome dated after it shows the patient came back (followed again), or a
    later treatment had ended this case's follow-up before it (`superseded`: that attempt is about the later case)."""
    finals = sorted((result != "died", day, result) for _, day, result in attempts
                    if result in vocab.FINAL_FOLLOW_UP_RESULTS and day <= today
                    and (result == "died" or ((last_outcome is None or last_outcome <= day)
                                              and (superseded is None or day <= superseded))))  # fmt: skip
    return (finals[0][2], finals[0][1]) if finals else None


def case_follow_up(
    procedure_date: dt.date,
    timepoints: Sequence[str],
    outcomes: Mapping[str, dt.date],
    attempts: Sequence[tuple[str, dt.date, str]],
    today: dt.date,
    superseded: dt.date | None = None,
    died_on: dt.date | None = None,
) -> CaseFollowUp:
    """A case's state from its procedure date, the schedule's `timepoints` for its procedure, its outcomes
    (timepoint -> date), its attempts (timepoint, date, result) and the date of a later treatment that supersedes
    it (`superseded_on`): died; lost (moved away, declined, or a missed timepoint with no outcome at any later
    one); overdue; else complete. Once a superseding treatment is past, nothing more is owed and the case is not
    lost for a timepoint missed before it (the patient came back for it): complete, unless died, moved or
    declined before it. `died_on`: a death recorded on any of the patient's cases (a death is a fact about the
    patient, whichever case it was recorded on)."""
    contacts = [day for tp, day in outcomes.items() if tp != "baseline"]
    last_contact = max(contacts) if contacts else None
    if died_on is not None and died_on <= today:
        return CaseFollowUp("died", last_contact, died_on)
    final = _final(attempts, today, max(outcomes.values(), default=None), superseded)
    if final is not None:
        return CaseFollowUp("died" if final[0] == "died" else "lost", last_contact, final[1])
    if superseded is not None and superseded <= today:
        return CaseFollowUp("complete", last_contact)
    latest_outcome = max((_ORDER[tp] for tp in outcomes if tp in _ORDER), default=-1)
    overdue = False
    for tp in timepoints:
        status = timepoint_status(due_date(procedure_date, tp), tp, done=tp in outcomes, ended=False, today=today,
                                  superseded_on=superseded)  # fmt: skip
        if status == "missed" and _ORDER[tp] > latest_outcome:
            return CaseFollowUp("lost", last_contact)
        overdue = overdue or status == "overdue"
    return CaseFollowUp("overdue" if overdue else "complete", last_contact)


def case_timepoints(
    procedure_date: dt.date,
    timepoints: Sequence[str],
    outcomes: Mapping[str, dt.date],
    attempts: Sequence[tuple[str, dt.date, str]],
    today: dt.date,
    superseded: dt.date | None = None,
    died_on: dt.date | None = None,
) -> list[tuple[str, dt.date, TimepointStatus]]:
    """Each of the schedule's `timepoints` for a case with its due date and status as of `today` (arguments as
    `case_follow_up`'s)."""
    ended = _final(attempts, today, max(outcomes.values(), default=None), superseded) is not None
    ended = ended or (died_on is not None and died_on <= today)
    found: list[tuple[str, dt.date, TimepointStatus]] = []
    for tp in timepoints:
        due = due_date(procedure_date, tp)
        found.append((tp, due, timepoint_status(due, tp, done=tp in outcomes, ended=ended, today=today,
                                                superseded_on=superseded)))  # fmt: skip
    return found


def next_follow_up(timepoints: Iterable[tuple[str, dt.date, TimepointStatus]]) -> tuple[str, dt.date] | None:
    """The next follow-up a case is owed, as (timepoint, due date), from `case_timepoints`: the first that is
    overdue or upcoming; None when nothing more is owed (all done, missed or ended)."""
    return next(((tp, due) for tp, due, status in timepoints if status in ("overdue", "upcoming")), None)


def procedure_dates_due(timepoint: str, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The procedure dates whose follow-up at `timepoint` falls due from `first` to `last` (inclusive): a range,
    since a later procedure never falls due earlier. Empty when the first date returned is after the last."""
    days, months = vocab.TIMEPOINT_DUE[timepoint]
    if days:
        return first - dt.timedelta(days=days), last - dt.timedelta(days=days)
    one = dt.timedelta(days=1)
    low = add_months(first, -months)
    while add_months(low, months) < first:
        low += one
    while add_months(low - one, months) >= first:
        low -= one
    high = add_months(last, -months)
    while add_months(high, months) > last:
        high -= one
    while add_months(high + one, months) <= last:
        high += one
    return low, high


# ---- what the service returns ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueFollowUp:
    """One row of the coordinator's list: whom to call, about which procedure, for which follow-up.

    There is no phone number in the data: the call list prints MRN, name and birth date, and the coordinator
    dials from the clinic's record (docs/decisions.md)."""

    case_number: str
    mrn: str
    patient_name: str
    birth_date: dt.date
    procedure: str
    procedure_date: dt.date
    surgeon: str
    levels: str  # "L4-L5 left, L5-S1 bilateral"
    timepoint: str
    due_date: dt.date
    status: Literal["upcoming", "overdue"]
    days_overdue: int
    #: could_not_reach attempts already made for this timepoint, and the latest attempt's date.
    attempts: int
    last_attempt: dt.date | None
    #: "lumbar" / "cervical" / "thoracic": the measures to ask (the first level's region).
    region: str


@dataclass(frozen=True, slots=True)
class FollowUpCounts:
    """Cases of one procedure and surgeon by follow-up state (both None: every case, the totals row)."""

    procedure: str | None
    surgeon: str | None
    cases: int = 0
    complete: int = 0
    overdue: int = 0
    lost: int = 0
    died: int = 0


def total_counts(rows: Iterable[FollowUpCounts]) -> FollowUpCounts:
    """The totals row of a counts table."""
    found = Counter[str]()
    for row in rows:
        found.update({"cases": row.cases, "complete": row.complete, "overdue": row.overdue, "lost": row.lost,
                      "died": row.died})  # fmt: skip
    return FollowUpCounts(None, None, **found)


# ---- the service ----------------------------------------------------------------------------------------------


class FollowUpService:
    """Follow-up over one database as one signed-in account sees it (roles as CaseService applies them)."""

    def __init__(self, service: CaseService, *, today: Callable[[], dt.date] | None = None) -> None:
        self.service = service
        self._today = today or service.today

    def today(self) -> dt.date:
        return self._today()

    # ---- the schedule

    def schedule(self) -> FollowUpSchedule:
        """The clinic's schedule (the default until an administrator sets one). Anyone signed in may read it, as
        every clinic setting: it holds no patient data, and administrators read what they change."""
        return schedule_from_setting(self.service.clinic_setting(SETTING))

    def set_schedule(self, schedule: FollowUpSchedule) -> None:
        """Change the clinic's schedule: administrators only, audited with the old and the new value."""
        problems = schedule_problems(schedule.to_json())
        if problems:
            raise InvalidInput(problems)
        self.service.set_clinic_setting(SETTING, schedule.to_json())

    # ---- the due list

    def due(
        self,
        *,
        within_days: int = 7,
        overdue: bool = True,
        upcoming: bool = True,
        surgeon: str | None = None,
        procedure: str | None = None,
    ) -> list[DueFollowUp]:
        """Follow-ups owed now (overdue: due and within the grace window) and falling due in the next
        `within_days` days (upcoming), by due date, then case number and timepoint. Draft and signed cases
        alike. One range query on procedure dates per procedure and timepoint of the schedule."""
        self.service.require(Action.VIEW, what="follow_up_due")
        if not 0 <= within_days <= MAX_WITHIN_DAYS:
            raise InvalidInput([Problem("within", f"{within_days} days: between 0 and {MAX_WITHIN_DAYS}")])
        today = self.today()
        with cyclic_gc_paused(), self.service.db.read() as session:
            schedule = schedule_from_setting(clinic.read_setting(session, SETTING))
            # Cases dated after today exist only with a changed clock (validation refuses them): only then can a
            # later treatment fall after today and end just the follow-ups due after it.
            ahead = session.execute(select(cases_t.c.id).where(cases_t.c.procedure_date > today).limit(1)).first()
            selects = []
            for key, timepoints in schedule.entries:
                if procedure is not None and key != procedure:
                    continue
                for tp in timepoints:
                    window = _due_window(tp, today, within_days, overdue=overdue, upcoming=upcoming)
                    if window is not None:
                        dates = procedure_dates_due(tp, *window)
                        selects.append(_due_select(key, tp, *dates, today, surgeon, ahead=ahead is not None))
            if not selects:
                return []
            items = _due_items(session.execute(union_all(*selects) if len(selects) > 1 else selects[0]), today)
            dead = _dead_mrns(session, today)  # a death is the patient's, whichever case it was recorded on
            items = [item for item in items if item.mrn not in dead]
        items.sort(key=lambda item: (item.due_date, case_number_key(item.case_number), _ORDER[item.timepoint]))
        return items

    # ---- states and counts

    def states(self, session: Session, case_ids: Select[Any]) -> dict[int, CaseFollowUp]:
        """Each selected case's follow-up state and last contact, as of today (for the durability figures).

        `case_ids` selects case ids; read in the caller's session, two queries whatever the number of cases.
        Whoever may view cases may ask."""
        self.service.require(Action.VIEW, what="follow_up_states")
        with cyclic_gc_paused():
            return _states(session, case_ids, self.today())

    def counts(self, case_filter: CaseFilter | None = None) -> list[FollowUpCounts]:
        """Cases by follow-up state per procedure and surgeon (the contract's filters), by procedure then
        surgeon; `total_counts` adds them up."""
        self.service.require(Action.VIEW, what="follow_up_counts")
        ids = filtered(select(cases_t.c.id), case_filter or CaseFilter())
        tally: dict[tuple[str, str], dict[str, int]] = {}
        today = self.today()
        with cyclic_gc_paused(), self.service.db.read() as session:
            first, last = session.execute(select(func.min(cases_t.c.id), func.max(cases_t.c.id))).one()
            # A slice of case ids at a time: a case's state depends on its own rows and its patient's other
            # cases only, and a million cases' states held at once took 350 MB.
            for low in range(first or 0, (last or -1) + 1, COUNTS_PER_READ):
                owners: dict[int, tuple[str, str]] = {}
                part = ids.where(cases_t.c.id >= low, cases_t.c.id < low + COUNTS_PER_READ)
                found = _states(session, part, today, owners=owners)
                for case_id, owner in owners.items():
                    counted = tally.setdefault(owner, {"cases": 0, "complete": 0, "overdue": 0, "lost": 0, "died": 0})
                    counted["cases"] += 1
                    counted[found[case_id].state] += 1
        order = {key: i for i, key in enumerate(vocab.PROCEDURES)}
        return [
            FollowUpCounts(key, surgeon, **counted)
            for (key, surgeon), counted in sorted(tally.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0]))
        ]

    def case_timepoints(self, view: CaseView) -> list[tuple[str, dt.date, TimepointStatus]]:
        """Every timepoint the schedule owes for this case, with its due date and status as of today."""
        return self.timepoints_of([view])[view.case_number]

    def timepoints_of(self, views: Sequence[CaseView]) -> dict[str, list[tuple[str, dt.date, TimepointStatus]]]:
        """`case_timepoints` of each case (by case number), reading the schedule and the later treatments once:
        what the case summaries print as the next follow-up, as the desk and the due list show it."""
        self.service.require(Action.VIEW, what="follow_up_states")
        today = self.today()
        with self.service.db.read() as session:
            schedule = schedule_from_setting(clinic.read_setting(session, SETTING))
            later = _superseded_dates(session, [view.id for view in views])
            deaths = _patient_deaths(session, [view.id for view in views], today)
        found: dict[str, list[tuple[str, dt.date, TimepointStatus]]] = {}
        for view in views:
            record = view.record
            found[view.case_number] = case_timepoints(
                record.procedure_date, schedule.for_procedure(record.procedure),
                {o.timepoint: o.date for o in record.outcomes},
                [(a.timepoint, a.date, a.result) for a in record.follow_up_attempts], today, later.get(view.id),
                deaths.get(view.id),
            )  # fmt: skip
        return found

    # ---- recording a follow-up

    def record_outcome(
        self, case_number: str, outcome: OutcomeScore, *, expected_version: int | None = None
    ) -> CaseView:
        """Add the scores and answers of one follow-up to a case (draft or signed: an addendum, no reopening),
        checked as the whole case is; a timepoint already recorded is refused. Problems of the new outcome are
        named `outcome.FIELD`."""
        current = self.service.get_case(case_number)
        earlier = next((o for o in current.record.outcomes if o.timepoint == outcome.timepoint), None)
        if earlier is not None:
            label = vocab.label(vocab.TIMEPOINTS, outcome.timepoint)
            raise InvalidInput([Problem("outcome.timepoint", f"the {label} follow-up of case {case_number} is "
                                        f"already recorded (dated {earlier.date.isoformat()}); a correction is "
                                        "an edit of the case ('caselog update')")])  # fmt: skip
        where = f"outcomes[{len(current.record.outcomes)}]"
        with _named(where, "outcome"):
            return self.service.add_addendum(
                case_number, outcomes=[_outcome_json(outcome)], expected_version=expected_version
            )

    def record_attempt(
        self, case_number: str, attempt: FollowUpAttempt, *, expected_version: int | None = None
    ) -> CaseView:
        """Add an attempt to reach the patient (could not reach, moved away, declined, died) to a case, as an
        addendum; checked as the whole case is (at most one death, nothing dated after it). Problems of the new
        attempt are named `attempt.FIELD`."""
        current = self.service.get_case(case_number)
        where = f"follow_up_attempts[{len(current.record.follow_up_attempts)}]"
        with _named(where, "attempt"):
            return self.service.add_addendum(
                case_number, follow_up_attempts=[_attempt_json(attempt)], expected_version=expected_version
            )


@contextlib.contextmanager
def _named(where: str, name: str) -> Iterator[None]:
    """Problems found at `where` in the whole case (the new item) named `name` instead."""
    try:
        yield
    except InvalidInput as exc:
        problems = [Problem(name + p.path[len(where) :], p.message) if p.path == where or p.path.startswith(where + ".")
                    else p for p in exc.problems]  # fmt: skip
        raise InvalidInput(problems) from None


def _outcome_json(outcome: OutcomeScore) -> dict[str, Any]:
    """The OUTCOME object of the interchange format, with the fields that hold something."""
    values: dict[str, Any] = {}
    for name in OutcomeScore.__slots__:
        value = getattr(outcome, name)
        if value is not None:
            values[name] = value.isoformat() if isinstance(value, dt.date) else value
    return values


def _attempt_json(attempt: FollowUpAttempt) -> dict[str, Any]:
    return {"timepoint": attempt.timepoint, "date": attempt.date.isoformat(), "result": attempt.result,
            "note": attempt.note}  # fmt: skip


# ---- queries --------------------------------------------------------------------------------------------------


def _due_window(tp: str, today: dt.date, within_days: int, *, overdue: bool,
                upcoming: bool) -> tuple[dt.date, dt.date] | None:  # fmt: skip
    """The due dates the list shows for this timepoint: overdue ones (today back to the grace window) and
    upcoming ones (tomorrow to `within_days` ahead)."""
    first = today - dt.timedelta(days=grace_days(tp)) if overdue else today + dt.timedelta(days=1)
    last = today + dt.timedelta(days=within_days) if upcoming else today
    return (first, last) if first <= last else None


def _final_attempt(today: dt.date) -> ColumnElement[bool]:
    """The case's follow-up has ended by today: a moved-away or declined attempt on it with no outcome dated after
    it (a patient who came back is followed again), or the patient's death recorded on any of their cases (never
    undone by an outcome dated after it: only an edit of the file can put one there)."""
    a, o = attempts_t.c, outcomes_t.c
    came_back = exists().where(o.case_id == a.case_id, o.date > a.date)
    # A death recorded on the patient's other cases: `due` drops those after the query.
    return exists().where(a.case_id == cases_t.c.id, a.result.in_(sorted(vocab.FINAL_FOLLOW_UP_RESULTS)),
                          a.date <= today, or_(a.result == "died", ~came_back))  # fmt: skip


def _deaths(session: Session, today: dt.date) -> dict[int, dt.date]:
    """Patient id -> their death, as recorded on any of their cases on or before today (the earliest). Read from
    the attempts (deaths are few), not case by case."""
    a, c = attempts_t.c, cases_t.c
    stmt = (
        select(c.patient_id, _raw(func.min(a.date)))
        .select_from(attempts_t)
        .join(cases_t, c.id == a.case_id)
        .where(a.result == "died", a.date <= today)
        .group_by(c.patient_id)
    )
    return {patient_id: _day(day) for patient_id, day in session.execute(stmt)}


def _dead_mrns(session: Session, today: dt.date) -> set[str]:
    """The MRNs of patients whose death is recorded on any case on or before today (a few rows)."""
    a, c, p = attempts_t.c, cases_t.c, patients_t.c
    stmt = (
        select(p.mrn)
        .select_from(attempts_t)
        .join(cases_t, c.id == a.case_id)
        .join(patients_t, p.id == c.patient_id)
        .where(a.result == "died", a.date <= today)
    )
    return set(session.execute(stmt).scalars())


def _patient_deaths(session: Session, case_ids: Sequence[int], today: dt.date) -> dict[int, dt.date]:
    """Case id -> the patient's death recorded on any of their cases (`_deaths`), for these cases."""
    deaths = _deaths(session, today)
    if not deaths:
        return {}
    c = cases_t.c
    found: dict[int, dt.date] = {}
    for start in range(0, len(case_ids), _IDS_PER_QUERY):
        part = case_ids[start : start + _IDS_PER_QUERY]
        for case_id, patient_id in session.execute(select(c.id, c.patient_id).where(c.id.in_(part))):
            if patient_id in deaths:
                found[case_id] = deaths[patient_id]
    return found


#: The aliases `_superseding` reads through, made once (an alias copies every column of its table).
_LATER, _EARLIER = cases_t.alias("later"), cases_t.alias("earlier")
_MINE, _THEIRS = levels_t.alias("mine"), levels_t.alias("theirs")


def _superseding(earlier: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    """The later treatments that supersede the case `earlier` (a cases table or alias) as (later cases alias,
    conditions): the same patient, dated after it, a SUPERSEDING procedure, at a level of the earlier case with
    sides overlapping (as `superseded_on`). The joints are compared only for the patient's later treatments (a
    nested EXISTS): most patients have none, and one probe of the patient's cases says so."""
    later, mine, theirs = _LATER, _MINE, _THEIRS
    overlapping = exists().where(
        mine.c.case_id == earlier.c.id, theirs.c.case_id == later.c.id, theirs.c.level == mine.c.level,
        or_(theirs.c.side == mine.c.side, theirs.c.side == "bilateral", mine.c.side == "bilateral"),
    ).correlate_except(mine, theirs)  # fmt: skip
    return later, [
        later.c.patient_id == earlier.c.patient_id, later.c.procedure_date > earlier.c.procedure_date,
        later.c.procedure.in_(sorted(SUPERSEDING)), overlapping,
    ]  # fmt: skip


def _superseded_dates(session: Session, case_ids: Select[Any] | Sequence[int]) -> dict[int, dt.date]:
    """Each of these cases that a later treatment supersedes, with the earliest such treatment's date."""
    earlier = _EARLIER
    later, conditions = _superseding(earlier)
    query = (
        select(earlier.c.id, func.min(_raw(later.c.procedure_date)))
        .where(earlier.c.id.in_(case_ids), *conditions)
        .group_by(earlier.c.id)
    )
    return {case_id: _day(day) for case_id, day in session.execute(query)}


def _due_select(procedure: str, tp: str, low: dt.date, high: dt.date, today: dt.date, surgeon: str | None, *,
                ahead: bool) -> Select[Any]:  # fmt: skip
    """The rows of one procedure and timepoint of the due list: cases dated from `low` to `high` without an
    outcome at `tp`, not ended by a final attempt or by a later treatment dated on or before today; a later
    treatment dated after today (`ahead`: there are cases dated after today) comes as `superseded_on` (the
    follow-ups due after it are not owed)."""
    c = cases_t.c
    later, superseding = _superseding(cases_t)
    conditions = [c.procedure == procedure, c.procedure_date >= low, c.procedure_date <= high,
                  ~exists().where(outcomes_t.c.case_id == c.id, outcomes_t.c.timepoint == tp),
                  ~_final_attempt(today), ~exists().where(*superseding, later.c.procedure_date <= today)]  # fmt: skip
    planned: Any = literal(None)
    if ahead:
        planned = select(func.min(_raw(later.c.procedure_date))).where(*superseding).scalar_subquery()
    if surgeon:
        conditions.append(c.surgeon == surgeon)
    a = attempts_t.c
    tried = and_(a.case_id == c.id, a.timepoint == tp)
    unreached = select(func.count()).where(tried, a.result == "could_not_reach").scalar_subquery()
    last = select(func.max(_raw(a.date))).where(tried).scalar_subquery()
    p, lv = patients_t.c, levels_t.c
    return (
        select(c.id, c.case_number, c.procedure, _raw(c.procedure_date).label("procedure_date"), c.surgeon, p.mrn,
               p.family_name, p.given_name, _raw(p.birth_date).label("birth_date"), literal(tp).label("timepoint"),
               lv.position, lv.level, lv.side, unreached.label("attempts"), last.label("last_attempt"),
               planned.label("superseded_on"))
        .join(patients_t, p.id == c.patient_id)
        .join(levels_t, lv.case_id == c.id)
        .where(and_(*conditions))
    )  # fmt: skip


def _due_items(rows: Iterable[Any], today: dt.date) -> list[DueFollowUp]:
    """One item per case and timepoint from the query's rows (one row per treated level, in the column order of
    _due_select)."""
    levels: dict[tuple[int, str], list[tuple[int, str, str]]] = defaultdict(list)
    first: dict[tuple[int, str], Any] = {}
    for row in rows:
        key = (row[0], row[9])
        first.setdefault(key, row)
        levels[key].append((row[10], row[11], row[12]))
    items = []
    for key, row in first.items():
        _, number, procedure, day, surgeon, mrn, family, given, born, tp, _, _, _, unreached, last, later = row
        treated = sorted(levels[key])
        procedure_date = _day(day)
        due = due_date(procedure_date, tp)
        if later is not None and due > _day(later):  # a later treatment planned before it is due ends it
            continue
        items.append(DueFollowUp(
            number, mrn, f"{family}, {given}" if given else family, _day(born), procedure, procedure_date, surgeon,
            ", ".join(f"{level} {side}" for _, level, side in treated), tp, due,
            "upcoming" if due > today else "overdue", max((today - due).days, 0), unreached,
            None if last is None else _day(last), vocab.region_of(treated[0][1]),
        ))  # fmt: skip
    return items


def _last_procedure_date_due_by(timepoint: str, day: dt.date) -> dt.date:
    """The latest procedure date whose follow-up at `timepoint` falls due on or before `day`."""
    return procedure_dates_due(timepoint, day - dt.timedelta(days=62), day)[1]


#: Case ids per query when looking for later treatments (well under SQLite's and PostgreSQL's parameter limits).
_IDS_PER_QUERY = 5000
#: `FollowUpService.counts` reads the states of the cases whose ids fall in one slice of this many ids at a time.
COUNTS_PER_READ = 20_000

#: Each timepoint's bit in the mask of timepoints a case has outcomes at, in timepoint order.
_BIT = {tp: 1 << i for i, tp in enumerate(vocab.TIMEPOINTS)}


def _plans(schedule: FollowUpSchedule, today: dt.date, *,
           as_text: bool = False) -> dict[str, list[tuple[int, int, Any, Any]]]:  # fmt: skip
    """Per procedure, each owed timepoint as (its bit, the bits of every later timepoint, the last procedure date
    for which it is missed today, the last for which it is due today): `case_follow_up` as date comparisons.
    `as_text`: the dates as ISO text, to compare with dates as SQLite returns them (the text sorts as they do)."""
    plans: dict[str, list[tuple[int, int, Any, Any]]] = {}
    for procedure, timepoints in schedule.entries:
        limits = [(_BIT[tp], ~(2 * _BIT[tp] - 1),
                   _last_procedure_date_due_by(tp, today - dt.timedelta(days=grace_days(tp) + 1)),
                   _last_procedure_date_due_by(tp, today))
                  for tp in timepoints]  # fmt: skip
        plans[procedure] = [(bit, after, missed.isoformat(), due.isoformat()) if as_text else
                            (bit, after, missed, due) for bit, after, missed, due in limits]  # fmt: skip
    return plans


def _states(session: Session, case_ids: Select[Any], today: dt.date, *,
            owners: dict[int, tuple[str, str]] | None = None) -> dict[int, CaseFollowUp]:  # fmt: skip
    """`case_follow_up` for many cases at once: the outcomes come as one row per case (the mask of their
    timepoints and the latest follow-up date, summed up in SQL), the statuses as comparisons of procedure dates
    with each timepoint's limits as of today. tests/test_followup.py checks both give the same states."""
    as_text = session.get_bind().dialect.name == "sqlite"
    plans = _plans(schedule_from_setting(clinic.read_setting(session, SETTING)), today, as_text=as_text)
    o, a, c = outcomes_t.c, attempts_t.c, cases_t.c
    mask = func.sum(case(*((o.timepoint == tp, bit) for tp, bit in _BIT.items()), else_=0))
    contact = func.max(case((o.timepoint != "baseline", o.date), else_=None))
    seen = (
        select(o.case_id, mask.label("mask"), _raw(contact).label("contact"))
        .where(o.case_id.in_(case_ids))
        .group_by(o.case_id)
        .subquery()
    )
    ended: dict[int, list[tuple[str, dt.date, str]]] = defaultdict(list)
    finals = select(a.case_id, a.timepoint, _raw(a.date), a.result).where(
        a.case_id.in_(case_ids), a.result.in_(sorted(vocab.FINAL_FOLLOW_UP_RESULTS))
    )
    for case_id, tp, day, result in session.execute(finals):
        ended[case_id].append((tp, _day(day), result))
    deaths = _deaths(session, today)
    found: dict[int, CaseFollowUp] = {}
    rows = session.execute(
        select(c.id, c.procedure, _raw(c.procedure_date), seen.c.mask, seen.c.contact, c.surgeon, c.patient_id)
        .outerjoin(seen, seen.c.case_id == c.id)
        .where(c.id.in_(case_ids))
    )
    # Procedure dates are compared as the driver returns them (ISO text on SQLite), and a last contact is read
    # once per distinct date: no date object per case (profiled: a third of the loop).
    complete: dict[Any, CaseFollowUp] = {}
    unsettled: list[int] = []  # lost or overdue: a later treatment may have ended their follow-up
    for case_id, procedure, day, done, last, surgeon, patient_id in rows:
        if owners is not None:  # counts: per procedure and surgeon
            owners[case_id] = (procedure, surgeon)
        if patient_id in deaths:
            found[case_id] = CaseFollowUp("died", None if last is None else _day(last), deaths[patient_id])
            continue
        if case_id in ended:
            contact_on = None if last is None else _day(last)
            final = _final(ended[case_id], today, contact_on)
            if final is not None:
                found[case_id] = CaseFollowUp("died" if final[0] == "died" else "lost", contact_on, final[1])
                if final[0] != "died":
                    unsettled.append(case_id)
                continue
        done = done or 0
        state: CaseState = "complete"
        for bit, after, missed_by, due_by in plans.get(procedure, ()):
            if done & bit or day > due_by:
                continue
            if day <= missed_by:
                if not done & after:
                    state = "lost"
                    break
            else:
                state = "overdue"
        if state == "complete":  # most cases: one shared object per last contact
            shared = complete.get(last)
            if shared is None:
                shared = complete[last] = CaseFollowUp("complete", None if last is None else _day(last))
            found[case_id] = shared
        else:
            found[case_id] = CaseFollowUp(state, None if last is None else _day(last))
            unsettled.append(case_id)
    # A later treatment dated on or before today: nothing more owed, not lost for a missed visit, a moved-away or
    # declined dated after it not this case's (case_follow_up). One dated after today ends only follow-ups due
    # after it, which are upcoming: no state changes. A complete case stays complete either way.
    for start in range(0, len(unsettled), _IDS_PER_QUERY):
        part = unsettled[start : start + _IDS_PER_QUERY]
        # Every slice as long as a full one (the last id repeated): one statement text, which the driver keeps
        # prepared once per connection; each length kept its own (0.8 MB each, 16 MB after the counts at 1M).
        part += [part[-1]] * (_IDS_PER_QUERY - len(part))
        for case_id, superseded in _superseded_dates(session, part).items():
            if superseded <= today:
                contact_on = found[case_id].last_contact
                final = _final(ended[case_id], today, contact_on, superseded) if case_id in ended else None
                found[case_id] = (CaseFollowUp("complete", contact_on) if final is None
                                  else CaseFollowUp("lost", contact_on, final[1]))  # fmt: skip
    return found


# ---- lost and died as SQL, for the durability figures --------------------------------------------------------

#: `censoring_state` values: neither lost nor died (complete or overdue), lost to follow-up, died.
FOLLOWED, LOST, DIED = 0, 1, 2


def follow_up_seen(case_ids: Select[Any]) -> Select[Any]:
    """Per selected case with an outcome: the latest timepoint it has one at (`latest`, in timepoint order from 0)
    and its latest follow-up contact (`contact`, baseline is none): what `censoring_state` reads of the outcomes,
    in one grouped pass (joined by the caller instead of read case by case)."""
    o = outcomes_t.c
    order = case(*((o.timepoint == tp, i) for i, tp in enumerate(vocab.TIMEPOINTS)), else_=None)
    contact = func.max(case((o.timepoint != "baseline", o.date), else_=None))
    return (
        select(o.case_id.label("case_id"), func.max(order).label("latest"), contact.label("contact"))
        .where(o.case_id.in_(case_ids))
        .group_by(o.case_id)
    )


def censoring_state(
    session: Session, today: dt.date, seen: Any | None = None, *, few: bool = False
) -> ColumnElement[int]:
    """`_states`' lost and died as one SQL expression over a row of the cases table (FOLLOWED, LOST or DIED): the
    durability figures count the sides lost or died in the database instead of reading every case's follow-up.
    The same rules as conditions: died when the patient's death is recorded on any case by today; lost when a
    moved-away or declined attempt by today has no follow-up contact after it and no superseding treatment before
    it, or when a timepoint of the schedule is missed with no outcome at it or at any later one and no superseding
    treatment by today. `seen`: the columns of `follow_up_seen` joined to the row (else read case by case).
    tests/test_dashboard_aggregation.py checks it against `states`, case by case."""
    schedule = schedule_from_setting(clinic.read_setting(session, SETTING))
    o, a, c = outcomes_t.c, attempts_t.c, cases_t.c
    order = {tp: i for i, tp in enumerate(vocab.TIMEPOINTS)}
    # The latest timepoint the case has an outcome at (-1 without any) and its latest follow-up contact.
    if seen is not None:
        latest, contact = func.coalesce(seen.latest, -1), seen.contact
    else:
        latest = func.coalesce(
            select(func.max(case(*((o.timepoint == tp, i) for tp, i in order.items()), else_=None)))
            .where(o.case_id == c.id)
            .scalar_subquery(),
            -1,
        )
        # Correlated by name to the outer cases row: nested in the attempts' EXISTS, it would not be by itself.
        contact = (
            select(func.max(o.date))
            .where(o.case_id == c.id, o.timepoint != "baseline")
            .correlate(cases_t)
            .scalar_subquery()
        )
    # The latest timepoint of the case's schedule missed as of today (its grace over): `_plans`' limits.
    missed_by = {tp: _last_procedure_date_due_by(tp, today - dt.timedelta(days=grace_days(tp) + 1))
                 for _, timepoints in schedule.entries for tp in timepoints}  # fmt: skip
    missed = case(
        *((and_(c.procedure == procedure, c.procedure_date <= missed_by[tp]), order[tp])
          for procedure, timepoints in schedule.entries for tp in sorted(timepoints, key=order.__getitem__,
                                                                         reverse=True)),
        else_=None,
    )  # fmt: skip
    later, superseding = _superseding(cases_t)
    quitting = sorted(vocab.FINAL_FOLLOW_UP_RESULTS - {"died"})
    dying = cases_t.alias("dying")
    dead = (select(dying.c.patient_id).select_from(attempts_t).join(dying, dying.c.id == a.case_id)
            .where(a.result == "died", a.date <= today))  # fmt: skip
    # For a few cases (`few`: a slice of the dashboard's tallies) each case's own attempts are looked up by index;
    # for many, the attempts are read once into a list (the same conditions).
    died = (exists().where(a.case_id == dying.c.id, dying.c.patient_id == c.patient_id, a.result == "died",
                           a.date <= today) if few else c.patient_id.in_(dead))  # fmt: skip
    ended = and_(
        literal(True) if few else c.id.in_(select(a.case_id).where(a.result.in_(quitting))),
        exists().where(a.case_id == c.id, a.result.in_(quitting), a.date <= today,
                       or_(contact.is_(None), contact <= a.date),
                       ~exists().where(*superseding, later.c.procedure_date < a.date).correlate(cases_t, attempts_t)),
    )  # fmt: skip
    return case(
        (died, DIED),
        (ended, LOST),
        (and_(latest < missed, ~exists().where(*superseding, later.c.procedure_date <= today)), LOST),
        else_=FOLLOWED,
    )


__all__ = [
    "CASE_STATES",
    "DEFAULT_TIMEPOINTS",
    "DIED",
    "FOLLOWED",
    "LOST",
    "SETTING",
    "SUPERSEDING",
    "CaseFollowUp",
    "DueFollowUp",
    "FollowUpCounts",
    "FollowUpSchedule",
    "FollowUpService",
    "case_follow_up",
    "case_timepoints",
    "censoring_state",
    "default_schedule",
    "due_date",
    "expected_window",
    "follow_up_seen",
    "grace_days",
    "next_follow_up",
    "procedure_dates_due",
    "schedule_from_json",
    "schedule_from_setting",
    "sides_overlap",
    "superseded_on",
    "timepoint_status",
    "total_counts",
]
