"""The outcomes report PDF: per procedure, the share of follow-ups reaching the minimal clinically important
difference at each timepoint and measure, with Wilson intervals, and the rules it was judged by.

Counts only, never patients: the figures a clinic compares with published claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable

from caselog import outcomes, vocab
from caselog.outcomes import MCIDShare
from caselog.records import CaseFilter
from caselog.reports.common import (
    BLANK,
    ReportSettings,
    fmt_percent,
    fmt_range,
    frame_width,
    grid_table,
    para,
    section,
    short_range,
    styles,
    text,
)
from caselog.reports.page import Context, PageContext, render

META_TITLE = "CaseLog outcomes report"
TITLE = "Outcomes: share reaching MCID"


def rules_text() -> list[str]:
    """The MCID rules in words, each with its source (printed under the tables); the pain scales share one."""
    lines, pains = [], []
    for rule in outcomes.MCID_RULES.values():
        if rule.measure.startswith("nrs_"):
            pains.append(rule)
            continue
        lines.append(f"{outcomes.measure_label(rule.measure)}: at least {rule.points} points better than the "
                     f"case's baseline ({rule.source}).")  # fmt: skip
    if pains:
        rule = pains[0]
        names = ", ".join(outcomes.measure_label(r.measure).removeprefix("NRS ") for r in pains)
        lines.append(f"Pain NRS ({names}): at least {rule.points} points or {rule.percent}% of the baseline better "
                     f"than the case's baseline ({rule.source}).")  # fmt: skip
    lines.append(f"PGIC: {outcomes.PGIC_REACHED_AT_MOST} or less, much or very much improved ({outcomes.PGIC_SOURCE}).")
    lines.append("Not measurable (left out of n): no baseline or no follow-up score, or a baseline too low to improve "
                 "by the difference (0, or under 10 for the ODI and NDI).")  # fmt: skip
    return lines


def _scope(case_filter: CaseFilter) -> str:
    parts = [fmt_range(case_filter.date_from, case_filter.date_to)]
    if case_filter.surgeon:
        parts.append(case_filter.surgeon)
    if case_filter.procedure:
        parts.append(vocab.label(vocab.PROCEDURES, case_filter.procedure))
    if case_filter.level:
        parts.append(case_filter.level)
    if case_filter.status:
        parts.append(vocab.label(vocab.CASE_STATUSES, case_filter.status))
    return "  ·  ".join(parts)


def write_outcomes_report(
    rows: Sequence[MCIDShare],
    output: Path,
    *,
    case_filter: CaseFilter,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> None:
    """One table per procedure (timepoints in order, the region's measures in order); a range with no measurable
    follow-up gives one page saying so. Raises InvalidInput before any work when the folder cannot take it."""
    width = frame_width(settings)
    context = Context(
        group="outcomes",
        title=TITLE,
        facility=settings.facility_name or "CaseLog",
        reference=short_range(case_filter.date_from, case_filter.date_to),
        subline=_scope(case_filter),
        footer_label=TITLE,
    )

    def make_story() -> list[Flowable]:
        st = styles()
        story: list[Flowable] = [PageContext(context)]
        story.append(
            para(
                "Each follow-up is compared with the same case's baseline; a measure counts only where both were "
                "recorded and the baseline left room for the improvement (n). Intervals are 95% Wilson intervals.",
                st.body,
            )
        )
        if not rows:
            story.append(para("No follow-up with a measurable outcome in this selection.", st.notice))
        for procedure, group in groupby(rows, key=lambda r: r.procedure):
            story += _procedure_table(procedure, list(group), width)
        story += section("How MCID is judged", room=80)
        story += [para(text(line), st.body) for line in rules_text()]
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=META_TITLE)


def _procedure_table(procedure: str, rows: list[MCIDShare], width: float) -> list[Flowable]:
    data: list[list[Any]] = []
    for r in rows:
        share = fmt_percent(r.rate.proportion) if r.rate.proportion is not None else BLANK
        data.append(
            [
                text(vocab.label(vocab.TIMEPOINTS, r.timepoint)),
                text(outcomes.measure_label(r.measure)),
                str(r.n),
                str(r.reached),
                share,
                f"{fmt_percent(r.rate.lower)} – {fmt_percent(r.rate.upper)}",
            ]
        )
    header = ["Timepoint", "Measure", "n", "Reached", "Share", "95% CI (Wilson)"]
    widths = [90.0, width - 90.0 - 3 * 64.0 - 110.0, 64.0, 64.0, 64.0, 110.0]
    table = grid_table(header, data, widths, numeric=(2, 3, 4, 5))
    return [*section(vocab.label(vocab.PROCEDURES, procedure), room=120), table]
