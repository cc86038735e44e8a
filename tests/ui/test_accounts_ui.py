"""Accounts in the desktop app: signing in, roles hiding what they cannot do, the idle lock, signing, history."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caselog import audit, drafts
from caselog.accounts import HIDDEN, SIGN_IN_FAILED, AccountService, Actor
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import POLICY_REASON, make_case
from tests.ui.conftest import choose
from ui import app as app_module
from ui import jobs
from ui.accounts_dialogs import AccountDialog, PasswordDialog, RoleDialog, SignInDialog
from ui.admin_view import AdminView
from ui.case_actions import FollowUpForm
from ui.history_view import CaseHistoryDialog
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

PASSWORD = "correct horse battery"
ACCOUNTS = [  # username, full name, role (the first must be the administrator)
    ("admin", "Ada Admin", "admin"),
    ("hlind", "Dr. Henrik Lindqvist", "surgeon"),
    ("coord", "Carla Coordinator", "coordinator"),
    ("qual", "Quinn Quality", "quality"),
]
#: A draft of each: the demo's drafts are its last week's few cases, by whichever surgeons its seed drew, so
#: a test that needs one surgeon's draft (or a colleague's) gets it here rather than by the seed's luck.
DRAFT_SURGEONS = ["Dr. Henrik Lindqvist", "Dr. Amara Okafor"]


@pytest.fixture
def accounts_db(tmp_path: Path, demo_template: Path) -> Iterator[Database]:
    """The demo cases and a draft of each of DRAFT_SURGEONS, protected by one account per role."""
    path = tmp_path / "accounts.sqlite3"
    shutil.copy(demo_template, path)
    db = open_database(path)
    admin: Actor | None = None
    for username, full_name, role in ACCOUNTS:
        AccountService(db, admin).add_account(username, role=role, full_name=full_name, password=PASSWORD)
        if admin is None:
            admin = AccountService(db).sign_in(username, PASSWORD)
    coordinator = CaseService(db, actor=AccountService(db).sign_in("coord", PASSWORD))
    for surgeon in DRAFT_SURGEONS:
        # Made as an ablation with the reason it was done outside the policy: the draft can be signed.
        coordinator.create_case(make_case(surgeon=surgeon, outside_policy_reason=POLICY_REASON))
    yield db
    db.close()


@pytest.fixture
def signed_in(qtbot: QtBot, accounts_db: Database, app_settings: AppSettings) -> Iterator[Callable[[str], MainWindow]]:
    """signed_in("hlind"): the main window as the app opens it after that user signed in."""
    opened: list[MainWindow] = []

    def make(username: str) -> MainWindow:
        services = Services(CaseService(accounts_db), TaskRunner(), accounts_db.display_name)
        services.start_session(AccountService(accounts_db).sign_in(username, PASSWORD))
        window = MainWindow(services, app_settings)
        if window.can_view():
            with qtbot.waitSignal(window.model.loaded, timeout=10000):
                window.show()
        else:
            window.show()
        opened.append(window)
        return window

    yield make
    for window in opened:
        if window.form is not None:
            window.form.dirty = False
            window.form.reject()
        window.services.tasks.wait()
        window.close()


def sign_in_at(form: Any, qtbot: QtBot, username: str, password: str = PASSWORD) -> None:
    """Type into a sign-in form (dialog or lock screen) as a person does, and press Sign in."""
    form.username.selectAll()
    qtbot.keyClicks(form.username, username)
    qtbot.keyClicks(form.password, password)
    qtbot.mouseClick(form.sign_in_button, Qt.MouseButton.LeftButton)


def select_first(window: MainWindow, qtbot: QtBot, case_filter: CaseFilter) -> str:
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        window.model.set_filter(case_filter)
    assert window.model.rowCount() > 0
    number = window.model.row_at(0).case_number  # type: ignore[union-attr]
    assert window.select_case(number)
    return number


def test_sign_in_dialog_shows_a_wrong_password_and_stays_open(qtbot: QtBot, accounts_db: Database) -> None:
    dialog = SignInDialog(accounts_db, accounts_db.display_name)
    qtbot.addWidget(dialog)
    dialog.show()
    sign_in_at(dialog.form, qtbot, "hlind", "not the password")
    assert dialog.isVisible() and dialog.actor is None
    assert dialog.form.error.isVisible()
    assert dialog.form.error.text() == SIGN_IN_FAILED
    assert dialog.form.password.text() == ""  # typed again, never kept
    sign_in_at(dialog.form, qtbot, "hlind")
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.actor == Actor("hlind", "Dr. Henrik Lindqvist", "surgeon")
    failed = [e for e in audit.entries(accounts_db) if e.action == "sign_in_failed"]
    assert failed and failed[-1].username == "hlind"


@pytest.mark.parametrize(
    ("username", "hidden", "shown"),
    [
        ("coord", ["sign_action", "history_action", "trail_action"], ["new_action", "edit_action"]),
        ("qual", ["new_action", "repeat_action", "delete_action", "sign_action"], ["edit_action", "trail_action"]),
        ("hlind", ["trail_action", "protect_action"], ["new_action", "sign_action", "history_action"]),
    ],
)
def test_the_role_hides_what_it_cannot_do(
    signed_in: Callable[[str], MainWindow], username: str, hidden: list[str], shown: list[str]
) -> None:
    window = signed_in(username)
    assert window.table.isVisible() and window.model.rowCount() > 0
    assert [name for name in hidden if getattr(window, name).isVisible()] == []
    assert [name for name in shown if not getattr(window, name).isVisible()] == []
    full_name = next(f for u, f, _ in ACCOUNTS if u == username)
    assert full_name in window.session.user_label.text()


def test_an_administrator_sees_accounts_and_the_trail_not_cases(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    window = signed_in("admin")
    assert window.admin_view is not None and window.admin_view.isVisible()
    assert not window.table.isVisible() and window.model.rowCount() == 0
    assert not window.case_menu.menuAction().isVisible() and not window.new_action.isVisible()
    assert [a.username for a in window.admin_view.model.accounts] == sorted(u for u, _, _ in ACCOUNTS)
    assert "Administrator" in window.session.user_label.text()
    window.admin_view.tabs.setCurrentIndex(1)
    trail = window.admin_view.trail
    qtbot.waitUntil(lambda: trail.user.count() > 1 and trail.model.rowCount() > 0 and not trail.model.loading)
    everything = trail.model.total  # counted in the database; the list holds its first page
    with qtbot.waitSignal(trail.model.loaded):
        choose(trail.user, "admin")
    assert {e.who for e in trail.model.entries} == {"admin"} and trail.model.matching < everything
    with qtbot.waitSignal(trail.model.loaded):
        choose(trail.action, "account_add")
    assert sorted(e.record_id for e in trail.model.entries) == ["coord", "hlind", "qual"]
    assert trail.count.text() == f"3 of {everything} entries"


def test_protect_with_accounts_creates_the_admin_and_the_next_start_asks_to_sign_in(
    make_window: Callable[..., MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    assert window.protect_action.isVisible() and not window.sign_out_action.isVisible()
    assert "Single user" in window.session.user_label.text()

    def fill_in(dialog: AccountDialog) -> int:
        dialog.show()
        qtbot.keyClicks(dialog.username, "boss")
        qtbot.keyClicks(dialog.full_name, "Bea Boss")
        qtbot.keyClicks(dialog.password, PASSWORD)
        qtbot.keyClicks(dialog.repeat, PASSWORD + "x")
        assert dialog.errors["repeat"].isVisible() and not dialog.ok.isEnabled()
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Backspace)
        assert dialog.ok.isEnabled()
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(AccountDialog, "exec", fill_in)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    window.protect_action.trigger()
    db = window.services.db
    assert [(a.username, a.role) for a in AccountService(db, window.services.actor).list_accounts()] == [
        ("boss", "admin")
    ]
    assert window.services.actor == Actor("boss", "Bea Boss", "admin")
    assert window.admin_view is not None and window.admin_view.isVisible() and not window.table.isVisible()
    assert not window.protect_action.isVisible() and window.sign_out_action.isVisible()

    asked: list[SignInDialog] = []

    def refuse_to_sign_in(dialog: SignInDialog) -> int:
        asked.append(dialog)
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(SignInDialog, "exec", refuse_to_sign_in)
    monkeypatch.setenv("CASELOG_DB", str(db.engine.url.database))
    handlers = list(logging.getLogger().handlers)
    try:
        assert app_module.main([]) == 0  # nobody signed in: the app ends before any case is shown
    finally:
        logging.getLogger().handlers = handlers
    assert len(asked) == 1


def test_idle_lock_hides_patient_data_until_the_same_user_signs_in(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    window = signed_in("hlind")
    select_first(window, qtbot, CaseFilter())
    patient = window.detail.current.record.patient.family_name  # type: ignore[union-attr]
    assert patient in window.detail.toPlainText()
    form = window.edit_case()
    assert form is not None and form.isVisible()
    window.session.idle.set_interval_ms(200)
    qtbot.waitUntil(lambda: window.session.locked, timeout=5000)
    lock = window.session.lock_screen
    assert lock.isVisible() and "locked" in lock.title.text()
    assert not window.table.isVisible() and not window.detail.isVisible() and not form.isVisible()
    assert patient not in window.detail.toPlainText()
    assert patient not in "".join(w.text() for w in lock.findChildren(type(lock.title)))
    assert not window.edit_action.isEnabled() and not window.new_action.isEnabled()
    assert lock.form.username.text() == "hlind"
    locks = [e for e in audit.entries(window.services.db) if e.action == "lock"]
    assert [(e.username, e.record_id) for e in locks] == [("hlind", "hlind")]

    window.session.idle.set_interval_ms(0)
    sign_in_at(lock.form, qtbot, "hlind", "wrong")
    assert window.session.locked and lock.form.error.isVisible()
    sign_in_at(lock.form, qtbot, "", PASSWORD)  # the user name stays; only the password is typed again
    assert not window.session.locked and not lock.isVisible()
    assert window.table.isVisible() and form.isVisible() and window.form is form
    assert patient in window.detail.toPlainText()


def test_another_user_at_the_lock_screen_closes_the_session_and_keeps_the_draft(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    window = signed_in("hlind")
    form = window.new_case()
    assert form is not None
    qtbot.keyClicks(form.fields.mrn, "LOCK-4711")
    qtbot.keyClicks(form.fields.family_name, "Unsaved")
    window.lock_action.trigger()
    assert window.session.locked and not form.isVisible()
    sign_in_at(window.session.lock_screen.form, qtbot, "coord")
    assert window.services.actor == Actor("coord", "Carla Coordinator", "coordinator")
    assert window.services.cases.actor == window.services.actor
    assert window.form is None and not window.session.locked
    assert "Carla Coordinator" in window.session.user_label.text()
    assert drafts.pending_drafts("coord") == []  # the draft is the first user's, not shown to the next one
    kept = drafts.pending_drafts("hlind")
    assert len(kept) == 1 and kept[0].data["patient"]["mrn"] == "LOCK-4711"
    assert kept[0].data["patient"]["family_name"] == "Unsaved"
    qtbot.waitUntil(lambda: window.table.isVisible() and window.model.rowCount() > 0)
    assert not window.sign_action.isVisible()


def test_signing_a_case_from_the_ui_shows_signer_and_time(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = signed_in("hlind")
    number = select_first(window, qtbot, CaseFilter(status="draft", surgeon="Dr. Henrik Lindqvist"))
    assert window.sign_action.isEnabled()
    assert window.sign_action.shortcut().toString() == "Ctrl+Shift+S"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        window.sign_action.trigger()
    view = window.services.cases.get_case(number)
    assert view.status == "final" and view.signed_by == "Dr. Henrik Lindqvist" and view.signed_at is not None
    assert window.model.row_of(number) < 0  # the list shows drafts only: the signed case left it
    assert select_first(window, qtbot, CaseFilter(case_numbers=(number,))) == number
    assert "Signed by Dr. Henrik Lindqvist on " in window.detail.toPlainText()
    assert not window.sign_action.isEnabled()  # already signed


def test_a_surgeon_cannot_sign_a_colleagues_draft(signed_in: Callable[[str], MainWindow], qtbot: QtBot) -> None:
    window = signed_in("hlind")
    select_first(window, qtbot, CaseFilter(status="draft", surgeon="Dr. Amara Okafor"))
    assert window.sign_action.isVisible() and not window.sign_action.isEnabled()
    assert not window.history_action.isEnabled()  # a surgeon reads the history of their own cases only


@pytest.mark.parametrize(("username", "offered"), [("qual", True), ("hlind", False), ("coord", False)])
def test_the_export_dialog_offers_the_research_export_to_quality_staff_only(
    signed_in: Callable[[str], MainWindow], username: str, offered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only quality staff release de-identified data (the service refuses the others): the rest are not offered
    it, and a file name ending in .zip does not make one for them."""
    window = signed_in(username)
    filters: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _p, _t, _s, shown: filters.extend(shown.split(";;"))
                        or ("", ""))  # fmt: skip
    assert window.export_cases() is None  # the dialog was cancelled
    assert "CSV for spreadsheets (*.csv)" in filters
    assert ("De-identified research export (ZIP) (*.zip)" in filters) is offered
    chosen = jobs.export_format(Path("cases.zip"), "", jobs.export_filters(window.services.cases))
    assert (chosen == "research") is offered


def test_history_shows_the_amendment_reason_and_the_changed_field(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    window = signed_in("hlind")
    number = select_first(window, qtbot, CaseFilter(status="draft", surgeon="Dr. Henrik Lindqvist"))
    window.services.cases.sign_case(number)
    select_first(window, qtbot, CaseFilter(case_numbers=(number,)))
    form = window.edit_case()
    assert form is not None and form.signed and not isinstance(form, FollowUpForm)
    form.fields.assistants.selectAll()
    qtbot.keyClicks(form.fields.assistants, "Dr. Ravi Second")
    assert not form.save_button.isEnabled()  # a signed case: the amendment needs its reason
    qtbot.keyClicks(form.reason, "Assistant was missing")
    assert form.save_button.isEnabled()
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert window.services.cases.get_case(number).status == "amended"
    assert window.history_action.isEnabled()
    dialog = window.history_action.trigger() or window.findChild(CaseHistoryDialog)
    assert isinstance(dialog, CaseHistoryDialog) and dialog.isVisible()
    model = dialog.model
    amend = next(e for e in model.entries if e.action == "amend")
    row = model.entries.index(amend)
    texts = {model.columns[c]: model.index(row, c).data() for c in range(model.columnCount())}
    assert texts["Why"] == "Assistant was missing"
    assert "assistants" in texts["What changed"] and "Dr. Ravi Second" in texts["What changed"]
    assert "→" in texts["What changed"]
    assert texts["Who"] == "hlind" and texts["Action"] == "Amended"
    assert [model.index(i, 2).data() for i in range(model.rowCount())][-1] in ("Imported", "Demo data", "Created")


def test_a_coordinator_adds_follow_up_to_a_signed_case_without_a_reason(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    window = signed_in("coord")
    select_first(window, qtbot, CaseFilter(status="final"))
    form = window.edit_case()
    assert isinstance(form, FollowUpForm)
    assert not form.signed and form.case_number and "follow-up" in form.windowTitle()


# ---- the administrator's account tools, the forced password change, the trail without patient identity --------

TEMPORARY = "temporary pass 4417"
CHOSEN = "lumbar facet season 7"


def click_account(view: AdminView, qtbot: QtBot, username: str) -> None:
    row = next(i for i, a in enumerate(view.model.accounts) if a.username == username)
    rect = view.table.visualRect(view.model.index(row, 0))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.selected() is not None and view.selected().username == username  # type: ignore[union-attr]


def state_of(view: AdminView, username: str) -> tuple[str, str]:
    row = next(i for i, a in enumerate(view.model.accounts) if a.username == username)
    return view.model.index(row, 2).data(), view.model.index(row, 3).data()


def type_new_password(qtbot: QtBot, dialog: PasswordDialog, password: str, repeat: str | None = None) -> None:
    dialog.password.clear()
    dialog.repeat.clear()
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClicks(dialog.repeat, password if repeat is None else repeat)


def test_an_administrator_disables_enables_resets_and_changes_a_role(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    view = signed_in("admin").admin_view
    assert view is not None
    click_account(view, qtbot, "coord")
    assert not view.enable_button.isEnabled() and view.disable_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(view.disable_button, Qt.MouseButton.LeftButton)
    assert state_of(view, "coord") == ("OR coordinator", "Disabled")
    click_account(view, qtbot, "coord")
    assert view.enable_button.isEnabled()
    qtbot.mouseClick(view.enable_button, Qt.MouseButton.LeftButton)
    assert state_of(view, "coord") == ("OR coordinator", "Active")

    def reset(dialog: PasswordDialog) -> int:
        dialog.show()
        type_new_password(qtbot, dialog, "short")
        assert not dialog.ok.isEnabled() and "at least 12 characters" in dialog.errors["password"].text()
        type_new_password(qtbot, dialog, "Password1234")
        assert "most common" in dialog.errors["password"].text()
        type_new_password(qtbot, dialog, TEMPORARY)
        assert dialog.ok.isEnabled()
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(PasswordDialog, "exec", reset)
    click_account(view, qtbot, "coord")
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert state_of(view, "coord") == ("OR coordinator", "Active, new password due")

    def choose_quality(dialog: RoleDialog) -> int:
        choose(dialog.role, "quality")
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(RoleDialog, "exec", choose_quality)
    click_account(view, qtbot, "coord")
    qtbot.mouseClick(view.role_button, Qt.MouseButton.LeftButton)
    assert state_of(view, "coord") == ("Quality staff", "Active, new password due")
    view.grab().save(str(tmp_path / "admin-accounts.png"))
    actions = [e.action for e in audit.entries(view._accounts().db, record_id="coord")]
    assert actions[-4:] == ["account_disable", "account_enable", "account_password_reset", "account_role"]


def test_the_last_administrator_cannot_step_down_in_the_app(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = signed_in("admin").admin_view
    assert view is not None
    click_account(view, qtbot, "admin")
    assert not view.disable_button.isEnabled() and not view.reset_button.isEnabled()
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *a: warnings.append(text))

    def choose_surgeon(dialog: RoleDialog) -> int:
        choose(dialog.role, "surgeon")
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(RoleDialog, "exec", choose_surgeon)
    qtbot.mouseClick(view.role_button, Qt.MouseButton.LeftButton)
    assert len(warnings) == 1 and "last active administrator" in warnings[0]
    assert state_of(view, "admin") == ("Administrator", "Active")


def test_signing_in_after_a_reset_asks_for_a_new_password_twice_first(
    qtbot: QtBot, accounts_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin = AccountService(accounts_db, AccountService(accounts_db).sign_in("admin", PASSWORD))
    admin.reset_password("hlind", TEMPORARY)
    shown: list[PasswordDialog] = []

    def cancel(dialog: PasswordDialog) -> int:
        shown.append(dialog)
        dialog.reject()
        return dialog.result()

    monkeypatch.setattr(PasswordDialog, "exec", cancel)
    dialog = SignInDialog(accounts_db, accounts_db.display_name)
    qtbot.addWidget(dialog)
    dialog.show()
    sign_in_at(dialog.form, qtbot, "hlind", TEMPORARY)
    assert len(shown) == 1 and dialog.actor is None and dialog.isVisible()
    assert "choose a new one to continue" in dialog.form.error.text()

    def choose_new(password_dialog: PasswordDialog) -> int:
        shown.append(password_dialog)
        password_dialog.show()
        type_new_password(qtbot, password_dialog, CHOSEN, CHOSEN + "x")
        assert not password_dialog.ok.isEnabled() and password_dialog.errors["repeat"].isVisible()
        type_new_password(qtbot, password_dialog, TEMPORARY)  # the administrator's password is not kept
        qtbot.mouseClick(password_dialog.ok, Qt.MouseButton.LeftButton)
        assert password_dialog.isVisible() and "must differ" in password_dialog.errors["password"].text()
        password_dialog.grab().save(str(tmp_path / "forced-password-change.png"))
        type_new_password(qtbot, password_dialog, CHOSEN)
        qtbot.mouseClick(password_dialog.ok, Qt.MouseButton.LeftButton)
        return password_dialog.result()

    monkeypatch.setattr(PasswordDialog, "exec", choose_new)
    sign_in_at(dialog.form, qtbot, "hlind", TEMPORARY)
    assert len(shown) == 2 and dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.actor == Actor("hlind", "Dr. Henrik Lindqvist", "surgeon")
    assert not AccountService(accounts_db).sign_in("hlind", CHOSEN).must_change_password


def test_the_administrators_audit_trail_shows_no_patient_identity(
    signed_in: Callable[[str], MainWindow], accounts_db: Database, tmp_path: Path, qtbot: QtBot
) -> None:
    quality = CaseService(accounts_db, actor=Actor("qual", "Quinn Quality", "quality"))
    patient = next(iter(quality.iter_cases())).record.patient
    window = signed_in("admin")
    assert window.admin_view is not None
    window.admin_view.tabs.setCurrentIndex(1)
    trail = window.admin_view.trail
    model = trail.model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.loading)
    shown = "\n".join(str(model.index(r, c).data(Qt.ItemDataRole.ToolTipRole) or model.index(r, c).data())
                      for r in range(model.rowCount()) for c in range(model.columnCount()))  # fmt: skip
    assert model.rowCount() > 0 and f"patient.mrn: {HIDDEN}" in shown
    assert patient.mrn not in shown and patient.family_name not in shown
    window.admin_view.grab().save(str(tmp_path / "admin-trail.png"))
