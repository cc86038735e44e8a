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

from reportlab.lib.colors import Color, white
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from caselog import vocab
from caselog.db import queries, store
from caselog.records import CaseFilter, CaseView
from caselog.reports import scripts
from caselog.reports.common import (
    ALERT,
    ALERT_FILL,
    AMBER,
    BLANK,
    FONT,
    FONT_BOLD,
    INK,
    NAVY,
    RULE,
    STRIPE,
    ReportSettings,
    RunLines,
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
from caselog.reports.rowtable import LEADING, TOP_PAD, RowTable
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
class LogEvent:
    """One complication as the log lists it, with the fields of its case the row prints (nothing else: the log
    never needs a case's outcomes, follow-ups or patient)."""

    case_number: str
    procedure_date: dt.date
    procedure: str
    procedure_detail: str | None
    levels_text: str
    category: str
    description: str | None
    clavien_dindo: str
    timing: str
    onset_date: dt.date
    review_status: str


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


def events_of(cases: Sequence[CaseView]) -> list[LogEvent]:
    """The log's rows of whole cases (every complication of each, in its order)."""
    return [
        LogEvent(
            case.case_number, case.record.procedure_date, case.record.procedure, case.record.procedure_detail,
            case.record.levels_text, c.category, c.description, c.clavien_dindo, c.timing, c.onset_date,
            c.review_status,
        )
        for case in cases
        for c in case.record.complications
    ]  # fmt: skip


def events_for_log(session: Session, case_filter: CaseFilter, *, batch: int = 2000) -> list[LogEvent]:
    """Every complication of the cases in the filter, in log order, with only what its row prints: the
    complications joined to their cases (a few percent of the cases) read `batch` rows at a time, each batch with
    its cases' levels. Outcomes, follow-up attempts and patients are never read: the log does not print them."""
    cases, found = store.cases_t.c, store.complications_t.c
    stmt = store.filtered(
        select(cases.id, cases.case_number, cases.procedure_date, cases.procedure, cases.procedure_detail,
               found.category, found.description, found.clavien_dindo, found.timing, found.onset_date,
               found.review_status)
        .select_from(store.complications_t)
        .join(store.cases_t, cases.id == found.case_id),
        case_filter,
    ).order_by(cases.procedure_date, *queries.number_order(cases.case_number), found.position)  # fmt: skip
    events: list[LogEvent] = []
    for rows in session.execute(stmt.execution_options(yield_per=batch)).partitions():
        levels = queries.levels_text(session, sorted({r.id for r in rows}))
        events += [
            LogEvent(r.case_number, r.procedure_date, r.procedure, r.procedure_detail, levels.get(r.id, ""),
                     r.category, r.description, r.clavien_dindo, r.timing, r.onset_date, r.review_status)
            for r in rows
        ]  # fmt: skip
    return events


def rates_by_procedure(events: Sequence[LogEvent], case_counts: Mapping[str, int]) -> tuple[list[RateRow], RateRow]:
    """One row per procedure present (contract order), and the total: `case_counts` are the cases per procedure
    in the range (the denominators), the cases with a complication are counted from `events`."""
    totals: Counter[str] = Counter(case_counts)
    affected = Counter(procedure for _, procedure in {(e.case_number, e.procedure) for e in events})
    order = [key for key in vocab.PROCEDURES if key in totals] + sorted(k for k in totals if k not in vocab.PROCEDURES)
    rows = [RateRow(vocab.label(vocab.PROCEDURES, key), totals[key], affected[key]) for key in order]
    return rows, RateRow("All procedures", sum(totals.values()), sum(affected.values()))


@dataclass(frozen=True, slots=True)
class LoggedRange:
    """What the log prints of a date range, read without loading a case whole: the rows of its complications
    (`events_for_log`) and its number of cases per procedure (`quality.cases_by_procedure`), in any order."""

    events: Sequence[LogEvent]
    case_counts: Mapping[str, int]


def write_complication_log(
    cases: Sequence[CaseView] | LoggedRange,
    output: Path,
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
    audit_head: str | None = None,
) -> None:
    """Write the complication log of `cases`: every case in the range, with or without complications (the rates
    need the denominator), or for a large range the same as a `LoggedRange`, which gives the same PDF. The caller
    selects the cases; the dates only label the report.

    An empty range gives a one-page PDF saying so. Raises InvalidInput (exit 2) before any work when
    the output folder is missing or not writable. `audit_head` ("Audit trail: entry N, head …") is printed
    under the title, so an auditor can compare the report with the trail.
    """
    if isinstance(cases, LoggedRange):
        events, case_counts = cases.events, cases.case_counts
    else:
        events, case_counts = events_of(cases), Counter(case.record.procedure for case in cases)
    events = sorted(events, key=lambda e: (e.procedure_date, case_number_key(e.case_number)))  # stable: in order
    case_total = sum(case_counts.values())
    open_reviews = sum(1 for e in events if e.review_status == "open")
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
        rows, total = rates_by_procedure(events, case_counts)
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
        story += _grade_table(case_total, events, width)
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


def _grade_table(case_total: int, events: Sequence[LogEvent], width: float) -> list[Flowable]:
    by_grade: Counter[str] = Counter(e.clavien_dindo for e in events)
    cases_by_grade = Counter(grade for _, grade in {(e.case_number, e.clavien_dindo) for e in events})
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


def _event_table(events: Sequence[LogEvent], width: float) -> list[Flowable]:
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
    # Plain, pre-wrapped strings instead of Paragraphs: this table may run to thousands of rows. The same texts
    # recur (a procedure, its levels, a category), so each is wrapped once.
    room = [w - 6 for w in widths]
    wrapped: dict[tuple[str, int, str], str | RunLines] = {}

    def wrap(value: str, column: int, font: str) -> str | RunLines:
        key = (value, column, font)
        found = wrapped.get(key)
        if found is None:
            found = wrapped[key] = wrap_lines(value, room[column], font)
        return found

    rows: list[list[Any]] = []
    row_styles: dict[int, list[tuple[Any, ...]]] = {}
    for index, e in enumerate(events):
        is_open = e.review_status == "open"
        font = FONT_BOLD if is_open else FONT
        category = vocab.label(vocab.COMPLICATION_CATEGORIES, e.category)
        if e.description:
            category += f": {e.description}"
        procedure = vocab.label(vocab.PROCEDURES, e.procedure)
        if e.procedure_detail:
            procedure += f": {e.procedure_detail}"
        rows.append(
            [
                e.case_number,
                fmt_date(e.procedure_date),
                wrap(procedure, 2, font),
                wrap(e.levels_text, 3, font),
                wrap(category, 4, font),
                plain(e.clavien_dindo),
                _TIMING_SHORT.get(e.timing, plain(e.timing)),
                fmt_date(e.onset_date),
                vocab.label(vocab.REVIEW_STATUSES, e.review_status),
            ]
        )
        if is_open:
            row_styles[index] = _OPEN_ROW
        elif e.review_status == "under_review":
            row_styles[index] = _UNDER_REVIEW_ROW
    table = row_table(header, rows, widths, row_styles=row_styles)
    drawn = EventRows(table.header, table.rows, table.col_widths, style=table.style, row_styles=table.row_styles,
                      heights=table.heights)  # fmt: skip
    return [*title, legend, Spacer(1, 4), drawn]


HEADER_FORM = "CaseLogEventHeader"
SIZE = 8.0  # the table's text size (its leading is rowtable.LEADING)
PAD = 3.0  # left padding of every cell


class EventRows(RowTable):
    """The event table, paged as `RowTable` pages it, each page's rows drawn straight on the canvas: reportlab's
    Table gave every string a text object and a cell style of its own, over half of the log's time at a million
    cases (26,694 complications). The header row is drawn once, by a Table, into a form every page reuses. What is
    drawn is what the Table drew: the same stripes, rules, padding, fonts, colours and row styles (the commands of
    `_OPEN_ROW` and `_UNDER_REVIEW_ROW`), and the text in the same order."""

    def _page(self, start: int, end: int) -> Flowable:
        return _PageOfRows(self, start, end)

    def header_form(self, canv: Canvas) -> None:
        """Define the header row's form on first use (one per document)."""
        if canv.hasForm(HEADER_FORM):
            return
        height = self._header_h(self.width)
        header = Table([self.header], colWidths=self.col_widths, rowHeights=[height], hAlign="LEFT")
        header.setStyle(TableStyle(self.style))
        # The form's box reaches past the row on every side: the rule under it has round caps.
        canv.beginForm(HEADER_FORM, -PAD, -PAD, self.width + PAD, height + PAD)
        header.wrapOn(canv, self.width, 10_000)
        header.drawOn(canv, 0, 0)
        canv.endForm()

    def draw_rows(self, canv: Canvas, start: int, end: int, height: float) -> None:
        """Rows start..end under the header, the table's top at `height`."""
        header_h = self._header_h(self.width)
        self.header_form(canv)
        lefts = [sum(self.col_widths[:i]) for i in range(len(self.col_widths))]
        bottoms: list[float] = []
        top = height - header_h
        for index in range(start, end):
            top -= self.heights[index]
            bottoms.append(top)
        looks = [_row_look(self.row_styles.get(index, ()), len(lefts)) for index in range(start, end)]
        canv.saveState()
        # Backgrounds first (the stripes start afresh on every page, as each page's Table had them), then the
        # header row, the rows' text and their rules over them: the Table's picture, its text in its order.
        for offset, look in enumerate(looks):
            canv.setFillColor(STRIPE if offset % 2 else white)
            canv.rect(0, bottoms[offset], self.width, self.heights[start + offset], stroke=0, fill=1)
            if look.background is not None:
                canv.setFillColor(look.background)
                canv.rect(0, bottoms[offset], self.width, self.heights[start + offset], stroke=0, fill=1)
        canv.saveState()
        canv.translate(0, height - header_h)
        canv.doForm(HEADER_FORM)
        canv.restoreState()
        self._draw_text(canv, start, bottoms, looks, lefts)
        canv.setLineCap(1)
        canv.setLineJoin(1)
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.25)
        canv.lines([(0, y, self.width, y) for y in bottoms])
        for offset, look in enumerate(looks):
            if look.line_before is not None:
                weight, colour = look.line_before
                canv.setStrokeColor(colour)
                canv.setLineWidth(weight)
                canv.line(0, bottoms[offset] + self.heights[start + offset], 0, bottoms[offset])
        canv.restoreState()

    def _draw_text(
        self, canv: Canvas, start: int, bottoms: Sequence[float], looks: Sequence[_RowLook], lefts: Sequence[float]
    ) -> None:
        """Every cell's lines in one text object, row by row and cell by cell (the Table's reading order)."""
        out = canv.beginText()
        current: tuple[str, Color | None] = ("", None)
        for offset, look in enumerate(looks):
            first = bottoms[offset] + self.heights[start + offset] - TOP_PAD - SIZE
            for column, cell in enumerate(self.rows[start + offset]):
                font, colour = look.fonts[column], look.colours[column]
                if colour is not current[1]:
                    out.setFillColor(colour)
                if font != current[0]:
                    out.setFont(font, SIZE, LEADING)
                current = (font, colour)
                x = lefts[column] + PAD
                if isinstance(cell, RunLines):
                    for number, line in enumerate(cell.lines):
                        out.setTextOrigin(x, first - LEADING * number)
                        for run in scripts.runs(line, cell.font):
                            out.setFont(run.font, SIZE, LEADING)
                            out.textOut(run.text)
                    current = ("", colour)
                    continue
                for number, line in enumerate(cell.split("\n")):
                    if line:
                        out.setTextOrigin(x, first - LEADING * number)
                        out.textLine(line)
        canv.drawText(out)


class _PageOfRows(Flowable):  # type: ignore[misc]
    """One page's share of an `EventRows`: its header and rows start..end."""

    def __init__(self, table: EventRows, start: int, end: int) -> None:
        super().__init__()
        self.table = table
        self.start = start
        self.end = end
        self.width = table.width
        self.height = table._header_h(table.width) + sum(table.heights[start:end])

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        self.table.draw_rows(self.canv, self.start, self.end, self.height)


@dataclass(frozen=True, slots=True)
class _RowLook:
    """How one row is drawn: its background, a rule before it, and each cell's font and text colour."""

    background: Color | None
    line_before: tuple[float, Color] | None
    fonts: list[str]
    colours: list[Color]


def _row_look(commands: Sequence[tuple[Any, ...]], columns: int) -> _RowLook:
    """A row's look from its style commands (as `RowTable.row_styles` holds them, written for row 0)."""
    fonts = [FONT] * columns
    colours: list[Color] = [INK] * columns
    background: Color | None = None
    line_before: tuple[float, Color] | None = None
    for name, (c0, _), (c1, _), *args in commands:
        cells = range(columns)[c0 : (c1 % columns) + 1]
        if name == "BACKGROUND":
            background = args[0]
        elif name == "TEXTCOLOR":
            for column in cells:
                colours[column] = args[0]
        elif name == "FONT":
            for column in cells:
                fonts[column] = args[0]
        elif name == "LINEBEFORE":
            line_before = (args[0], args[1])
        else:
            raise ValueError(f"the event table does not draw {name!r}")
    return _RowLook(background, line_before, fonts, colours)
