"""The quality desk's lists: one row per complication across all cases, filtered and sorted in SQL; and every
ablation outside the clinic's indication policy, with the rules it does not meet and the reason recorded.

For quality staff (and everyone who may view cases); the rows are frozen dataclasses the desktop app
shows in a table model and exports. Setting a review goes through `CaseService.set_review`, with the
row's `case_number` and `position`. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import case as sql_case

from caselog import vocab
from caselog.db import queries, store
from caselog.pathway import OutsidePolicyCase
from caselog.policy import PRESETS, IndicationPolicy, preset_of
from caselog.records import CaseFilter
from caselog.service import CaseService
from caselog.validation import case_number_key


@dataclass(frozen=True, slots=True)
class ComplicationFilter:
    """The quality desk's filters; None means "any". Dates are inclusive, on the procedure date (as the
    complication log PDF), so a list and its printed log cover the same complications."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    procedure: str | None = None
    surgeon: str | None = None
    category: str | None = None
    clavien_dindo: str | None = None
    timing: str | None = None
    review_status: str | None = None

    def case_filter(self) -> CaseFilter:
        return CaseFilter(
            date_from=self.date_from, date_to=self.date_to, surgeon=self.surgeon, procedure=self.procedure
        )


@dataclass(frozen=True, slots=True)
class ComplicationEntry:
    """One complication with the case it belongs to; `position` is its index for `CaseService.set_review`."""

    case_number: str
    position: int
    case_status: str
    procedure_date: dt.date
    procedure: str
    surgeon: str
    levels_text: str
    category: str
    description: str | None
    clavien_dindo: str
    timing: str
    onset_date: dt.date
    treatment: str | None
    resolved_date: dt.date | None
    review_status: str
    review_notes: str | None

    @property
    def procedure_label(self) -> str:
        return vocab.label(vocab.PROCEDURES, self.procedure)

    @property
    def category_label(self) -> str:
        return vocab.label(vocab.COMPLICATION_CATEGORIES, self.category)

    @property
    def timing_label(self) -> str:
        return vocab.label(vocab.COMPLICATION_TIMINGS, self.timing)

    @property
    def review_status_label(self) -> str:
        return vocab.label(vocab.REVIEW_STATUSES, self.review_status)


C = store.cases_t.c
K = store.complications_t.c

#: Grades sort by severity (I < II < IIIa < ... < V), not alphabetically; review status in workflow order.
_GRADE_ORDER = sql_case(vocab.GRADE_RANK, value=K.clavien_dindo, else_=len(vocab.GRADE_RANK))
_REVIEW_ORDER = sql_case(
    {s: i for i, s in enumerate(vocab.REVIEW_STATUSES)}, value=K.review_status, else_=len(vocab.REVIEW_STATUSES)
)

#: Sort keys the list accepts; each ends with case number and position, so equal keys keep a stable order.
SORT_KEYS: dict[str, list[Any]] = {
    "case_number": queries.number_order(C.case_number),
    "procedure_date": [C.procedure_date],
    "procedure": [C.procedure, C.procedure_date],
    "surgeon": [C.surgeon, C.procedure_date],
    "category": [K.category, C.procedure_date],
    "clavien_dindo": [_GRADE_ORDER, C.procedure_date],
    "timing": [K.timing, C.procedure_date],
    "onset_date": [K.onset_date],
    "review_status": [_REVIEW_ORDER, C.procedure_date],
    "resolved_date": [K.resolved_date],
}


def _filtered(stmt: Select[Any], f: ComplicationFilter) -> Select[Any]:
    stmt = store.filtered(stmt.select_from(store.complications_t).join(store.cases_t, C.id == K.case_id),
                          f.case_filter())  # fmt: skip
    for column, wanted in (
        (K.category, f.category),
        (K.clavien_dindo, f.clavien_dindo),
        (K.timing, f.timing),
        (K.review_status, f.review_status),
    ):
        if wanted is not None:
            stmt = stmt.where(column == wanted)
    return stmt


def list_complications(
    service: CaseService,
    f: ComplicationFilter | None = None,
    *,
    sort: str = "procedure_date",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[ComplicationEntry]:
    """The complications the filter selects, sorted in SQL (ties by case number and position).

    Raises ValueError for an unknown sort key, rather than silently sorting by something else.
    """
    f = f or ComplicationFilter()
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {sort!r}; one of {', '.join(SORT_KEYS)}")
    keys = [*SORT_KEYS[sort], *queries.number_order(C.case_number), K.position]
    order = [k.desc() if descending else k.asc() for k in keys]
    stmt = _filtered(
        select(C.id, C.case_number, C.status, C.procedure_date, C.procedure, C.surgeon, K.position, K.category,
               K.description, K.clavien_dindo, K.timing, K.onset_date, K.treatment, K.resolved_date, K.review_status,
               K.review_notes),
        f,
    ).order_by(*order).offset(offset)  # fmt: skip
    if limit is not None:
        stmt = stmt.limit(limit)
    with service.reading() as session:
        rows = session.execute(stmt).all()
        levels = queries.levels_text(session, sorted({r.id for r in rows}))
    return [
        ComplicationEntry(
            case_number=r.case_number,
            position=r.position,
            case_status=r.status,
            procedure_date=r.procedure_date,
            procedure=r.procedure,
            surgeon=r.surgeon,
            levels_text=levels.get(r.id, ""),
            category=r.category,
            description=r.description,
            clavien_dindo=r.clavien_dindo,
            timing=r.timing,
            onset_date=r.onset_date,
            treatment=r.treatment,
            resolved_date=r.resolved_date,
            review_status=r.review_status,
            review_notes=r.review_notes,
        )
        for r in rows
    ]


def cases_by_procedure(service: CaseService, case_filter: CaseFilter | None = None) -> dict[str, int]:
    """Cases per procedure in the filter, grouped in SQL: the complication log's denominators, so the log
    needs to load only the cases that had a complication (`CaseFilter(with_complications=True)`)."""
    f = case_filter or CaseFilter()
    with service.reading() as session:
        stmt = store.filtered(select(C.procedure, func.count()), f).group_by(C.procedure)
        return {procedure: int(n) for procedure, n in session.execute(stmt)}


def count_complications(service: CaseService, f: ComplicationFilter | None = None) -> int:
    """How many complications the filter selects (for the list's paging and its heading)."""
    f = f or ComplicationFilter()
    with service.reading() as session:
        return int(session.execute(_filtered(select(func.count()), f)).scalar_one())


def review_counts(service: CaseService, f: ComplicationFilter | None = None) -> dict[str, int]:
    """Complications per review status (every status present, zeros included), within the filter."""
    f = f or ComplicationFilter()
    with service.reading() as session:
        found: dict[str, int] = dict(
            session.execute(_filtered(select(K.review_status, func.count()), f).group_by(K.review_status)).all()
        )
    return {status: int(found.get(status, 0)) for status in vocab.REVIEW_STATUSES}


# ---- cases outside the clinic's policy ----------------------------------------------------------------------

#: Each rule of the policy (caselog.pathway.Finding.rule) in a few words, for the list's "Rule not met" column.
RULE_SHORT: dict[str, str] = {
    "blocks": "Positive blocks",
    "repeat_interval": "Repeat interval",
    "repeat_relief": "Relief before repeat",
    "sessions": "Sessions in 12 months",
}
NO_REASON = "no reason"


@dataclass(frozen=True, slots=True)
class PolicyFilter:
    """The outside-policy list's filters; None means "any". Dates are inclusive, on the procedure date.
    `with_reason`: True lists the cases whose reason was recorded, False those without one."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    surgeon: str | None = None
    procedure: str | None = None
    with_reason: bool | None = None


@dataclass(frozen=True, slots=True)
class OutsidePolicyEntry:
    """One ablation outside the policy, as listed and exported: the case, the rules it does not meet (keys of
    RULE_SHORT, in the check's order, once each), the sentences saying why, and the reason recorded."""

    case_number: str
    case_status: str
    procedure_date: dt.date
    mrn: str
    patient_name: str
    surgeon: str
    procedure: str
    levels_text: str
    rules: tuple[str, ...]
    findings: tuple[str, ...]
    reason: str | None

    @property
    def procedure_label(self) -> str:
        return vocab.label(vocab.PROCEDURES, self.procedure)

    @property
    def rules_text(self) -> str:
        return "; ".join(RULE_SHORT.get(rule, rule) for rule in self.rules)

    @property
    def reason_text(self) -> str:
        return self.reason if self.reason else NO_REASON


def outside_policy_entry(found: OutsidePolicyCase) -> OutsidePolicyEntry:
    case = found.case
    unmet = found.findings
    return OutsidePolicyEntry(
        case_number=case.case_number or "",
        case_status=case.status,
        procedure_date=case.date,
        mrn=found.mrn,
        patient_name=found.patient_name,
        surgeon=case.surgeon,
        procedure=case.procedure,
        levels_text="; ".join(lv.text for lv in case.levels),
        rules=tuple(dict.fromkeys(f.rule for f in unmet)),
        findings=tuple(f.text for f in unmet),
        reason=case.outside_policy_reason or None,
    )


#: Sort keys the list accepts (each ends with the case number, so equal keys keep a stable order).
POLICY_SORT_KEYS: dict[str, Callable[[OutsidePolicyEntry], Any]] = {
    "case_number": lambda e: case_number_key(e.case_number),
    "procedure_date": lambda e: (e.procedure_date, case_number_key(e.case_number)),
    "patient": lambda e: (e.patient_name.casefold(), e.mrn, e.procedure_date, case_number_key(e.case_number)),
    "surgeon": lambda e: (e.surgeon, e.procedure_date, case_number_key(e.case_number)),
    "procedure": lambda e: (e.procedure, e.procedure_date, case_number_key(e.case_number)),
    "levels": lambda e: (e.levels_text, e.procedure_date, case_number_key(e.case_number)),
    "rules": lambda e: (e.rules_text, e.procedure_date, case_number_key(e.case_number)),
    "reason": lambda e: (
        e.reason is None,
        (e.reason or "").casefold(),
        e.procedure_date,
        case_number_key(e.case_number),
    ),
}


def list_outside_policy(
    service: CaseService, f: PolicyFilter | None = None, *, sort: str = "procedure_date", descending: bool = False
) -> list[OutsidePolicyEntry]:
    """Every ablation the filter selects that is outside the clinic's policy (`CaseService.outside_policy`).

    Raises ValueError for an unknown sort key, rather than silently sorting by something else.
    """
    f = f or PolicyFilter()
    if sort not in POLICY_SORT_KEYS:
        raise ValueError(f"unknown sort key {sort!r}; one of {', '.join(POLICY_SORT_KEYS)}")
    found = service.outside_policy(date_from=f.date_from, date_to=f.date_to, surgeon=f.surgeon,
                                   procedure=f.procedure, with_reason=f.with_reason)  # fmt: skip
    entries = [outside_policy_entry(item) for item in found]
    entries.sort(key=POLICY_SORT_KEYS[sort], reverse=descending)
    return entries


def policy_filter_lines(f: PolicyFilter) -> list[tuple[str, str]]:
    """The filters in words, as an export's "Filters" sheet and its audit entry record them."""
    dates = "any" if f.date_from is None and f.date_to is None else f"{f.date_from or '…'} to {f.date_to or '…'}"
    reason = {None: "with or without", True: "recorded", False: "not recorded"}[f.with_reason]
    return [
        ("Procedure date", dates),
        ("Procedure", vocab.label(vocab.PROCEDURES, f.procedure) if f.procedure else "any ablation"),
        ("Surgeon", f.surgeon or "any"),
        ("Reason", reason),
    ]


def policy_in_words(current: IndicationPolicy) -> str:
    """The policy the list is judged against, in one sentence (the preset's name when it is one)."""
    preset = preset_of(current)
    name = PRESETS[preset].label if preset else "the clinic's own rules"
    blocks = current.blocks_required
    return (
        f"Policy – {name}: {blocks} positive block{'s' if blocks > 1 else ''} at "
        f"{current.relief_threshold_percent}% before a first ablation; a repeat {current.repeat_min_interval_months}"
        f" months or more after the last, with {current.repeat_relief_percent}% relief lasting "
        f"{current.repeat_relief_months} months; at most {current.max_sessions_per_12_months} sessions per region "
        "in 12 months."
    )
