"""The complication log PDF for quality review: rates by procedure with Wilson intervals, grades, every event.

Lists case numbers, never patient names: a quality committee reviews events, not people.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy import select
from sqlalchemy.orm import Session

from caselog import vocab
from caselog.db import store
from caselog.records import CaseFilter, CaseView, Complication
from caselog.reports.common import (
    ALERT,
    ALERT_FILL,
    AMBER,
    BLANK,
    FONT,
    FONT_BOLD,
    NAVY,
    ReportSettings,
    column_widths,
    fmt_date,
    fmt_percent,
    fmt_range,
    frame_width,
    grid_table,
    para,
    plain,
    row_table,
    section,
    short_range,
    styles,
    text,
    wrap_lines,
)
from caselog.reports.page import Context, PageContext, render
from caselog.stats import wilson_interval
from caselog.validation import case_number_key

META_TITLE = "CaseLog complication log"
TITLE = "Complication log"

_OPEN_ROW: list[tuple[Any, ...]] = [
    ("BACKGROUND", (0, 0), (-1, 0), ALERT_FILL),
    ("TEXTCOLOR", (0, 0), (-1, 0), ALERT),
    ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8, 10),
    ("LINEBEFORE", (0, 0), (0, 0), 2.5, ALERT),
]
_UNDER_REVIEW_ROW: list[tuple[Any, ...]] = [("TEXTCOLOR", (-1, 0), (-1, 0), AMBER)]

_TIMING_SHORT = {"intraoperative": "Intraoperative", "postoperative": "Postoperative", "late": "Late (>30 d)"}


@dataclass(frozen=True, slots=True)
class RateRow:
    """Cases and cases with at least one complication, for one procedure or in total."""

    label: str
    cases: int
    with_complication: int

    @property
    def rate(self) -> float:
        return self.with_complication / self.cases if self.cases else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.with_complication, self.cases)


def rates_by_procedure(
    cases: Sequence[CaseView], case_counts: Mapping[str, int] | None = None
) -> tuple[list[RateRow], RateRow]:
    """One row per procedure present (contract order), and the total.

    `case_counts` (cases per procedure) gives the denominators when `cases` holds only the cases with
    a complication; without it every case of the range is in `cases` and they are counted here.
    """
    totals: Counter[str] = Counter(case_counts or {})
    affected: Counter[str] = Counter()
    for case in cases:
        if case_counts is None:
            totals[case.record.procedure] += 1
        if case.record.complications:
            affected[case.record.procedure] += 1
    order = [key for key in vocab.PROCEDURES if key in totals] + sorted(k for k in totals if k not in vocab.PROCEDURES)
    rows = [RateRow(vocab.label(vocab.PROCEDURES, key), totals[key], affected[key]) for key in order]
    return rows, RateRow("All procedures", sum(totals.values()), sum(affected.values()))


def cases_for_log(session: Session, case_filter: CaseFilter) -> list[CaseView]:
    """The cases of the range that had a complication, whole, for the log (its denominators come from
    `quality.cases_by_procedure`). Found from the complications table (a few percent of the cases) rather than by
    asking each case of the range whether it has one, then read in batches of whole cases."""
    cases = store.cases_t.c
    found = store.filtered(select(cases.id), case_filter).where(cases.id.in_(select(store.complications_t.c.case_id)))
    ids = list(session.execute(found.order_by(cases.procedure_date, cases.case_number)).scalars())
    return store.load_views(session, ids)


def write_complication_log(
    cases: Sequence[CaseView],
    output: Path,
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
    case_counts: Mapping[str, int] | None = None,
    audit_head: str | None = None,
) -> None:
    """Write the complication log for `cases`: every case in the range, with or without complications
    (the rates need the denominator). The caller selects the cases; the dates only label the report.

    Or, faster on a large range: `cases` only those with a complication and `case_counts` the number of
    cases per procedure in the range (`caselog.quality.cases_by_procedure`); the PDF is the same.

    An empty range gives a one-page PDF saying so. Raises InvalidInput (exit 2) before any work when
    the output folder is missing or not writable. `audit_head` ("Audit trail: entry N, head …") is printed
    under the title, so an auditor can compare the report with the trail.
    """
    cases = sorted(cases, key=lambda c: (c.record.procedure_date, case_number_key(c.case_number)))
    case_total = len(cases) if case_counts is None else sum(case_counts.values())
    events = [(case, c) for case in cases for c in case.record.complications]
    open_reviews = sum(1 for _, c in events if c.review_status == "open")
    width = frame_width(settings, landscape=True)
    scope = fmt_range(date_from, date_to)
    context = Context(
        group="log",
        title=TITLE,
        facility=settings.facility_name or "CaseLog",
        reference=short_range(date_from, date_to),
        subline=f"{scope}  ·  {case_total} cases  ·  {len(events)} complications  ·  {open_reviews} reviews open"
        + (f"  ·  {audit_head}" if audit_head else ""),
        footer_label=TITLE,
    )

    def make_story() -> list[Flowable]:
        st = styles()
        story: list[Flowable] = [PageContext(context)]
        if not case_total:
            story.append(para(f"No cases were logged in this range ({text(scope.lower())}).", st.notice))
            return story
        rows, total = rates_by_procedure(cases, case_counts)
        low, high = total.interval
        story.append(
            para(
                f"<b>{total.cases}</b> cases, <b>{total.with_complication}</b> with at least one complication "
                f"({fmt_percent(total.rate)}, 95% CI {fmt_percent(low)} to {fmt_percent(high)}); "
                f"<b>{len(events)}</b> complications in all, <b>{open_reviews}</b> with the review still open.",
                st.body,
            )
        )
        story += _procedure_table(rows, total, width)
        story += _grade_table(cases, case_total, events, width)
        story += _event_table(events, width)
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=META_TITLE, landscape=True)


def _rate_cells(row: RateRow) -> list[str]:
    low, high = row.interval
    return [
        str(row.cases),
        str(row.with_complication),
        fmt_percent(row.rate) if row.cases else BLANK,
        f"{fmt_percent(low)} – {fmt_percent(high)}" if row.cases else BLANK,
    ]


def _procedure_table(rows: list[RateRow], total: RateRow, width: float) -> list[Flowable]:
    data: list[list[Any]] = [[para(text(r.label)), *_rate_cells(r)] for r in rows]
    data.append([para(f"<b>{text(total.label)}</b>"), *_rate_cells(total)])
    last = len(data)
    extra = [
        ("FONT", (1, last), (-1, last), FONT_BOLD, 8, 10),
        ("LINEABOVE", (0, last), (-1, last), 0.75, NAVY),
    ]
    header = ["Procedure", "Cases", "Cases with a\ncomplication", "Rate", "95% CI (Wilson)"]
    widths = [width - 4 * 92.0, 92.0, 92.0, 92.0, 92.0]
    return [*section("By procedure"), grid_table(header, data, widths, extra=extra, numeric=(1, 2, 3, 4))]


def _grade_table(
    cases: Sequence[CaseView], case_total: int, events: Sequence[tuple[CaseView, Complication]], width: float
) -> list[Flowable]:
    by_grade: Counter[str] = Counter(c.clavien_dindo for _, c in events)
    cases_by_grade: Counter[str] = Counter()
    for case in cases:
        for grade in {c.clavien_dindo for c in case.record.complications}:
            cases_by_grade[grade] += 1
    grades = list(vocab.CLAVIEN_DINDO_GRADES) + sorted(g for g in by_grade if g not in vocab.CLAVIEN_DINDO_GRADES)
    data: list[list[Any]] = []
    for grade in grades:
        share = fmt_percent(by_grade[grade] / len(events)) if events else BLANK
        data.append(
            [
                para(f"<b>{text(grade)}</b>"),
                para(text(vocab.label(vocab.CLAVIEN_DINDO_GRADES, grade))),
                str(by_grade[grade]),
                share,
                str(cases_by_grade[grade]),
                fmt_percent(cases_by_grade[grade] / case_total),
            ]
        )
    header = ["Grade", "Meaning", "Complications", "Share of\ncomplications", "Cases", "Share of\ncases"]
    widths = [48.0, width - 48.0 - 4 * 84.0, 84.0, 84.0, 84.0, 84.0]
    table = grid_table(header, data, widths, numeric=(2, 3, 4, 5))
    return [*section("By Clavien-Dindo grade", room=170), table]


def _event_table(events: Sequence[tuple[CaseView, Complication]], width: float) -> list[Flowable]:
    st = styles()
    title = section(f"Complications ({len(events)})", room=150)
    if not events:
        return [*title, para("No complications recorded in this range.", st.body)]
    legend = Paragraph(
        f'Rows in <font color="#{ALERT.hexval()[2:]}"><b>bold red</b></font> have their review still open.',
        st.muted,
    )
    header = ["Case", "Procedure\ndate", "Procedure", "Levels", "Complication", "Grade", "Timing", "Onset", "Review"]
    widths = column_widths(width, {0: 64.0, 1: 60.0, 5: 38.0, 6: 78.0, 7: 60.0, 8: 62.0}, {2: 0.30, 3: 0.28, 4: 0.42})
    # Plain, pre-wrapped strings instead of Paragraphs: this table may run to thousands of rows.
    room = [w - 6 for w in widths]
    rows: list[list[Any]] = []
    row_styles: dict[int, list[tuple[Any, ...]]] = {}
    for index, (case, c) in enumerate(events):
        is_open = c.review_status == "open"
        font = FONT_BOLD if is_open else FONT
        category = vocab.label(vocab.COMPLICATION_CATEGORIES, c.category)
        if c.description:
            category += f": {c.description}"
        procedure = case.record.procedure_label
        if case.record.procedure_detail:
            procedure += f": {case.record.procedure_detail}"
        rows.append(
            [
                case.case_number,
                fmt_date(case.record.procedure_date),
                wrap_lines(procedure, room[2], font),
                wrap_lines(case.record.levels_text, room[3], font),
                wrap_lines(category, room[4], font),
                plain(c.clavien_dindo),
                _TIMING_SHORT.get(c.timing, plain(c.timing)),
                fmt_date(c.onset_date),
                vocab.label(vocab.REVIEW_STATUSES, c.review_status),
            ]
        )
        if is_open:
            row_styles[index] = _OPEN_ROW
        elif c.review_status == "under_review":
            row_styles[index] = _UNDER_REVIEW_ROW
    return [*title, legend, Spacer(1, 4), row_table(header, rows, widths, row_styles=row_styles)]
