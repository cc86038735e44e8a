"""The durability report PDF: how long relief lasts after ablations and rhizotomies, with honest uncertainty.

Kaplan-Meier curves with their 95% bands and the lost-as-repeats sensitivity line, the numbers at risk, the
sides lost to follow-up and died beside every curve, relief at 6 to 60 months, the clinic's published claims
beside its own figures, and the log-rank test. Counts only: no patient is named. No database, no Qt.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Spacer

from caselog import vocab
from caselog.durability import (
    AT_RISK_MONTHS,
    CENSORING_RULE,
    DAYS_PER_MONTH,
    ClaimCheck,
    Durability,
    DurabilityCurve,
    ReliefAt,
    months_of,
)
from caselog.reports.common import (
    BLANK,
    FONT,
    FONT_BOLD,
    INK,
    MUTED,
    NAVY,
    RULE,
    ReportSettings,
    column_widths,
    frame_width,
    grid_table,
    para,
    section,
    styles,
    text,
)
from caselog.reports.page import Context, PageContext, render
from caselog.stats import KaplanMeier
from caselog.tables import label

META_TITLE = "CaseLog durability of relief"
TITLE = "Durability of relief"
#: One colour per procedure, as in the case summary's pain chart.
COLOURS: dict[str, Color] = {
    "radiofrequency_ablation": colors.HexColor("#1F5FA8"),
    "endoscopic_rhizotomy": colors.HexColor("#C75B12"),
}
OTHER_COLOUR = colors.HexColor("#5A6472")


def write_durability_report(
    durability: Durability,
    output: Path,
    *,
    settings: ReportSettings,
    filters: Mapping[str, str],
    generated_at: dt.datetime | None = None,
) -> None:
    """Write the durability report for figures already computed (`caselog.durability`), `filters` in words.

    Raises InvalidInput (exit 2) before any work when the output folder is missing or not writable."""
    width = frame_width(settings, landscape=True)
    scope = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in filters.items()) or "All cases"
    sides = sum(c.n for c in durability.curves)
    context = Context(
        group="durability", title=TITLE, facility=settings.facility_name or "CaseLog", reference="Durability",
        subline=f"{scope}  ·  {sides} treated sides  ·  {sum(c.patients for c in durability.curves)} patients",
        footer_label=TITLE,
    )  # fmt: skip

    def make_story() -> list[Flowable]:
        st = styles()
        story: list[Flowable] = [PageContext(context)]
        story.append(para(text(CENSORING_RULE), st.body))
        if not durability.curves:
            story.append(para("No ablation or rhizotomy matches these filters.", st.notice))
            return story
        story.append(
            para(
                "Time from the procedure to the next ablation or rhizotomy of the same patient at the same level "
                "and side. Solid line: sides censored at their last contact, with the shaded 95% band "
                "(exponential Greenwood). Dashed line: the same sides with every side lost to follow-up counted "
                "as treated again on its last contact, the worst case; the truth lies between the two.",
                st.muted,
            )
        )
        story.append(Spacer(1, 4))
        story.append(DurabilityChart(durability.curves, width, 250))
        story += _at_risk_table(durability.curves, width)
        story += _summary_table(durability.curves, width)
        story += _relief_table(durability.curves, width)
        story += _claims_table(durability.claims, width)
        story += _comparison(durability)
        story.append(Spacer(1, 6))
        story.append(
            para(
                "Every number behind these figures, the curves' steps included, is in "
                "<b>caselog report durability --format csv</b> (or json).",
                st.muted,
            )
        )
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=META_TITLE, landscape=True)


def colour(procedure: str) -> Color:
    return COLOURS.get(procedure, OTHER_COLOUR)


def fmt_share(value: float | None) -> str:
    return BLANK if value is None else f"{100 * value:.1f}%"


def fmt_relief(relief: ReliefAt | None) -> str:
    """ "62.5% (48.1–74.0)", or the blank mark when nobody was followed that long."""
    if relief is None or relief.survival is None or relief.lower is None or relief.upper is None:
        return BLANK
    return f"{100 * relief.survival:.1f}% ({100 * relief.lower:.1f}–{100 * relief.upper:.1f})"


def fmt_months(days: float | None) -> str:
    months = months_of(days)
    return "not reached" if months is None else f"{months:.1f} mo"


def fmt_median(days: float | None, ci: tuple[float | None, float | None]) -> str:
    """ "8.2 mo (95% CI 6.0 to 11.4)"; an edge the band never brings to 50% reads "not reached"."""
    low, high = (None if d is None else f"{months_of(d):.1f}" for d in ci)
    interval = "95% CI not reached" if low is None else f"95% CI {low} to {high or 'not reached'}"
    return f"{fmt_months(days)} ({interval})"


def _at_risk_table(curves: Sequence[DurabilityCurve], width: float) -> list[Flowable]:
    header = ["Sides at risk", "0 mo", *(f"{m} mo" for m in AT_RISK_MONTHS)]
    rows = [[para(text(label(c.procedure))), str(c.n), *(str(a.at_risk) for a in c.at_risk)] for c in curves]
    first = width - 58.0 * (len(header) - 1)
    return [grid_table(header, rows, [first] + [58.0] * (len(header) - 1), numeric=tuple(range(1, len(header))))]


def _summary_table(curves: Sequence[DurabilityCurve], width: float) -> list[Flowable]:
    header = ["Procedure", "Treated\nsides", "Patients", "Repeats", "Censored", "Lost to\nfollow-up", "Died",
              "Never\nseen again", "Median (95% CI)", "Median, lost\ncounted as repeats"]  # fmt: skip
    rows = []
    for c in curves:
        worst = c.sensitivity
        rows.append([
            para(text(label(c.procedure))), str(c.n), str(c.patients), str(c.repeats), str(c.censored), str(c.lost),
            str(c.died), str(c.no_contact), para(text(fmt_median(c.median_days, c.median_ci_days))),
            para(text(fmt_median(worst.median_days, worst.median_ci_days))) if worst else BLANK,
        ])  # fmt: skip
    widths = column_widths(width, {i: 52.0 for i in range(1, 8)}, {0: 0.30, 8: 0.35, 9: 0.35})
    note = para(
        "Sides, not patients: a bilateral level is two sides, and one patient's sides are not independent. Lost: "
        "censored sides whose follow-up is lost (moved away, declined, or a missed visit with no later one); died: "
        "ended by death; never seen again: censored at day 0.",
        styles().muted,
    )
    return [*section("Treated sides, loss to follow-up and the median", room=120),
            grid_table(header, rows, widths, numeric=tuple(range(1, 8))), Spacer(1, 2), note]  # fmt: skip


def _relief_table(curves: Sequence[DurabilityCurve], width: float) -> list[Flowable]:
    header = ["Procedure", "Curve", *(f"{m} months" for m in AT_RISK_MONTHS)]
    rows = []
    for c in curves:
        rows.append([para(text(label(c.procedure))), "Censored at last contact", *map(fmt_relief, c.relief)])
        worst = c.sensitivity.relief if c.sensitivity else ()
        rows.append(["", "Lost counted as repeats", *map(fmt_relief, worst)])
    widths = column_widths(width, {1: 118.0, **{i: 96.0 for i in range(2, 2 + len(AT_RISK_MONTHS))}}, {0: 1.0})
    note = para("Share of sides not yet treated again (95% interval); a dash where no side was followed that long.",
                styles().muted)  # fmt: skip
    return [*section("Relief at 6, 12, 24, 36 and 60 months", room=110),
            grid_table(header, rows, widths, numeric=tuple(range(2, len(header)))), Spacer(1, 2), note]  # fmt: skip


def _claims_table(claims: Sequence[ClaimCheck], width: float) -> list[Flowable]:
    header = ["Procedure", "Published claim", "Source", "Sides", "The clinic's median (95% CI)",
              "Relief at 12 months", "Relief at 60 months"]  # fmt: skip
    rows = [
        [para(text(label(k.claim.procedure))), para(f"<b>{text(k.claim.claim)}</b>"), para(text(k.claim.source)),
         str(k.sides), para(text(fmt_median(k.median_days, k.median_ci_days))) if k.sides else BLANK,
         fmt_relief(k.relief_12),
         fmt_relief(k.relief_60)]
        for k in claims
    ]  # fmt: skip
    widths = column_widths(width, {3: 40.0, 4: 150.0, 5: 100.0, 6: 100.0}, {0: 0.34, 1: 0.26, 2: 0.40})
    return [*section("Published claims beside the clinic's own figures", room=90),
            grid_table(header, rows, widths, numeric=(3,))]  # fmt: skip


def _comparison(durability: Durability) -> list[Flowable]:
    st = styles()
    title = section("Endoscopic rhizotomy against RFA: log-rank test", room=70)
    comparison = durability.comparison
    if comparison is None:
        return [*title, para("Not computed: it needs sides of both procedures.", st.body)]
    r = comparison.result
    if r.statistic is None or r.p_value is None:
        return [*title, para("Not computed: one of the procedures has no sides.", st.body)]
    p_text = "p < 0.0001" if r.p_value < 1e-4 else f"p = {r.p_value:.4f}"
    return [
        *title,
        para(
            f"{text(label(comparison.procedure_a))}: {r.observed_a} repeats observed, {r.expected_a:.1f} expected "
            f"if both shared one curve; {text(label(comparison.procedure_b))}: {r.observed_b} observed, "
            f"{r.expected_b:.1f} expected. Chi-square {r.statistic:.2f} on {r.degrees_of_freedom} degree of "
            f"freedom, <b>{p_text}</b>.",
            st.body,
        ),
        para(
            "The test treats every side as independent; sides of one patient are not, so the p-value is too small "
            "when many patients contribute two or more sides. Patients were not randomised between the procedures.",
            st.muted,
        ),
    ]


class DurabilityChart(Flowable):  # type: ignore[misc]
    """Step curves of the share of sides not yet treated again, each with its shaded 95% band and, dashed,
    the sensitivity line that counts lost sides as repeats."""

    def __init__(self, curves: Sequence[DurabilityCurve], width: float, height: float) -> None:
        super().__init__()
        self.curves = list(curves)
        self.width = width
        self.height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def months_shown(self) -> int:
        """The x axis: whole years reaching past the last follow-up (at least one year)."""
        last = max((s.time for c in self.curves for s in c.curve.steps), default=0.0) / DAYS_PER_MONTH
        return max(12, 12 * math.ceil(last / 12))

    def draw(self) -> None:
        c = self.canv
        left, bottom, right_pad, top_pad = 34.0, 26.0, 8.0, 32.0
        plot_w, plot_h = self.width - left - right_pad, self.height - bottom - top_pad
        months = self.months_shown()

        def x_of(days: float) -> float:
            return left + plot_w * min(days / DAYS_PER_MONTH, months) / months

        def y_of(share: float) -> float:
            return bottom + plot_h * share

        c.saveState()
        self._axes(c, left, bottom, plot_w, plot_h, months)
        for curve in self.curves:
            tint = colour(curve.procedure)
            self._band(c, curve.curve, tint, x_of, y_of)
        for curve in self.curves:
            tint = colour(curve.procedure)
            if curve.sensitivity is not None:
                self._steps(c, curve.sensitivity.curve, tint, x_of, y_of, width=1.1, dash=(4, 2.5))
            self._steps(c, curve.curve, tint, x_of, y_of, width=1.8, dash=None)
        self._legend(c, left, self.height - 10)
        c.restoreState()

    def _axes(self, c: Canvas, left: float, bottom: float, plot_w: float, plot_h: float, months: int) -> None:
        c.setFont(FONT, 7.5)
        c.setLineWidth(0.3)
        for share in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = bottom + plot_h * share
            c.setStrokeColor(NAVY if share == 0.5 else RULE)
            c.setDash(2, 2) if share == 0.5 else c.setDash()
            c.line(left, y, left + plot_w, y)
            c.setFillColor(MUTED)
            c.drawRightString(left - 4, y - 2.6, f"{int(share * 100)}%")
        c.setDash()
        step = 6 if months <= 24 else 12
        for month in range(0, months + 1, step):
            x = left + plot_w * month / months
            c.setStrokeColor(MUTED)
            c.line(x, bottom, x, bottom - 3)
            c.setFillColor(INK)
            c.drawCentredString(x, bottom - 11, str(month))
        c.setFillColor(MUTED)
        c.drawCentredString(left + plot_w / 2, bottom - 22, "Months since the procedure")
        c.setStrokeColor(MUTED)
        c.setLineWidth(0.6)
        c.line(left, bottom, left + plot_w, bottom)
        c.line(left, bottom, left, bottom + plot_h)

    @staticmethod
    def _band(c: Canvas, km: KaplanMeier, tint: Color, x_of: Any, y_of: Any) -> None:
        if not km.steps:
            return
        upper: list[tuple[float, float]] = [(x_of(0), y_of(1.0))]
        lower: list[tuple[float, float]] = [(x_of(0), y_of(1.0))]
        high = low = 1.0
        for s in km.steps:
            x = x_of(s.time)
            upper += [(x, y_of(high)), (x, y_of(s.upper))]
            lower += [(x, y_of(low)), (x, y_of(s.lower))]
            high, low = s.upper, s.lower
        path = c.beginPath()
        path.moveTo(*upper[0])
        for point in upper[1:]:
            path.lineTo(*point)
        for point in reversed(lower):
            path.lineTo(*point)
        path.close()
        c.setFillColor(tint, alpha=0.16)
        c.drawPath(path, stroke=0, fill=1)

    @staticmethod
    def _steps(c: Canvas, km: KaplanMeier, tint: Color, x_of: Any, y_of: Any, *, width: float,
               dash: tuple[float, float] | None) -> None:  # fmt: skip
        path = c.beginPath()
        path.moveTo(x_of(0), y_of(1.0))
        before = 1.0
        for s in km.steps:  # across to the step's day at the survival before it, then down to the new survival
            x = x_of(s.time)
            path.lineTo(x, y_of(before))
            path.lineTo(x, y_of(s.survival))
            before = s.survival
        c.setStrokeColor(tint)
        c.setLineWidth(width)
        c.setDash(*dash) if dash else c.setDash()
        c.drawPath(path, stroke=1, fill=0)
        c.setDash()

    def _legend(self, c: Canvas, x: float, y: float) -> None:
        """One entry per curve (sides, lost, died beside its name), then the dashed line's meaning; an entry that
        does not fit on the line starts the next one."""
        entries: list[tuple[str, Color, str, tuple[float, float] | None]] = [
            (f"{vocab.label(vocab.PROCEDURE_SHORT, c.procedure)}: {c.n} sides, {c.lost} lost to follow-up, "
             f"{c.died} died", colour(c.procedure), FONT_BOLD, None)
            for c in self.curves
        ]  # fmt: skip
        entries.append(("lost counted as repeats", MUTED, FONT, (4, 2.5)))
        start = x
        for name, tint, font, dash in entries:
            needed = 28 + c.stringWidth(name, font, 8)
            if x > start and x + needed > self.width:
                x, y = start, y - 11
            c.setStrokeColor(tint)
            c.setLineWidth(1.1 if dash else 1.8)
            c.setDash(*dash) if dash else c.setDash()
            c.line(x, y + 3, x + 16, y + 3)
            c.setDash()
            c.setFont(font, 8)
            c.setFillColor(INK if font == FONT_BOLD else MUTED)
            c.drawString(x + 20, y, name)
            x += needed
