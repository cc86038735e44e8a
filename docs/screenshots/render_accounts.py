"""Renders the accounts screens offscreen to PNG files in this folder: `python docs/screenshots/render_accounts.py`.

Sign-in dialog (after a wrong password), the lock screen, a case's history with an amendment, the admin view.
Uses a throwaway database and data folder with seeded demo cases, so the pictures are stable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shots import fusion_app, pump, settle, shoot, throwaway_home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

PASSWORD = "correct horse battery"


def main() -> int:
    home = throwaway_home()

    from caselog.accounts import AccountService
    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.records import CaseFilter, case_to_contract
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.accounts_dialogs import SignInDialog
    from ui.case_actions import show_history
    from ui.main_window import MainWindow
    from ui.services import AppSettings, Services
    from ui.style import app_style_sheet
    from ui.tasks import TaskRunner

    app = fusion_app()
    app.setStyleSheet(app_style_sheet(app.palette()))

    path = home / "clinic.sqlite3"
    db = open_database(path)
    CaseService(db).add_records(generate_cases(300, seed=3))
    AccountService(db).add_account("admin", role="admin", full_name="Ada Admin", password=PASSWORD)
    admin = AccountService(db).sign_in("admin", PASSWORD)
    AccountService(db, admin).add_account("hlind", role="surgeon", full_name="Dr. Henrik Lindqvist", password=PASSWORD)
    AccountService(db, admin).add_account("cwells", role="coordinator", full_name="Carla Wells", password=PASSWORD)
    AccountService(db, admin).add_account("qreyes", role="quality", full_name="Quinn Reyes", password=PASSWORD)
    surgeon = AccountService(db).sign_in("hlind", PASSWORD)

    # A case of the surgeon's, signed and then amended with a reason, for the history.
    cases = CaseService(db, actor=surgeon)
    row = cases.query(CaseFilter(status="draft", surgeon=surgeon.full_name), limit=1)[0]
    cases.sign_case(row.case_number)
    data = case_to_contract(cases.get_case(row.case_number).record)
    data["assistants"] = ["Dr. Ravi Patel"]
    data["estimated_blood_loss_ml"] = 40
    view = cases.update_case(row.case_number, data, reason="Assistant and blood loss were missing from the note")

    dialog = SignInDialog(db, str(path))
    dialog.show()
    dialog.form.username.setText("hlind")
    dialog.form.password.setText("not my password")
    dialog.form.submit()
    dialog.adjustSize()
    shoot(dialog, "sign-in.png")
    dialog.close()

    settings = AppSettings(Settings(facility_name="Riverside Spine Center"))
    services = Services(CaseService(db), TaskRunner(app), str(path))
    services.start_session(surgeon)
    window = MainWindow(services, settings)
    window.resize(1366, 740)
    window.show()
    settle(window)
    window.model.set_filter(CaseFilter(case_numbers=(view.case_number,)))
    settle(window)
    window.select_case(view.case_number)
    pump()
    shoot(window, "signed-case.png")
    history = show_history(window)
    assert history is not None
    history.resize(1180, 560)
    shoot(history, "case-history.png")
    history.close()
    window.session.lock(idle=True)
    shoot(window, "lock-screen.png")
    window.close()

    services = Services(CaseService(db), TaskRunner(app), str(path))
    services.start_session(AccountService(db).sign_in("admin", PASSWORD))
    admin_window = MainWindow(services, settings)
    admin_window.resize(1366, 740)
    admin_window.show()
    pump()
    shoot(admin_window, "admin-accounts.png")
    assert admin_window.admin_view is not None
    admin_window.admin_view.tabs.setCurrentIndex(1)
    shoot(admin_window, "audit-trail.png")
    admin_window.close()
    services.tasks.wait()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
