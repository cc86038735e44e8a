"""The spine level picker: joints C1-C2 to L5-S1 drawn top to bottom, each side clickable, keyboard operable.

Drawn as seen from behind (the patient prone, as on the table), so the patient's left is on the left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from caselog import vocab
from ui.style import is_dark

ROW_HEIGHT = 26
HEADER_HEIGHT = 26
WIDTH = 250
REGION_NAME = {"cervical": "Cervical", "thoracic": "Thoracic", "lumbar": "Lumbar"}
ACCENT = QColor("#1d5fbf")  # a chosen side, with white letters (6.3:1) on either palette


@dataclass(frozen=True, slots=True)
class PickerColours:
    """The drawing's colours for one palette; every text colour is at least 4.5:1 on what it is drawn over."""

    tint: Mapping[str, QColor]  # the rows of each region
    words: QColor  # the Left/Right heading and the region names
    rule: QColor  # lines between regions, unchosen outlines
    joint: QColor
    joint_chosen: QColor
    level: QColor
    level_chosen: QColor
    letter: QColor  # L and R of an unchosen side
    side_written: QColor  # "both", "L", "R" beside a chosen joint
    focus: QColor


LIGHT_PICKER = PickerColours(
    tint={"cervical": QColor("#eef4fb"), "thoracic": QColor("#f6f6f4"), "lumbar": QColor("#eef7f1")},
    words=QColor("#4b5563"), rule=QColor("#9aa5b1"), joint=QColor("#ffffff"), joint_chosen=QColor("#dbe7f8"),
    level=QColor("#374151"), level_chosen=QColor("#111827"), letter=QColor("#5b6472"),
    side_written=QColor("#1f3a5f"), focus=ACCENT,
)  # fmt: skip
DARK_PICKER = PickerColours(
    tint={"cervical": QColor("#26303b"), "thoracic": QColor("#303030"), "lumbar": QColor("#26352c")},
    words=QColor("#c8ccd2"), rule=QColor("#7b8594"), joint=QColor("#3a3f47"), joint_chosen=QColor("#1d4a85"),
    level=QColor("#e5e7eb"), level_chosen=QColor("#ffffff"), letter=QColor("#c8ccd2"),
    side_written=QColor("#a8c7f0"), focus=QColor("#7fb2f0"),
)  # fmt: skip


def picker_colours(palette: QPalette) -> PickerColours:
    return DARK_PICKER if is_dark(palette) else LIGHT_PICKER


SIDE_FROM_SET = {frozenset({"left"}): "left", frozenset({"right"}): "right", frozenset({"left", "right"}): "bilateral"}
SET_FROM_SIDE = {"left": {"left"}, "right": {"right"}, "bilateral": {"left", "right"}}


class LevelPicker(QWidget):
    """Click a facet on the left, the right, or the level name for both. Keys: Up/Down choose a joint,
    Left/Right toggle that side, Space toggles both, Delete clears the joint."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sides: dict[str, set[str]] = {}
        self.current = vocab.LEVEL_INDEX["L4-L5"]
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedSize(self.sizeHint())
        self.setAccessibleName("Spine level picker")
        self.setToolTip(
            "Seen from behind, as the patient lies prone: L is the patient's left.\n"
            "Click L or R for one side, the level's name for both. Keys: Up/Down, Left/Right, Space."
        )
        self.setMouseTracking(False)
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(WIDTH, HEADER_HEIGHT + ROW_HEIGHT * len(vocab.LEVELS) + 4)

    # ---- state ------------------------------------------------------------------------------------------

    def levels(self) -> list[tuple[str, str]]:
        """(level, side) pairs, top to bottom."""
        return [
            (level, SIDE_FROM_SET[frozenset(self._sides[level])]) for level in vocab.LEVELS if self._sides.get(level)
        ]

    def set_levels(self, levels: Iterable[Mapping[str, object]]) -> None:
        self._sides = {}
        for item in levels:
            level, side = item.get("level"), item.get("side")
            if (
                isinstance(level, str)
                and level in vocab.LEVEL_INDEX
                and isinstance(side, str)
                and side in SET_FROM_SIDE
            ):
                self._sides[level] = set(SET_FROM_SIDE[side])
        if self._sides:  # the keys start on the top chosen joint, so focusing the picker shows the choice
            self.current = min(vocab.LEVEL_INDEX[level] for level in self._sides)
        self._changed()

    def text(self) -> str:
        return "; ".join(f"{level} {side}" for level, side in self.levels())

    def toggle(self, level: str, side: str) -> None:
        """Toggle one side ('left' or 'right'), or 'both': both on, or both off when both were on."""
        chosen = self._sides.setdefault(level, set())
        if side == "both":
            if chosen == {"left", "right"}:
                chosen.clear()
            else:
                chosen.update({"left", "right"})
        elif side in chosen:
            chosen.discard(side)
        else:
            chosen.add(side)
        self._changed()

    def _changed(self) -> None:
        self._describe()
        self.update()
        self.changed.emit()

    def _describe(self) -> None:
        level = vocab.LEVELS[self.current]
        side = SIDE_FROM_SET.get(frozenset(self._sides.get(level, set())), "not chosen")
        self.setAccessibleDescription(
            f"{level}: {side}. Chosen: {self.text() or 'none'}. Up and Down move between joints; "
            "Left and Right toggle a side; Space toggles both sides."
        )

    # ---- geometry ---------------------------------------------------------------------------------------

    def row_rect(self, index: int) -> QRect:
        return QRect(0, HEADER_HEIGHT + index * ROW_HEIGHT, WIDTH, ROW_HEIGHT)

    def _parts(self, index: int) -> tuple[QRectF, QRectF, QRectF]:
        """Left facet, the joint's name between the vertebrae, right facet."""
        top = HEADER_HEIGHT + index * ROW_HEIGHT + 3.0
        h = ROW_HEIGHT - 6.0
        return (
            QRectF(70, top, 34, h),
            QRectF(110, top - 1, 58, h + 2),
            QRectF(174, top, 34, h),
        )

    def hit(self, pos: QPoint) -> tuple[str, str] | None:
        index = (pos.y() - HEADER_HEIGHT) // ROW_HEIGHT
        if pos.y() < HEADER_HEIGHT or not 0 <= index < len(vocab.LEVELS):
            return None
        x = pos.x()
        side = "left" if x < 107 else "right" if x > 171 else "both"
        return vocab.LEVELS[index], side

    def side_center(self, level: str, side: str) -> QPoint:
        """Where to click for a side (tests, and a mental model of the drawing)."""
        left, middle, right = self._parts(vocab.LEVEL_INDEX[level])
        rect = {"left": left, "right": right, "both": middle}[side]
        return rect.center().toPoint()

    # ---- events -----------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        found = self.hit(event.position().toPoint())
        if found:
            self.current = vocab.LEVEL_INDEX[found[0]]
            self.toggle(*found)
        self.setFocus(Qt.FocusReason.MouseFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        level = vocab.LEVELS[self.current]
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_PageUp,
                   Qt.Key.Key_PageDown):  # fmt: skip
            step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -5, Qt.Key.Key_PageDown: 5}
            if key == Qt.Key.Key_Home:
                self.current = 0
            elif key == Qt.Key.Key_End:
                self.current = len(vocab.LEVELS) - 1
            else:
                self.current = max(0, min(len(vocab.LEVELS) - 1, self.current + step[Qt.Key(key)]))
            self._describe()
            self.update()
            self.currentMoved.emit(self.row_rect(self.current))
        elif key == Qt.Key.Key_Left:
            self.toggle(level, "left")
        elif key == Qt.Key.Key_Right:
            self.toggle(level, "right")
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_B, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                return super().keyPressEvent(event)  # Enter belongs to the dialog
            self.toggle(level, "both")
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._sides.pop(level, None)
            self._changed()
        else:
            super().keyPressEvent(event)

    currentMoved = Signal(QRect)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.currentMoved.emit(self.row_rect(self.current))
        self.update()

    focusLeft = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()
        if event.reason() != Qt.FocusReason.ActiveWindowFocusReason:
            self.focusLeft.emit()

    # ---- drawing ----------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        c = picker_colours(palette)
        p.fillRect(self.rect(), palette.base())
        header = QRect(0, 0, WIDTH, HEADER_HEIGHT)
        p.setPen(c.words)
        font = p.font()
        bold = p.font()
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRect(62, 0, 50, HEADER_HEIGHT), Qt.AlignmentFlag.AlignCenter, "Left")
        p.drawText(QRect(166, 0, 50, HEADER_HEIGHT), Qt.AlignmentFlag.AlignCenter, "Right")
        p.setFont(font)
        p.drawLine(header.bottomLeft(), header.bottomRight())

        previous_region = ""
        for i, level in enumerate(vocab.LEVELS):
            row = self.row_rect(i)
            region = vocab.region_of(level)
            p.fillRect(row, c.tint[region])
            if region != previous_region:
                p.setPen(c.words)
                small = p.font()
                small.setPointSizeF(max(6.5, font.pointSizeF() - 1.5))
                p.setFont(small)
                p.drawText(QRect(4, row.top(), 62, ROW_HEIGHT), Qt.AlignmentFlag.AlignVCenter, REGION_NAME[region])
                p.setFont(font)
                if previous_region:
                    p.setPen(QPen(c.rule, 1))
                    p.drawLine(row.topLeft(), row.topRight())
                previous_region = region
            chosen = self._sides.get(level, set())
            left, middle, right = self._parts(i)
            # the joint between two vertebral bodies
            p.setPen(QPen(c.rule, 1))
            p.setBrush(c.joint_chosen if chosen else c.joint)
            p.drawRoundedRect(middle, 5, 5)
            p.setPen(c.level_chosen if chosen else c.level)
            if chosen:
                p.setFont(bold)
            p.drawText(middle, Qt.AlignmentFlag.AlignCenter, level)
            p.setFont(font)
            for rect, side, letter in ((left, "left", "L"), (right, "right", "R")):
                on = side in chosen
                p.setPen(QPen(ACCENT if on else c.rule, 1.5 if on else 1))
                p.setBrush(ACCENT if on else c.joint)
                p.drawEllipse(rect)
                p.setPen(QColor("#ffffff") if on else c.letter)
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, letter)
            if chosen:
                p.setPen(c.side_written)
                side_text = vocab.label(vocab.SIDES, SIDE_FROM_SET[frozenset(chosen)])
                p.drawText(QRect(212, row.top(), WIDTH - 212, ROW_HEIGHT), Qt.AlignmentFlag.AlignCenter,
                           "both" if side_text == "Bilateral" else side_text[0])  # fmt: skip
            if i == self.current and self.hasFocus():
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(c.focus, 1.5, Qt.PenStyle.DashLine))
                p.drawRect(row.adjusted(1, 1, -2, -2))
        p.end()


class _SpineScroll(QScrollArea):
    """Asks for about a dozen joints of height, so the form fits a laptop screen; it grows when there is room."""

    resized = Signal()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), HEADER_HEIGHT + 9 * ROW_HEIGHT + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def focusNextPrevChild(self, next: bool) -> bool:
        # QScrollArea scrolls its last focused child (the tall picker) into view as Tab leaves it, which threw
        # away the scroll to the chosen levels; the panel decides what shows.
        return QWidget.focusNextPrevChild(self, next)


class LevelPickerPanel(QWidget):
    """The picker in a scroll area that shows the chosen levels (the lumbar spine when none is chosen yet), with
    the chosen levels written out below. It comes back to them when focus leaves, so they stay in view."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = LevelPicker()
        self.scroll = _SpineScroll()
        self.scroll.setWidget(self.picker)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFixedWidth(WIDTH + self.scroll.verticalScrollBar().sizeHint().width() + 4)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.scroll.setMinimumHeight(HEADER_HEIGHT + 6 * ROW_HEIGHT)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Chosen levels")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.summary)
        self.picker.changed.connect(self._changed)
        self.picker.currentMoved.connect(self._reveal)
        self.picker.focusLeft.connect(self.show_chosen)
        # the dialog's layout settles after showing: keep the chosen levels in view, unless someone is browsing
        self.scroll.resized.connect(lambda: None if self.picker.hasFocus() else self.show_chosen())
        self._changed(emit=False)

    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        self.show_chosen()
        QTimer.singleShot(0, self.show_chosen)  # again once the dialog's layout has settled

    def show_lumbar(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def show_chosen(self) -> None:
        """Scroll to the chosen levels, from the lowest up so the top one wins when they do not all fit."""
        chosen = [vocab.LEVEL_INDEX[level] for level, _ in self.picker.levels()]
        if not chosen:
            self.show_lumbar()
            return
        for index in (max(chosen), min(chosen)):
            self._reveal(self.picker.row_rect(index))

    def _reveal(self, rect: QRect) -> None:
        self.scroll.ensureVisible(rect.center().x(), rect.center().y(), 0, ROW_HEIGHT)

    def _changed(self, emit: bool = True) -> None:
        text = self.picker.text()
        self.summary.setText(f"Levels: <b>{text}</b>" if text else "Levels: none chosen yet. Click a side.")
        if emit:
            self.changed.emit()

    def levels(self) -> list[tuple[str, str]]:
        return self.picker.levels()

    def set_levels(self, levels: Iterable[Mapping[str, object]]) -> None:
        self.picker.set_levels(levels)
