"""A diagnostic block on the case form (anesthetic, pain before, the diary as one row of numbers, volumes, the live
read-out) and the indication check of an ablation at entry (warning with evidence, the reason kept), driven by
keyboard as a surgeon does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.records import BlockDetails, CaseFilter, DiaryEntry
from caselog.validation import validate_case
from tests.factories import simple_case
from tests.ui.conftest import choose
from tests.ui.test_accounts_ui import select_first
from tests.ui.test_case_form import click_level, fill_valid, open_new
from tests.ui.test_case_form_keyboard import CTRL, Keyboard, active_form
from ui.block_section import diary_text, diary_tokens
from ui.case_actions import FollowUpForm
from ui.case_form import CaseForm, edit_data, repeat_data, template_from
from ui.detail_pane import case_html
from ui.main_window import MainWindow

TODAY = dt.date.today()
BLOCK = {
    "anesthetic": "bupivacaine",
    "anesthetic_detail": None,
    "pain_before": 8,
    # 87.5% relief from 15 min to 2 h, 75% at 4 h: at least 80% for 2 h, as long as bupivacaine lasts
    "diary": [{"time": t, "pain": p} for t, p in (("15min", 1), ("30min", 1), ("1h", 1), ("2h", 1), ("4h", 2))],
    "activities_possible": True,
}


def block_case(days_ago: int, mrn: str = "PW-1", **changes: Any) -> dict[str, Any]:
    """A medial branch block at L4-L5 bilateral for patient `mrn`, `days_ago` days before today."""
    block: dict[str, Any] = {
        "procedure": "medial_branch_block",
        "levels": [{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}],
        "cpt_codes": ["64493"],
        "prior_block_relief_percent": None,
        "block": BLOCK,
    }
    case = simple_case((TODAY - dt.timedelta(days=days_ago)).isoformat(), **(block | changes))
    case["patient"]["mrn"] = mrn
    return case


@pytest.fixture(autouse=True)
def _forms_close_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """A form left open by a failed assertion closes at the end instead of waiting for an answer."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


def focus() -> QWidget:
    return Keyboard.focus()


def tab_to(keys: Keyboard, widget: QWidget, most: int = 8) -> None:
    for _ in range(most):
        if focus() is widget:
            return
        keys.press(Qt.Key.Key_Tab)
    assert focus() is widget, focus().accessibleName()


def wait_for_check(qtbot: QtBot, form: CaseForm) -> None:
    qtbot.waitUntil(lambda: form.check is not None, timeout=5000)


# ---- the block section ------------------------------------------------------------------------------------


def test_the_block_section_shows_for_a_medial_branch_block_only(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    assert not f.tabs.isTabVisible(3)
    choose(f.procedure, "medial_branch_block")
    assert f.tabs.isTabVisible(3) and f.tabs.currentWidget() is f.block
    choose(f.procedure, "radiofrequency_ablation")
    assert not f.tabs.isTabVisible(3)


def test_a_block_typed_by_keyboard_is_saved_with_its_diary_and_volumes(window: MainWindow, qtbot: QtBot) -> None:
    """Bupivacaine, pain 7 before, the diary typed as one row, 0.5 mL at each level; the read-out follows."""
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    fill_valid(qtbot, form, mrn="BLK-7")
    keys = Keyboard(qtbot)
    f.procedure.setFocus()
    keys.type("m")  # Medial branch block
    assert f.procedure.currentData() == "medial_branch_block"
    f.disposition.setFocus()
    tab_to(keys, f.block.anesthetic)
    keys.type("b")  # Bupivacaine
    keys.press(Qt.Key.Key_Tab)  # the other anesthetic's name is hidden: on to the pain before
    assert focus() is f.block.pain_before
    keys.type("7")
    keys.press(Qt.Key.Key_Tab)
    assert focus() is f.block.diary
    keys.type("1123-567")  # spaces are optional; "-": 4 h not noted
    assert "Peak relief <b>86%</b>" in f.block.result.text()
    assert "at least 80% for 30 min" in f.block.result.text()  # 86%, 86%, 71%: the run at 80% ends at 30 min
    assert "Negative" in f.block.result.text() and "shorter than the anesthetic lasts" in f.block.result.text()
    keys.press(Qt.Key.Key_Return)  # Return moves on, as Tab does
    assert focus() is f.block.activities
    keys.type("y")  # could do what usually hurts
    keys.press(Qt.Key.Key_Tab)
    keys.type("0.5")
    assert form.save_button.isEnabled(), form.status.text()
    with qtbot.waitSignal(window.model.loaded):
        keys.press(Qt.Key.Key_S, CTRL)
    record = window.services.cases.get_case(window.selected_rows()[0].case_number).record
    assert record.block == BlockDetails(
        "bupivacaine", None, 7,
        tuple(DiaryEntry(t, p) for t, p in (("15min", 1), ("30min", 1), ("1h", 2), ("2h", 3), ("6h", 5),
                                             ("8h", 6), ("next_morning", 7))),
        True,
    )  # fmt: skip
    assert [(lv.level, lv.side, lv.volume_ml) for lv in record.levels] == [
        ("L4-L5", "bilateral", 0.5), ("L5-S1", "left", 0.5),
    ]  # fmt: skip


def test_the_diary_is_read_one_value_per_time() -> None:
    assert diary_tokens("3 2 2 4 5 6 7 7") == diary_tokens("32245677") == list("32245677")
    assert diary_tokens("10 9 - 8") == ["10", "9", "-", "8"]
    assert diary_tokens("1 0") == ["1", "0"]
    assert diary_text([{"time": "15min", "pain": 10}, {"time": "1h", "pain": 3}]) == "10 - 3"
    assert diary_text([]) == ""


def test_more_values_than_diary_times_cannot_be_typed(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    diary = form.fields.block.diary
    choose(form.fields.procedure, "medial_branch_block")
    qtbot.keyClicks(diary, "1 2 3 4 5 6 7 8 9x")
    assert diary.text() == "1 2 3 4 5 6 7 8 "


@pytest.mark.parametrize(
    ("typing", "slot", "message"),
    [
        ({"pain_before": "0", "diary": "1"}, "block.pain_before", "relief cannot be measured from no pain"),
        ({"diary": "3 2"}, "block.pain_before", "is required with a diary"),
        ({"pain_before": "6"}, "block.anesthetic", "is required"),
        ({"anesthetic": "other"}, "block.anesthetic_detail", "is required"),
        ({"anesthetic": "lidocaine", "volume": "6"}, "volume_ml", "L4-L5: 6 mL is out of range"),
    ],
    ids=["pain before 0", "diary without pain before", "no anesthetic", "other unnamed", "volume too large"],
)
def test_each_block_problem_lands_on_its_field(
    window: MainWindow, qtbot: QtBot, typing: dict[str, str], slot: str, message: str
) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    fill_valid(qtbot, form)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    b = f.block
    if "anesthetic" in typing:
        choose(b.anesthetic, typing["anesthetic"])
    for key, edit in (("pain_before", b.pain_before), ("diary", b.diary), ("volume", b.volume)):
        if key in typing:
            qtbot.keyClicks(edit, typing[key])
    qtbot.keyClick(b.diary, Qt.Key.Key_S, CTRL)  # a save shows every message, untouched fields too
    assert form.isVisible() and form.saved is None
    error = f.slots[slot].error
    assert error.isVisible() and message in error.text(), (error.text(), form.status.text())
    assert "Peak relief" not in b.result.text()  # nothing measured from a block that is not whole
    assert not form.save_button.isEnabled()


def test_other_anesthetic_asks_for_its_name(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    assert not f.block.anesthetic_detail.isVisible()
    choose(f.block.anesthetic, "other")
    assert f.block.anesthetic_detail.isVisible()
    qtbot.keyClicks(f.block.anesthetic_detail, "Levobupivacaine 0.25%")
    assert f.data()["block"]["anesthetic_detail"] == "Levobupivacaine 0.25%"


def test_each_level_may_have_its_own_volume(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    fill_valid(qtbot, form)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    choose(f.block.anesthetic, "lidocaine")
    qtbot.keyClicks(f.block.volume, "0.5")
    qtbot.mouseClick(f.block.each_level, Qt.MouseButton.LeftButton)
    edits = f.block._level_edits
    assert [e.text() for e in edits.values()] == ["0.5", "0.5"]  # each level starts from the one volume
    f.block.each_level.setFocus()
    qtbot.keyClick(f.block.each_level, Qt.Key.Key_Tab)  # on to the levels' own boxes
    assert focus() is edits["L4-L5"]
    qtbot.keyClick(edits["L4-L5"], Qt.Key.Key_Tab)
    assert focus() is edits["L5-S1"]
    edits["L5-S1"].selectAll()
    qtbot.keyClicks(edits["L5-S1"], "0.75")
    assert [lv.get("volume_ml") for lv in f.data()["levels"]] == [0.5, 0.75]
    assert form.save_button.isEnabled(), form.status.text()


def test_a_block_case_round_trips_through_the_form_unchanged(window: MainWindow, qtbot: QtBot) -> None:
    """Opened and saved without a change, the stored block, volumes and all, stays as it was."""
    cases = window.services.cases
    stored = cases.create_case(
        block_case(3, levels=[{"level": "L4-L5", "side": "left", "volume_ml": 0.5},
                              {"level": "L5-S1", "side": "bilateral", "volume_ml": 0.75}],
                   block={**BLOCK, "activities_possible": None,
                          "diary": [{"time": "30min", "pain": 0}, {"time": "next_morning", "pain": 10}]})
    )  # fmt: skip
    form = CaseForm(window.services, window.settings, editing=stored, data=edit_data(stored))
    qtbot.addWidget(form)
    assert form.fields.block.diary.text() == "- 0 - - - - - 10"
    again, problems = validate_case(form.fields.data(), today=TODAY)
    assert again is not None, problems
    assert again == dataclasses.replace(stored.record, case_number=None, status="draft")
    form.accept()
    assert form.saved is not None and form.saved.record == stored.record


def test_a_draft_keeps_the_block(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    choose(f.block.anesthetic, "ropivacaine")
    assert not f.block.volume.isEnabled()  # a volume belongs to a level: none chosen yet
    click_level(form, "L3-L4", "right")
    qtbot.keyClicks(f.block.pain_before, "9")
    qtbot.keyClicks(f.block.diary, "2 2 3")
    qtbot.keyClicks(f.block.volume, "0.4")
    form.autosave_now()
    (draft,) = [d for d in drafts.pending_drafts() if d.draft_id == form.draft_id]
    restored = CaseForm(window.services, window.settings, draft=draft)
    qtbot.addWidget(restored)
    b = restored.fields.block
    assert (b.anesthetic.currentData(), b.pain_before.text(), b.diary.text(), b.volume.text()) == (
        "ropivacaine", "9", "2 2 3", "0.4",
    )  # fmt: skip
    assert restored.fields.tabs.currentWidget() is b
    drafts.discard_draft(form.draft_id)


def test_a_repeat_of_a_block_keeps_the_anesthetic_not_the_diary(window: MainWindow, qtbot: QtBot) -> None:
    view = window.services.cases.create_case(block_case(10))
    data = repeat_data(view)
    assert data["block"] == {"anesthetic": "bupivacaine", "anesthetic_detail": None}
    form = CaseForm(window.services, window.settings, data=data, repeat_of=view)
    qtbot.addWidget(form)
    b = form.fields.block
    assert b.anesthetic.currentData() == "bupivacaine" and b.volume.text() == "0.5"
    assert b.diary.text() == "" and b.pain_before.text() == "" and b.activities.currentData() is None
    assert "anesthetic and volumes came over" in form.banner.text()


def test_a_new_block_shows_its_place_in_the_series(window: MainWindow, qtbot: QtBot) -> None:
    window.services.cases.create_case(block_case(40))  # PW-1: a first block at L4-L5 bilateral
    form = open_new(window)
    f = form.fields
    qtbot.keyClicks(f.mrn, "PW-1")
    choose(f.procedure, "medial_branch_block")
    with qtbot.waitSignal(form.checked, timeout=5000):
        click_level(form, "L4-L5", "left")
    assert "Second block at L4-L5 left" in f.block.result.text()
    with qtbot.waitSignal(form.checked, timeout=5000):
        click_level(form, "L4-L5", "left")  # off again; L3-L4 was never blocked
        click_level(form, "L3-L4", "right")
    assert "First block at L3-L4 right" in f.block.result.text()


def test_a_template_keeps_the_anesthetic_and_volumes_not_the_diary(window: MainWindow, qtbot: QtBot) -> None:
    view = window.services.cases.create_case(block_case(10))
    template = template_from(edit_data(view))
    assert template["block"] == {"anesthetic": "bupivacaine", "anesthetic_detail": None}
    assert template["levels"] == [{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}]
    form = open_new(window)
    window.settings.save_template("MBB L4-L5", template)
    form.apply_template("MBB L4-L5")
    b = form.fields.block
    assert (b.anesthetic.currentData(), b.volume.text(), b.diary.text()) == ("bupivacaine", "0.5", "")


# ---- the indication check at entry ------------------------------------------------------------------------


def _ablation_form(window: MainWindow, qtbot: QtBot, mrn: str) -> CaseForm:
    """A new radiofrequency ablation at L4-L5 bilateral for `mrn`, typed as a surgeon does."""
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    qtbot.keyClicks(f.mrn, mrn)
    if not f.family_name.text():
        qtbot.keyClicks(f.family_name, "Okonkwo")
        qtbot.keyClicks(f.birth_date, "1957-05-02")
        choose(f.sex, "male")
    choose(f.procedure, "radiofrequency_ablation")
    f.levels.picker.setFocus()
    qtbot.keyClick(f.levels.picker, Qt.Key.Key_Space)  # L4-L5, both sides
    qtbot.keyClicks(f.duration, "40")
    choose(f.anesthesia_type, "local")
    choose(f.disposition, "same_day_discharge")
    return form


def test_an_ablation_without_blocks_shows_the_warning_and_keeps_the_reason(window: MainWindow, qtbot: QtBot) -> None:
    form = _ablation_form(window, qtbot, "PW-NONE")
    f = form.fields
    wait_for_check(qtbot, form)
    note = f.policy_note.text()
    assert form.check is not None and form.check.outside_policy
    assert "Outside the clinic's policy" in note and "L4-L5 bilateral: first ablation, but no block" in note, note
    assert f.outside_policy_reason.isVisible()
    assert "signing needs the reason outside policy" in form.status.text()
    assert form.save_button.isEnabled()  # a draft may be saved; signing asks for the reason
    f.outside_policy_reason.setFocus()
    qtbot.keyClicks(f.outside_policy_reason, "Second block declined: severe pain, payer agreed")
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(f.outside_policy_reason, Qt.Key.Key_S, CTRL)
    record = window.services.cases.get_case(window.selected_rows()[0].case_number).record
    assert record.outside_policy_reason == "Second block declined: severe pain, payer agreed"


def test_an_ablation_after_two_positive_blocks_meets_the_policy(window: MainWindow, qtbot: QtBot) -> None:
    cases = window.services.cases
    first = cases.create_case(block_case(40)).case_number
    # lidocaine: 100% at 15 min, 87.5% to 1 h, 25% at 2 h; at least 80% for 1 h, as long as lidocaine lasts
    diary = [{"time": t, "pain": p} for t, p in (("15min", 0), ("30min", 1), ("1h", 1), ("2h", 6))]
    second = cases.create_case(block_case(20, block={**BLOCK, "anesthetic": "lidocaine", "diary": diary})).case_number
    form = _ablation_form(window, qtbot, "PW-1")
    wait_for_check(qtbot, form)
    note = form.fields.policy_note.text()
    assert form.check is not None and form.check.meets, note
    assert f"Meets the clinic's policy (2 positive blocks: {first} on" in note and second in note, note
    assert not form.fields.outside_policy_reason.isVisible()


def test_the_check_follows_the_typing(window: MainWindow, qtbot: QtBot) -> None:
    """A change of the levels checks again; a check answered after a later edit is dropped, not shown."""
    cases = window.services.cases
    cases.create_case(block_case(40))
    cases.create_case(block_case(20))
    form = _ablation_form(window, qtbot, "PW-1")
    wait_for_check(qtbot, form)
    assert form.check is not None and form.check.meets
    picker = form.fields.levels.picker
    qtbot.keyClick(picker, Qt.Key.Key_Down)
    with qtbot.waitSignal(form.checked, timeout=5000):
        qtbot.keyClick(picker, Qt.Key.Key_Left)  # L5-S1 left: no block there
    assert form.check is not None and form.check.outside_policy
    assert "L5-S1 left" in form.fields.policy_note.text()


def test_a_follow_up_form_checks_the_case_as_itself_not_as_a_second_session(window: MainWindow, qtbot: QtBot) -> None:
    """Opened to add follow-up, the case is checked under its number: counted once in the sessions of 12 months."""
    cases = window.services.cases
    cases.create_case(block_case(40))
    cases.create_case(block_case(20))
    ablation = {"procedure": "radiofrequency_ablation", "block": None, "cpt_codes": [],
                "outside_policy_reason": "Payer agreed after one block"}  # fmt: skip
    cases.create_case(block_case(100, levels=[{"level": "L3-L4", "side": "bilateral"}], **ablation))
    view = cases.create_case(block_case(10, levels=[{"level": "L4-L5", "side": "bilateral"}], **ablation))
    form = FollowUpForm(window.services, window.settings, view=view, today=dt.date.today)
    qtbot.addWidget(form)
    with qtbot.waitSignal(form.checked, timeout=5000):
        pass
    window.services.tasks.wait()
    QApplication.processEvents()
    assert form.check is not None and form.check.meets, form.fields.policy_note.text()


def test_the_form_is_not_checked_for_other_procedures(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    fill_valid(qtbot, form)
    choose(form.fields.procedure, "laminectomy")
    form.check_now()
    assert form.check is None and not form.fields.policy_note.isVisible()


def test_a_refused_save_keeps_the_form_and_names_the_reason_field(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's refusal lands on the reason's field; everything typed stays."""
    from caselog.errors import InvalidInput
    from caselog.validation import Problem

    form = _ablation_form(window, qtbot, "PW-NONE")
    wait_for_check(qtbot, form)

    def refuse(_data: object) -> None:
        raise InvalidInput([Problem("outside_policy_reason", "is required to sign a case outside the policy")])

    monkeypatch.setattr(window.services.cases, "create_case", refuse)
    qtbot.keyClick(form.fields.mrn, Qt.Key.Key_S, CTRL)
    assert form.isVisible() and form.saved is None and form.fields.mrn.text() == "PW-NONE"
    error = form.fields.slots["outside_policy_reason"].error
    assert error.isVisible() and "is required to sign" in error.text()
    assert "reason outside policy" in form.status.text()


def test_signing_without_the_reason_asks_for_it_in_the_form(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service refuses to sign an ablation outside the policy without a reason; the message says why in words
    and opens the case at the reason; written and saved, the case signs."""
    cases = window.services.cases
    ablation = block_case(1, "PW-SIGN", procedure="radiofrequency_ablation", block=None, cpt_codes=[],
                          levels=[{"level": "L4-L5", "side": "bilateral"}])  # fmt: skip
    number = cases.create_case(ablation).case_number
    assert number is not None
    select_first(window, qtbot, CaseFilter(case_numbers=(number,)))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    shown: list[str] = []

    def answer(box: QMessageBox) -> int:
        shown.append(f"{box.text()} {box.informativeText()}")
        for button in box.buttons():
            if button.text() == "Write the reason…":
                button.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *a: shown.append(text))
    window.sign_action.trigger()
    assert cases.get_case(number).status == "draft"
    assert f"Case {number} is outside the clinic's policy: signing it needs the reason it was done." in shown[0]
    assert "The reason outside policy is required to sign" in shown[0] and "outside_policy_reason" not in shown[0]
    form = active_form(qtbot, window)
    reason = form.fields.outside_policy_reason
    assert reason.isVisible() and focus() is reason
    keys = Keyboard(qtbot)
    keys.type("Patient could not tolerate a second block")
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        keys.press(Qt.Key.Key_S, CTRL)
    select_first(window, qtbot, CaseFilter(case_numbers=(number,)))
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        window.sign_action.trigger()
    view = cases.get_case(number)
    assert view.status == "final" and view.record.outside_policy_reason == "Patient could not tolerate a second block"


# ---- the detail pane --------------------------------------------------------------------------------------


def test_the_detail_pane_shows_the_block_reading(window: MainWindow) -> None:
    view = window.services.cases.create_case(block_case(5))
    document = QTextDocument()
    document.setHtml(case_html(view, threshold=80))
    text = document.toPlainText()
    assert "Diagnostic block" in text and "Bupivacaine" in text and "Peak relief 88%" in text, text
    assert "Positive" in text and "at least 80% for 2 h" in text


def test_the_main_window_pane_reads_the_policy_and_the_series(window: MainWindow, qtbot: QtBot) -> None:
    cases = window.services.cases
    cases.create_case(block_case(40))
    second = cases.create_case(block_case(20))
    ablation = cases.create_case(block_case(1, procedure="radiofrequency_ablation", block=None, cpt_codes=[],
                                            levels=[{"level": "L4-L5", "side": "bilateral"}]))  # fmt: skip
    with qtbot.waitSignal(window.detail.read):  # read in the background
        window.detail.show_case(second)
    assert "Second block at L4-L5 bilateral" in window.detail.toPlainText()
    with qtbot.waitSignal(window.detail.read):
        window.detail.show_case(ablation)
    text = window.detail.toPlainText()
    assert "Indication check" in text and "Meets the clinic's policy (2 positive blocks" in text, text


def test_the_detail_pane_shows_the_indication_check(window: MainWindow, qtbot: QtBot) -> None:
    cases = window.services.cases
    case = simple_case(TODAY.isoformat(), procedure="radiofrequency_ablation", prior_block_relief_percent=None)
    case["patient"]["mrn"] = "PW-9"
    view = cases.create_case(case)
    check = cases.indication_check(view.record, view.case_number)
    document = QTextDocument()
    document.setHtml(case_html(view, check=check))
    assert "Indication check" in document.toPlainText() and "Outside the clinic's policy" in document.toPlainText()
    QApplication.processEvents()


def test_a_damaged_policy_judges_no_block_on_the_form(window: MainWindow, qtbot: QtBot) -> None:
    """A policy edited outside CaseLog was replaced by the default's 80% here in silence: 'Negative at the clinic's
    80% threshold' for a clinic that may judge at 50%. The relief shows; the result names the damage instead."""
    from caselog.db.tables import clinic_settings_t, utcnow

    with window.services.cases.db.write() as session:
        session.execute(clinic_settings_t.insert().values(name="indication_policy", value="{oops", updated_at=utcnow()))
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    keys = Keyboard(qtbot)
    f.block.anesthetic.setFocus()
    keys.type("l")  # Lidocaine
    assert f.block.anesthetic.currentData() == "lidocaine"
    f.block.pain_before.setFocus()
    keys.type("8")
    f.block.diary.setFocus()
    keys.type("1123")
    result = f.block.result.text()
    assert "Not judged: the clinic's policy could not be read" in result and "not valid (not JSON)" in result, result
    assert "threshold" not in result and "Positive" not in result and "Negative" not in result
    assert "87.5%" in f.block.readout.text() or "88%" in f.block.readout.text()


def test_a_damaged_policy_judges_no_block_in_the_detail_pane(window: MainWindow, qtbot: QtBot) -> None:
    """The pane read a block under the default policy's 80% when the clinic's could not be read, and said so as if it
    were the clinic's threshold."""
    from caselog.db.tables import clinic_settings_t, utcnow

    view = window.services.cases.create_case(block_case(5))
    with window.services.cases.db.write() as session:
        session.execute(clinic_settings_t.insert().values(name="indication_policy", value="null", updated_at=utcnow()))
    with qtbot.waitSignal(window.detail.read):  # read in the background
        window.detail.show_case(view)
    text = window.detail.toPlainText()
    assert "Diagnostic block" in text and "88%" in text, text  # the diary's relief still shows
    assert "Not judged: the clinic's policy could not be read" in text and "null instead of a value" in text, text
    assert "Positive" not in text and "threshold" not in text
