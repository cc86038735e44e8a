"""The case form's "Diagnostic block" section: the anesthetic, the pain before, the patient's diary typed as one
row of numbers, the activities question and the volume per level, with a live read-out of the block's relief.

Nothing here judges the input: `block_data()` and `volumes()` hand over what was typed (a number where it reads
as one, the text otherwise) and caselog.validation decides. The read-out is caselog.pathway's, under the
clinic's threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator, QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from caselog import pathway, vocab
from caselog.records import BlockDetails, DiaryEntry
from ui.style import colours

#: One diary value: a pain score 0-10, or "-" for a time not recorded. "10" is ten, so "1 0" is one, then none.
DIARY_TOKEN = re.compile(r"10|\d|-")
DIARY_CHARS = re.compile(r"[0-9 ,;\-]*")
TIMES = tuple(vocab.DIARY_TIMES)
#: Where the activities question keeps each answer.
ACTIVITIES = {"yes": True, "no": False}
VOLUME_RE = r"\d{0,2}([.,]\d{0,2})?"

MakeSlot = Callable[[str, str, QWidget], QWidget]


def diary_tokens(text: str) -> list[str]:
    """'3 2 2 4', '3224' and '3,2,-,4' alike: one value per diary time, in order."""
    return DIARY_TOKEN.findall(text)


def diary_text(diary: object) -> str:
    """The diary's row of numbers, "-" for each time not recorded before the last one that is."""
    values: dict[str, object] = {}
    if isinstance(diary, Sequence) and not isinstance(diary, str):
        for entry in diary:
            if isinstance(entry, Mapping) and entry.get("time") in vocab.DIARY_TIMES:
                values[str(entry["time"])] = entry.get("pain")
    recorded = [i for i, time in enumerate(TIMES) if values.get(time) is not None]
    if not recorded:
        return ""
    shown = ("-" if values.get(time) is None else str(values[time]) for time in TIMES[: recorded[-1] + 1])
    return " ".join(shown)


def number_or_text(text: str) -> object:
    """A typed number of mL as a number ("0,5" too); blank is absent; anything else goes to validation as typed."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def volume_text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


class DiaryValidator(QValidator):
    """At most one value per diary time; only digits, "-" and separators."""

    def validate(self, text: str, pos: int) -> object:
        if not DIARY_CHARS.fullmatch(text) or len(diary_tokens(text)) > len(TIMES):
            return QValidator.State.Invalid
        return QValidator.State.Acceptable


class BlockSection(QWidget):
    """The block's own fields; `edited(key)` fires with the validation path of the field a person changed."""

    edited = Signal(str)

    def __init__(self, make_slot: MakeSlot, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.threshold = 80
        #: Why the clinic's policy could not be read (a damaged setting): the block is then not judged at all.
        self.policy_problem: str | None = None
        self.series_text = ""
        self._levels: list[tuple[str, str]] = []
        self._level_edits: dict[str, QLineEdit] = {}
        self._level_values: dict[str, str] = {}

        self.anesthetic = QComboBox()
        self.anesthetic.setAccessibleName("Block anesthetic")
        self.anesthetic.addItem("Choose…", None)
        for key, label in vocab.BLOCK_ANESTHETICS.items():
            hours = vocab.ANESTHETIC_HOURS.get(key)
            self.anesthetic.addItem(f"{label} ({hours[0]:g}-{hours[1]:g} h)" if hours else label, key)
        self.anesthetic_detail = QLineEdit()
        self.anesthetic_detail.setAccessibleName("Name of the other anesthetic")
        self.anesthetic_detail.setPlaceholderText("which anesthetic")
        self.anesthetic_detail.setMaxLength(100)
        self.pain_before = QLineEdit()
        self.pain_before.setAccessibleName("Pain before the block (0-10)")
        self.pain_before.setPlaceholderText("0-10")
        self.pain_before.setValidator(QRegularExpressionValidator(QRegularExpression("10|[0-9]"), self))
        self.pain_before.setMaximumWidth(60)
        self.diary = QLineEdit()
        self.diary.setAccessibleName("Pain diary after the block")
        self.diary.setPlaceholderText(
            "pain 0-10 at 15 min, 30 min, 1 h, 2 h, 4 h, 6 h, 8 h, next morning; - if not noted"
        )
        self.diary.setToolTip(
            "Type the diary's pain scores in order, e.g. 3 2 2 4 5 6 7 7 (spaces optional; 10 is ten).\n"
            "A dash keeps a time the patient did not note; stop early when the diary ends."
        )
        self.diary.setValidator(DiaryValidator(self))
        self.activities = QComboBox()
        self.activities.setAccessibleName("Could do the activities that usually hurt")
        self.activities.addItem("Not asked", None)
        self.activities.addItem("Yes: could do what usually hurts", "yes")
        self.activities.addItem("No: still could not", "no")
        self.volume = QLineEdit()
        self.volume.setAccessibleName("Injected volume per level (mL)")
        self.volume.setPlaceholderText("mL")
        self.volume.setMaximumWidth(70)
        self.volume.setValidator(QRegularExpressionValidator(QRegularExpression(VOLUME_RE), self))
        self.each_level = QToolButton()
        self.each_level.setText("Each level…")
        self.each_level.setCheckable(True)
        self.each_level.setAccessibleName("A volume for each level")
        self.each_level.setToolTip("Give each level its own volume instead of one for all")
        self.level_row = QWidget()
        self.level_layout = QHBoxLayout(self.level_row)
        self.level_layout.setContentsMargins(0, 0, 0, 0)
        self.level_row.hide()

        self.readout = QLabel()
        self.readout.setAccessibleName("Block read-out")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result = QLabel()
        self.result.setAccessibleName("Block result")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)

        self._layout(make_slot)
        self._connect()
        self._sync_volume()
        self.update_readout()

    # ---- layout -----------------------------------------------------------------------------------------

    def _layout(self, make_slot: MakeSlot) -> None:
        left = QFormLayout()
        left.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        left.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        left.setVerticalSpacing(3)
        anesthetic = QWidget()
        row = QHBoxLayout(anesthetic)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.anesthetic, 1)
        row.addWidget(make_slot("block.anesthetic_detail", "Other anesthetic", self.anesthetic_detail), 1)
        left.addRow(self._label("Anesthetic", self.anesthetic), make_slot("block.anesthetic", "Anesthetic", anesthetic))
        pain = QWidget()
        row = QHBoxLayout(pain)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pain_before)
        row.addWidget(QLabel("of 10"))
        row.addStretch(1)
        left.addRow(self._label("Pain before", self.pain_before), make_slot("block.pain_before", "Pain before", pain))
        left.addRow(
            self._label("Activities", self.activities),
            make_slot("block.activities_possible", "Activities", self.activities),
        )
        volume = QWidget()
        row = QHBoxLayout(volume)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.volume)
        row.addWidget(QLabel("mL"))
        row.addWidget(self.each_level)
        row.addWidget(self.level_row)
        row.addStretch(1)
        left.addRow(self._label("Volume", self.volume), make_slot("volume_ml", "Volume", volume))

        right = QVBoxLayout()
        right.setSpacing(3)
        diary = QWidget()
        row = QHBoxLayout(diary)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._label("Diary", self.diary))
        row.addWidget(self.diary, 1)
        right.addWidget(make_slot("block.diary", "Diary", diary))
        right.addWidget(self.readout)
        right.addWidget(self.result)
        right.addStretch(1)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(left, 4)
        outer.addLayout(right, 5)

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    def focus_order(self) -> list[QWidget]:
        """The section's fields in the order Tab visits them: the diary right after the pain it is read against."""
        return [self.anesthetic, self.anesthetic_detail, self.pain_before, self.diary, self.activities,
                self.volume, self.each_level, *self._level_edits.values()]  # fmt: skip

    def _connect(self) -> None:
        def hook(signal: Any, key: str) -> None:
            signal.connect(lambda *_: self._edited(key))

        hook(self.anesthetic.activated, "block.anesthetic")
        hook(self.anesthetic_detail.textEdited, "block.anesthetic_detail")
        hook(self.pain_before.textEdited, "block.pain_before")
        hook(self.diary.textEdited, "block.diary")
        hook(self.activities.activated, "block.activities_possible")
        hook(self.volume.textEdited, "volume_ml")
        self.each_level.toggled.connect(self._each_level_toggled)
        # the read-out follows every change, a restored draft's and a template's too
        for changed in (self.pain_before.textChanged, self.diary.textChanged, self.anesthetic.currentIndexChanged):
            changed.connect(lambda *_: self.update_readout())
        self.anesthetic.currentIndexChanged.connect(lambda _i: self._sync_detail())
        self._sync_detail()

    def _edited(self, key: str) -> None:
        self.edited.emit(key)

    def _sync_detail(self) -> None:
        other = self.anesthetic.currentData() == "other"
        self.anesthetic_detail.setVisible(other)
        self.anesthetic_detail.setEnabled(other)

    # ---- volumes per level ------------------------------------------------------------------------------

    def _each_level_toggled(self, on: bool) -> None:
        if on:  # each level starts from the one volume typed for all
            for level, edit in self._level_edits.items():
                if not edit.text().strip():
                    edit.setText(self.volume.text())
                    self._level_values[level] = self.volume.text()
        self.level_row.setVisible(on)
        self._sync_volume()
        self._edited("volume_ml")

    def _sync_volume(self) -> None:
        """A volume belongs to a level: the boxes wait for the levels (a volume typed before would be lost)."""
        self.each_level.setEnabled(bool(self._levels))
        self.volume.setEnabled(bool(self._levels) and not self.each_level.isChecked())
        self.volume.setPlaceholderText("mL" if self._levels else "levels first")

    def set_levels(self, levels: Sequence[tuple[str, str]]) -> None:
        """The chosen levels, each with a volume box (kept by level when the choice changes)."""
        names = [level for level, _ in levels]
        self._levels = list(levels)
        self._sync_volume()
        if names == list(self._level_edits):
            return
        while self.level_layout.count():  # the level names and their boxes
            item = self.level_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._level_edits = {}
        for level in names:
            edit = QLineEdit(self._level_values.get(level, self.volume.text() if self.each_level.isChecked() else ""))
            edit.setAccessibleName(f"Volume at {level} (mL)")
            edit.setPlaceholderText("mL")
            edit.setMaximumWidth(56)
            edit.setValidator(QRegularExpressionValidator(QRegularExpression(VOLUME_RE), edit))
            edit.textEdited.connect(lambda text, lv=level: self._level_edited(lv, text))
            self.level_layout.addWidget(QLabel(level))
            self.level_layout.addWidget(edit)
            self._level_edits[level] = edit
        self.level_layout.addStretch(1)

    def _level_edited(self, level: str, text: str) -> None:
        self._level_values[level] = text
        self._edited("volume_ml")

    def volumes(self) -> dict[str, object]:
        """The volume typed for each chosen level (absent when blank), as typed: validation judges it."""
        found: dict[str, object] = {}
        for level, _ in self._levels:
            edit = self._level_edits.get(level)
            text = edit.text() if self.each_level.isChecked() and edit is not None else self.volume.text()
            value = number_or_text(text)
            if value is not None:
                found[level] = value
        return found

    def set_volumes(self, levels: Sequence[Mapping[str, Any]]) -> None:
        """One box for all levels when they share a volume (or none has one), else a box for each level. The
        levels themselves come first, through `set_levels`."""
        given = {str(lv.get("level")): volume_text(lv.get("volume_ml")) for lv in levels}
        distinct = set(given.values())
        self._level_values = dict(given)
        for level, edit in self._level_edits.items():
            edit.setText(given.get(level, ""))
        each = len(distinct) > 1
        self.volume.setText("" if each else (distinct.pop() if distinct else ""))
        self.each_level.blockSignals(True)
        self.each_level.setChecked(each)
        self.each_level.blockSignals(False)
        self.level_row.setVisible(each)
        self._sync_volume()

    # ---- the block --------------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not (
            self.anesthetic.currentData()
            or self.pain_before.text().strip()
            or diary_tokens(self.diary.text())
            or self.activities.currentData()
        )

    def diary_entries(self) -> list[dict[str, object]]:
        return [
            {"time": time, "pain": int(token)}
            for time, token in zip(TIMES, diary_tokens(self.diary.text()), strict=False)
            if token != "-"
        ]

    def block_data(self) -> dict[str, Any] | None:
        """The format's `block` object as typed, or None when nothing of the block is filled in."""
        if self.is_empty():
            return None
        activities = self.activities.currentData()
        return {
            "anesthetic": self.anesthetic.currentData(),
            "anesthetic_detail": (self.anesthetic_detail.text().strip() or None)
            if self.anesthetic.currentData() == "other"
            else None,
            "pain_before": int(self.pain_before.text()) if self.pain_before.text().strip() else None,
            "diary": self.diary_entries(),
            "activities_possible": ACTIVITIES.get(activities) if activities else None,
        }

    def set_block(self, block: object) -> None:
        """Show a (possibly partial, possibly invalid) `block` object; None clears the section."""
        data: Mapping[str, Any] = block if isinstance(block, Mapping) else {}
        index = self.anesthetic.findData(data.get("anesthetic")) if data.get("anesthetic") else 0
        self.anesthetic.setCurrentIndex(max(index, 0))
        detail = data.get("anesthetic_detail")
        self.anesthetic_detail.setText(detail if isinstance(detail, str) else "")
        before = data.get("pain_before")
        self.pain_before.setText(str(before) if isinstance(before, int) and not isinstance(before, bool) else "")
        self.diary.setText(diary_text(data.get("diary")))
        activities = data.get("activities_possible")
        self.activities.setCurrentIndex({True: 1, False: 2}.get(activities, 0) if isinstance(activities, bool) else 0)
        self.update_readout()

    def details(self) -> BlockDetails | None:
        """The block as far as it can be read now (for the read-out; the stored one comes from validation)."""
        anesthetic = self.anesthetic.currentData()
        if not anesthetic:
            return None
        text = self.pain_before.text().strip()
        entries = tuple(DiaryEntry(str(e["time"]), int(str(e["pain"]))) for e in self.diary_entries())
        return BlockDetails(anesthetic, None, int(text) if text else None, entries, None)

    # ---- read-out ---------------------------------------------------------------------------------------

    def set_threshold(self, percent: int) -> None:
        self.threshold = percent
        self.policy_problem = None
        self.update_readout()

    def set_policy_unread(self, problem: str) -> None:
        """The policy could not be read: the relief is shown, no result (a default threshold would judge the block
        by a rule the clinic may not have)."""
        self.policy_problem = problem
        self.update_readout()

    def set_series(self, text: str) -> None:
        """ "Second block at L4-L5 bilateral": where this block stands in the patient's series."""
        self.series_text = text
        self.update_readout()

    def update_readout(self) -> None:
        c = colours(self.palette())
        tokens = diary_tokens(self.diary.text())
        before_text = self.pain_before.text().strip()
        before = int(before_text) if before_text else None
        pains, reliefs = [], []
        for i, _time in enumerate(TIMES):
            token = tokens[i] if i < len(tokens) else ""
            pains.append(escape(token))
            if token and token != "-" and before:
                reliefs.append(pathway.percent_text(pathway.relief_percent(before, int(token))))
            else:
                reliefs.append("")

        def row(title: str, cells: list[str], tag: str = "td") -> str:
            inner = "".join(f"<{tag} style='padding: 0 6px' align='center'>{v}</{tag}>" for v in cells)
            return f"<tr><td>{title}</td>{inner}</tr>"

        self.readout.setText(
            f"<table style='color: {c.hint}'>"
            + row("", [escape(vocab.DIARY_TIMES[t]) for t in TIMES], "th")
            + row("Pain", pains)
            + row("Relief", reliefs)
            + "</table>"
        )
        self.result.setText(self.result_html())

    def result_html(self) -> str:
        """Peak relief, how long it stayed at the clinic's threshold, concordance and the result, in words."""
        c = colours(self.palette())
        block = self.details()
        series = f"<b>{escape(self.series_text)}</b>. " if self.series_text else ""
        if block is None or not block.pain_before or not block.diary:  # no relief is measured from no pain
            return f"{series}<span style='color: {c.hint}'>The result shows once the anesthetic, the pain before " \
                   "and the diary are in.</span>"  # fmt: skip
        if self.policy_problem is not None:
            return (
                f"{series}<span style='color: {c.error}'>Not judged: {escape(self.policy_problem, quote=False)}</span>"
            )
        return series + reading_html(block, self.threshold, c.success, c.error)


def reading_html(block: BlockDetails, threshold: int, good: str, bad: str) -> str:
    """The block's reading under the threshold, as one line of rich text (the form and the detail pane)."""
    reading = pathway.read_block(block, threshold)
    peak = reading.peak_relief
    if peak is None:
        return "Relief is not measured: the diary or the pain before the block is missing."
    parts = [f"Peak relief <b>{pathway.percent_text(peak)}</b>"]
    if reading.relief_minutes:
        parts.append(f"at least {threshold}% for {pathway.duration_text(reading.relief_minutes)}")
    else:
        parts.append(f"never {threshold}% or more")
    hours = vocab.ANESTHETIC_HOURS.get(block.anesthetic)
    usual = f" ({hours[0]:g}-{hours[1]:g} h)" if hours else ""
    parts.append(f"{pathway.CONCORDANCE_TEXT[reading.concordance]}{usual}")
    if reading.positive is None:
        verdict = "Result: not known"
    elif reading.positive:
        verdict = f"<span style='color: {good}'><b>Positive</b></span>"
    else:
        verdict = f"<span style='color: {bad}'><b>Negative</b></span>"
    return " · ".join(parts) + f". {verdict} at the clinic's {threshold}% threshold."
