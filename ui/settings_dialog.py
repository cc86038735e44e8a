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
from caselog.db import cipher
from caselog.db.tls import SSLMODES, VERIFYING_MODES
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
    """Which database the settings open, and how safely (weakening TLS is an administrator's choice too)."""
    return (
        s.database, s.pg_host, s.pg_port, s.pg_database, s.pg_user,
        s.pg_sslmode, s.pg_sslrootcert, s.pg_sslcert, s.pg_sslkey,
    )  # fmt: skip


#: What each TLS mode does, in the words a clinic's IT person reads.
SSLMODE_TEXT = {
    "disable": "disable: never encrypted",
    "allow": "allow: encrypted only if the server insists",
    "prefer": "prefer: encrypted when the server offers it (default)",
    "require": "require: always encrypted, server not verified",
    "verify-ca": "verify-ca: encrypted, server's certificate checked",
    "verify-full": "verify-full: encrypted, certificate and host name checked",
}


CERTIFICATE_FILES = "Certificates and keys (*.crt *.pem *.key);;All files (*)"


def choose_database_file(parent: QWidget, field: QLineEdit) -> None:
    """The file dialog for a database file (new or existing); the name chosen goes into `field`."""
    name, _ = QFileDialog.getSaveFileName(
        parent, "Database file", field.text() or str(paths.default_database()), "CaseLog database (*.sqlite3)"
    )
    if name:
        field.setText(name)


def _unlocked(path: Path) -> bool:
    """Whether this process can open the encrypted file `path` (a passphrase known here opens it)."""
    try:
        cipher.passphrase_for(path)
    except (cipher.PassphraseNeeded, cipher.WrongPassphrase):
        return False
    return True


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
        self.pg_sslmode = QComboBox()
        for mode in SSLMODES:
            self.pg_sslmode.addItem(SSLMODE_TEXT[mode], mode)
        self.pg_sslmode.setCurrentIndex(max(0, self.pg_sslmode.findData(s.pg_sslmode)))
        self.pg_sslmode.setAccessibleName("TLS mode (sslmode)")
        self.pg_sslrootcert = _line("Server's CA file (sslrootcert)", s.pg_sslrootcert, "from the clinic's IT")
        self.pg_sslcert = _line("Client certificate (sslcert)", s.pg_sslcert, "optional")
        self.pg_sslkey = _line("Client key (sslkey)", s.pg_sslkey, "optional")
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
        sf.addRow("TLS", self.pg_sslmode)
        sf.addRow("Server's CA", self._file_row(self.pg_sslrootcert, "Server's CA certificate"))
        client = QWidget()
        client_row = QHBoxLayout(client)
        client_row.setContentsMargins(0, 0, 0, 0)
        client_row.addWidget(self._file_row(self.pg_sslcert, "Client certificate"), 1)
        client_row.addWidget(QLabel("Key"))
        client_row.addWidget(self._file_row(self.pg_sslkey, "Client key"), 1)
        sf.addRow("Client cert.", client)
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

    def _file_row(self, edit: QLineEdit, what: str) -> QWidget:
        button = QPushButton("…")
        button.setAccessibleName(f"Choose {what.lower()} file")
        button.setToolTip(f"Choose the {what.lower()} file")
        button.setMaximumWidth(32)

        def choose() -> None:
            name, _ = QFileDialog.getOpenFileName(self, what, edit.text(), CERTIFICATE_FILES)
            if name:
                edit.setText(name)

        button.clicked.connect(choose)
        return _with_button(edit, button)

    def _choose_logo(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Logo for the PDFs", "", "Images (*.png *.jpg *.jpeg)")
        if name:
            self.logo_path.setText(name)

    def _choose_file(self) -> None:
        choose_database_file(self, self.file_path)

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
            pg_sslmode=str(self.pg_sslmode.currentData()),
            pg_sslrootcert=self.pg_sslrootcert.text().strip(),
            pg_sslcert=self.pg_sslcert.text().strip(),
            pg_sslkey=self.pg_sslkey.text().strip(),
            paper=str(self.paper.currentData()),
            idle_lock_minutes=self.idle_lock.value(),
        )

    def _passphrase_known(self, path: Path) -> bool:
        """An encrypted file: asked for its passphrase now (kept for this session), so a file nobody here can
        open is caught before CaseLog restarts on it. True for a plain or new file."""
        if cipher.file_state(path) != "encrypted" or _unlocked(path):
            return True
        from ui.passphrase_dialog import UnlockDialog

        return UnlockDialog(path, cancel_text="Cancel", parent=self).exec() == QDialog.DialogCode.Accepted

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
        if self.use_server.isChecked():
            problem = _server_problem(chosen)
            if problem:
                return self._problem(problem)
        moved = _where(self._settings.value) != _where(chosen)
        if moved and chosen.database and not self._passphrase_known(Path(chosen.database).expanduser()):
            return self._problem(
                "That database is encrypted, and CaseLog cannot open it without its passphrase; nothing was saved."
            )
        password = self.pg_password.text()
        if self.use_server.isChecked() and password and not store_password(chosen, password):
            QMessageBox.information(
                self,
                "No keyring",
                "This computer has no system keyring to keep the password; CaseLog will ask for it at each start.",
            )
        self._settings.update(**{k: getattr(chosen, k) for k in chosen.__dataclass_fields__})
        if moved:
            QMessageBox.information(self, "Database changed", "CaseLog will use the new database after a restart.")
        super().accept()


def _server_problem(s: Settings) -> str:
    """What is missing or wrong in the server's settings ("" when they are complete)."""
    if not (s.pg_host and s.pg_user):
        return "A server needs at least a host and a user name."
    if s.pg_sslmode in VERIFYING_MODES and not s.pg_sslrootcert:
        return f"TLS {s.pg_sslmode} checks the server's certificate: give the server's CA file (from the clinic's IT)."
    if bool(s.pg_sslcert) != bool(s.pg_sslkey):
        return "A client certificate needs its key file, and a key its certificate."
    for what, file in (
        ("CA file", s.pg_sslrootcert),
        ("client certificate", s.pg_sslcert),
        ("client key", s.pg_sslkey),
    ):
        if file and not Path(file).expanduser().is_file():
            return f"The {what} {file} does not exist."
    return ""
