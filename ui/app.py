"""Starts the desktop app: paths, logging, the database (opened and migrated), the QApplication, the main window.

The order is Vorta's: nothing Qt-related happens before the data folder, the log and the database are known
good, except a lock file that keeps a second copy off the same database. A database file that needs its
passphrase first (encrypted, or new: the first start chooses one, or visibly not to encrypt) is opened once
the QApplication can show the dialog.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from caselog import paths
from caselog.db import cipher
from caselog.db.engine import Database, database_url, describe_storage_error
from caselog.db.schema import open_database
from caselog.db.tls import describe_tls_error
from caselog.db.transfer import storage_warnings
from caselog.errors import CaselogError
from caselog.files import private_folder, private_process
from caselog.settings import Settings, load_settings, postgresql_url, stored_password

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

    from ui.main_window import MainWindow

log = logging.getLogger("caselog.app")


def setup_logging() -> Path | None:
    """Warnings and errors to a rotating file in the data folder, never a traceback on the user's screen."""
    try:
        folder = private_folder(paths.log_dir())
        target = folder / "caselog-app.log"
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return target


def uses_server(settings: Settings) -> bool:
    return bool(settings.pg_host) and not os.environ.get("CASELOG_DB")


def database_target(settings: Settings, password: str | None = None) -> str:
    """CASELOG_DB wins (as for the command line), then the settings: a server, a file, or the default file."""
    env = os.environ.get("CASELOG_DB")
    if env:
        return env
    if settings.pg_host:
        return postgresql_url(settings, password)
    return settings.database or str(paths.default_database())


def instance_name(settings: Settings) -> str:
    """What identifies the database for the one-copy rule (never includes a password)."""
    try:
        return database_url(database_target(settings)).render_as_string(hide_password=True)
    except CaselogError:
        return database_target(settings)


def sqlite_file(target: str) -> Path | None:
    """The database file `target` names; None for a server (or a target that names nothing usable)."""
    try:
        url = database_url(target)
    except CaselogError:
        return None
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


PassphraseStep = Literal["create", "unlock"]


def passphrase_step(target: str) -> PassphraseStep | None:
    """Whether the passphrase must be asked first: `create` for a new file (the first start), `unlock` for an
    encrypted one, in both cases when none is known yet (this session, CASELOG_DB_KEY, the keyring)."""
    path = sqlite_file(target)
    if path is None or not path.parent.is_dir():
        return None  # a server, or a folder that is not there: opening says what is wrong
    state = cipher.file_state(path)
    if state == "plain" or cipher.known_passphrase(path) is not None:
        return None
    return "create" if state == "new" else "unlock"


def opening(settings: Settings) -> tuple[str | None, PassphraseStep | None, Database | None, BaseException | None]:
    """The server's password kept for `settings`, the passphrase step its file needs first, or the database
    opened (or why not) when nothing has to be asked first."""
    password = stored_password(settings) if uses_server(settings) else None
    if uses_server(settings) and password is None:
        return None, None, None, None  # asked for once the QApplication can show the question
    pending = passphrase_step(database_target(settings, password))
    if pending is not None:
        return password, pending, None, None
    return (password, None, *open_target(database_target(settings, password)))


def ask_passphrase(step: PassphraseStep, path: Path) -> bool:
    """The passphrase dialog for `step`; False when the user chose to quit."""
    from ui.passphrase_dialog import NewDatabaseDialog, UnlockDialog

    dialog = NewDatabaseDialog(path) if step == "create" else UnlockDialog(path)
    return dialog.exec() == NewDatabaseDialog.DialogCode.Accepted


def open_target(target: str) -> tuple[Database | None, BaseException | None]:
    """Open and migrate; the storage check runs once the first page is shown (`start_storage_check`), beside the
    rest of the start: every write waits for its verdict, and none goes into a damaged file. A file that needs
    an upgrade is checked before it."""
    try:
        return open_database(target, verify_in_background=True, check_later=True), None
    except Exception as exc:
        return None, exc


def problem_text(exc: BaseException, where: str) -> str:
    """What is wrong with the database and what to do, in a person's words."""
    friendly = describe_storage_error(exc, where)
    if "://" in where:
        with contextlib.suppress(CaselogError):  # a TLS failure is named as one, before any generic reading
            friendly = describe_tls_error(exc, database_url(where)) or friendly
    if isinstance(exc, CaselogError):
        text = "\n".join(exc.lines()).replace("--db: ", "")
    elif friendly is not None:
        text = friendly.message
    else:
        text = f"CaseLog could not open {where} ({type(exc).__name__}: {exc})."
    return (
        f"{text}\n\nYou can choose another database location, or quit and fix the problem "
        "(for a damaged file: 'caselog check', then 'caselog restore' from a backup)."
    )


def check_audit_trail(window: MainWindow) -> None:
    """At start, in the background: `caselog audit verify`. An altered trail (or one that cannot be checked
    here) gets a warning nobody can miss; a sound one a line in the status bar."""
    from PySide6.QtWidgets import QMessageBox

    from caselog import audit

    db = window.services.db

    def found(result: audit.VerifyResult) -> None:
        if result.ok:
            window.statusBar().showMessage(f"Audit trail verified. {audit.head_line(result.head)}", 15000)
            return
        altered = result.problem is not None
        box = QMessageBox(
            QMessageBox.Icon.Critical if altered else QMessageBox.Icon.Warning,
            "CaseLog: the audit trail was altered" if altered else "CaseLog: the audit trail could not be checked",
            f"The audit trail was altered: {result.problem}."
            if altered
            else f"The audit trail's {result.key_problem}.",
            QMessageBox.StandardButton.Ok,
            window,
        )
        box.setInformativeText(
            "Records changed outside CaseLog cannot be trusted. Tell the clinic's administrator before signing or "
            "amending cases; 'caselog audit verify' gives the same details."
            if altered
            else "Ask IT for the database's audit key ('caselog audit key import FILE')."
        )
        window.audit_warning = box  # type: ignore[attr-defined]
        box.open()

    def failed(exc: BaseException) -> None:
        log.warning("the audit trail could not be verified at start: %s", exc)
        window.statusBar().showMessage(f"The audit trail could not be verified: {exc}", 15000)

    window.services.tasks.run(lambda _progress: audit.verify(db), on_result=found, on_error=failed)


def start_storage_check_after_first_page(window: MainWindow) -> None:
    """The storage check (it reads the whole file) starts once the first page of cases is on screen, or failed
    to load, so it never competes with that page for the second core; at once when no list is shown (an
    administrator, a locked window). A write before then starts it and waits for its verdict."""
    from PySide6.QtCore import Qt, QTimer

    db = window.services.db
    if not window.model.loading:
        db.start_storage_check()
        return
    once = Qt.ConnectionType.SingleShotConnection
    # after the events already queued: the page's painting
    window.model.loaded.connect(lambda: QTimer.singleShot(0, db.start_storage_check), once)
    window.model.failed.connect(lambda _exc: db.start_storage_check(), once)


def watch_storage_check(window: MainWindow) -> None:
    """Say it when the background storage check finds damage: reading goes on, writing is refused."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    db = window.services.db
    timer = QTimer(window)
    timer.setInterval(250)

    def poll() -> None:
        done, problem = db.storage_verdict()
        if not done:
            return
        timer.stop()
        if problem is None:
            return
        log.error("storage check at start: %s", problem.message)
        box = QMessageBox(QMessageBox.Icon.Critical, "CaseLog: the database is damaged", problem.message,
                          QMessageBox.StandardButton.Ok, window)  # fmt: skip
        box.setInformativeText("You can still read and export the cases; nothing will be saved into this file.")
        window.damage_warning = box  # type: ignore[attr-defined]
        box.open()

    timer.timeout.connect(poll)
    timer.start()
    poll()


def say_ready(app: QCoreApplication) -> None:
    """The first page of cases is in the list (CASELOG_QUIT_WHEN_READY, for benchmarks/bench_ui.py): once the
    events already queued (the list's painting) are handled, say so with the CPU seconds used until then (the
    whole process's, and the GUI thread's), then quit."""
    from PySide6.QtCore import QTimer

    def shown() -> None:
        print(f"first page shown: cpu_s={time.process_time():.4f} gui_thread_cpu_s={time.thread_time():.4f}",
              flush=True)  # fmt: skip
        app.quit()

    QTimer.singleShot(0, shown)


def main(argv: Sequence[str] | None = None) -> int:
    # 0. no automatic garbage collection: the GUI thread collects (ui.tasks.GuiThreadGarbageCollector), and the
    #    start's imports are not scanned again and again before the first page (main.py switches it off earlier)
    collecting = gc.isenabled()
    gc.disable()
    try:
        # 1. paths: owner-only files, CaseLog's own temporary folder (a crash's leftovers removed)
        with private_process():
            return _start(argv)
    finally:
        if collecting:  # as it was (the tests run the app in their own process)
            gc.enable()


def _start(argv: Sequence[str] | None) -> int:
    try:
        private_folder(paths.data_dir())
    except OSError as exc:
        print(f"CaseLog cannot create its data folder {paths.data_dir()}: {exc.strerror}", file=sys.stderr)
        return 1
    # 2. logging
    setup_logging()
    settings = load_settings()
    from ui import first_start
    from ui.single_instance import SingleInstance

    instance = SingleInstance(instance_name(settings))
    first = instance.acquire()
    # A computer CaseLog never ran on: the first start's set-up comes before any database is made.
    setting_up = first and first_start.needed()
    # 3. the database, opened and migrated (a server's password may have to be asked for first)
    db: Database | None = None
    error: BaseException | None = None
    password: str | None = None
    # An encrypted file whose passphrase is not known, or a new one (its passphrase is chosen first), waits
    # for the QApplication and its dialog.
    pending: PassphraseStep | None = None
    if first and not setting_up:
        password, pending, db, error = opening(settings)
    # 4. the QApplication
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

    from ui.main_window import MainWindow
    from ui.services import AppSettings, Services
    from ui.settings_dialog import SettingsDialog
    from ui.style import app_style_sheet
    from ui.tasks import GuiThreadGarbageCollector, TaskRunner

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    assert isinstance(app, QApplication)
    collector = GuiThreadGarbageCollector(app)  # no garbage collection may start in a worker thread
    app.setApplicationName("CaseLog")
    app.setApplicationDisplayName("CaseLog")
    app.setStyleSheet(app_style_sheet(app.palette()))
    if not first:
        answered = instance.ask_first_to_show()
        QMessageBox.information(
            None,
            "CaseLog is already open",
            "CaseLog is already open on this database"
            + (" and was brought to the front." if answered else ".")
            + "\nOnly one copy at a time may work on a database, so this one closes.",
        )
        return 0
    app_settings = AppSettings(settings)
    welcome = first_start.FirstStartDialog(app_settings) if setting_up else None
    if welcome is not None:
        if welcome.exec() != first_start.FirstStartDialog.DialogCode.Accepted:
            collector.stop()
            instance.release()
            return 0  # quit at the first question: nothing was written
        instance.release()
        instance = SingleInstance(instance_name(app_settings.value))
        instance.acquire()
        password, pending, db, error = opening(app_settings.value)
    while db is None:
        s = app_settings.value
        target = database_target(s, password)
        step = pending or ("unlock" if isinstance(error, cipher.PassphraseNeeded | cipher.WrongPassphrase) else None)
        file = sqlite_file(target)
        pending = None
        if step is not None and file is not None:
            if not ask_passphrase(step, file):
                collector.stop()
                instance.release()
                return 0  # the user chose to quit: nothing was opened or written
            db, error = open_target(target)
            continue
        if error is None and uses_server(s) and password is None:
            text, ok = QInputDialog.getText(
                None,
                "CaseLog: server password",
                f"Password for {s.pg_user}@{s.pg_host}/{s.pg_database}\n(no system keyring keeps it here):",
                QLineEdit.EchoMode.Password,
            )
            if not ok:
                return 1
            password = text
            db, error = open_target(database_target(s, password))
            continue
        assert error is not None
        log.warning("database could not be opened: %s", error)
        box = QMessageBox(QMessageBox.Icon.Critical, "CaseLog cannot open its database", "")
        box.setText(problem_text(error, instance_name(s)))
        change = box.addButton("Choose another location…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is not change:
            return 1
        SettingsDialog(app_settings, surgeons=[]).exec()
        instance.release()
        instance = SingleInstance(instance_name(app_settings.value))
        if not instance.acquire():
            QMessageBox.information(None, "CaseLog is already open", "CaseLog is already open on that database.")
            return 0
        password, pending, db, error = opening(app_settings.value)
    instance.listen()
    # 5. signing in, when the database has accounts (without any, it is single-user and nobody signs in)
    from caselog import drafts
    from caselog.accounts import accounts_exist
    from caselog.service import CaseService
    from ui.accounts_dialogs import SignInDialog

    drafts.protect_with(db)  # an encrypted database's unsaved forms are encrypted too
    services = Services(CaseService(db), TaskRunner(app), db.display_name)
    try:
        administrator = first_start.ask_first_administrator(services) if welcome and welcome.accounts else None
        if administrator is not None:
            services.start_session(administrator)  # chosen at the first start: created and signed in
        elif accounts_exist(db):
            db.start_storage_check()  # while the user signs in: nothing on screen competes with it
            sign_in = SignInDialog(db, db.display_name)
            if sign_in.exec() != SignInDialog.DialogCode.Accepted or sign_in.actor is None:
                return 0
            services.start_session(sign_in.actor)
        # 6. the main window
        window = MainWindow(services, app_settings)
        instance.activated.connect(window.bring_forward)
        window.show()
        start_storage_check_after_first_page(window)
        watch_storage_check(window)
        for warning in storage_warnings(db):
            QMessageBox.warning(window, "CaseLog: database on a network share", warning.replace("Warning: ", ""))
        if os.environ.get("CASELOG_QUIT_WHEN_READY"):
            # For benchmarks/bench_ui.py: the time until the first page of cases is on screen.
            # Once: a quit queued by a later page would end whatever event loop runs next.
            window.model.loaded.connect(lambda: say_ready(app), Qt.ConnectionType.SingleShotConnection)
        else:
            QTimer.singleShot(0, window.offer_drafts)
            # Once the first page of cases is on screen (the check reads every case; the list comes first).
            window.model.loaded.connect(lambda: check_audit_trail(window), Qt.ConnectionType.SingleShotConnection)
        return app.exec()
    finally:
        services.tasks.wait()
        collector.stop()
        instance.release()
        db.close()


if __name__ == "__main__":
    sys.exit(main())
