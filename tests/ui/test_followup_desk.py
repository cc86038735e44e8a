"""The follow-up desk as a coordinator meets it: the due list opened from the main window, each follow-up recorded
from the keyboard (could not reach, reached with scores, moved away) until nothing is due, the counts, the call
list and the letters printed and saved (audited), and the roles that may not add follow-up."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget
from pytestqt.qtbot import QtBot

from caselog.accounts import AccountService, Actor
from caselog.audit import entries
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import StorageError
from caselog.service import CaseService
from tests.factories import POLICY_REASON, simple_case
from ui.desks.followup_desk import FollowUpDesk
from ui.followup_dialog import FollowUpDialog
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

PASSWORD = "correct horse battery"
ACCOUNTS = [  # username, full name, role (the first must be the administrator)
    ("admin", "Ada Admin", "admin"),
    ("coord", "Carla Coordinator", "coordinator"),
    ("qual", "Quinn Quality", "quality"),
    ("praman", "Dr. Priya Raman", "surgeon"),
]
#: The desk judges what is due by today's date: the cases are dated from it.
TODAY = dt.date.today()


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def patient(mrn: str, family: str, given: str, born: str) -> dict[str, str]:
    return {"mrn": mrn, "family_name": family, "given_name": given, "birth_date": born, "sex": "female"}


#: Three follow-ups due, by due date: a laminotomy's 6 weeks 8 days overdue (its 2 weeks long missed), a signed
#: cervical rhizotomy's 2 weeks 6 days overdue, an ablation's 2 weeks due in 4 days.
CASES = [
    simple_case(days_ago(50), procedure="laminotomy", patient=patient("MRN-3301", "García Márquez", "Lucía",
                "1971-07-21"), levels=[{"level": "L5-S1", "side": "left"}], cpt_codes=["63030"]),
    simple_case(days_ago(20), procedure="endoscopic_rhizotomy", patient=patient("MRN-3302", "Okoye", "Chidi",
                "1949-11-02"), levels=[{"level": "C5-C6", "side": "bilateral"}], surgeon="Dr. Priya Raman",
                status="final", outside_policy_reason=POLICY_REASON),
    simple_case(days_ago(10), procedure="radiofrequency_ablation", patient=patient("MRN-3303", "Lindqvist", "Maja",
                "1958-03-14"), levels=[{"level": "L4-L5", "side": "bilateral"}]),
]  # fmt: skip


@pytest.fixture
def clinic_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """The three cases, then one account per role (the cases were entered before the clinic added accounts)."""
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    service = CaseService(db)
    for case in CASES:
        service.create_case(case)
    admin = None
    for username, full_name, role in ACCOUNTS:
        AccountService(db, admin).add_account(username, role=role, full_name=full_name, password=PASSWORD)
        if admin is None:
            admin = AccountService(db).sign_in(username, PASSWORD)
    yield db
    db.close()


def services_as(db: Database, username: str) -> Services:
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    services.start_session(AccountService(db).sign_in(username, PASSWORD))
    return services


@pytest.fixture
def signed_in(qtbot: QtBot, clinic_db: Database, app_settings: AppSettings) -> Iterator[Callable[[str], MainWindow]]:
    opened: list[MainWindow] = []

    def make(username: str) -> MainWindow:
        window = MainWindow(services_as(clinic_db, username), app_settings)
        if window.can_view():
            with qtbot.waitSignal(window.model.loaded, timeout=10000):
                window.show()
        else:
            window.show()
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.services.tasks.wait()
        window.close()


@pytest.fixture
def desk(qtbot: QtBot, clinic_db: Database, app_settings: AppSettings) -> Iterator[FollowUpDesk]:
    """The desk as the coordinator opens it, its list read."""
    services = services_as(clinic_db, "coord")
    parent = QWidget()
    qtbot.addWidget(parent)
    made = FollowUpDesk(services, app_settings, parent)
    made.show()
    settle(made, qtbot)
    yield made
    if made.dialog is not None:
        services.tasks.wait()
        made.dialog.reject()
    made.close()
    services.tasks.wait()


def settle(desk: FollowUpDesk, qtbot: QtBot) -> None:
    """Until the desk's reads and writes are done and their results shown."""
    qtbot.waitUntil(lambda: not desk.services.tasks.busy and "loading" not in desk.heading.text(), timeout=20000)


def listed(desk: FollowUpDesk) -> list[tuple[str, str, int]]:
    return [(r.case_number, r.timepoint, r.attempts) for r in desk.model.rows()]


def press_return_on_row(desk: FollowUpDesk, qtbot: QtBot) -> FollowUpDialog:
    desk.table.setFocus()
    qtbot.keyClick(desk.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: desk.dialog is not None and desk.dialog.isVisible(), timeout=10000)
    assert desk.dialog is not None
    return desk.dialog


def save_with(dialog: FollowUpDialog, qtbot: QtBot, key: Qt.Key = Qt.Key.Key_Return) -> None:
    """Return (or keypad Enter) in the dialog saves; wait until it closed."""
    qtbot.keyClick(dialog.focusWidget() or dialog, key)
    qtbot.waitUntil(lambda: not dialog.saving, timeout=10000)
    assert not shiboken6.isValid(dialog) or not dialog.isVisible(), dialog.error.text()


def reader(db: Database) -> CaseService:
    """The cases as quality staff read them (the database has accounts: someone must be signed in)."""
    return CaseService(db, actor=Actor("qual", "Quinn Quality", "quality"))


def case_numbers(db: Database) -> list[str]:
    return [v.case_number for v in reader(db).iter_cases()]


def test_a_coordinator_works_the_due_list_start_to_finish(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot, clinic_db: Database, tmp_path: Path
) -> None:
    """The issue's "done when": from the main window's shortcut to an empty due list, by keyboard only."""
    window = signed_in("coord")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(window.findChildren(FollowUpDesk)), timeout=5000)
    desk = window.findChildren(FollowUpDesk)[0]
    settle(desk, qtbot)
    laminotomy, rhizotomy, ablation = case_numbers(clinic_db)
    assert listed(desk) == [(laminotomy, "6w", 0), (rhizotomy, "2w", 0), (ablation, "2w", 0)]
    assert desk.heading.text() == "3 follow-ups to record: 2 overdue, 1 coming due"
    assert desk.model.index(0, 1).data() == "Overdue 8 d" and desk.model.index(2, 1).data() == "Due in 4 d"

    # 1. The laminotomy's patient does not answer: "Could not reach" is one key down; Return saves.
    dialog = press_return_on_row(desk, qtbot)
    assert dialog.contact.hasFocus()
    qtbot.keyClick(dialog.contact, Qt.Key.Key_Down)
    assert dialog.contact.currentData() == "could_not_reach"
    save_with(dialog, qtbot)
    settle(desk, qtbot)
    assert listed(desk)[0] == (laminotomy, "6w", 1)  # still to call, one call made
    assert desk.model.index(0, 10).data() == "1"
    assert "could not reach" in desk.statusBar().currentMessage()

    # 2. Called again and reached: the lumbar scores, typed; keypad Enter saves. The row leaves the list.
    assert desk.selected() is not None and desk.selected().case_number == laminotomy  # type: ignore[union-attr]
    dialog = press_return_on_row(desk, qtbot)
    assert list(dialog.scores) == ["odi", "nrs_back", "nrs_leg", "relief_percent"]
    for key, value in (("odi", "24"), ("nrs_back", "3"), ("nrs_leg", "1")):
        dialog.scores[key].setFocus()
        qtbot.keyClicks(dialog.scores[key], value)
    save_with(dialog, qtbot, Qt.Key.Key_Enter)
    settle(desk, qtbot)
    assert listed(desk) == [(rhizotomy, "2w", 0), (ablation, "2w", 0)]
    saved = reader(clinic_db).get_case(laminotomy).record
    assert [(o.timepoint, o.odi, o.nrs_back, o.nrs_leg, o.date) for o in saved.outcomes] == [("6w", 24, 3, 1, TODAY)]
    assert [(a.timepoint, a.result) for a in saved.follow_up_attempts] == [("6w", "could_not_reach")]

    # 3. The signed rhizotomy's patient moved away (two keys down): an addendum; the case stays signed.
    dialog = press_return_on_row(desk, qtbot)
    assert "signed" in dialog.addendum.text()
    qtbot.keyClick(dialog.contact, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.contact, Qt.Key.Key_Down)
    assert dialog.contact.currentData() == "moved_away"
    save_with(dialog, qtbot)
    settle(desk, qtbot)
    assert listed(desk) == [(ablation, "2w", 0)]
    moved = reader(clinic_db).get_case(rhizotomy)
    assert moved.status == "final" and [a.result for a in moved.record.follow_up_attempts] == ["moved_away"]

    # 4. The ablation's patient, reached a few days early. Then nothing is left.
    dialog = press_return_on_row(desk, qtbot)
    qtbot.keyClicks(dialog.scores["nrs_back"], "2")
    save_with(dialog, qtbot)
    settle(desk, qtbot)
    assert listed(desk) == []
    assert desk.heading.text() == "Nothing due: no follow-up to record in this list."
    assert not desk.print_action.isEnabled() and not desk.record_button.isEnabled()

    # The counts: three cases, the one who moved away lost to follow-up.
    qtbot.keyClick(desk, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    assert desk.tabs.currentIndex() == 1
    qtbot.waitUntil(lambda: "loading" not in desk.counts_heading.text() and desk.counts_model.rowCount() > 0,
                    timeout=10000)  # fmt: skip
    totals = desk.counts_model.rows[-1]
    assert totals[:2] == ("All procedures", "All surgeons") and totals[2] == 3 and totals[5] == 1
    assert desk.counts_heading.text().startswith("Follow-up of 3 cases:")
    coordinator_entries = [e for e in entries(clinic_db) if e.username == "coord" and e.record_id]
    assert {e.record_id for e in coordinator_entries} >= {laminotomy, rhizotomy, ablation}


def test_a_failed_save_keeps_what_was_typed_and_names_the_field(desk: FollowUpDesk, qtbot: QtBot) -> None:
    rhizotomy = desk.model.rows()[1].case_number
    desk.table.selectRow(1)
    dialog = press_return_on_row(desk, qtbot)
    assert list(dialog.scores) == ["ndi", "nrs_neck", "nrs_arm", "relief_percent"]  # the cervical measures
    qtbot.keyClicks(dialog.scores["nrs_neck"], "11")
    qtbot.keyClicks(dialog.scores["ndi"], "30")
    qtbot.keyClick(dialog.scores["ndi"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.saving and dialog.error.text() != "Saving…", timeout=10000)
    assert dialog.isVisible()
    assert "NRS neck" in dialog.error.text() and dialog.error.text().startswith("Not saved.")
    assert dialog.scores["nrs_neck"].text() == "11" and dialog.scores["ndi"].text() == "30"
    assert dialog.scores["nrs_neck"].hasFocus()
    assert desk.services.cases.get_case(rhizotomy).record.outcomes == ()
    dialog.scores["nrs_neck"].clear()
    qtbot.keyClicks(dialog.scores["nrs_neck"], "4")
    dialog.pgic.setCurrentIndex(dialog.pgic.findData(2))
    save_with(dialog, qtbot)
    settle(desk, qtbot)
    (outcome,) = desk.services.cases.get_case(rhizotomy).record.outcomes
    assert (outcome.ndi, outcome.nrs_neck, outcome.pgic) == (30, 4, 2)


def test_a_date_that_is_no_date_is_named(desk: FollowUpDesk, qtbot: QtBot) -> None:
    dialog = press_return_on_row(desk, qtbot)
    qtbot.keyClicks(dialog.returned, "last week")
    qtbot.keyClick(dialog.returned, Qt.Key.Key_Return)
    assert dialog.isVisible() and "Returned to activities" in dialog.error.text()
    assert dialog.returned.text() == "last week"


def test_a_died_attempt_ends_the_follow_up_and_the_row_leaves(desk: FollowUpDesk, qtbot: QtBot) -> None:
    first = desk.model.rows()[0].case_number
    dialog = press_return_on_row(desk, qtbot)
    dialog.contact.setCurrentIndex(dialog.contact.findData("died"))
    qtbot.keyClicks(dialog.note, "Family called the clinic")
    save_with(dialog, qtbot)
    settle(desk, qtbot)
    assert first not in [r.case_number for r in desk.model.rows()]
    (attempt,) = desk.services.cases.get_case(first).record.follow_up_attempts
    assert (attempt.result, attempt.note) == ("died", "Family called the clinic")


def test_the_follow_up_desk_is_for_those_who_add_follow_up(
    signed_in: Callable[[str], MainWindow], qtbot: QtBot
) -> None:
    for username in ("coord", "qual", "praman"):
        window = signed_in(username)
        action = next(a for a in window.desk_actions if a.text() == "&Follow-up desk…")
        assert action.isVisible(), username
    admin = signed_in("admin")
    action = next(a for a in admin.desk_actions if a.text() == "&Follow-up desk…")
    assert not action.isVisible()
    qtbot.keyClick(admin, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert admin.findChildren(FollowUpDesk) == []


def test_a_role_without_rights_is_refused_by_the_service(
    qtbot: QtBot, clinic_db: Database, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk opened for an administrator anyway (not through the menu) shows the refusal; nothing is read."""
    shown: list[str] = []
    monkeypatch.setattr("ui.desks.followup_desk.show_error", lambda _p, title, exc: shown.append(f"{title}: {exc}"))
    services = services_as(clinic_db, "admin")
    made = FollowUpDesk(services, app_settings, None)
    qtbot.addWidget(made)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "could not be loaded" in shown[0] and made.model.rowCount() == 0
    assert not made.record_action.isEnabled()
    services.tasks.wait()


def test_an_empty_list_has_nothing_to_record_or_print(
    qtbot: QtBot, sqlite_template: Path, tmp_path: Path, app_settings: AppSettings
) -> None:
    path = tmp_path / "empty.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    made = FollowUpDesk(services, app_settings, None)
    qtbot.addWidget(made)
    made.show()
    settle(made, qtbot)
    assert made.heading.text() == "Nothing due: no follow-up to record in this list."
    qtbot.keyClick(made.table, Qt.Key.Key_Return)
    assert made.dialog is None and not services.tasks.busy
    assert not any(a.isEnabled() for a in (made.print_action, made.save_action, made.letters_action,
                                            made.record_action))  # fmt: skip
    made.close()
    services.tasks.wait()
    db.close()


def test_overdue_only_and_the_surgeon_filter(desk: FollowUpDesk, qtbot: QtBot) -> None:
    desk.show_box.setCurrentIndex(desk.show_box.findData("overdue"))
    settle(desk, qtbot)
    assert [r.status for r in desk.model.rows()] == ["overdue", "overdue"]
    desk.surgeon.setCurrentIndex(desk.surgeon.findData("Dr. Priya Raman"))
    settle(desk, qtbot)
    assert [r.surgeon for r in desk.model.rows()] == ["Dr. Priya Raman"]


def test_call_list_and_letters_saved_from_the_desk_are_audited(
    desk: FollowUpDesk, qtbot: QtBot, tmp_path: Path
) -> None:
    rows = desk.model.rows()
    calls, letters = tmp_path / "calls.pdf", tmp_path / "letters.pdf"
    desk.save_call_list(calls)
    qtbot.waitUntil(lambda: desk.last_output == calls, timeout=20000)
    desk.save_letters(letters)
    qtbot.waitUntil(lambda: desk.last_output == letters, timeout=20000)
    text = " ".join(page.extract_text() or "" for page in PdfReader(str(calls)).pages)
    assert all(r.mrn in text and r.case_number in text for r in rows)
    assert "García Márquez" in text and "Okoye, Chidi" in text
    assert len(PdfReader(str(letters)).pages) == 3
    prints = [e for e in entries(desk.services.db) if e.action == "print"]
    call_list = [e for e in prints if (e.details or {}).get("document") == "follow-up call list"]
    assert len(call_list) == 1 and call_list[0].details["cases"] == [r.case_number for r in rows]  # type: ignore[index]
    letter_cases = {e.record_id for e in prints if (e.details or {}).get("document") == "follow-up letter"}
    assert letter_cases == {r.case_number for r in rows}
    assert all(e.username == "coord" for e in prints)


def test_printing_the_call_list_sends_its_pages_and_is_audited(
    desk: FollowUpDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QPrintDialog, "exec", lambda _self: QDialog.DialogCode.Accepted)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    desk.print_call_list(printer)
    qtbot.waitUntil(lambda: "Sent the call list" in desk.statusBar().currentMessage(), timeout=20000)
    desk.services.tasks.wait()
    assert len(PdfReader(str(tmp_path / "printed.pdf")).pages) == 1
    printed = [e for e in entries(desk.services.db) if e.action == "print"]
    assert [(e.details or {}).get("to") for e in printed] == ["printer"]


def test_a_list_read_after_the_desk_closed_is_dropped(
    qtbot: QtBot, clinic_db: Database, app_settings: AppSettings
) -> None:
    services = services_as(clinic_db, "coord")
    made = FollowUpDesk(services, app_settings, None)
    made.close()
    shiboken6.delete(made)
    services.tasks.wait()
    qtbot.wait(50)  # the result's signal is delivered to nobody, without an error


def test_a_saved_pdf_whose_print_entry_was_not_recorded_is_deleted(
    desk: FollowUpDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No patient's page leaves the app unrecorded: the letters are written, the audit fails, the file goes."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise StorageError("The database is read-only: nothing can be recorded")

    shown: list[str] = []
    monkeypatch.setattr(desk.services.cases, "record_event", refuse)
    monkeypatch.setattr("ui.progress.show_error", lambda _parent, title, exc: shown.append(f"{title}: {exc}"))
    letters = tmp_path / "letters.pdf"
    desk.save_letters(letters)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert "read-only" in shown[0] and not letters.exists() and desk.last_output is None


def test_escape_records_nothing_and_ctrl_o_opens_the_case(desk: FollowUpDesk, qtbot: QtBot) -> None:
    first = desk.model.rows()[0]
    dialog = press_return_on_row(desk, qtbot)
    qtbot.keyClicks(dialog.scores["odi"], "40")
    qtbot.keyClick(dialog.scores["odi"], Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: desk.dialog is None, timeout=5000)
    settle(desk, qtbot)
    assert desk.services.cases.get_case(first.case_number).record.outcomes == ()
    assert listed(desk)[0] == (first.case_number, first.timepoint, 0)
    opened: list[str] = []
    desk.open_case.connect(opened.append)
    desk.activateWindow()  # as the window manager does once the dialog is gone
    qtbot.waitUntil(desk.isActiveWindow, timeout=5000)
    desk.table.setFocus()
    qtbot.keyClick(desk.table, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert opened == [first.case_number]
