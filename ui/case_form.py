"""The case form: a dialog that creates or edits one case, validated live by caselog.validation.

It saves a draft file as the user types (so a crash loses nothing), offers templates, and refuses a stale
edit with an explanation while keeping everything typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from caselog import drafts, vocab
from caselog.errors import CaselogError, Conflict, InvalidInput
from caselog.followup import expected_window
from caselog.pathway import IndicationCheck
from caselog.records import CaseRecord, CaseView, Patient, case_to_contract
from caselog.service import classify_change
from caselog.validation import Problem, validate_case
from ui import shortcuts
from ui.case_fields import SPOKEN_NAMES, CaseFields, Slot
from ui.entry_check import EntryCheck
from ui.indication_strip import CHECK_KEYS
from ui.messages import show_error
from ui.rows_editor import RowsEditor
from ui.services import AppSettings, Services
from ui.style import app_style_sheet, colours

AUTOSAVE_MS = 600
#: Where a form with a locked patient starts: the first of these that still needs input.
FIRST_NEEDS = (
    "procedure_date", "procedure", "procedure_detail", "surgeon", "levels", "start_time", "end_time",
    "duration_minutes", "anesthesia.type", "anesthesia.sedation", "disposition",
)  # fmt: skip
#: The status line names at most this many fields, then "and N more".
STATUS_NAMES = 6
SIGNED = ("final", "amended")
#: What a template keeps: how the procedure is done, never who the patient is or when it happened.
TEMPLATE_KEYS = (
    "facility", "surgeon", "assistants", "procedure", "procedure_detail", "cpt_codes", "diagnosis_codes",
    "indication", "levels", "duration_minutes", "anesthesia", "estimated_blood_loss_ml", "disposition",
)  # fmt: skip
#: What "Repeat procedure" carries over from the earlier case: who, what and where, never what belongs to that
#: day (date, times, assistants, anesthesia provider, emergency, block relief, complications, outcomes, notes).
REPEAT_KEYS = (
    "patient", "facility", "surgeon", "procedure", "procedure_detail", "cpt_codes", "diagnosis_codes",
    "indication", "injury_related", "levels", "anesthesia", "disposition", "referring_physician", "copy_to",
)  # fmt: skip
#: A repeated block keeps its anesthetic (and, with the levels, the volume at each); the pain before it, the diary
#: and the activities question belong to the earlier day. The reason a case was outside policy never comes over.
REPEAT_BLOCK_KEYS = ("anesthetic", "anesthetic_detail")
#: Extra style of the form: a locked field looks locked, and the repeat banner stands out.
FORM_STYLE = """
QLineEdit[readOnly="true"] { background: palette(window); }
QLabel#formBanner { background: palette(alternate-base); border: 1px solid palette(mid); padding: 4px 8px; }
QLabel#policyNote { padding: 2px 4px; }
QLabel#policyNote[outside="true"] { background: palette(alternate-base); border: 1px solid palette(mid); }
"""
_INDEX_RE = re.compile(r"\[(\d+)\]")
_VOLUME_RE = re.compile(r"levels\[(\d+)\]\.volume_ml")


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None  # validation names it


def _time_after(days: int) -> str:
    """ "5 days", "3 weeks", "about 4 months", "about 3 years": how long after the procedure, as a clinic says it."""
    if days < 14 and days != 7:
        return f"{days} day{'s' if days != 1 else ''}"
    if days < 56:
        weeks = round(days / 7)
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    months = round(days / (365.25 / 12))
    return f"about {months} months" if months < 36 else f"about {round(days / 365.25)} years"


def outcome_timing_warnings(data: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(row, message) for each follow-up score dated outside its timepoint's window (the follow-up schedule's
    grace either side of the due date): a "6 months" score a week after the procedure is most likely the wrong
    timepoint or a mistyped date. A warning only: a stored record holding it must still save as it is."""
    procedure_date = _day(data.get("procedure_date"))
    if procedure_date is None:
        return []
    found = []
    for row, outcome in enumerate(data.get("outcomes") or []):
        timepoint, day = outcome.get("timepoint"), _day(outcome.get("date"))
        if timepoint not in vocab.FOLLOW_UP_TIMEPOINTS or day is None or day <= procedure_date:
            continue  # a baseline, or what validation refuses anyway
        first, last = expected_window(procedure_date, timepoint)
        if not first <= day <= last:
            label = vocab.TIMEPOINTS[timepoint]
            found.append((row, f"dated {day}, {_time_after((day - procedure_date).days)} after the procedure, but "
                               f"marked {label} (expected from {first} to {last}). Check the timepoint or the date; "
                               "it saves as typed."))  # fmt: skip
    return found


def template_from(data: Mapping[str, Any]) -> dict[str, Any]:
    """How the procedure is done; a block's anesthetic with it (its volumes ride on the levels), never its diary."""
    template = {k: data[k] for k in TEMPLATE_KEYS if data.get(k) not in (None, "", [], {})}
    block = data.get("block")
    if isinstance(block, Mapping) and block.get("anesthetic"):
        template["block"] = {k: block.get(k) for k in REPEAT_BLOCK_KEYS}
    return template


def repeat_data(view: CaseView) -> dict[str, Any]:
    """A new case prefilled from an earlier one: same patient, procedure, levels and sides (pain came back)."""
    full = case_to_contract(view.record)
    data = {k: full[k] for k in REPEAT_KEYS if k in full}  # the referral is there only when set
    data["anesthesia"] = {k: v for k, v in full["anesthesia"].items() if k not in ("provider", "emergency")}
    block = full.get("block")
    if block:  # how the block is done comes over; what the patient felt after the earlier one does not
        data["block"] = {k: block[k] for k in REPEAT_BLOCK_KEYS if k in block}
    return data


def repeat_note(view: CaseView) -> str:
    """The banner of a repeat form: which case it repeats, and what came over from it."""
    record = view.record
    day = record.procedure_date
    procedure = vocab.label(vocab.PROCEDURE_SHORT, record.procedure)
    block = (
        " The block's anesthetic and volumes came over; pain before, diary and activities start empty."
        if record.block is not None
        else ""
    )
    return (
        f"Repeat of {view.case_number} ({procedure}, {day.day} {day:%b} {day.year}): patient, procedure, levels "
        "and sides carried over, with surgeon, facility, referral, codes, indication, anesthesia and disposition; "
        "check them. "
        "Date, times, duration, assistants, anesthesia provider and block relief start empty." + block
    )


def edit_data(view: CaseView) -> dict[str, Any]:
    full = case_to_contract(view.record)
    full.pop("case_number", None)
    full.pop("status", None)
    return full


class CaseForm(QDialog):
    """New case, edit, repeat, template or restored draft: all one form. `saved` holds the stored case."""

    def __init__(
        self,
        services: Services,
        settings: AppSettings,
        *,
        data: Mapping[str, Any] | None = None,
        editing: CaseView | None = None,
        draft: drafts.FormDraft | None = None,
        repeat_of: CaseView | None = None,
        title: str | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        parent: QWidget | None = None,
        create: Callable[[Mapping[str, Any]], CaseView] | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        #: How a new case is stored (a scheduled procedure completed: caselog.schedule.complete); else create_case.
        self._create = create
        self._settings = settings
        self._today = today
        self.editing = editing
        self.case_number = editing.case_number if editing else draft.case_number if draft else None
        self.expected_version = editing.version if editing else draft.expected_version if draft else None
        self.signed = editing is not None and editing.status in SIGNED
        self.draft_id = draft.draft_id if draft else drafts.new_draft_id()
        self.saved: CaseView | None = None
        self.touched: set[str] = set()
        self.show_all = False
        self.dirty = draft is not None
        self.record_ok = False
        self._service_problems: list[Problem] = []
        self._autofilled = False
        self._cpt_auto = True
        self._loading = True

        if repeat_of is not None:
            data = data if data is not None else repeat_data(repeat_of)
            title = title or f"Repeat procedure for {repeat_of.record.patient.display_name}"
        self.setWindowTitle(title or (f"Edit case {self.case_number}" if self.case_number else "New case"))
        warning = colours(self.palette()).warning
        self.setStyleSheet(
            app_style_sheet(self.palette())
            + FORM_STYLE
            + f"QLabel#fieldWarning {{ font-size: 9pt; color: {warning}; }}"
        )
        self.fields = CaseFields(procedure_day=today)
        self._fill_choices()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.fields)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from Cancel to the first field, not to the frame

        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for the amendment")
        self.reason.setPlaceholderText("This case is signed: say why it is being changed")
        self.reason_error = QLabel()
        self.reason_error.setObjectName("fieldError")
        self.reason_error.hide()
        self.status = QLabel()
        self.status.setObjectName("formStatus")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Form status")
        self.templates = QToolButton()
        self.templates.setText("Templates")
        self.templates.setAccessibleName("Templates")
        self.templates.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.templates_menu = QMenu(self.templates)
        self.templates_menu.aboutToShow.connect(self._build_templates_menu)
        self.templates.setMenu(self.templates_menu)
        self.save_button = QPushButton("Save case")
        self.save_button.setAccessibleName("Save case")
        self.save_button.setToolTip("Save the case (Ctrl+S or Ctrl+Enter)")
        # Not the dialog's default button: Return (and keypad Enter) in a field moves on, and only a deliberate
        # Ctrl+S, Ctrl+Enter or a press of this button saves.
        self.save_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel")

        bottom = QHBoxLayout()
        bottom.addWidget(self.templates)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)
        self.banner = QLabel(repeat_note(repeat_of) if repeat_of is not None else "")
        self.banner.setObjectName("formBanner")
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("What this form carried over")
        self.banner.setVisible(repeat_of is not None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.fields.policy_box)
        if self.signed:
            reason_row = QHBoxLayout()
            reason_row.addWidget(QLabel("Reason for the amendment *"))
            reason_row.addWidget(self.reason, 1)
            layout.addLayout(reason_row)
            layout.addWidget(self.reason_error)
        layout.addLayout(bottom)

        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave_now)
        self._entry = EntryCheck(services, self.fields, today=today, case_number=lambda: self.case_number,
                                 shown=self.revalidate, parent=self)  # fmt: skip
        #: An answer from the background is shown: an ablation's indication check, a block's series.
        self.checked = self._entry.checked
        self.fields.edited.connect(self._edited)
        self.reason.textEdited.connect(lambda _t: self._edited("reason"))
        self.fields.cpt_suggest.clicked.connect(self.suggest_cpt_now)
        self.save_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)
        self.fields.change_patient.clicked.connect(self.change_patient)
        for keys in (*shortcuts.sequences("save"), QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")):
            save = QShortcut(keys, self, self.accept)
            save.setProperty(shortcuts.MEANING, "save")
            save.setWhatsThis("Save case")  # how the Help list names it
        add = QShortcut(QKeySequence("Alt+A"), self, self.add_complication)
        add.setProperty(shortcuts.MEANING, "add complication")
        add.setWhatsThis("Add complication")

        if editing is None and draft is None:
            defaults = settings.value
            self.fields.surgeon.setCurrentText(defaults.default_surgeon)
            self.fields.facility.setCurrentText(defaults.default_facility)
        initial = draft.data if draft else data
        if initial:
            self.fields.set_data(initial)
            self.show_all = editing is not None or draft is not None
            self.touched.update(self._keys_in(initial))
            self._cpt_auto = self.fields.cpt_codes.text().split() == self._suggestion()
        self._loading = False
        self._entry.read_policy()
        self._sync_sedation()
        self._sync_duration()
        self._suggest_cpt(force=False)
        self.revalidate()
        self.check_now()
        self._fit_screen()
        if (editing is not None or repeat_of is not None or draft is not None) and self._patient_on_file():
            self.lock_patient()
        else:
            self.fields.mrn.setFocus()

    # ---- setup ------------------------------------------------------------------------------------------

    def _fill_choices(self) -> None:
        s = self._settings.value
        try:
            surgeons = self._services.cases.surgeons()
            facilities = self._services.cases.facilities()
        except CaselogError:
            surgeons, facilities = [], []
        for box, names, default in (
            (self.fields.surgeon, surgeons, s.default_surgeon),
            (self.fields.facility, facilities, s.default_facility),
        ):
            box.addItems(sorted({*names, *([default] if default else [])}))
            box.setCurrentText("")

    def _fit_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen else None
        width, height = 1280, 720
        if room is not None:
            width, height = min(width, room.width() - 40), min(height, room.height() - 40)
        self.resize(width, height)

    @staticmethod
    def _keys_in(data: Mapping[str, Any]) -> set[str]:
        keys: set[str] = set()
        for key, value in data.items():
            if isinstance(value, Mapping) and key in ("patient", "anesthesia", "block"):
                keys.update(f"{key}.{k}" for k in value)
            else:
                keys.add(key)
        return keys

    # ---- the patient ------------------------------------------------------------------------------------

    def _patient_on_file(self) -> Patient | None:
        """The stored patient when the form holds exactly their identity (an edit, a repeat, a restored draft)."""
        typed = self.fields.data()["patient"]
        try:
            known = self._services.cases.find_patient(typed["mrn"] or "")
        except CaselogError:
            return None
        if known is None:
            return None
        same = (
            known.family_name == typed["family_name"]
            and known.given_name == typed["given_name"]
            and known.birth_date.isoformat() == typed["birth_date"]
            and known.sex == typed["sex"]
        )
        return known if same else None

    def lock_patient(self) -> None:
        """Lock the patient's identity and start where this form needs input: the first field still wanted after
        the patient, else the procedure date. (A repeat that opened in the MRN, selected, once stored a case
        under the MRN typed over it with the earlier patient's name.)"""
        f = self.fields
        f.set_patient_locked(True)
        f.known_patient.setText("Patient locked: this form belongs to the patient on file.")
        f.known_patient.show()
        _, problems = validate_case(f.data(), today=self._today())
        wanted = {slot.key for slot in map(self.slot_for, (p.path for p in problems)) if slot is not None}
        for key in FIRST_NEEDS:
            if key in wanted:
                f.inputs[key].setFocus()
                break
        else:
            f.procedure_date.setFocus()

    def change_patient(self) -> None:
        """Unlock the patient after a confirmation; a new MRN then fills in that patient or clears the names."""
        f = self.fields
        typed = f.data()["patient"]
        answer = QMessageBox.question(
            self,
            "Change the patient?",
            f"This form is for {typed['family_name']}, {typed['given_name']} (MRN {typed['mrn']}, born "
            f"{typed['birth_date']}).\n\nChange the patient only if this case belongs to someone else. Type the "
            "right MRN: a known MRN fills in that patient; a new one needs the new patient's details.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        f.set_patient_locked(False)
        self._autofilled = True  # a different MRN must not keep this patient's name and birth date
        f.known_patient.setText("Patient unlocked: type the MRN of the right patient.")
        f.mrn.setFocus(Qt.FocusReason.OtherFocusReason)
        f.mrn.selectAll()

    def _confirm_new_patient(self, data: Mapping[str, Any]) -> bool:
        """A new MRN for someone already on file under another MRN (same names and birth date) needs a yes."""
        typed = data["patient"]
        cases = self._services.cases
        try:
            if cases.find_patient(typed["mrn"]) is not None:
                return True
            twins = [
                p
                for p in cases.patients_like(
                    family_name=typed["family_name"],
                    given_name=typed["given_name"],
                    birth_date=dt.date.fromisoformat(typed["birth_date"]),
                )
                if p.mrn != typed["mrn"]
            ]
        except CaselogError:
            return True  # the service checks again while saving
        if not twins:
            return True
        first = twins[0]
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Same person?")
        box.setText(f"Same person as MRN {', '.join(p.mrn for p in twins)}?")
        box.setInformativeText(
            f"{first.display_name}, born {first.birth_date.isoformat()}, is on file under MRN "
            f"{', '.join(p.mrn for p in twins)}. Saving opens MRN {typed['mrn']} as a second patient with the same "
            "name and birth date."
        )
        go_back = box.addButton("Go back", QMessageBox.ButtonRole.RejectRole)
        use = box.addButton(f"Use MRN {first.mrn}", QMessageBox.ButtonRole.ActionRole)
        new = box.addButton("Save as a new patient", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(go_back)
        box.setEscapeButton(go_back)
        box.exec()
        clicked = box.clickedButton()
        if clicked is new:
            return True
        f = self.fields
        if clicked is use:
            f.mrn.setText(first.mrn)
            self._autofilled = True
            self._edited("patient.mrn")
        f.mrn.setFocus()
        f.mrn.selectAll()
        return False

    def add_complication(self) -> None:
        """Alt+A from anywhere in the form: a new complication row, its first cell open for typing."""
        self.fields.tabs.setCurrentIndex(0)
        self.fields.complications.add_row()

    # ---- reacting to input ------------------------------------------------------------------------------

    def _edited(self, key: str) -> None:
        if self._loading:
            return
        self.touched.add(key)
        self._service_problems = []
        if key == "patient.mrn":
            self._lookup_patient()
        elif key.startswith("patient."):
            self._autofilled = False
            self.fields.known_patient.hide()
        if key in ("start_time", "end_time", "procedure_date"):
            self._sync_duration()
        if key in ("procedure", "levels"):
            self._suggest_cpt(force=False)
        if key == "cpt_codes":
            self._cpt_auto = self.fields.cpt_codes.text().split() == self._suggestion()
            self._update_cpt_hint()
        if key == "anesthesia.type":
            self._sync_sedation()
        if key in CHECK_KEYS:
            self._entry.schedule()
        self.dirty = True
        self._autosave.start()
        self.revalidate()

    def _lookup_patient(self) -> None:
        f = self.fields
        mrn = f.mrn.text().strip()
        blank = not (f.family_name.text() or f.given_name.text() or f.birth_date.text() or f.sex.currentData())
        patient = None
        if mrn and (blank or self._autofilled):
            try:
                patient = self._services.cases.find_patient(mrn)
            except CaselogError:
                patient = None
        if patient is not None:
            f.set_data(
                {
                    "patient": {
                        "mrn": f.mrn.text(),
                        "family_name": patient.family_name,
                        "given_name": patient.given_name,
                        "birth_date": patient.birth_date.isoformat(),
                        "sex": patient.sex,
                    }
                }
            )
            self._autofilled = True
            f.known_patient.setText("Known patient: name, birth date and sex filled in from earlier cases.")
            f.known_patient.show()
            self.touched.update({"patient.family_name", "patient.birth_date", "patient.sex"})
        elif self._autofilled:
            f.set_data({"patient": {"mrn": f.mrn.text(), "family_name": "", "given_name": "", "birth_date": ""}})
            f.sex.setCurrentIndex(0)
            self._autofilled = False
            f.known_patient.hide()

    def _sync_duration(self) -> None:
        minutes = self.fields.times_minutes()
        spin = self.fields.duration
        if minutes is not None and minutes <= spin.maximum():
            spin.blockSignals(True)
            spin.setValue(minutes)
            spin.blockSignals(False)
            spin.setReadOnly(True)
            spin.setToolTip("Worked out from the start and end time")
        else:
            both = bool(self.fields.start_time.text().strip() and self.fields.end_time.text().strip())
            if both:  # times that do not give a duration: show none rather than an old one
                spin.blockSignals(True)
                spin.setValue(0)
                spin.blockSignals(False)
            spin.setReadOnly(both)
            spin.setToolTip("Needed when start and end time are not known")

    def _sync_sedation(self) -> None:
        with_sedation = self.fields.anesthesia_type.currentData() == "local_sedation"
        if not with_sedation:
            self.fields.sedation.setCurrentIndex(0)
        self.fields.sedation.setEnabled(with_sedation)

    def _suggestion(self) -> list[str]:
        procedure = self.fields.procedure.currentData()
        if not procedure:
            return []
        return vocab.suggested_cpt_codes(procedure, [level for level, _ in self.fields.levels.levels()])

    def _suggest_cpt(self, *, force: bool) -> None:
        if force or self._cpt_auto:
            self.fields.cpt_codes.setText(" ".join(self._suggestion()))
            self._cpt_auto = True
        self._update_cpt_hint()

    def suggest_cpt_now(self) -> None:
        self._suggest_cpt(force=True)
        self._edited("cpt_codes")

    def _update_cpt_hint(self) -> None:
        suggestion = self._suggestion()
        hint = self.fields.cpt_hint
        if not suggestion:
            hint.setText("No code is suggested for this procedure; enter the codes you bill.")
        elif self.fields.cpt_codes.text().split() == suggestion:
            hint.setText("Suggested from procedure and levels; change them if the payer wants others (e.g. 64999).")
        else:
            hint.setText(f"Suggested: {' '.join(suggestion)}. Press Suggest to use them.")

    # ---- validation -------------------------------------------------------------------------------------

    def slot_for(self, path: str) -> Slot | None:
        slots = self.fields.slots
        if _VOLUME_RE.fullmatch(path):  # a block's volume at one level: the block's volume box, not the picker
            return slots["volume_ml"]
        candidate = path
        while candidate:
            if candidate in slots:
                return slots[candidate]
            cut = max(candidate.rfind("."), candidate.rfind("["))
            candidate = candidate[:cut] if cut > 0 else ""
        if path == "anesthesia":
            return slots["anesthesia.type"]
        return None

    def revalidate(self) -> list[Problem]:
        data = self.fields.data()
        record, problems = validate_case(data, today=self._today())
        self.record_ok = record is not None
        problems = problems + self._service_problems
        by_slot: dict[str, list[Problem]] = {}
        loose: list[Problem] = []
        for problem in problems:
            slot = self.slot_for(problem.path)
            if slot is None:
                loose.append(problem)
            else:
                by_slot.setdefault(slot.key, []).append(problem)
        waiting: list[str] = []
        wrong: list[str] = []
        for key, slot in self.fields.slots.items():
            found = by_slot.get(key, [])
            if key in ("complications", "outcomes"):
                editor = self.fields.complications if key == "complications" else self.fields.outcomes
                rows = [self._row_problem(key, p) for p in found]
                editor.show_problems(rows)
                self._mark_tab(key, bool(found))
                wrong.extend(self._row_name(editor, key, row, column) for row, column, _ in rows)
                continue
            visible = bool(found) and (self.show_all or key in self.touched)
            slot.error.setText("\n".join(self._message_at(key, p) for p in found) if visible else "")
            slot.error.setVisible(visible)
            if found:
                (wrong if visible else waiting).append(slot.name)
        timing = outcome_timing_warnings(data)
        self.fields.outcomes.show_warnings([f"Row {row + 1}: {message}" for row, message in timing])
        to_check = [f"outcome {row + 1}" for row, _ in timing]
        reason_problems = [p for p in loose if p.path == "reason"]
        self.reason_error.setText("; ".join(p.message for p in reason_problems))
        self.reason_error.setVisible(bool(reason_problems))
        loose = [p for p in loose if p.path != "reason"]
        needs_reason = self._amending(record)
        self.reason.setEnabled(needs_reason or not self.signed)
        if needs_reason and not self.reason.text().strip():
            waiting.append("reason for the amendment")
        self.save_button.setEnabled(self.record_ok and not (needs_reason and not self.reason.text().strip()))
        self._show_status(waiting, wrong, loose, to_check)
        return problems

    def _amending(self, record: CaseRecord | None) -> bool:
        """A signed case changed beyond appended follow-up is an amendment, which needs a reason (the service's
        own rule, classify_change, decides); only adding complications or outcome scores is an addendum."""
        if not self.signed or self.editing is None:
            return False
        if record is None:
            return True
        kind, _ = classify_change(self.editing.record, record)
        return kind == "edit"

    def _message_at(self, key: str, problem: Problem) -> str:
        volume = _VOLUME_RE.fullmatch(problem.path)
        if volume:  # "L5-S1: 6 mL is out of range ...": the level, as the volume boxes name it
            levels = self.fields.levels.levels()
            index = int(volume.group(1))
            return f"{levels[index][0]}: {problem.message}" if index < len(levels) else problem.message
        return self._message(key, problem)

    @staticmethod
    def _message(key: str, problem: Problem) -> str:
        sub = problem.path[len(key) :]
        index = _INDEX_RE.match(sub)
        if index:  # cpt_codes[1], levels[0].level, assistants[2]
            return f"#{int(index.group(1)) + 1}: {problem.message}"
        return problem.message

    @staticmethod
    def _row_problem(key: str, problem: Problem) -> tuple[int, str, str]:
        rest = problem.path[len(key) :]
        found = re.match(r"\[(\d+)\](?:\.(\w+))?", rest)
        if not found:
            return (0, "", problem.message)
        return (int(found.group(1)), found.group(2) or "", problem.message)

    @staticmethod
    def _row_name(editor: RowsEditor, key: str, row: int, column: str) -> str:
        """ "complication 1 onset date", "outcome 2": a table cell as a person names it."""
        item = f"{key.rstrip('s')} {row + 1}"
        names = {c.key: c.name for c in editor.model.columns}
        return f"{item} {names[column]}" if column in names else item

    def _mark_tab(self, key: str, bad: bool) -> None:
        tabs = self.fields.tabs
        index = 0 if key == "complications" else 1
        editor = self.fields.complications if key == "complications" else self.fields.outcomes
        title = f"{key.capitalize()} ({len(editor.model.rows)})"
        tabs.setTabText(index, f"⚠ {title}" if bad else title)

    @staticmethod
    def _loose_text(problem: Problem) -> str:
        name = SPOKEN_NAMES.get(problem.path, problem.path.replace("_", " "))
        return f"{name}: {problem.message}" if name else problem.message

    def _show_status(self, waiting: list[str], wrong: list[str], loose: list[Problem], to_check: list[str]) -> None:
        """Names the fields still wrong, in the words a person uses ("anesthesia type", "complication 1 timing"),
        and the outcomes whose date does not fit their timepoint (a warning: the case still saves)."""

        def listed(names: list[str]) -> str:
            unique = list(dict.fromkeys(names))
            if len(unique) > STATUS_NAMES:
                return ", ".join(unique[:STATUS_NAMES]) + f" and {len(unique) - STATUS_NAMES} more"
            return ", ".join(unique)

        parts = []
        if loose:
            parts.append("Not saved: " + "; ".join(self._loose_text(p) for p in loose))
        if wrong:
            parts.append(f"To correct: {listed(wrong)}.")
        if waiting:
            parts.append(f"Still needed: {listed(waiting)}.")
        if not parts and self._entry.reason_wanted():
            parts.append("Outside the clinic's policy: it saves as a draft; signing needs the reason outside policy.")
        ready = not parts
        if ready:
            parts.append("Ready to save.")
        if to_check:
            parts.append(f"To check: {listed(to_check)}, dated far from the timepoint (see Outcomes).")
        self.status.setText(" ".join(parts))
        self.status.setProperty("ready", ready)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # ---- the clinic's policy -----------------------------------------------------------------------------

    def show_reason_field(self) -> None:
        """Straight to the reason outside policy (signing asked for it): shown at once, the check follows."""
        self.fields.set_reason_shown(True)
        self.fields.outside_policy_reason.setFocus(Qt.FocusReason.OtherFocusReason)

    def check_now(self) -> None:
        """Check the case against the clinic's policy now (or place a block in the series), not after a pause."""
        self._entry.check_now()

    @property
    def check(self) -> IndicationCheck | None:
        """The latest indication check of this case (None: not an ablation, or not checkable yet)."""
        return self._entry.check

    # ---- drafts, templates ------------------------------------------------------------------------------

    def autosave_now(self) -> None:
        if not self.dirty:
            return
        try:
            drafts.save_draft(
                self.draft_id,
                self.fields.data(),
                case_number=self.case_number,
                expected_version=self.expected_version,
                owner=self._services.actor.username if self._services.actor else None,
            )
        except OSError as exc:
            self.status.setText(f"Could not keep a safety copy of this form: {exc.strerror or exc}")

    def _build_templates_menu(self) -> None:
        menu = self.templates_menu
        menu.clear()
        menu.addAction("Save this form as a template…", self.save_template)
        names = sorted(self._settings.value.templates)
        if names:
            menu.addSection("Fill in from a template")
            for name in names:
                menu.addAction(name, lambda n=name: self.apply_template(n))
            remove = menu.addMenu("Delete a template")
            for name in names:
                remove.addAction(name, lambda n=name: self._settings.delete_template(n))

    def save_template(self) -> None:
        data = template_from(self.fields.data())
        if not data:
            QMessageBox.information(self, "Nothing to keep", "Fill in the procedure, levels or anesthesia first.")
            return
        suggested = self._template_name(data)
        name, ok = QInputDialog.getText(self, "Save as template", "Template name:", text=suggested)
        name = name.strip()
        if not ok or not name:
            return
        if name in self._settings.value.templates:
            answer = QMessageBox.question(self, "Replace template?", f"A template named “{name}” exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._settings.save_template(name, data)
        self.status.setText(f"Template “{name}” saved.")

    @staticmethod
    def _template_name(data: Mapping[str, Any]) -> str:
        levels = data.get("levels") or []
        sides = {lv["side"] for lv in levels}
        parts = []
        if len(sides) == 1:
            parts.append(vocab.label(vocab.SIDES, sides.pop()))
        parts.append(" ".join(lv["level"] for lv in levels))
        parts.append(vocab.in_sentence(vocab.label(vocab.PROCEDURE_SHORT, data.get("procedure"))))
        anesthesia = (data.get("anesthesia") or {}).get("type")
        if anesthesia:
            parts.append(", " + vocab.label(vocab.ANESTHESIA_TYPES, anesthesia).lower())
        return " ".join(p for p in parts if p).replace(" ,", ",")

    def apply_template(self, name: str) -> None:
        template = self._settings.value.templates.get(name)
        if not template:
            return
        self._loading = True
        self.fields.set_data(template)
        self._loading = False
        self.touched.update(self._keys_in(template))
        self._cpt_auto = "cpt_codes" not in template
        self._sync_sedation()
        self._sync_duration()
        self._suggest_cpt(force=False)
        self.dirty = True
        self._autosave.start()
        self.revalidate()

    # ---- save and close ---------------------------------------------------------------------------------

    def accept(self) -> None:
        """Check again, then save; any refusal keeps the form open with everything typed."""
        self.show_all = True
        self.revalidate()
        if not self.record_ok:
            return
        data = self.fields.data()
        if not self._confirm_new_patient(data):
            return
        cases = self._services.cases
        try:
            if self.case_number:
                reason = self.reason.text().strip() or None
                view = cases.update_case(self.case_number, data, expected_version=self.expected_version, reason=reason)
            else:
                view = self._create(data) if self._create is not None else cases.create_case(data)
        except Conflict as exc:
            self.autosave_now()
            QMessageBox.warning(
                self,
                "Someone else saved this case first",
                f"{exc.message}\n\nYour changes are still in the form and were not saved. Copy what you need, "
                "close the form, open the case again to see the other change, and enter your changes there.",
            )
            self.status.setText("Not saved: the case was changed by someone else after you opened it.")
            return
        except InvalidInput as exc:
            self._service_problems = list(exc.problems)
            self.revalidate()
            return
        except CaselogError as exc:  # a full disk, a busy or read-only database: the input stays
            show_error(self, "The case was not saved", exc)
            self.status.setText("Not saved: what you typed is still here. " + exc.message.split(";")[0] + ".")
            self.autosave_now()
            return
        except Exception as exc:
            show_error(self, "The case was not saved", exc)
            return
        self.saved = view
        self._autosave.stop()
        drafts.discard_draft(self.draft_id)
        super().accept()

    def reject(self) -> None:
        if self.dirty:
            answer = QMessageBox.question(
                self,
                "Discard this case?",
                "What you typed in this form has not been saved. Discard it?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return
        self._autosave.stop()
        drafts.discard_draft(self.draft_id)
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Return in a field must not save a half-typed case: it moves on. Keypad Enter is the same key (it only
        # adds KeypadModifier, which once let it reach QDialog's default button and save at once). Buttons take
        # their own Return before it gets here.
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and modifiers == Qt.KeyboardModifier.NoModifier:
            self.focusNextChild()
            return
        super().keyPressEvent(event)
