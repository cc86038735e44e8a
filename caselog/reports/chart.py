"""A small line chart of the region's pain (NRS 0-10) across the follow-up timepoints, for the case summary:
back and leg pain for a lumbar or thoracic case, neck and arm pain for a cervical one.

Drawn straight onto the page rather than through reportlab's chart widgets: it is a few dozen strokes,
and the widget machinery cost more than the rest of a summary page when printing a thousand cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from caselog import outcomes, vocab
from caselog.records import OutcomeScore, TreatedLevel
from caselog.reports.common import FONT, FONT_BOLD, INK, MUTED, NAVY, RULE, register_fonts

#: The region's first pain score (back, neck) is blue with circles, its second (leg, arm) orange with squares.
FIRST_COLOUR = colors.HexColor("#1F5FA8")
SECOND_COLOUR = colors.HexColor("#C75B12")
TITLE = "Pain (NRS 0–10)"
#: The legend's names, as the outcome table heads the same columns.
SERIES_NAMES = {"nrs_back": "Back", "nrs_leg": "Leg", "nrs_neck": "Neck", "nrs_arm": "Arm"}
_TIMEPOINT_ORDER = {key: i for i, key in enumerate(vocab.TIMEPOINTS)}
#: A chart needs this many follow-ups (timepoints after baseline) with a pain score: baseline and one follow-up
#: are one change, which the table beside states as plainly; a line through two points shows no course.
MIN_FOLLOW_UPS = 2
_FONT_SIZE = 8.0
_LINE = 11.0  # a line of 8 pt text in the chart
_KEY_W = 12.0  # the stroke of one legend key, before its name
_KEY_GAP = 4.0  # between a key's stroke and its name
_ENTRY_GAP = 8.0  # between two legend entries
_TITLE_GAP = 12.0  # at least this between the title and a legend on the same line


def ordered_outcomes(outcomes: Sequence[OutcomeScore]) -> list[OutcomeScore]:
    """Outcomes in the contract's timepoint order (baseline first), whatever order they were entered in."""
    return sorted(outcomes, key=lambda o: (_TIMEPOINT_ORDER.get(o.timepoint, len(_TIMEPOINT_ORDER)), o.date))


@dataclass(frozen=True)
class Series:
    """One line of the chart: a pain score by timepoint (None where that follow-up did not score it)."""

    measure: str
    name: str
    colour: Color
    square: bool
    values: tuple[int | None, ...]


@dataclass(frozen=True)
class ChartData:
    """What the chart draws: its title, the timepoints along the bottom (short form) and one series a measure."""

    title: str
    timepoints: tuple[str, ...]
    series: tuple[Series, ...]


def pain_measures(levels: Sequence[TreatedLevel | str]) -> tuple[str, ...]:
    """The pain scores the region of these levels asks: ("nrs_back", "nrs_leg") or ("nrs_neck", "nrs_arm")."""
    return tuple(m for m in outcomes.measures_for(levels) if m in SERIES_NAMES)


def chart_data(levels: Sequence[TreatedLevel | str], scores: Sequence[OutcomeScore]) -> ChartData | None:
    """The region's pain at each timepoint that scored it, in order; None when fewer than `MIN_FOLLOW_UPS`
    follow-ups scored it (the table says as much as such a chart would)."""
    measures = pain_measures(levels)
    points = [o for o in ordered_outcomes(scores) if any(getattr(o, m) is not None for m in measures)]
    if sum(o.timepoint != "baseline" for o in points) < MIN_FOLLOW_UPS:
        return None
    series = tuple(
        Series(m, SERIES_NAMES[m], (FIRST_COLOUR, SECOND_COLOUR)[i % 2], bool(i % 2),
               tuple(getattr(o, m) for o in points))
        for i, m in enumerate(measures)
    )  # fmt: skip
    return ChartData(TITLE, tuple(short_timepoint(o.timepoint) for o in points), series)


def legend_width(data: ChartData) -> float:
    """How wide the legend prints on one line."""
    register_fonts()  # measured before any page is drawn, so maybe before any other text
    entries = [_KEY_W + _KEY_GAP + float(stringWidth(s.name, FONT, _FONT_SIZE)) for s in data.series]
    return sum(entries) + _ENTRY_GAP * (len(entries) - 1)


def legend_beside_title(data: ChartData, width: float) -> bool:
    """Whether the legend fits on the title's line, right-aligned, with room between them; otherwise it goes on a
    line of its own under the title (on A4, or beside a wide table: the legend once overprinted the title there)."""
    legend = legend_width(data)
    return float(stringWidth(data.title, FONT_BOLD, _FONT_SIZE)) + _TITLE_GAP + legend <= width


class PainChart(Flowable):  # type: ignore[misc]
    """The region's pain by timepoint, one coloured line a measure; a missing score is skipped and its
    neighbours are joined, so a gap never reads as zero pain."""

    def __init__(self, data: ChartData, width: float, height: float) -> None:
        super().__init__()
        self.data = data
        self.width = width
        self.beside = legend_beside_title(data, width)
        # a legend on a line of its own adds that line: the plot keeps its height
        self.height = height if self.beside else height + _LINE

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        c = self.canv
        data = self.data
        beside = self.beside
        top = 22.0 if beside else 22.0 + _LINE
        left, bottom = 22.0, 16.0
        plot_w, plot_h = self.width - left - 8, self.height - bottom - top
        c.saveState()
        c.setFont(FONT_BOLD, _FONT_SIZE)
        c.setFillColor(NAVY)
        c.drawString(0, self.height - 9, data.title)
        if beside:
            self._legend(c, self.width - legend_width(data), self.height - 9)
        else:
            self._legend(c, 0, self.height - 9 - _LINE)

        c.setFont(FONT, _FONT_SIZE)
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

        step = plot_w / len(data.timepoints)
        xs = [left + step * (i + 0.5) for i in range(len(data.timepoints))]
        # Timepoints only, in short form ("6 wk"): at 8 pt the dates would collide; the table beside has them.
        c.setFillColor(INK)
        for x, label in zip(xs, data.timepoints, strict=True):
            c.drawCentredString(x, bottom - 11, label)

        for s in data.series:
            points = [(x, bottom + plot_h * v / 10) for x, v in zip(xs, s.values, strict=True) if v is not None]
            self._series(c, points, s.colour, square=s.square)
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

    def _legend(self, c: Canvas, x: float, y: float) -> None:
        for s in self.data.series:
            c.setStrokeColor(s.colour)
            c.setFillColor(s.colour)
            c.setLineWidth(1.6)
            c.line(x, y + 3, x + _KEY_W, y + 3)
            _marker(c, x + _KEY_W / 2, y + 3, square=s.square)
            c.setFillColor(INK)
            c.setFont(FONT, _FONT_SIZE)
            c.drawString(x + _KEY_W + _KEY_GAP, y, s.name)
            x += _KEY_W + _KEY_GAP + stringWidth(s.name, FONT, _FONT_SIZE) + _ENTRY_GAP


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


def pain_chart(
    levels: Sequence[TreatedLevel | str], scores: Sequence[OutcomeScore], *, width: float = 300, height: float = 140
) -> PainChart | None:
    """The chart of the region's pain, or None when there is no course to show (see `chart_data`)."""
    data = chart_data(levels, scores)
    return PainChart(data, width, height) if data is not None else None
