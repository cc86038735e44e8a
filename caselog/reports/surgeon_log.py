"""The surgeon's case log PDF, like the logs kept for credentialing: totals, then one line per case.

Identifies patients by MRN only, as credentialing logs do; names stay in the chart.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.platypus import CondPageBreak, Flowable, Spacer, Table, TableStyle

from caselog import vocab
from caselog.records import CaseView
from caselog.reports.common import (
    ALERT,
    AMBER,
    FONT,
    FONT_BOLD,
    NAVY,
    ReportSettings,
    column_widths,
    fmt_date,
    fmt_duration,
    fmt_percent,
    fmt_range,
    frame_width,
    grid_table,
    heading,
    para,
    plain,
    row_table,
    section,
    styles,
    text,
    wrap_lines,
)
from caselog.reports.page import Context, PageContext, render
from caselog.validation import case_number_key

META_TITLE = "CaseLog surgeon case log"
TITLE = "Surgeon case log"
NO_CPT = "(none recorded)"


def write_surgeon_log(
    cases: Sequence[CaseView],
    output: Path,
    *,
    surgeon: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> None:
    """Write the case log of `surgeon` for `cases` (the caller selects that surgeon's cases in the range;
    the dates and the name only label the report).

    An empty selection gives a one-page PDF saying so. Raises InvalidInput (exit 2) before any work
    when the output folder is missing or not writable.
    """
    cases = sorted(cases, key=lambda c: (c.record.procedure_date, case_number_key(c.case_number)))
    width = frame_width(settings, landscape=True)
    scope = fmt_range(date_from, date_to)
    context = Context(
        group="log",
        title=TITLE,
        facility=settings.facility_name or "CaseLog",
        reference=plain(surgeon),
        subline=f"Surgeon: {plain(surgeon)}  ·  {scope}  ·  {len(cases)} cases",
        footer_label=TITLE,
    )

    def make_story() -> list[Flowable]:
        st = styles()
        story: list[Flowable] = [PageContext(context)]
        if not cases:
            story.append(
                para(f"No cases were logged for {text(surgeon)} in this range ({text(scope.lower())}).", st.notice)
            )
            return story
        levels = sum(len(c.record.levels) for c in cases)
        minutes = sum(c.record.duration_minutes for c in cases)
        with_complication = sum(1 for c in cases if c.record.complications)
        drafts = sum(1 for c in cases if c.status not in ("final", "amended"))
        summary = (
            f"<b>{len(cases)}</b> cases, <b>{levels}</b> levels treated, <b>{fmt_duration(minutes)}</b> "
            f"operating time; <b>{with_complication}</b> cases with a complication."
        )
        if drafts:
            summary += f' <font color="#{ALERT.hexval()[2:]}"><b>{drafts}</b> not yet signed (draft).</font>'
        story.append(para(summary, st.body))
        story += _by_procedure(cases, width)
        story += _levels_and_cpt(cases, width)
        story += _case_lines(cases, width)
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=META_TITLE, landscape=True)


def _by_procedure(cases: Sequence[CaseView], width: float) -> list[Flowable]:
    counts: Counter[str] = Counter(c.record.procedure for c in cases)
    levels: Counter[str] = Counter()
    for c in cases:
        levels[c.record.procedure] += len(c.record.levels)
    order = [k for k in vocab.PROCEDURES if k in counts] + sorted(k for k in counts if k not in vocab.PROCEDURES)
    data: list[list[Any]] = [
        [para(text(vocab.label(vocab.PROCEDURES, key))), str(counts[key]), str(levels[key]),
         fmt_percent(counts[key] / len(cases))]
        for key in order
    ]  # fmt: skip
    data.append([para("<b>All procedures</b>"), str(len(cases)), str(sum(levels.values())), fmt_percent(1.0)])
    last = len(data)
    extra = [
        ("FONT", (1, last), (-1, last), FONT_BOLD, 8, 10),
        ("LINEABOVE", (0, last), (-1, last), 0.75, NAVY),
    ]
    widths = [width - 3 * 90.0, 90.0, 90.0, 90.0]
    table = grid_table(["Procedure", "Cases", "Levels", "Share of cases"], data, widths, extra=extra, numeric=(1, 2, 3))
    return [*section("By procedure"), table]


def _levels_and_cpt(cases: Sequence[CaseView], width: float) -> list[Flowable]:
    """Cases by number of levels and by CPT code, side by side (both are short tables)."""
    total = len(cases)
    by_levels: Counter[int] = Counter(len(c.record.levels) for c in cases)
    level_rows = [[str(n), str(by_levels[n]), fmt_percent(by_levels[n] / total)] for n in sorted(by_levels)]
    by_code: Counter[str] = Counter()
    for c in cases:
        for code in c.record.cpt_codes or (NO_CPT,):
            by_code[code] += 1
    codes = sorted(by_code, key=lambda k: (k == NO_CPT, k))
    code_rows = [[code, str(by_code[code]), fmt_percent(by_code[code] / total)] for code in codes]
    gap = 24.0
    half = (width - gap) / 2
    widths = [half - 160, 80.0, 80.0]
    left_table = grid_table(["Levels per case", "Cases", "Share"], level_rows, widths, numeric=(1, 2))
    code_table = grid_table(["CPT code", "Cases listing it", "Share"], code_rows, widths, numeric=(1, 2))
    if len(code_rows) > 25:
        # Too long to sit in a table cell (cells cannot split across pages): stack them instead.
        return [*section("By number of levels"), left_table, *section("By CPT code"), code_table]
    left: list[Flowable] = [*heading("By number of levels"), left_table]
    right_cell: list[Flowable] = [*heading("By CPT code"), code_table]
    pair = Table([[left, "", right_cell]], colWidths=[half, gap, half], hAlign="LEFT")
    pair.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8, 10),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    _, needed = pair.wrap(width, 10_000)
    return [CondPageBreak(needed + 10), Spacer(1, 6), pair]


def _complications_text(case: CaseView) -> str:
    if not case.record.complications:
        return "None"
    return "; ".join(
        f"{vocab.label(vocab.COMPLICATION_CATEGORIES, c.category)} ({c.clavien_dindo})"
        for c in case.record.complications
    )


def _case_lines(cases: Sequence[CaseView], width: float) -> list[Flowable]:
    header = ["Date", "Case", "MRN", "Procedure", "Levels and sides", "CPT", "Duration", "Complications", "Status"]
    widths = column_widths(width, {0: 58.0, 1: 62.0, 2: 70.0, 5: 72.0, 6: 58.0, 8: 50.0}, {3: 0.34, 4: 0.33, 7: 0.33})
    # Plain, pre-wrapped strings instead of Paragraphs: a year's log runs to thousands of rows.
    room = [w - 6 for w in widths]
    rows: list[list[Any]] = []
    row_styles: dict[int, list[tuple[Any, ...]]] = {}
    for index, case in enumerate(cases):
        r = case.record
        procedure = r.procedure_label + (f": {r.procedure_detail}" if r.procedure_detail else "")
        rows.append(
            [
                fmt_date(r.procedure_date),
                case.case_number,
                wrap_lines(r.patient.mrn, room[2]),
                wrap_lines(procedure, room[3]),
                wrap_lines(r.levels_text, room[4]),
                wrap_lines(", ".join(r.cpt_codes), room[5]),
                fmt_duration(r.duration_minutes),
                wrap_lines(_complications_text(case), room[7], FONT_BOLD if r.complications else FONT),
                vocab.label(vocab.CASE_STATUSES, case.status),
            ]
        )
        styles_here: list[tuple[Any, ...]] = []
        if r.complications:
            styles_here.append(("FONT", (7, 0), (7, 0), FONT_BOLD, 8, 10))
        if case.status not in ("final", "amended"):
            styles_here += [("TEXTCOLOR", (8, 0), (8, 0), ALERT), ("FONT", (8, 0), (8, 0), FONT_BOLD, 8, 10)]
        elif case.status == "amended":
            styles_here.append(("TEXTCOLOR", (8, 0), (8, 0), AMBER))
        if styles_here:
            row_styles[index] = styles_here
    table = row_table(header, rows, widths, row_styles=row_styles, numeric=(6,))
    return [*section(f"Cases ({len(cases)})", room=120), table]
