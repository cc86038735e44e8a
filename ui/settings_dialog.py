"""The settings dialog: facility name and logo for the PDFs, defaults for new cases, where the database is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caselog import paths
from caselog.settings import Settings, store_password
from ui.services import AppSettings
from ui.style import app_style_sheet


def _line(name: str, text: str = "", placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setAccessibleName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def _with_button(edit: QLineEdit, button: QPushButton) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box


def _where(s: Settings) -> tuple[object, ...]:
    """Which database the settings open."""
    return (s.database, s.pg_host, s.pg_port, s.pg_database, s.pg_user)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; OK checks, stores the password in the keyring and saves."""

    def __init__(
        self,
        settings: AppSettings,
        *,
        surgeons: list[str],
        may_change_database: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        """`may_change_database` is False for anyone but an administrator once the database has accounts."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self._settings = settings
        self.may_change_database = may_change_database
        s = settings.value

        self.facility_name = _line("Facility name for PDFs", s.facility_name, "e.g. Riverside Spine Center")
        self.logo_path = _line("Logo file for PDFs", s.logo_path, "PNG or JPEG, optional")
        logo_button = QPushButton("Choose…")
        logo_button.setAccessibleName("Choose logo file")
        logo_button.clicked.connect(self._choose_logo)
        pdf = QGroupBox("Case summary PDFs")
        pf = QFormLayout(pdf)
        pf.addRow("Facility name", self.facility_name)
        pf.addRow("Logo", _with_button(self.logo_path, logo_button))
        self.paper = QComboBox()
        self.paper.addItem("US letter", "letter")
        self.paper.addItem("A4", "a4")
        self.paper.setCurrentIndex(max(0, self.paper.findData(s.paper)))
        self.paper.setAccessibleName("Paper size for PDFs")
        pf.addRow("Paper", self.paper)

        self.default_surgeon = QComboBox()
        self.default_surgeon.setEditable(True)
        self.default_surgeon.addItems(surgeons)
        self.default_surgeon.setCurrentText(s.default_surgeon)
        self.default_surgeon.setAccessibleName("Default surgeon for new cases")
        self.default_facility = _line("Default facility for new cases", s.default_facility)
        defaults = QGroupBox("New cases")
        df = QFormLayout(defaults)
        df.addRow("Surgeon", self.default_surgeon)
        df.addRow("Facility", self.default_facility)
        self.idle_lock = QSpinBox()
        self.idle_lock.setRange(0, 240)
        self.idle_lock.setValue(s.idle_lock_minutes)
        self.idle_lock.setSuffix(" min")
        self.idle_lock.setSpecialValueText("never")
        self.idle_lock.setAccessibleName("Lock the window after this many minutes without input")
        self.idle_lock.setToolTip("Patient data leaves the screen until the same person signs in again (0: never)")
        privacy = QGroupBox("Privacy")
        prf = QFormLayout(privacy)
        prf.addRow("Lock the window after", self.idle_lock)

        self.use_file = QRadioButton("On this computer (a database file)")
        self.use_file.setAccessibleName("Database on this computer")
        self.use_server = QRadioButton("On the clinic's PostgreSQL server")
        self.use_server.setAccessibleName("Database on a PostgreSQL server")
        group = QButtonGroup(self)
        group.addButton(self.use_file)
        group.addButton(self.use_server)
        self.file_path = _line("Database file", s.database, str(paths.default_database()))
        file_button = QPushButton("Choose…")
        file_button.setAccessibleName("Choose database file")
        file_button.clicked.connect(self._choose_file)
        self.pg_host = _line("Server host", s.pg_host, "db.clinic.local")
        self.pg_port = QSpinBox()
        self.pg_port.setRange(1, 65535)
        self.pg_port.setValue(s.pg_port)
        self.pg_port.setAccessibleName("Server port")
        self.pg_database = _line("Database name", s.pg_database)
        self.pg_user = _line("User name", s.pg_user)
        self.pg_password = _line("Password", "", "kept in the system keyring, never in a file")
        self.pg_password.setEchoMode(QLineEdit.EchoMode.Password)
        database = QGroupBox("Database (takes effect when CaseLog is next started)")
        dbl = QVBoxLayout(database)
        dbl.addWidget(self.use_file)
        file_form = QFormLayout()
        file_form.addRow("File", _with_button(self.file_path, file_button))
        dbl.addLayout(file_form)
        dbl.addWidget(self.use_server)
        self.server_form = QWidget()
        sf = QFormLayout(self.server_form)
        sf.addRow("Host", self.pg_host)
        sf.addRow("Port", self.pg_port)
        sf.addRow("Database", self.pg_database)
        sf.addRow("User", self.pg_user)
        sf.addRow("Password", self.pg_password)
        dbl.addWidget(self.server_form)
        self.database_box = database
        if not may_change_database:
            locked = QLabel("Only an administrator may change which database CaseLog opens.")
            locked.setObjectName("hint")
            locked.setWordWrap(True)
            dbl.addWidget(locked)
        (self.use_server if s.pg_host else self.use_file).setChecked(True)
        self.use_server.toggled.connect(self._sync)
        self.problem = QLabel()
        self.problem.setObjectName("fieldError")
        self.problem.setWordWrap(True)
        self.problem.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (pdf, defaults, privacy, database, self.problem, buttons):
            layout.addWidget(widget)
        self._sync()
        self.resize(620, self.sizeHint().height())

    def _sync(self) -> None:
        server = self.use_server.isChecked()
        self.server_form.setEnabled(server and self.may_change_database)
        self.file_path.setEnabled(not server and self.may_change_database)
        for widget in (self.use_file, self.use_server, *self.file_path.parentWidget().findChildren(QPushButton)):
            widget.setEnabled(self.may_change_database)

    def _choose_logo(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Logo for the PDFs", "", "Images (*.png *.jpg *.jpeg)")
        if name:
            self.logo_path.setText(name)

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Database file",
            self.file_path.text() or str(paths.default_database()),
            "CaseLog database (*.sqlite3)",
        )
        if name:
            self.file_path.setText(name)

    def chosen(self) -> Settings:
        server = self.use_server.isChecked()
        return self._settings.value.replace(
            facility_name=self.facility_name.text().strip(),
            logo_path=self.logo_path.text().strip(),
            default_surgeon=self.default_surgeon.currentText().strip(),
            default_facility=self.default_facility.text().strip(),
            database="" if server else self.file_path.text().strip(),
            pg_host=self.pg_host.text().strip() if server else "",
            pg_port=self.pg_port.value(),
            pg_database=self.pg_database.text().strip() or "caselog",
            pg_user=self.pg_user.text().strip(),
            paper=str(self.paper.currentData()),
            idle_lock_minutes=self.idle_lock.value(),
        )

    def _problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def accept(self) -> None:
        chosen = self.chosen()
        if not self.may_change_database and _where(chosen) != _where(self._settings.value):
            return self._problem("Only an administrator may change which database CaseLog opens; nothing was saved.")
        logo = chosen.logo_path
        if logo and not (Path(logo).is_file() and Path(logo).suffix.lower() in (".png", ".jpg", ".jpeg")):
            return self._problem("The logo must be an existing PNG or JPEG file.")
        if chosen.database and not Path(chosen.database).expanduser().parent.is_dir():
            return self._problem(f"The folder {Path(chosen.database).parent} does not exist.")
        if self.use_server.isChecked() and not (chosen.pg_host and chosen.pg_user):
            return self._problem("A server needs at least a host and a user name.")
        password = self.pg_password.text()
        if self.use_server.isChecked() and password and not store_password(chosen, password):
            QMessageBox.information(
                self,
                "No keyring",
                "This computer has no system keyring to keep the password; CaseLog will ask for it at each start.",
            )
        moved = _where(self._settings.value) != _where(chosen)
        self._settings.update(**{k: getattr(chosen, k) for k in chosen.__dataclass_fields__})
        if moved:
            QMessageBox.information(self, "Database changed", "CaseLog will use the new database after a restart.")
        super().accept()
