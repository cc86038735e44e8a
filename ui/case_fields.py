"""The case form's fields, grouped as staff think of them, and their round trip to the contract's CASE object.

Nothing here judges the input: `data()` hands over what was typed, and `caselog.validation` decides.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QDate, QModelIndex, QRegularExpression, Qt, Signal
from PySide6.QtGui import QFocusEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from caselog import fields, outcomes, vocab
from ui.block_section import BlockSection
from ui.level_picker import LevelPickerPanel
from ui.rows_editor import YES_NO, RowColumn, RowsEditor, parse_int

W = TypeVar("W", bound=QWidget)
#: Fields of the table whose widgets are built here by hand: codes with a Suggest button, times, minutes.
EXPLICIT = frozenset({"cpt_codes", "start_time", "end_time", "duration_minutes"})
TIME_RE = re.compile(r"(\d{1,2})[:.h]?(\d{2})")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T(\d{2}:\d{2})")


@dataclass
class Slot:
    """One field as validation sees it: the path it answers for, its title, its widget and its message line."""

    key: str
    title: str
    widget: QWidget
    error: QLabel
    #: How a person names the field in a sentence ("anesthesia type", not "Type").
    name: str = ""


#: Field names for the form's status line, where the label alone ("Type", "Date") would not say which field.
SPOKEN_NAMES = {
    **{f.key: f.short for f in fields.FIELDS},
    "patient.mrn": "MRN", "patient.family_name": "family name", "patient.given_name": "given name",
    "patient.birth_date": "birth date", "patient.sex": "sex", "anesthesia.type": "anesthesia type",
    "anesthesia.sedation": "sedation", "anesthesia.asa_class": "ASA class",
    "anesthesia.provider": "anesthesia provider", "block.anesthetic": "block anesthetic",
    "block.anesthetic_detail": "other anesthetic", "block.pain_before": "pain before the block",
    "block.diary": "pain diary", "block.activities_possible": "activities", "volume_ml": "volume per level",
}  # fmt: skip
#: The tab of the block's details: shown for a medial branch block only.
BLOCK_TAB = 3


def normalize_time(text: str) -> str | None:
    """'930', '9:30', '09.30' -> '09:30'; None when it does not look like a time at all."""
    found = TIME_RE.fullmatch(text.strip())
    if not found:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2))
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


class DateEdit(QDateEdit):
    """A date field that Tab leaves (Qt's default walks year, month, day first); arrows and typing edit it."""

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


class MinutesEdit(QLineEdit):
    """Minutes as plain digits with a "minutes" placeholder. A QSpinBox with a special-value text showed "—" as
    real text: a click put the cursor beside it, "—45" is no number, so its validator dropped every digit typed."""

    valueChanged = Signal(int)

    def __init__(self, maximum: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maximum = maximum
        self.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,5}"), self))
        self.setPlaceholderText("minutes")
        self.textChanged.connect(lambda _text: self.valueChanged.emit(self.value()))

    def value(self) -> int:
        text = self.text().strip()
        return int(text) if text.isdigit() else 0

    def setValue(self, value: int) -> None:
        self.setText(str(value) if value else "")

    def maximum(self) -> int:
        return self._maximum

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        if event.reason() == Qt.FocusReason.MouseFocusReason:
            return  # the click places the cursor
        self.selectAll()


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _combo(name: str, choices: Mapping[str, str], blank: str | None = "Choose…") -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(name)
    if blank is not None:
        box.addItem(blank, None)
    for key, label in choices.items():
        box.addItem(label, key)
    return box


def _set_combo(box: QComboBox, key: object) -> None:
    index = box.findData(key) if key is not None else 0
    box.setCurrentIndex(max(index, 0))


def _row(main: QWidget, beside: QWidget) -> QWidget:
    """A field with a small companion to its right (a button, a unit, a check box)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(main, 1)
    layout.addWidget(beside)
    return row


def _line(name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def _editable_combo(name: str) -> QComboBox:
    box = QComboBox()
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.setAccessibleName(name)
    assert box.lineEdit() is not None
    box.lineEdit().setAccessibleName(name)
    return box


GRADES = {k: k for k in vocab.CLAVIEN_DINDO_GRADES}
COMPLICATION_COLUMNS = (
    RowColumn("category", "Complication", "choice", vocab.COMPLICATION_CATEGORIES, 200, spoken="category"),
    RowColumn("timing", "Timing", "choice", vocab.COMPLICATION_TIMINGS, 150),
    RowColumn("onset_date", "Onset date", "date", width=90),
    RowColumn("clavien_dindo", "Clavien-Dindo", "choice", GRADES, 95, spoken="Clavien-Dindo grade"),
    RowColumn("description", "Description", width=140),
    RowColumn("treatment", "Treatment", width=140),
    RowColumn("resolved_date", "Resolved", "date", width=90, spoken="resolved date"),
    RowColumn("review_status", "Review", "choice", vocab.REVIEW_STATUSES, 90, default="open", spoken="review status"),
)
#: PGIC answers led by their score, so typing the digit picks the answer.
PGIC_CHOICES = {str(score): f"{score} {label}" for score, label in vocab.PGIC.items()}
OUTCOME_COLUMNS = (
    RowColumn("timepoint", "Timepoint", "choice", vocab.TIMEPOINTS, 90),
    RowColumn("date", "Date", "date", width=85),
    RowColumn("odi", "ODI (0-100)", "int", width=80, spoken="ODI"),
    RowColumn("nrs_back", "NRS back (0-10)", "int", width=102, spoken="NRS back"),
    RowColumn("nrs_leg", "NRS leg (0-10)", "int", width=97, spoken="NRS leg"),
    RowColumn("ndi", "NDI (0-100)", "int", width=80, spoken="NDI"),
    RowColumn("nrs_neck", "NRS neck (0-10)", "int", width=105, spoken="NRS neck"),
    RowColumn("nrs_arm", "NRS arm (0-10)", "int", width=100, spoken="NRS arm"),
    RowColumn("relief_percent", "Relief %", "int", width=60, spoken="relief %"),
    RowColumn("pgic", "PGIC", "scale", PGIC_CHOICES, 115, spoken="PGIC"),
    RowColumn("work_status", "Work", "choice", vocab.WORK_STATUSES, 145, spoken="work status"),
    RowColumn("analgesics", "Pain medication", "choice", vocab.ANALGESIC_USE, 165, spoken="pain medication"),
    RowColumn("returned_to_activities", "Back to activities", "date", width=110, spoken="return to activities"),
    RowColumn("physical_therapy", "PT", "yesno", YES_NO, 40, spoken="physical therapy"),
)


class CaseFields(QWidget):
    """Every contract field of one case. `edited(key)` fires when the user changes the field answering for `key`."""

    edited = Signal(str)

    def __init__(self, *, procedure_day: Callable[[], dt.date], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slots: dict[str, Slot] = {}
        self.labels: dict[str, QLabel] = {}
        #: The widget that takes the typing for each key (the slot's widget may be a row around it).
        self.inputs: dict[str, QWidget] = {}
        self.patient_locked = False
        self._procedure_day = procedure_day
        self.known_patient = QLabel()
        self.known_patient.setObjectName("hint")
        self.known_patient.setWordWrap(True)
        self.known_patient.hide()

        # patient
        self.mrn = _line("MRN", "letters, digits, -")
        self.family_name = _line("Family name")
        self.given_name = _line("Given name", "optional")
        self.birth_date = _line("Birth date", "YYYY-MM-DD")
        self.sex = _combo("Sex", vocab.SEXES)
        self.change_patient = QPushButton("C&hange patient…")
        self.change_patient.setAccessibleName("Change patient")
        self.change_patient.setToolTip("This case's patient is locked; change it only if it is the wrong person")
        self.change_patient.hide()
        # the table's fields with a simple widget of their own (caselog.fields), by key
        self.widgets: dict[str, QWidget] = {
            f.key: _widget_for(f, procedure_day) for f in fields.FIELDS if f.form and f.key not in EXPLICIT
        }
        self.procedure_date = self._widget("procedure_date", DateEdit)
        self.procedure = self._widget("procedure", QComboBox)
        self.surgeon = self._widget("surgeon", QComboBox)
        self.facility = self._widget("facility", QComboBox)
        self.procedure_detail = self._widget("procedure_detail", QLineEdit)
        self.assistants = self._widget("assistants", QLineEdit)
        self.disposition = self._widget("disposition", QComboBox)
        # levels and codes
        self.levels = LevelPickerPanel()
        cpt = fields.BY_KEY["cpt_codes"]
        self.cpt_codes = _line(cpt.short, cpt.form.placeholder if cpt.form else "")
        self.cpt_suggest = QToolButton()
        self.cpt_suggest.setText("Suggest")
        self.cpt_suggest.setAccessibleName("Suggest CPT codes")
        self.cpt_suggest.setToolTip("Put back the codes suggested for this procedure and these levels")
        self.cpt_hint = QLabel()
        self.cpt_hint.setObjectName("hint")
        self.cpt_hint.setWordWrap(True)
        # timing and anesthesia
        self.start_time = _line("Start time", "HH:MM")
        self.end_time = _line("End time", "HH:MM")
        self.duration = MinutesEdit(fields.DURATION_MINUTES_MAX)
        self.duration.setAccessibleName("Duration in minutes")
        self.anesthesia_type = _combo("Anesthesia", vocab.ANESTHESIA_TYPES)
        self.sedation = _combo("Sedation", vocab.SEDATION_LEVELS, "None")
        self.asa_class = _combo("ASA class", {k: f"{k} – {v}" for k, v in vocab.ASA_CLASSES.items()}, "Not recorded")
        self.emergency = QCheckBox("Emergency (E)")
        self.emergency.setAccessibleName("Emergency")
        self.anesthesia_provider = _line("Anesthesia provider", "optional")
        # lists and notes
        self.complications = RowsEditor(
            "Complications", COMPLICATION_COLUMNS, new_row=self._new_complication, add_text="&Add complication"
        )
        self.outcomes = RowsEditor("Outcomes", OUTCOME_COLUMNS)
        #: The case's follow-up attempts (format version 3): recorded from the follow-up desk, shown here read-only
        #: and handed back unchanged by `data()`, so an edit of the case never drops one.
        self.attempts: list[dict[str, Any]] = []
        self.attempts_label = QLabel()
        self.attempts_label.setObjectName("hint")
        self.attempts_label.setWordWrap(True)
        self.attempts_label.setAccessibleName("Follow-up attempts")
        self.attempts_label.hide()
        self.referring_physician = self._widget("referring_physician", QLineEdit)
        self.copy_to = self._widget("copy_to", QLineEdit)
        self.indication = self._widget("indication", QPlainTextEdit)
        self.notes = self._widget("notes", QPlainTextEdit)
        # a diagnostic block's details, and why a case outside the clinic's policy was done
        self.block = BlockSection(self._slot)
        self.policy_note = QLabel()
        self.policy_note.setObjectName("policyNote")
        self.policy_note.setWordWrap(True)
        self.policy_note.setTextFormat(Qt.TextFormat.RichText)
        self.policy_note.setAccessibleName("Indication check")
        self.policy_note.hide()
        reason = fields.BY_KEY["outside_policy_reason"]
        self.outside_policy_reason = _line(reason.label, "why this case was done outside the policy (needed to sign)")
        self.outside_policy_reason.setMaxLength(reason.max_len)

        self._layout()
        for box in self.findChildren(QComboBox):
            # long labels (ASA IV's) must not widen the form past a laptop screen; the popup shows them whole
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(14)
        self._connect()
        self.set_patient_locked(False)
        self._sync_outcome_columns()

    def _widget(self, key: str, kind: type[W]) -> W:
        widget = self.widgets[key]
        assert isinstance(widget, kind)
        return widget

    def _new_complication(self) -> dict[str, str]:
        """Timing starts empty: a guessed "intraoperative" would be printed as fact if nobody changed it."""
        return {"review_status": "open"}

    def _complication_edited(self, top: QModelIndex, bottom: QModelIndex, *_roles: object) -> None:
        """An intraoperative complication starts on the procedure date (the contract's rule), so fill it in."""
        model = self.complications.model
        timing, onset = model.column_of("timing"), model.column_of("onset_date")
        if top != bottom or top.column() != timing:
            return
        row = model.rows[top.row()]
        if row.get("timing") == "intraoperative" and not row.get("onset_date"):
            model.setData(model.index(top.row(), onset), self._procedure_date().isoformat())

    def set_patient_locked(self, locked: bool) -> None:
        """The patient's identity is read-only (and looks it) until "Change patient…" is confirmed."""
        for edit in (self.mrn, self.family_name, self.given_name, self.birth_date):
            edit.setReadOnly(locked)
            edit.style().unpolish(edit)  # style sheets read the readOnly property only when polished
            edit.style().polish(edit)
        self.sex.setEnabled(not locked)
        self.change_patient.setVisible(locked)
        self.patient_group.setTitle("Patient (locked)" if locked else "Patient")
        self.patient_locked = locked

    # ---- layout -----------------------------------------------------------------------------------------

    def _slot(self, key: str, title: str, widget: QWidget) -> QWidget:
        """The widget with its message line under it."""
        error = QLabel()
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.setAccessibleName(f"{title} problem")
        error.hide()
        self.slots[key] = Slot(key, title, widget, error, SPOKEN_NAMES.get(key, title.lower()))
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(widget)
        layout.addWidget(error)
        return box

    def _form(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        group = QGroupBox(title)
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(4)
        return group, form

    def _add(self, form: QFormLayout, title: str, key: str, widget: QWidget, field: QWidget | None = None) -> None:
        """A labelled row; an & in the title makes Alt+letter jump to the field."""
        label = QLabel(title)
        label.setBuddy(widget)
        self.labels[key] = label
        self.inputs[key] = widget
        form.addRow(label, self._slot(key, title.rstrip(":* ").replace("&", ""), field or widget))

    def _section_widgets(self, section: fields.Section) -> list[QWidget]:
        return [self.widgets[f.key] for f in fields.ON_FORM[section] if f.key in self.widgets]

    def _add_fields(self, form: QFormLayout, section: fields.Section) -> None:
        """The table's fields of one section of the form, in their order, each with its title (and * if required)."""
        for f in fields.ON_FORM[section]:
            if f.key in EXPLICIT or f.form is None:
                continue
            widget = self.widgets[f.key]
            if isinstance(widget, QCheckBox):  # its own text is its title
                self.inputs[f.key] = widget
                form.addRow("", widget)
            else:
                beside = _row(widget, QLabel(f.unit)) if f.unit else None  # "mL", "s", "%" after the number
                self._add(form, f"{f.form.title} *" if f.required else f.form.title, f.key, widget, beside)

    def _layout(self) -> None:
        # Mnemonics (Alt+letter) are unique across the form; Alt+A adds a complication (the form's shortcut).
        patient, pf = self._form("Patient")
        self.patient_group = patient
        self._add(pf, "&MRN *", "patient.mrn", self.mrn, _row(self.mrn, self.change_patient))
        pf.addRow("", self.known_patient)
        self._add(pf, "&Family name *", "patient.family_name", self.family_name)
        self._add(pf, "&Given name", "patient.given_name", self.given_name)
        self._add(pf, "&Birth date *", "patient.birth_date", self.birth_date)
        self._add(pf, "Se&x *", "patient.sex", self.sex)

        procedure, rf = self._form("Procedure")
        self._add_fields(rf, "procedure")

        levels = QGroupBox("Le&vels *")
        lv = QVBoxLayout(levels)
        lv.addWidget(self._slot("levels", "Levels", self.levels), 1)
        self.inputs["levels"] = self.levels.picker
        codes, cf = self._form("Codes")
        cpt = fields.BY_KEY["cpt_codes"]
        assert cpt.form is not None
        self._add(cf, cpt.form.title, "cpt_codes", self.cpt_codes, _row(self.cpt_codes, self.cpt_suggest))
        cf.addRow("", self.cpt_hint)
        self._add_fields(cf, "codes")
        middle = QVBoxLayout()
        middle.addWidget(levels, 1)

        timing, tf = self._form("Timing")
        explicit: dict[str, QWidget] = {"start_time": self.start_time, "end_time": self.end_time}
        for f in fields.ON_FORM["timing"]:
            assert f.form is not None
            if f.key == "duration_minutes":  # needed unless start and end give it
                row = _row(self.duration, QLabel(f.unit))
                self._add(tf, f"{f.form.title} *", f.key, self.duration, row)
            else:
                self._add(tf, f.form.title, f.key, explicit[f.key])
        anesthesia, af = self._form("Anesthesia")
        self._add(af, "T&ype *", "anesthesia.type", self.anesthesia_type)
        self._add(af, "Sedati&on", "anesthesia.sedation", self.sedation)
        self._add(af, "ASA", "anesthesia.asa_class", self.asa_class, _row(self.asa_class, self.emergency))
        self._add(af, "Provider", "anesthesia.provider", self.anesthesia_provider)
        after, of = self._form("Course")
        self._add_fields(of, "course")
        left = QVBoxLayout()
        left.addWidget(patient)
        left.addWidget(procedure)
        left.addWidget(codes)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(timing)
        right.addWidget(anesthesia)
        right.addWidget(after)
        right.addStretch(1)

        top = QHBoxLayout()
        top.addLayout(left, 5)
        top.addLayout(middle, 3)
        top.addLayout(right, 5)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Complications, outcomes and notes")
        self.tabs.addTab(self._slot("complications", "Complications", self.complications), "Complications")
        outcomes_page = self._slot("outcomes", "Outcomes", self.outcomes)
        outcomes_layout = outcomes_page.layout()
        assert outcomes_layout is not None
        outcomes_layout.addWidget(self.attempts_label)
        self.tabs.addTab(outcomes_page, "Outcomes")
        notes = QWidget()
        nv = QVBoxLayout(notes)
        nv.setContentsMargins(0, 0, 0, 0)
        referral = QFormLayout()
        referral.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._add_fields(referral, "referral")
        nv.addLayout(referral)
        nl = QHBoxLayout()
        for f in fields.ON_FORM["notes"]:
            nl.addWidget(self._slot(f.key, f.label, self.widgets[f.key]))
        nv.addLayout(nl, 1)
        self.tabs.addTab(notes, "Referral, indication and notes")
        self.tabs.addTab(self.block, "Diagnostic block")
        self.tabs.setTabVisible(BLOCK_TAB, False)
        self.tabs.setMinimumHeight(160)
        self.tabs.setMaximumHeight(190)
        # under the warning of the indication check (the form puts it beside its buttons, always in view)
        self.policy_box = QWidget()
        pl = QFormLayout(self.policy_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        pl.addRow(self.policy_note)
        self._add(pl, "Reason outside policy", "outside_policy_reason", self.outside_policy_reason)
        self.set_reason_shown(False)

        # The wrapped message lines ask their height for the width they get: with every message showing, the
        # form scrolls rather than pressing fields below their height (as at 1280×720 it once did).
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(top, 1)
        outer.addWidget(self.tabs)

        order: list[QWidget] = [
            self.mrn, self.change_patient, self.family_name, self.given_name, self.birth_date, self.sex,
            *self._section_widgets("procedure"), self.levels.picker,
            self.cpt_codes, self.cpt_suggest, *self._section_widgets("codes"),
            self.start_time, self.end_time, self.duration,
            self.anesthesia_type, self.sedation, self.asa_class, self.emergency, self.anesthesia_provider,
            *self._section_widgets("course"), self.tabs, *self.block.focus_order(),
            self.complications.view, self.complications.add_button, self.complications.remove_button,
        ]  # fmt: skip
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def _chain_block(self) -> None:
        """The block's fields after the tab bar, its volume boxes included (they come and go with the levels)."""
        for first, second in itertools.pairwise([self.tabs, *self.block.focus_order(), self.complications.view]):
            QWidget.setTabOrder(first, second)

    def set_reason_shown(self, shown: bool) -> None:
        """The reason's row shows when the check finds the case outside the policy, or a reason is written."""
        shown = shown or bool(self.outside_policy_reason.text().strip())
        self.outside_policy_reason.setVisible(shown)
        self.labels["outside_policy_reason"].setVisible(shown)
        if not shown:
            self.slots["outside_policy_reason"].error.hide()

    def is_block(self) -> bool:
        return bool(self.procedure.currentData() == "medial_branch_block")

    def _sync_block(self) -> None:
        """The block's tab shows for a medial branch block only, and comes forward when that is chosen."""
        was = self.tabs.isTabVisible(BLOCK_TAB)
        self.tabs.setTabVisible(BLOCK_TAB, self.is_block())
        if self.is_block() and not was:
            self.tabs.setCurrentIndex(BLOCK_TAB)
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        """The tabs' height: more for a block's details, and a line more for the follow-up attempts."""
        self.tabs.setMaximumHeight((230 if self.is_block() else 190) + (34 if self.attempts else 0))

    def _levels_changed(self) -> None:
        self.block.set_levels(self.levels.levels())
        self._chain_block()
        self._sync_outcome_columns()

    def _sync_outcome_columns(self) -> None:
        """The outcome table asks the measures of the levels' region (ODI and back/leg pain, or NDI and neck/arm);
        the other region's columns show only where a row holds a value."""
        asked = outcomes.measures_for([level for level, _ in self.levels.levels()])
        self.outcomes.show_columns(asked, outcomes.ALL_SCORES)

    def _show_attempts(self) -> None:
        lines = [_attempt_text(a) for a in self.attempts]
        self.attempts_label.setText("Follow-up attempts (recorded at the follow-up desk): " + "; ".join(lines))
        self.attempts_label.setVisible(bool(lines))
        self._fit_tabs()

    def _connect(self) -> None:
        def hook(signal: Any, key: str) -> None:
            signal.connect(lambda *_: self.edited.emit(key))

        for edit, key in (
            (self.mrn, "patient.mrn"), (self.family_name, "patient.family_name"),
            (self.given_name, "patient.given_name"), (self.birth_date, "patient.birth_date"),
            (self.cpt_codes, "cpt_codes"), (self.start_time, "start_time"), (self.end_time, "end_time"),
            (self.anesthesia_provider, "anesthesia.provider"),
        ):  # fmt: skip
            hook(edit.textEdited, key)
        for box, key in (
            (self.sex, "patient.sex"), (self.anesthesia_type, "anesthesia.type"),
            (self.sedation, "anesthesia.sedation"), (self.asa_class, "anesthesia.asa_class"),
        ):  # fmt: skip
            hook(box.activated, key)
        for key, widget in self.widgets.items():
            hook(_edited_signal(widget), key)
        hook(self.duration.valueChanged, "duration_minutes")
        hook(self.emergency.toggled, "anesthesia.asa_class")
        self.levels.changed.connect(self._levels_changed)
        hook(self.levels.changed, "levels")
        self.block.edited.connect(self.edited.emit)
        hook(self.outside_policy_reason.textEdited, "outside_policy_reason")
        self.procedure.currentIndexChanged.connect(lambda _i: self._sync_block())
        hook(self.complications.changed, "complications")
        self.complications.model.dataChanged.connect(self._complication_edited)
        hook(self.outcomes.changed, "outcomes")

    # ---- values -----------------------------------------------------------------------------------------

    def _procedure_date(self) -> dt.date:
        d = self.procedure_date.date()
        return dt.date(d.year(), d.month(), d.day())

    def _time(self, edit: QLineEdit) -> str | None:
        text = edit.text().strip()
        if not text:
            return None
        normalized = normalize_time(text)
        return f"{self._procedure_date().isoformat()}T{normalized}" if normalized else text

    def times_minutes(self) -> int | None:
        """Minutes from start to end when both are readable times and end is later, else None."""
        start, end = normalize_time(self.start_time.text()), normalize_time(self.end_time.text())
        if not start or not end:
            return None
        minutes = (int(end[:2]) * 60 + int(end[3:])) - (int(start[:2]) * 60 + int(start[3:]))
        return minutes if minutes > 0 else None

    def data(self) -> dict[str, Any]:
        """The CASE object as typed (no case number or status: the service assigns those)."""

        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        times_given = bool(self.start_time.text().strip()) and bool(self.end_time.text().strip())
        data: dict[str, Any] = {
            "patient": {
                "mrn": self.mrn.text().strip() or None,
                "family_name": text(self.family_name),
                "given_name": self.given_name.text().strip(),
                "birth_date": text(self.birth_date),
                "sex": self.sex.currentData(),
            },
            "cpt_codes": _words(self.cpt_codes),
            "levels": self._levels_data(),
            "start_time": self._time(self.start_time),
            "end_time": self._time(self.end_time),
            "duration_minutes": None if times_given or not self.duration.value() else self.duration.value(),
            "anesthesia": {
                "type": self.anesthesia_type.currentData(),
                "sedation": self.sedation.currentData(),
                "asa_class": self.asa_class.currentData(),
                "emergency": self.emergency.isChecked(),
                "provider": text(self.anesthesia_provider),
            },
            "complications": self.complications.items(),
            "outcomes": self.outcomes.items(),
        }
        if self.attempts:
            data["follow_up_attempts"] = [dict(a) for a in self.attempts]
        for key, widget in self.widgets.items():
            f = fields.BY_KEY[key]
            value = _value_of(f, widget)
            # The format's extensions are written only when they hold something (as an export writes them).
            if not (f.extension and fields.is_empty(value)):
                data[key] = value
        block = self.block.block_data() if self.is_block() else None
        if block is not None:
            data["block"] = block
        reason = self.outside_policy_reason.text().strip()
        if reason:
            data["outside_policy_reason"] = reason
        return data

    def _levels_data(self) -> list[dict[str, Any]]:
        """The chosen levels; a block's with the volume injected at each (only when typed)."""
        volumes = self.block.volumes() if self.is_block() else {}
        levels: list[dict[str, Any]] = []
        for level, side in self.levels.levels():
            item: dict[str, Any] = {"level": level, "side": side}
            if level in volumes:
                item["volume_ml"] = volumes[level]
            levels.append(item)
        return levels

    def set_data(self, data: Mapping[str, Any]) -> None:
        """Fill the fields from a (possibly partial, possibly invalid) CASE object; absent keys are left alone."""

        def put(edit: QLineEdit, value: object) -> None:
            edit.setText("" if value is None else str(value))

        patient = data.get("patient")
        if isinstance(patient, Mapping):
            put(self.mrn, patient.get("mrn"))
            put(self.family_name, patient.get("family_name"))
            put(self.given_name, patient.get("given_name"))
            put(self.birth_date, patient.get("birth_date"))
            _set_combo(self.sex, patient.get("sex"))
        for key, widget in self.widgets.items():
            if key in data:
                _put_value(fields.BY_KEY[key], widget, data.get(key))
        if "levels" in data:
            levels = [lv for lv in data.get("levels") or [] if isinstance(lv, Mapping)]
            self.levels.set_levels(levels)
            self.block.set_volumes(levels)
        if "block" in data:
            self.block.set_block(data.get("block"))
        if "outside_policy_reason" in data:
            value = data.get("outside_policy_reason")
            put(self.outside_policy_reason, value)
            self.set_reason_shown(False)
        if "cpt_codes" in data:
            put(self.cpt_codes, " ".join(str(c) for c in data.get("cpt_codes") or []))
        for key, edit in (("start_time", self.start_time), ("end_time", self.end_time)):
            if key in data:
                value = data.get(key)
                found = DATETIME_RE.fullmatch(value) if isinstance(value, str) else None
                put(edit, found.group(1) if found else value)
        if "duration_minutes" in data:
            value = data.get("duration_minutes")
            self.duration.setValue(value if isinstance(value, int) and not isinstance(value, bool) else 0)
        anesthesia = data.get("anesthesia")
        if isinstance(anesthesia, Mapping):
            _set_combo(self.anesthesia_type, anesthesia.get("type"))
            _set_combo(self.sedation, anesthesia.get("sedation"))
            _set_combo(self.asa_class, anesthesia.get("asa_class"))
            self.emergency.setChecked(bool(anesthesia.get("emergency")))
            put(self.anesthesia_provider, anesthesia.get("provider"))
        if "complications" in data:
            self.complications.set_items([c for c in data.get("complications") or [] if isinstance(c, Mapping)])
        if "outcomes" in data:
            self.outcomes.set_items([o for o in data.get("outcomes") or [] if isinstance(o, Mapping)])
        if "follow_up_attempts" in data:
            self.attempts = [dict(a) for a in data.get("follow_up_attempts") or [] if isinstance(a, Mapping)]
            self._show_attempts()
        self._sync_outcome_columns()


def _attempt_text(attempt: Mapping[str, Any]) -> str:
    """ "2025-06-02 at 3 months: Could not reach (no answer twice)": one attempt in a line of them."""
    timepoint = vocab.label(vocab.TIMEPOINTS, str(attempt.get("timepoint") or ""))
    result = vocab.label(vocab.FOLLOW_UP_RESULTS, str(attempt.get("result") or ""))
    note = f" ({attempt['note']})" if attempt.get("note") else ""
    return f"{attempt.get('date') or ''} at {timepoint}: {result}{note}"


def _names(edit: QLineEdit) -> list[str]:
    """Names typed on one line, separated by semicolons (assistants, copy recipients)."""
    return [name.strip() for name in edit.text().split(";") if name.strip()]


def _words(edit: QLineEdit) -> list[str]:
    """Codes typed on one line, upper-cased, separated by blanks, commas or semicolons."""
    return [w for w in re.split(r"[\s,;]+", edit.text().strip().upper()) if w]


def _widget_for(f: fields.Field, procedure_day: Callable[[], dt.date]) -> QWidget:
    """The simple widget of a field, by its kind: its accessible name is the field's label with its unit."""
    place = f.form
    assert place is not None
    if f.kind == "date":
        edit = DateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setAccessibleName(f.heading)
        edit.setDate(_qdate(procedure_day()))
        return edit
    if f.kind == "choice":
        assert f.choices is not None
        return _combo(f.heading, f.choices)
    if f.kind == "bool":
        box = QCheckBox(place.title)
        box.setAccessibleName(f.heading)
        return box
    if place.multiline:
        lines = QPlainTextEdit()
        lines.setAccessibleName(f.heading)
        lines.setPlaceholderText(place.placeholder)
        lines.setTabChangesFocus(True)  # Tab moves on, as in every other field; no tab characters in the record
        return lines
    if place.known_names:
        return _editable_combo(f.heading)
    return _line(f.heading, place.placeholder)


def _edited_signal(widget: QWidget) -> Any:
    """The signal a person's edit of the widget sends (not a change made by the program, where Qt tells them apart)."""
    if isinstance(widget, QDateEdit):
        return widget.dateChanged
    if isinstance(widget, QComboBox):
        return widget.currentTextChanged if widget.isEditable() else widget.activated
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QPlainTextEdit):
        return widget.textChanged
    assert isinstance(widget, QLineEdit)
    return widget.textEdited


def _value_of(f: fields.Field, widget: QWidget) -> Any:
    """What the widget holds, as the CASE object writes the field (unjudged: validation decides)."""
    if isinstance(widget, QDateEdit):
        d = widget.date()
        return dt.date(d.year(), d.month(), d.day()).isoformat()
    if isinstance(widget, QComboBox):
        return widget.currentText().strip() or None if widget.isEditable() else widget.currentData()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText().strip() or None
    assert isinstance(widget, QLineEdit)
    if f.kind == "int":
        return parse_int(widget.text())
    if f.kind == "names":
        return _names(widget)
    if f.kind == "codes":
        return _words(widget)
    return widget.text().strip() or None


def _put_value(f: fields.Field, widget: QWidget, value: object) -> None:
    """Show a (possibly invalid) value of the CASE object in the field's widget."""
    if isinstance(widget, QDateEdit):
        day = QDate.fromString(value, "yyyy-MM-dd") if isinstance(value, str) else QDate()
        if day.isValid():
            widget.setDate(day)
    elif isinstance(widget, QComboBox):
        if widget.isEditable():
            widget.setCurrentText(str(value or ""))
        else:
            _set_combo(widget, value)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QPlainTextEdit):
        widget.setPlainText(str(value or ""))
    elif isinstance(widget, QLineEdit):
        if f.kind in ("names", "codes") and isinstance(value, list):
            widget.setText(("; " if f.kind == "names" else " ").join(str(v) for v in value))
        else:
            widget.setText("" if value is None else str(value))
