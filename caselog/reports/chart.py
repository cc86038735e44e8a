"""A small line chart of back and leg pain (NRS 0-10) across the follow-up timepoints, for the case summary.

Drawn straight onto the page rather than through reportlab's chart widgets: it is a few dozen strokes,
and the widget machinery cost more than the rest of a summary page when printing a thousand cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from caselog import vocab
from caselog.records import OutcomeScore
from caselog.reports.common import FONT, FONT_BOLD, INK, MUTED, NAVY, RULE

BACK_COLOUR = colors.HexColor("#1F5FA8")
LEG_COLOUR = colors.HexColor("#C75B12")
_TIMEPOINT_ORDER = {key: i for i, key in enumerate(vocab.TIMEPOINTS)}


def ordered_outcomes(outcomes: Sequence[OutcomeScore]) -> list[OutcomeScore]:
    """Outcomes in the contract's timepoint order (baseline first), whatever order they were entered in."""
    return sorted(outcomes, key=lambda o: (_TIMEPOINT_ORDER.get(o.timepoint, len(_TIMEPOINT_ORDER)), o.date))


def chart_points(outcomes: Sequence[OutcomeScore]) -> list[OutcomeScore]:
    """The timepoints that carry a back or leg score, in order."""
    return [o for o in ordered_outcomes(outcomes) if o.nrs_back is not None or o.nrs_leg is not None]


class PainChart(Flowable):  # type: ignore[misc]
    """Back (blue, circles) and leg (orange, squares) pain by timepoint; a missing score is skipped
    and its neighbours are joined, so a gap never reads as zero pain."""

    def __init__(self, points: Sequence[OutcomeScore], width: float, height: float) -> None:
        super().__init__()
        self.points = list(points)
        self.width = width
        self.height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        c = self.canv
        left, bottom = 22.0, 16.0
        plot_w, plot_h = self.width - left - 8, self.height - bottom - 22
        c.saveState()
        c.setFont(FONT_BOLD, 8)
        c.setFillColor(NAVY)
        c.drawString(0, self.height - 9, "Pain (NRS 0–10)")
        self._legend(c, self.width - 96, self.height - 9)

        c.setFont(FONT, 8)
        c.setLineWidth(0.3)
        for value in (0, 5, 10):
            y = bottom + plot_h * value / 10
            c.setStrokeColor(RULE)
            c.line(left, y, left + plot_w, y)
            c.setFillColor(MUTED)
            c.drawRightString(left - 4, y - 2.8, str(value))
        c.setStrokeColor(MUTED)
        c.setLineWidth(0.6)
        c.line(left, bottom, left + plot_w, bottom)
        c.line(left, bottom, left, bottom + plot_h)

        step = plot_w / len(self.points)
        xs = [left + step * (i + 0.5) for i in range(len(self.points))]
        # Timepoints only, in short form ("6 wk"): at 8 pt the dates would collide; the table beside has them.
        c.setFillColor(INK)
        for x, point in zip(xs, self.points, strict=True):
            c.drawCentredString(x, bottom - 11, short_timepoint(point.timepoint))

        def y_of(value: int) -> float:
            return bottom + plot_h * value / 10

        back = [(x, y_of(p.nrs_back)) for x, p in zip(xs, self.points, strict=True) if p.nrs_back is not None]
        leg = [(x, y_of(p.nrs_leg)) for x, p in zip(xs, self.points, strict=True) if p.nrs_leg is not None]
        self._series(c, back, BACK_COLOUR, square=False)
        self._series(c, leg, LEG_COLOUR, square=True)
        c.restoreState()

    @staticmethod
    def _series(c: Canvas, points: list[tuple[float, float]], colour: Color, *, square: bool) -> None:
        c.setStrokeColor(colour)
        c.setFillColor(colour)
        c.setLineWidth(1.6)
        for (x0, y0), (x1, y1) in pairwise(points):
            c.line(x0, y0, x1, y1)
        for x, y in points:
            _marker(c, x, y, square=square)

    @staticmethod
    def _legend(c: Canvas, x: float, y: float) -> None:
        for offset, colour, name, square in ((0.0, BACK_COLOUR, "Back", False), (48.0, LEG_COLOUR, "Leg", True)):
            c.setStrokeColor(colour)
            c.setFillColor(colour)
            c.setLineWidth(1.6)
            c.line(x + offset, y + 3, x + offset + 16, y + 3)
            _marker(c, x + offset + 8, y + 3, square=square)
            c.setFillColor(INK)
            c.setFont(FONT, 8)
            c.drawString(x + offset + 20, y, name)


_SHORT_UNITS = {"w": "wk", "m": "mo", "y": "yr"}


def short_timepoint(key: str) -> str:
    """`6w` → "6 wk", `12m` → "12 mo", `baseline` → "Base": fits under a point of the chart at 8 pt."""
    if key == "baseline":
        return "Base"
    number, unit = key[:-1], key[-1:]
    return f"{number} {_SHORT_UNITS[unit]}" if number.isdigit() and unit in _SHORT_UNITS else key


def _marker(c: Canvas, x: float, y: float, *, square: bool) -> None:
    if square:
        c.rect(x - 2.3, y - 2.3, 4.6, 4.6, stroke=0, fill=1)
    else:
        c.circle(x, y, 2.5, stroke=0, fill=1)


def pain_chart(outcomes: Sequence[OutcomeScore], *, width: float = 300, height: float = 140) -> PainChart | None:
    """The chart, or None when fewer than two timepoints carry a back or leg score (one point is no trend)."""
    points = chart_points(outcomes)
    if len(points) < 2:
        return None
    return PainChart(points, width, height)
