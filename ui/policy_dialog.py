"""The clinic's indication policy dialog (administrators): choose a preset, see where it comes from, adjust the
numbers, save. The service decides who may save and records the change in the audit trail (caselog.policy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caselog import policy
from caselog.accounts import Action
from caselog.errors import CaselogError, InvalidInput
from caselog.policy import IndicationPolicy
from ui.messages import show_error
from ui.services import Services
from ui.style import app_style_sheet

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts

#: The chooser's entry for numbers no preset has: the clinic adjusted them.
CUSTOM = "custom"
CUSTOM_TEXT = "Custom (adjusted by the clinic)"
SUFFIXES = {
    "relief_threshold_percent": " %",
    "repeat_relief_percent": " %",
    "repeat_min_interval_months": " months",
    "repeat_relief_months": " months",
    "blocks_required": " blocks",
    "max_sessions_per_12_months": " sessions",
}


class PolicyDialog(QDialog):
    """The policy's numbers with a preset chooser; Save stores them through the service (which may refuse)."""

    def __init__(self, services: Services, current: IndicationPolicy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.current = current
        self.saved: IndicationPolicy | None = None
        self.setWindowTitle("Indication policy – CaseLog")
        self.setStyleSheet(app_style_sheet(self.palette()))
        intro = QLabel(
            "The clinic's selection and repeat rules: every radiofrequency ablation and endoscopic rhizotomy is "
            "checked against them on the case form, the summary PDF and the quality desk. Only administrators "
            "change them, and each change is kept in the audit trail."
        )
        intro.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.setAccessibleName("Preset")
        for key, preset in policy.PRESETS.items():
            self.preset.addItem(preset.label, key)
            self.preset.setItemData(self.preset.count() - 1, preset.source, Qt.ItemDataRole.ToolTipRole)
        self.preset.addItem(CUSTOM_TEXT, CUSTOM)
        #: The preset the numbers were last taken from: a custom policy says what it was adjusted from.
        self.based_on = policy.preset_of(current)
        self.source = QLabel()
        self.source.setObjectName("hint")
        self.source.setWordWrap(True)
        self.source.setAccessibleName("Where the preset comes from")
        chooser = QFormLayout()
        chooser.addRow("&Preset", self.preset)
        form = QFormLayout()
        self.numbers: dict[str, QSpinBox] = {}
        self.errors: dict[str, QLabel] = {}
        for name, (low, high) in policy.LIMITS.items():
            box = QSpinBox()
            box.setRange(low, high)
            box.setSuffix(SUFFIXES.get(name, ""))
            box.setAccessibleName(policy.LABELS[name])
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            self.numbers[name] = box
            self.errors[name] = error
            form.addRow(policy.LABELS[name], box)
            form.addRow("", error)
        self.error = QLabel()  # a refusal that names no field (not permitted, the database)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setAccessibleName("Save the policy")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(chooser)
        layout.addWidget(self.source)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self._show_policy(current)
        self.preset.activated.connect(lambda _i: self._preset_chosen())
        for box in self.numbers.values():
            box.valueChanged.connect(lambda _v: self._numbers_changed())
        self.preset.setFocus()
        self.setMinimumWidth(620)

    def policy(self) -> IndicationPolicy:
        return IndicationPolicy(**{name: box.value() for name, box in self.numbers.items()})

    def _show_policy(self, shown: IndicationPolicy) -> None:
        values = policy.policy_to_json(shown)
        for name, box in self.numbers.items():
            box.blockSignals(True)  # one refresh after all of them, not a "custom" flicker per number
            box.setValue(values[name])
            box.blockSignals(False)
        self._numbers_changed()

    def _preset_chosen(self) -> None:
        key = self.preset.currentData()
        if key in policy.PRESETS:
            self.based_on = key
            self._show_policy(policy.PRESETS[key].policy)
        else:
            self._numbers_changed()

    def _numbers_changed(self) -> None:
        """The chooser names the preset the numbers are exactly (or "custom"); Save only when something changed."""
        now = self.policy()
        key = policy.preset_of(now) or CUSTOM
        self.preset.setCurrentIndex(self.preset.findData(key))
        if key == CUSTOM and self.based_on in policy.PRESETS:
            preset = policy.PRESETS[self.based_on]
            self.source.setText(f"Adjusted by the clinic from “{preset.label}”, which follows: {preset.source}")
        elif key == CUSTOM:
            self.source.setText(f"Numbers set by the clinic, not a published preset. {policy.PAYERS_NOTE}")
        else:
            self.source.setText(policy.PRESETS[key].source)
        self.save_button.setEnabled(now != self.current)
        for error in self.errors.values():
            error.hide()
        self.error.hide()

    def accept(self) -> None:
        chosen = self.policy()
        try:
            self.services.cases.set_indication_policy(chosen)
        except InvalidInput as exc:
            self._show_problems(exc)
            return
        except CaselogError as exc:
            self.error.setText(f"Not saved: {exc.message}")
            self.error.show()
            return
        self.saved = chosen
        super().accept()

    def _show_problems(self, exc: InvalidInput) -> None:
        for problem in exc.problems:
            field = problem.path.rsplit(".", 1)[-1]
            label = self.errors.get(field)
            if label is not None:
                label.setText(problem.message)
                label.show()
            else:
                self.error.setText(f"Not saved: {problem}")
                self.error.show()


def may_set_policy(services: Services) -> bool:
    """Whether to offer the dialog at all: administrators (anyone in a single-user database)."""
    return services.cases.allows(Action.ADMINISTER)


def open_policy_dialog(window: MainWindowParts) -> PolicyDialog | None:
    services = window.services
    try:
        current = services.cases.indication_policy()
    except CaselogError as exc:
        show_error(window, "The indication policy could not be read", exc)
        return None
    dialog = PolicyDialog(services, current, window)
    dialog.finished.connect(lambda _r: _closed(window, dialog))
    window.guard_window(dialog)
    dialog.open()
    return dialog


def _closed(window: MainWindowParts, dialog: PolicyDialog) -> None:
    if dialog.saved is not None:
        window.statusBar().showMessage("Saved the clinic's indication policy (recorded in the audit trail).", 8000)
    dialog.deleteLater()
