"""The administrator's Clinic tab: settings every workstation shares, kept in the database (caselog.clinic).

For now the system of the clinic's MRNs, which FHIR exports name (caselog.fhir). The service checks the role
and audits the change; this tab only shows the value and passes the new one on.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from caselog import fhir
from caselog.errors import CaselogError
from caselog.service import CaseService
from ui.messages import error_text
from ui.widgets import named_button


class ClinicSettingsTab(QWidget):
    """The MRN system of FHIR exports: shown, edited, saved through CaseService.set_clinic_setting."""

    def __init__(self, cases: Callable[[], CaseService], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cases = cases
        self.mrn_system = QLineEdit()
        self.mrn_system.setPlaceholderText(f"not set: {fhir.DEFAULT_MRN_SYSTEM} is used")
        self.mrn_system.setAccessibleName("System of the clinic's MRNs")
        self.mrn_system.setMinimumWidth(420)
        self.save_button = named_button("&Save")
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.message.hide()
        hint = QLabel(
            "The URI under which the hospital's systems know the clinic's medical record numbers, such as its OID "
            "(urn:oid:2.16.840.1.113883.3.1234). FHIR exports name every patient's MRN with it and derive every "
            "resource's id from it: set it once, before the first export to the hospital."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.mrn_system, 1)
        row.addWidget(self.save_button)
        form = QFormLayout()
        label = QLabel("&MRN system (FHIR):")
        label.setBuddy(self.mrn_system)
        form.addRow(label, row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(hint)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)
        self.mrn_system.returnPressed.connect(self.save)

    def refresh(self) -> None:
        try:
            value = self._cases().clinic_setting(fhir.MRN_SYSTEM_SETTING)
        except CaselogError as exc:
            self._say(error_text(exc), error=True)
            return
        self.mrn_system.setText(value or "")
        self.message.hide()

    def save(self) -> None:
        try:
            value = fhir.check_mrn_system(self.mrn_system.text())
            self._cases().set_clinic_setting(fhir.MRN_SYSTEM_SETTING, value)
        except CaselogError as exc:
            self._say(error_text(exc), error=True)
            return
        self.mrn_system.setText(value)
        self._say(f"Saved: FHIR exports now name the clinic's MRNs {value}.", error=False)

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setObjectName("fieldError" if error else "hint")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()
