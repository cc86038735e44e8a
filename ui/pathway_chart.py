"""The patient timeline's drawing: one row per treated joint on a shared time axis, for the patient view.

It paints plain `TimelineRow`s (built from caselog.pathway's Pathway by ui.pathway_view), with the palette's
colours only, so it reads on light and dark palettes. Meaning never rests on colour alone: a block's result is
a symbol and a word ("85% +"), a bar's end says why it ends (a solid cap at the joint's next ablation, an arrow
head at the last follow-up), a complication carries its Clavien-Dindo grade. The keyboard walks the marks (Left/Right,
Up/Down between rows, Home/End) and Return opens the case under the current mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui.style import colours

MarkKind = Literal["block", "ablation", "complication", "procedure"]
#: Why an ablation's relief bar ends where it does.
BarEnd = Literal["next_ablation", "last_follow_up", "no_follow_up"]
RESULT_SIGN = {True: "+", False: "−", None: "?"}
RESULT_WORD = {True: "positive", False: "negative", None: "result unknown"}
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

LABEL_WIDTH = 118
AXIS_HEIGHT = 30
ROW_HEIGHT = 58
RIGHT_MARGIN = 24
MARK = 7  # half the size of a block's diamond


DIAMOND = ((0, -1), (1, 0), (0, 1), (-1, 0))
TRIANGLE = ((0, -1), (1, 1), (-1, 1))


def shape(centre: QPointF, corners: Sequence[tuple[int, int]]) -> QPolygonF:
    """A block's diamond or a complication's triangle around `centre`, MARK pixels from it to each corner."""
    return QPolygonF([QPointF(centre.x() + x * MARK, centre.y() + y * MARK) for x, y in corners])


@dataclass(frozen=True, slots=True)
class TimelineMark:
    """One thing drawn on a joint's row: a block, an ablation with its relief period, a complication, another case."""

    kind: MarkKind
    case_number: str | None
    date: dt.date
    #: What is written beside the mark: "MBB 85% +", "RFA", "CD II".
    text: str
    #: The sentence a tooltip and a screen reader give for this mark.
    description: str
    result: bool | None = None
    until: dt.date | None = None
    bar_end: BarEnd | None = None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    joint: str  # "L4-L5 left"
    marks: tuple[TimelineMark, ...]


def month_ticks(first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    """Axis ticks between two dates: every month for a short span, every quarter up to three years, then
    every year; each labelled as a reader names it ("Mar 2025", "2026")."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = 1 if months <= 14 else 3 if months <= 36 else 12
    day = dt.date(first.year, 1 if step == 12 else first.month - (first.month - 1) % step, 1)
    ticks = []
    while day <= last:
        if day >= first:
            text = f"{day.year}" if step == 12 else f"{MONTHS_SHORT[day.month - 1]} {day.year}"
            ticks.append((day, text))
        month = day.month - 1 + step
        day = dt.date(day.year + month // 12, month % 12 + 1, 1)
    return ticks


class TimelineChart(QWidget):
    """The rows and their marks; `current` is the mark the keyboard or a click chose (None when empty)."""

    #: The chosen mark changed (to the mark's case number, "" for a mark without one).
    chosen = Signal(str)
    #: Return, Enter or a double click on a mark: open its case.
    open_case = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[TimelineRow] = []
        self.first = self.last = dt.date.today()
        self.current: tuple[int, int] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Patient timeline")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    # ---- data ------------------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[TimelineRow], *, today: dt.date) -> None:
        """Show `rows`; the axis runs from a month before the first mark to a month after the last date drawn."""
        self.rows = [row for row in rows if row.marks]
        days = [d for row in self.rows for m in row.marks for d in (m.date, m.until) if d is not None]
        first, last = (min(days), max(days)) if days else (today, today)
        self.first = first - dt.timedelta(days=31)
        self.last = max(last, first + dt.timedelta(days=60)) + dt.timedelta(days=31)
        self.current = (0, 0) if self.rows else None
        self.updateGeometry()
        self.update()
        self._announce()

    def current_mark(self) -> TimelineMark | None:
        if self.current is None:
            return None
        row, index = self.current
        return self.rows[row].marks[index]

    def choose_case(self, case_number: str) -> bool:
        """Make the first mark of `case_number` current (the table's selection follows the chart and back)."""
        for r, row in enumerate(self.rows):
            for i, mark in enumerate(row.marks):
                if mark.case_number == case_number:
                    if self.current != (r, i):
                        self.current = (r, i)
                        self.update()
                        self._announce(emit=False)
                    return True
        return False

    # ---- geometry --------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(900, AXIS_HEIGHT + ROW_HEIGHT * max(len(self.rows), 1) + 8)

    def minimumSizeHint(self) -> QSize:
        """Every row at its full height: in a smaller window the chart scrolls rather than losing rows."""
        return QSize(LABEL_WIDTH + 300, self.sizeHint().height())

    def x_of(self, day: dt.date) -> float:
        span = max((self.last - self.first).days, 1)
        width = max(self.width() - LABEL_WIDTH - RIGHT_MARGIN, 1)
        return LABEL_WIDTH + width * (day - self.first).days / span

    def row_top(self, row: int) -> int:
        return AXIS_HEIGHT + row * ROW_HEIGHT

    def mark_rect(self, row: int, index: int) -> QRectF:
        """Where a mark is drawn (its bar for an ablation): what a click hits and the focus frame surrounds."""
        mark = self.rows[row].marks[index]
        middle = self.row_top(row) + ROW_HEIGHT / 2
        x = self.x_of(mark.date)
        if mark.kind == "ablation":
            end = self.x_of(mark.until) if mark.until is not None else x + 2 * MARK
            if mark.bar_end == "next_ablation":
                end -= 4  # a gap before the next bar, so that this one's end shows
            return QRectF(x - 2, middle - 9, max(end - x, 2 * MARK) + 4, 18)
        return QRectF(x - MARK - 2, middle - MARK - 2, 2 * MARK + 4, 2 * MARK + 4)

    def mark_at(self, point: QPointF) -> tuple[int, int] | None:
        """The mark under `point`: a point mark before a bar, since blocks and complications sit on bars."""
        hits = [(r, i) for r, row in enumerate(self.rows) for i in range(len(row.marks))
                if self.mark_rect(r, i).adjusted(-3, -3, 3, 3).contains(point)]  # fmt: skip
        hits.sort(key=lambda ri: self.rows[ri[0]].marks[ri[1]].kind == "ablation")
        return hits[0] if hits else None

    # ---- painting --------------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        self._paint_axis(painter, palette)
        for r, row in enumerate(self.rows):
            self._paint_row(painter, palette, r, row)
        if not self.rows:
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No treated joints recorded for this patient.")
        painter.end()

    def _paint_axis(self, painter: QPainter, palette: QPalette) -> None:
        text = palette.color(QPalette.ColorRole.Text)
        grid = palette.color(QPalette.ColorRole.Mid)
        bottom = self.row_top(len(self.rows))
        metrics = QFontMetrics(self.font())
        right_of_last = 0.0
        for day, label in month_ticks(self.first, self.last):
            x = self.x_of(day)
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(x, AXIS_HEIGHT - 6), QPointF(x, bottom))
            width = metrics.horizontalAdvance(label)
            if x - width / 2 > max(right_of_last + 8, LABEL_WIDTH) and x + width / 2 < self.width():
                painter.setPen(text)
                painter.drawText(QRectF(x - width / 2, 4, width, AXIS_HEIGHT - 10), Qt.AlignmentFlag.AlignCenter, label)
                right_of_last = x + width / 2
        painter.setPen(QPen(grid, 1))
        painter.drawLine(QPointF(LABEL_WIDTH, AXIS_HEIGHT), QPointF(self.width() - RIGHT_MARGIN / 2, AXIS_HEIGHT))

    def _paint_row(self, painter: QPainter, palette: QPalette, r: int, row: TimelineRow) -> None:
        top = self.row_top(r)
        text = palette.color(QPalette.ColorRole.Text)
        if r % 2:
            painter.fillRect(QRectF(0, top, self.width(), ROW_HEIGHT), palette.color(QPalette.ColorRole.AlternateBase))
        painter.setPen(text)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(6, top, LABEL_WIDTH - 10, ROW_HEIGHT), Qt.AlignmentFlag.AlignVCenter, row.joint)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        middle = top + ROW_HEIGHT / 2
        painter.drawLine(QPointF(LABEL_WIDTH, middle), QPointF(self.width() - RIGHT_MARGIN / 2, middle))
        # Bars first, so the blocks and complications on them stay visible; then the words, left to right.
        order = sorted(range(len(row.marks)), key=lambda i: row.marks[i].kind != "ablation")
        for i in order:
            self._paint_mark(painter, palette, row.marks[i], self.mark_rect(r, i))
        lanes: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
        for i in sorted(range(len(row.marks)), key=lambda i: (row.marks[i].date, row.marks[i].kind)):
            self._paint_label(painter, palette, row.marks[i], self.mark_rect(r, i), top, lanes)
        if self.current is not None and self.current[0] == r:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2 if self.hasFocus() else 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.mark_rect(r, self.current[1]).adjusted(-3, -3, 3, 3))

    def _paint_mark(self, painter: QPainter, palette: QPalette, mark: TimelineMark, rect: QRectF) -> None:
        meaning = colours(palette)
        text = palette.color(QPalette.ColorRole.Text)
        centre = rect.center()
        if mark.kind == "ablation":
            bar = QColor(palette.color(QPalette.ColorRole.Highlight))
            painter.setPen(QPen(bar.darker(130), 1))
            painter.setBrush(bar)
            body = rect.adjusted(2, 3, -2, -3)
            if mark.bar_end == "last_follow_up":  # relief known to last at least this long: an open arrow head
                body.setRight(body.right() - 6)
                painter.drawRect(body)
                painter.drawPolygon(QPolygonF([QPointF(body.right(), body.top() - 3), QPointF(rect.right(), centre.y()),
                                               QPointF(body.right(), body.bottom() + 3)]))  # fmt: skip
            else:
                painter.drawRect(body)
                painter.setPen(QPen(text, 3))  # the end: the next ablation there, or no follow-up at all
                painter.drawLine(QPointF(body.right(), rect.top()), QPointF(body.right(), rect.bottom()))
            return
        if mark.kind == "block":
            colour = {True: meaning.success, False: meaning.error, None: meaning.hint}[mark.result]
            painter.setPen(QPen(QColor(colour), 2))
            painter.setBrush(QColor(colour) if mark.result else palette.color(QPalette.ColorRole.Base))
            painter.drawPolygon(shape(centre, DIAMOND))
            return
        if mark.kind == "complication":
            warning = QColor(meaning.error)
            painter.setPen(QPen(warning, 2))
            painter.setBrush(palette.color(QPalette.ColorRole.Base))
            painter.drawPolygon(shape(centre, TRIANGLE))
            painter.setPen(warning)
            painter.drawText(QRectF(centre.x() - MARK, centre.y() - MARK + 3, 2 * MARK, 2 * MARK - 2),
                             Qt.AlignmentFlag.AlignCenter, "!")  # fmt: skip
            return
        painter.setPen(QPen(text, 2))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRect(QRectF(centre.x() - MARK + 1, centre.y() - MARK + 1, 2 * MARK - 2, 2 * MARK - 2))

    def _paint_label(self, painter: QPainter, palette: QPalette, mark: TimelineMark, rect: QRectF, top: float,
                     lanes: tuple[list[tuple[float, float]], list[tuple[float, float]]]) -> None:  # fmt: skip
        """Write a mark's words above it or below it (a complication's below first, under the bar's name), where
        no earlier label of the row is; when both places are taken, below and moved right past the last one."""
        metrics = QFontMetrics(painter.font())
        width = metrics.horizontalAdvance(mark.text) + 4
        left = rect.left() if mark.kind == "ablation" else rect.center().x() - width / 2
        left = min(max(left, LABEL_WIDTH + 2), self.width() - width - 2)
        order = (1, 0) if mark.kind == "complication" else (0, 1)
        free = [lane for lane in order if all(end <= left or start >= left + width for start, end in lanes[lane])]
        lane = free[0] if free else 1
        if not free:
            left = max(end for _start, end in lanes[1]) + 6
        lanes[lane].append((left, left + width))
        height = metrics.height()
        y = top + 2 if lane == 0 else top + ROW_HEIGHT - height - 2
        if mark.kind == "complication":
            painter.setPen(QColor(colours(palette).error))
        else:
            painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(QRectF(left, y, width, height), Qt.AlignmentFlag.AlignCenter, mark.text)

    # ---- keyboard and mouse ----------------------------------------------------------------------------

    def _announce(self, *, emit: bool = True) -> None:
        mark = self.current_mark()
        self.setAccessibleDescription(mark.description if mark else "")
        self.setToolTip(mark.description if mark else "")
        if emit and mark is not None:
            self.chosen.emit(mark.case_number or "")

    def _move_to(self, place: tuple[int, int]) -> None:
        self.current = place
        self.update()
        self._announce()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.current is None:
            super().keyPressEvent(event)
            return
        row, index = self.current
        count = len(self.rows[row].marks)
        key = event.key()
        by_date = sorted(range(count), key=lambda i: self.rows[row].marks[i].date)
        position = by_date.index(index)
        if key == Qt.Key.Key_Right and position + 1 < count:
            self._move_to((row, by_date[position + 1]))
        elif key == Qt.Key.Key_Left and position > 0:
            self._move_to((row, by_date[position - 1]))
        elif key == Qt.Key.Key_Home:
            self._move_to((row, by_date[0]))
        elif key == Qt.Key.Key_End:
            self._move_to((row, by_date[-1]))
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            target = row + (1 if key == Qt.Key.Key_Down else -1)
            if 0 <= target < len(self.rows):
                day = self.rows[row].marks[index].date
                marks = self.rows[target].marks
                nearest = min(range(len(marks)), key=lambda i: abs((marks[i].date - day).days))
                self._move_to((target, nearest))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mark = self.current_mark()
            if mark is not None and mark.case_number:
                self.open_case.emit(mark.case_number)
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        place = self.mark_at(event.position())
        if place is not None:
            self._move_to(place)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        place = self.mark_at(event.position())
        if place is not None:
            mark = self.rows[place[0]].marks[place[1]]
            if mark.case_number:
                self.open_case.emit(mark.case_number)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        place = self.mark_at(event.position())
        if place is not None:
            mark = self.rows[place[0]].marks[place[1]]
            QToolTip.showText(event.globalPosition().toPoint(), mark.description, self)
        else:
            QToolTip.hideText()

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.update()
        super().focusOutEvent(event)
