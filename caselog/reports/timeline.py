"""The patient pathway's timeline: one row per treated joint, every case on a shared time axis.

Blocks are diamonds (filled green when positive, hollow red when negative, grey when the diary cannot tell),
ablations and rhizotomies a triangle followed by a band for the period of relief (until the next ablation at
the joint or the last follow-up), other procedures a small square, complications a red cross. Drawn straight
onto the canvas like the pain chart: a few hundred strokes for 40 cases. A long list of joints is cut into
several drawings of at most `ROWS_PER_DRAWING` rows, so each fits on a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from caselog.reports.common import ALERT, AMBER, FONT, FONT_BOLD, INK, MUTED, NAVY, OK_GREEN, RULE, STRIPE

MarkKind = Literal["block_positive", "block_negative", "block_unread", "ablation", "rhizotomy", "other"]

ROWS_PER_DRAWING = 24
ROW_H = 18.0
LABEL_W = 86.0
AXIS_H = 22.0
LEGEND_H = 16.0
_SIZE = 8.0
_RELIEF_FILL = {"ablation": colors.HexColor("#C9D6EA"), "rhizotomy": colors.HexColor("#C6E4DF")}
_TREATMENT = {"ablation": NAVY, "rhizotomy": colors.HexColor("#11756A")}
_OTHER = colors.HexColor("#7A8494")
_UNREAD = colors.HexColor("#9AA3B0")


@dataclass(frozen=True, slots=True)
class Mark:
    """One case at one joint: its date, what kind it is, a short label (relief or case number), and for an
    ablation the end of its relief period (None when there is no follow-up to draw it to)."""

    date: dt.date
    kind: MarkKind
    label: str = ""
    relief_until: dt.date | None = None
    outside_policy: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """One treated joint ("L4-L5 left") with its cases and the onset dates of their complications."""

    label: str
    marks: tuple[Mark, ...]
    complications: tuple[dt.date, ...] = ()


def axis_range(rows: Sequence[Row]) -> tuple[dt.date, dt.date]:
    """The first and last date drawn, padded by a month each side so no mark sits on the frame."""
    dates = [d for r in rows for d in (*[m.date for m in r.marks], *r.complications)]
    dates += [m.relief_until for r in rows for m in r.marks if m.relief_until is not None]
    if not dates:
        today = dt.date.today()
        return today - dt.timedelta(days=30), today + dt.timedelta(days=30)
    return min(dates) - dt.timedelta(days=30), max(dates) + dt.timedelta(days=30)


def ticks(start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """Dates of the axis's labels: each January 1st over long spans, each quarter or month over short ones."""
    days = (end - start).days
    step = 12 if days > 3 * 366 else 3 if days > 400 else 1
    first = dt.date(start.year, start.month, 1)
    found: list[tuple[dt.date, str]] = []
    month_index = first.year * 12 + first.month - 1
    while True:
        year, month = divmod(month_index, 12)
        day = dt.date(year, month + 1, 1)
        if day > end:
            return found
        if day >= start and (month % step == 0):
            found.append((day, str(year) if step == 12 or month == 0 else day.strftime("%b %Y")))
        month_index += 1


class Timeline(Flowable):  # type: ignore[misc]
    """Rows of marks against a date axis shared by every drawing of one document (`start`, `end`)."""

    def __init__(self, rows: Sequence[Row], start: dt.date, end: dt.date, width: float, *, legend: bool) -> None:
        super().__init__()
        self.rows = list(rows)
        self.start = start
        self.end = end
        self.width = width
        self.legend = legend
        self.legend_lines = 1 + max(line for *_, line in legend_layout(width)) if legend else 0
        self.height = AXIS_H + ROW_H * len(self.rows) + LEGEND_H * self.legend_lines + 4

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def x_of(self, day: dt.date) -> float:
        span = max((self.end - self.start).days, 1)
        return LABEL_W + (self.width - LABEL_W - 6) * (day - self.start).days / span

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        top = self.height - 4
        bottom = top - ROW_H * len(self.rows)
        self._grid(c, top, bottom)
        for index, row in enumerate(self.rows):
            self._row(c, row, top - ROW_H * (index + 1))
        if self.legend:
            self._legend(c, bottom - AXIS_H)
        c.restoreState()

    def _grid(self, c: Canvas, top: float, bottom: float) -> None:
        for index in range(len(self.rows)):
            if index % 2:
                c.setFillColor(STRIPE)
                c.rect(0, top - ROW_H * (index + 1), self.width, ROW_H, stroke=0, fill=1)
        c.setLineWidth(0.3)
        c.setFont(FONT, _SIZE)
        last_right = -1e9
        for day, label in ticks(self.start, self.end):
            x = self.x_of(day)
            c.setStrokeColor(RULE)
            c.line(x, bottom, x, top)
            label_w = c.stringWidth(label, FONT, _SIZE)
            if x - label_w / 2 > last_right + 4 and x + label_w / 2 <= self.width:
                c.setFillColor(MUTED)
                c.drawCentredString(x, bottom - 11, label)
                last_right = x + label_w / 2
        c.setStrokeColor(MUTED)
        c.setLineWidth(0.6)
        c.line(LABEL_W, bottom, self.width, bottom)
        c.line(LABEL_W, bottom, LABEL_W, top)

    def _row(self, c: Canvas, row: Row, base: float) -> None:
        mid = base + ROW_H / 2
        c.setFillColor(INK)
        c.setFont(FONT_BOLD, _SIZE)
        c.drawString(2, mid - 3, fit(c, row.label, LABEL_W - 6, FONT_BOLD))
        for mark in row.marks:  # the relief bands first, so every marker is drawn over them
            if mark.kind in _RELIEF_FILL and mark.relief_until is not None:
                x0, x1 = self.x_of(mark.date), self.x_of(mark.relief_until)
                c.setFillColor(_RELIEF_FILL[mark.kind])
                c.rect(x0, mid - 4.5, max(x1 - x0, 1.0), 9, stroke=0, fill=1)
        marks = sorted(row.marks, key=lambda m: m.date)
        xs = [self.x_of(m.date) for m in marks]
        c.setFont(FONT, _SIZE)
        for index, (mark, x) in enumerate(zip(marks, xs, strict=True)):
            _marker(c, mark.kind, x, mid, outside_policy=mark.outside_policy)
            room = (xs[index + 1] - 6 if index + 1 < len(xs) else self.width) - (x + 6)
            if mark.label and c.stringWidth(mark.label, FONT, _SIZE) <= room:  # no label overprints the next mark
                c.setFillColor(INK)
                c.drawString(x + 6, mid - 3, mark.label)
        for day in row.complications:
            _cross(c, self.x_of(day), mid - 4)

    def _legend(self, c: Canvas, top: float) -> None:
        c.setFont(FONT, _SIZE)
        for kind, words, x, line in legend_layout(self.width):
            y = top - LEGEND_H * (line + 1) + 5
            if kind in _RELIEF_FILL:
                c.setFillColor(_RELIEF_FILL[kind])
                c.rect(x - 2, y - 1.5, 22, 9, stroke=0, fill=1)
            if kind == "complication":
                _cross(c, x + 3, y + 3)
            elif kind == "outside":
                _ring(c, x + 3, y + 3)
            else:
                _marker(c, kind, x + 3, y + 3)
            c.setFillColor(INK)
            c.drawString(x + _legend_gap(kind), y, words)


_LEGEND: tuple[tuple[MarkKind | Literal["complication", "outside"], str], ...] = (
    ("block_positive", "Positive block"),
    ("block_negative", "Negative block"),
    ("block_unread", "Block not judged"),
    ("ablation", "RF ablation and its relief"),
    ("rhizotomy", "Rhizotomy and its relief"),
    ("other", "Other procedure"),
    ("complication", "Complication"),
    ("outside", "Outside the clinic's policy"),
)


def _legend_gap(kind: str) -> float:
    return 10 + (14 if kind in _RELIEF_FILL else 0)


def legend_layout(width: float) -> list[tuple[str, str, float, int]]:
    """(kind, words, x, line) of each legend item, wrapped onto as many lines as `width` needs."""
    placed: list[tuple[str, str, float, int]] = []
    x, line = 2.0, 0
    for kind, words in _LEGEND:
        item_w = _legend_gap(kind) + pdfmetrics.stringWidth(words, FONT, _SIZE)
        if x + item_w > width and x > 2.0:
            x, line = 2.0, line + 1
        placed.append((kind, words, x, line))
        x += item_w + 14
    return placed


def _ring(c: Canvas, x: float, y: float) -> None:
    """The amber ring around an ablation done outside the clinic's policy."""
    c.setStrokeColor(AMBER)
    c.setLineWidth(1.2)
    c.circle(x, y, 6.2, stroke=1, fill=0)


def _cross(c: Canvas, x: float, y: float) -> None:
    c.setStrokeColor(ALERT)
    c.setLineWidth(1.4)
    c.line(x - 3, y - 3, x + 3, y + 3)
    c.line(x - 3, y + 3, x + 3, y - 3)


def _marker(c: Canvas, kind: str, x: float, y: float, *, outside_policy: bool = False) -> None:
    """The symbol of one case; an ablation outside the clinic's policy has an amber ring."""
    c.setLineWidth(1.0)
    if kind.startswith("block"):
        colour = {"block_positive": OK_GREEN, "block_negative": ALERT}.get(kind, _UNREAD)
        path = c.beginPath()
        path.moveTo(x, y + 4.2)
        path.lineTo(x + 4.2, y)
        path.lineTo(x, y - 4.2)
        path.lineTo(x - 4.2, y)
        path.close()
        _paint(c, colour)
        c.drawPath(path, stroke=1, fill=0 if kind == "block_negative" else 1)
    elif kind in _TREATMENT:
        _paint(c, _TREATMENT[kind])
        path = c.beginPath()
        path.moveTo(x - 4, y - 4)
        path.lineTo(x + 4.5, y)
        path.lineTo(x - 4, y + 4)
        path.close()
        c.drawPath(path, stroke=1, fill=1)
        if outside_policy:
            _ring(c, x, y)
    else:
        _paint(c, _OTHER)
        c.rect(x - 3, y - 3, 6, 6, stroke=1, fill=1)


def _paint(c: Canvas, colour: Color) -> None:
    c.setFillColor(colour)
    c.setStrokeColor(colour)


def fit(c: Canvas, words: str, width: float, font: str = FONT) -> str:
    """`words` cut with "…" to fit `width` at 8 pt (a joint's label never runs into the plot)."""
    if c.stringWidth(words, font, _SIZE) <= width:
        return words
    while words and c.stringWidth(words + "…", font, _SIZE) > width:
        words = words[:-1]
    return words + "…"


def timelines(rows: Sequence[Row], width: float) -> list[Timeline]:
    """The drawings for `rows`, at most ROWS_PER_DRAWING rows each, on one date axis; the legend under the last."""
    start, end = axis_range(rows)
    chunks = [rows[i : i + ROWS_PER_DRAWING] for i in range(0, len(rows), ROWS_PER_DRAWING)] or [[]]
    return [Timeline(chunk, start, end, width, legend=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
