"""The words and small tables beside the durability chart: relief at 6 to 60 months with intervals, the median
with its interval, who left follow-up, the log-rank comparison in a sentence and the published claims beside the
clinic's own figures. Plain text and HTML built from caselog.durability's results (GUI thread, no reading)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from caselog import vocab
from caselog.durability import AT_RISK_MONTHS, ClaimCheck, Durability, DurabilityCurve, ReliefAt, months_of

#: One sentence on how sides are censored: under the heading, so nobody reads the curves without it.
CENSORING_RULE = (
    "Kaplan-Meier share of treated sides (left or right of a level) not yet ablated or rhizotomised again at the "
    "same level and side. A side not treated again counts until the last real contact with the patient (the latest "
    "follow-up visit or later case), never until today; a side nobody saw again counts for 0 days. Shaded: 95% band "
    "(exponential Greenwood). Dashed: every side lost to follow-up counted as treated again at its last contact, "
    "the worst case. Sides of one patient are not independent."
)


def short(procedure: str) -> str:
    return vocab.label(vocab.PROCEDURE_SHORT, procedure)


def interval(low: float | None, high: float | None, unit: str = "") -> str:
    """ "(78–87)" for an interval; an edge never reached is "not reached"."""
    if low is None and high is None:
        return "(not estimable)"
    return f"({_number(low)}–{_number(high)}{unit})"


def _number(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def relief_text(relief: ReliefAt | None) -> str:
    """ "83% (78–87)"; "–" beyond the longest follow-up (nobody was seen that long: no figure is invented)."""
    if relief is None or relief.survival is None:
        return "–"
    low = None if relief.lower is None else 100 * relief.lower
    high = None if relief.upper is None else 100 * relief.upper
    return f"{100 * relief.survival:.0f}% {interval(low, high)}"


def median_text(median_days: float | None, ci_days: tuple[float | None, float | None]) -> str:
    """ "14.7 mo (13.9–15.6)"; "not reached" when the curve stays above half."""
    median = months_of(median_days)
    if median is None:
        return "not reached"
    low, high = (months_of(d) for d in ci_days)
    return f"{median:.1f} mo ({_months(low)}–{_months(high)})"


def _months(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}"


def _cell(text: str, *, head: bool = False, left: bool = False) -> str:
    tag = "th" if head else "td"
    align = "left" if left else "right"
    return f"<{tag} style='padding:1px 6px;text-align:{align}'>{html.escape(text)}</{tag}>"


def relief_html(curves: tuple[DurabilityCurve, ...]) -> str:
    """Relief at 6 to 60 months and the median, one column per procedure (two fit beside the chart)."""
    head = _cell("", head=True) + "".join(_cell(short(c.procedure), head=True) for c in curves)
    rows = [
        _cell(f"{m} months", left=True) + "".join(_cell(relief_text(c.relief_at(m))) for c in curves)
        for m in AT_RISK_MONTHS
    ]
    rows.append(
        _cell("Median", left=True) + "".join(_cell(median_text(c.median_days, c.median_ci_days)) for c in curves)
    )
    rows.append(
        _cell("Median, lost as repeats", left=True)
        + "".join(
            _cell(median_text(c.sensitivity.median_days, c.sensitivity.median_ci_days) if c.sensitivity else "–")
            for c in curves
        )
    )
    rows.append(_cell("Treated sides", left=True) + "".join(_cell(f"{c.n:,}") for c in curves))
    rows.append(_cell("Lost to follow-up", left=True) + "".join(_cell(f"{c.lost:,}") for c in curves))
    rows.append(_cell("Died", left=True) + "".join(_cell(f"{c.died:,}") for c in curves))
    rows.append(_cell("Never seen again", left=True) + "".join(_cell(f"{c.no_contact:,}") for c in curves))
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f"<table cellspacing='0'><tr>{head}</tr>{body}</table>"


def p_text(p: float) -> str:
    """A p-value as a reader quotes it: four decimals, "< 0.0001" below that."""
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.4f}"


def log_rank_text(data: Durability) -> str:
    """ "Endoscopic rhizotomy vs RF ablation: chi-square 12.3, p = 0.0004", and what was compared."""
    comparison = data.comparison
    if comparison is None:
        return "Endoscopic rhizotomy vs RF ablation: not compared (both need treated sides in this range)."
    r = comparison.result
    names = f"{short(comparison.procedure_a)} vs {short(comparison.procedure_b)}"
    if r.statistic is None or r.p_value is None:
        return f"{names}: not compared (no repeat treatment yet in either group)."
    return (
        f"{names}: chi-square {r.statistic:.1f}, {p_text(r.p_value)} (log-rank, 1 df; repeats observed "
        f"{r.observed_a:,} vs {r.expected_a:.1f} expected, and {r.observed_b:,} vs {r.expected_b:.1f}). Sides of one "
        "patient are not independent (p is then too small) and the procedures were not randomised."
    )


def claim_html(check: ClaimCheck) -> str:
    """A published claim and, beside it, the clinic's median and relief at 12 and 60 months."""
    claim = check.claim
    said = f"<b>{html.escape(short(claim.procedure))}</b> – published: “{html.escape(claim.claim)}”"
    if not check.sides:
        return f"{said}<br>This clinic: no treated sides in this range."
    relief = f"{relief_text(check.relief_12)} at 12 months, {relief_text(check.relief_60)} at 60 months"
    median = median_text(check.median_days, check.median_ci_days)
    return f"{said}<br>This clinic: median {html.escape(median)}; {html.escape(relief)}."


def claims_html(data: Durability) -> str:
    if not data.claims:
        return ""
    source = html.escape(data.claims[0].claim.source)
    items = "<br><br>".join(claim_html(c) for c in data.claims)
    return f"{items}<br><span style='font-size:9pt'>Claims: {source}.</span>"


class DurabilityFigures(QScrollArea):
    """The column beside the durability chart: relief table, comparison and claims, each under a heading."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.fit(1280)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(0, 0, 6, 0)
        self.relief = self._label("Relief at 6 to 60 months, 95% intervals")
        self.comparison = self._label("Endoscopic rhizotomy against RF ablation")
        self.claims = self._label("Published claims beside this clinic's figures")
        for heading, label in (
            ("Not yet treated again (95% interval)", self.relief),
            ("Comparison", self.comparison),
            ("Published claims and this clinic", self.claims),
        ):
            title = QLabel(heading)
            title.setStyleSheet("font-weight: 600;")
            layout.addWidget(title)
            layout.addWidget(label)
        layout.addStretch(1)
        self.setWidget(inner)

    @staticmethod
    def _label(name: str) -> QLabel:
        label = QLabel("")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleName(name)
        return label

    def fit(self, window_width: int) -> None:
        """A third of the window, 320 to 430 pixels: on a small screen (911 points) the chart keeps some width."""
        self.setFixedWidth(min(430, max(320, window_width // 3)))

    def show_figures(self, data: Durability) -> None:
        self.relief.setText(relief_html(data.curves))
        self.comparison.setText(html.escape(log_rank_text(data)))
        self.claims.setText(claims_html(data))
