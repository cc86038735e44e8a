"""The indication policy dialog: an administrator chooses a preset (and sees where it comes from), adjusts a
number (the chooser then says "custom") and saves, all by keyboard, and the change is audited; nobody else is
offered the dialog, and the service refuses them anyway, which the dialog says without saving anything."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caselog import audit
from caselog.errors import InvalidInput, NotPermitted
from caselog.policy import PRESETS, IndicationPolicy
from caselog.validation import Problem
from tests.ui.test_accounts_ui import accounts_db, signed_in  # noqa: F401  (fixtures: a database with accounts)
from ui.main_window import MainWindow
from ui.policy_dialog import CUSTOM, PolicyDialog

MEDICARE = PRESETS["medicare_lcd"]
ONE_BLOCK = PRESETS["one_block_50"]


def open_dialog(window: MainWindow, qtbot: QtBot) -> PolicyDialog:
    window.policy_action.trigger()
    [dialog] = [d for d in window.findChildren(PolicyDialog) if d.isVisible()]
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    return dialog


def test_an_administrator_chooses_a_preset_adjusts_it_and_saves_by_keyboard(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
) -> None:
    window = signed_in("admin")
    assert window.policy_action.isVisible() and window.policy_action in window.file_menu.actions()
    dialog = open_dialog(window, qtbot)
    assert dialog.preset.currentData() == "medicare_lcd"  # the default until a clinic sets one
    assert dialog.source.text() == MEDICARE.source and "L38803" in dialog.source.text()
    assert not dialog.save_button.isEnabled()  # nothing changed yet
    dialog.preset.setFocus()
    qtbot.keyClick(dialog.preset, Qt.Key.Key_Down)  # the next preset
    assert dialog.preset.currentData() == "one_block_50"
    assert dialog.source.text() == ONE_BLOCK.source
    assert dialog.policy() == ONE_BLOCK.policy
    months = dialog.numbers["repeat_relief_months"]
    qtbot.keyClick(dialog.preset, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.numbers["blocks_required"]
    for _ in range(4):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is months
    qtbot.keyClick(months, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(months, "3")
    assert dialog.preset.currentData() == CUSTOM
    assert dialog.source.text().startswith("Adjusted by the clinic from “One block at 50%")
    assert dialog.save_button.isEnabled()
    qtbot.keyClick(months, Qt.Key.Key_Return)  # Save is the default button
    assert dialog.result() == PolicyDialog.DialogCode.Accepted
    expected = IndicationPolicy(1, 50, 6, 50, 3, 2)
    assert window.services.cases.indication_policy() == expected
    [entry] = [e for e in audit.entries(window.services.cases.db) if e.action == "clinic_setting"]
    assert entry.who == "admin" and entry.details["changes"]["indication_policy"][1]["repeat_relief_months"] == 3


def test_choosing_a_presets_numbers_by_hand_names_that_preset(qapp: QApplication, qtbot: QtBot) -> None:
    dialog = PolicyDialog(services=None, current=IndicationPolicy(1, 50, 6, 50, 3, 2))  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    assert dialog.preset.currentData() == CUSTOM
    dialog.numbers["repeat_relief_months"].setValue(6)
    assert dialog.preset.currentData() == "one_block_50"  # exactly a preset again: named as such
    assert dialog.preset.itemData(0, Qt.ItemDataRole.ToolTipRole) == MEDICARE.source


def test_only_an_administrator_is_offered_the_policy(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
) -> None:
    for username in ("hlind", "coord", "qual"):
        window = signed_in(username)
        assert not window.policy_action.isVisible(), username
        window.file_menu.aboutToShow.emit()
        assert window.policy_action not in [a for a in window.file_menu.actions() if a.isVisible()]


def test_the_service_refuses_anyone_else_and_the_dialog_says_so(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
) -> None:
    window = signed_in("coord")
    dialog = PolicyDialog(window.services, MEDICARE.policy, window)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.numbers["relief_threshold_percent"].setValue(50)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.saved is None
    assert dialog.error.isVisibleTo(dialog) and dialog.error.text().startswith("Not saved: ")
    with pytest.raises(NotPermitted) as refused:  # the service's own refusal, word for word
        window.services.cases.set_indication_policy(ONE_BLOCK.policy)
    assert dialog.error.text() == f"Not saved: {refused.value.message}"
    assert window.services.cases.indication_policy() == MEDICARE.policy
    dialog.reject()


def test_a_refused_number_is_named_beside_its_field(qtbot: QtBot) -> None:
    """The service checks the numbers again (caselog.policy.LIMITS); its message shows next to the field it names."""

    def refuse(_policy: IndicationPolicy) -> None:
        raise InvalidInput([Problem("relief_threshold_percent", "is 45; must be from 50 to 100")])

    services = SimpleNamespace(cases=SimpleNamespace(set_indication_policy=refuse))
    dialog = PolicyDialog(services, MEDICARE.policy)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.numbers["relief_threshold_percent"].setValue(45)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved is None and dialog.isVisible()
    assert dialog.errors["relief_threshold_percent"].isVisible()
    assert dialog.errors["relief_threshold_percent"].text() == "is 45; must be from 50 to 100"
    assert not dialog.errors["blocks_required"].isVisible()
    dialog.numbers["relief_threshold_percent"].setValue(50)  # changing a number clears the old message
    assert not dialog.errors["relief_threshold_percent"].isVisible()
