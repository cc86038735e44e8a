"""The pathway in the PDFs (issue 14): a block's diary and result on its summary, an ablation's indication check,
and the patient pathway document. Read back with pypdf; relief values worked by hand in each test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from caselog import audit
from caselog.db.schema import open_database
from caselog.pathway import Pathway, build_pathway, pathway_case
from caselog.policy import PRESETS, IndicationPolicy, default_policy
from caselog.records import BlockDetails, CaseView, Complication, DiaryEntry, OutcomeScore, TreatedLevel
from caselog.reports.pathway import latest_ablations, timeline_rows, write_patient_pathway
from caselog.reports.summary import write_case_summaries
from caselog.reports.timeline import LABEL_W, Mark, Row, timelines
from tests.factories import case_file, simple_case
from tests.test_cli import run, write
from tests.test_reports import GENERATED, SETTINGS, flat, make_view, pages_text

#: Pain 8 before; relief 63% at 15 min, 88% from 30 min to 2 h, 75% at 4 h, then 38%, 25%, 0%.
DIARY = (("15min", 3), ("30min", 1), ("1h", 1), ("2h", 1), ("4h", 2), ("6h", 5), ("8h", 6), ("next_morning", 8))


def block_view(
    number: str = "2025-00001",
    *,
    anesthetic: str = "bupivacaine",
    diary: tuple[tuple[str, int], ...] = DIARY,
    pain_before: int | None = 8,
    volumes: tuple[float | None, ...] = (0.5, 0.4),
    joints: tuple[tuple[str, str], ...] = (("L4-L5", "bilateral"), ("L5-S1", "left")),
    **changes: Any,
) -> CaseView:
    """A medial branch block (at L4-L5 bilateral and L5-S1 left unless told) with its diary."""
    block = BlockDetails(anesthetic, "0.5%", pain_before, tuple(DiaryEntry(t, p) for t, p in diary), True)
    levels = tuple(TreatedLevel(level, side, volume) for (level, side), volume in zip(joints, volumes, strict=False))
    view = make_view(number, procedure="medial_branch_block", prior_block_relief_percent=None, **changes)
    return dataclasses.replace(view, record=dataclasses.replace(view.record, block=block, levels=levels))


ONE_BLOCK_50 = PRESETS["one_block_50"].policy


def pathway_of(views: list[CaseView], policy: IndicationPolicy | None = None) -> Pathway:
    """The pathway of the (one) patient of these views, as CaseService.patient_pathway builds it."""
    cases = [pathway_case(v.record) for v in views]
    return build_pathway(views[0].record.patient, cases, policy or default_policy())


def summary_text(tmp_path: Path, views: list[CaseView], pathways: list[Pathway] | None = None) -> str:
    """The text of the summaries of `views`, read under `pathways`."""
    out = tmp_path / "summary.pdf"
    write_case_summaries(views, out, settings=SETTINGS, generated_at=GENERATED, pathways=pathways or [])
    return flat(" ".join(pages_text(out)))


def test_a_block_summary_prints_the_anesthetic_volumes_diary_and_its_result(tmp_path: Path) -> None:
    first = block_view("2025-00001", anesthetic="lidocaine", procedure_date=dt.date(2025, 1, 10))
    view = block_view("2025-00002", procedure_date=dt.date(2025, 1, 31))
    text = summary_text(tmp_path, [view], [pathway_of([first, view])])
    expected = [
        "Diagnostic block", "Anesthetic Bupivacaine (0.5%)", "Activities Yes: could do what usually hurts",
        "Volume", "L3 medial branch, L4 medial branch 0.5 mL", "L4 medial branch, L5 dorsal ramus 0.4 mL",
        # The diary across: the pain before, then each time; a pain and a relief under each.
        "Diary Before 15 min 30 min 1 h 2 h 4 h 6 h 8 h Next morning", "Pain 8 3 1 1 1 2 5 6 8",
        "Relief — 63% 88% 88% 88% 75% 38% 25% 0%",
        "Peak relief 88%, relief ≥80% lasted 2 h, as long as the anesthetic lasts (bupivacaine usually relieves "
        "2–8 h): POSITIVE by the clinic's policy (80% relief) · block 2 in the series at these joints",
    ]  # fmt: skip
    missing = [item for item in expected if item not in text]
    assert not missing, missing
    assert "Prior block relief" not in text  # a block's own relief is its diary: no empty line for another's


def test_the_clinics_threshold_decides_how_long_relief_lasted(tmp_path: Path) -> None:
    """At 50% the run of entries at or above it ends at 4 h (75%), not at 2 h as at 80%."""
    view = block_view()
    text = summary_text(tmp_path, [view], [pathway_of([view], ONE_BLOCK_50)])
    assert "relief ≥50% lasted 4 h" in text and "POSITIVE by the clinic's policy (50% relief)" in text
    assert "block 1 in the series at these joints" in text


def test_a_block_whose_relief_ends_before_the_anesthetic_would_is_negative(tmp_path: Path) -> None:
    """Lidocaine usually relieves 1-2 h; 90% relief gone by 1 h (30 min at 80%) is shorter: negative."""
    view = block_view(anesthetic="lidocaine", diary=(("15min", 1), ("30min", 1), ("1h", 6), ("2h", 9)), pain_before=10)
    text = summary_text(tmp_path, [view], [pathway_of([view])])
    assert "Peak relief 90%, relief ≥80% lasted 30 min, shorter than the anesthetic lasts" in text
    assert "NEGATIVE by the clinic's policy: relief shorter than the anesthetic lasts" in text


def test_a_block_below_the_threshold_says_why_it_is_negative(tmp_path: Path) -> None:
    view = block_view(diary=(("30min", 4), ("2h", 4), ("4h", 6)))
    text = summary_text(tmp_path, [view], [pathway_of([view])])
    assert "Peak relief 50%" in text and "NEGATIVE by the clinic's policy: peak relief below 80%" in text


def test_a_block_printed_without_its_pathway_shows_its_peak_relief_but_no_result(tmp_path: Path) -> None:
    """No pathway, no policy: the result and the series would be judged on part of the history."""
    text = summary_text(tmp_path, [block_view()])
    assert "Peak relief 88%; bupivacaine usually relieves 2–8 h" in text and "Relief — 63% 88%" in text
    assert "POSITIVE" not in text and "NEGATIVE" not in text and "in the series" not in text


def test_block_and_ablation_summaries_fit_one_page(tmp_path: Path) -> None:
    """Coordinators print these for the chart: a block with a full diary at 3 levels, an ablation outside the
    policy with its reason, one meeting it after 2 blocks (each took two pages when the check was a table)."""
    joints = (("L3-L4", "bilateral"), ("L4-L5", "bilateral"), ("L5-S1", "left"))
    first = block_view("2025-00001", anesthetic="lidocaine", joints=joints, volumes=(0.5, 0.5, 0.4),
                       procedure_date=dt.date(2025, 1, 10))  # fmt: skip
    block = block_view("2025-00002", joints=joints, volumes=(0.5, 0.5, 0.4), procedure_date=dt.date(2025, 1, 31))
    outside = two_blocks_then_ablation(outside_policy_reason="Second block at L5-S1 refused; payer agreed by letter.")
    unexplained = two_blocks_then_ablation(status="draft", signed=False)
    meets = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),))
    for name, views, printed in [("block", [first, block], block), ("outside", outside, outside[2]),
                                 ("unexplained", unexplained, unexplained[2]), ("meets", meets, meets[2])]:  # fmt: skip
        out = tmp_path / f"{name}.pdf"
        write_case_summaries([printed], out, settings=SETTINGS, generated_at=GENERATED, pathways=[pathway_of(views)])
        pages = pages_text(out)
        assert len(pages) == 1, (name, pages[-1][:300])
        assert "Signed:" in pages[0] and ("Diagnostic block" in pages[0] or "Indication check" in pages[0])


def test_a_block_without_its_details_says_its_result_cannot_be_read(tmp_path: Path) -> None:
    view = make_view(procedure="medial_branch_block")
    text = summary_text(tmp_path, [view], [pathway_of([view])])
    assert "No anesthetic or pain diary recorded" in text and "Volume" not in text


def test_other_procedures_print_no_block_section(tmp_path: Path) -> None:
    assert "Diagnostic block" not in summary_text(tmp_path, [make_view()])


# ---------------------------------------------------------------- the indication check of an ablation


def two_blocks_then_ablation(**ablation: Any) -> list[CaseView]:
    """A lidocaine and a bupivacaine block at L4-L5 bilateral (both positive at 80%), then an RF ablation at
    L4-L5 bilateral (and, unless told otherwise, L5-S1 left, where no block was done)."""
    quick = (("15min", 1), ("30min", 1), ("1h", 1), ("2h", 5), ("4h", 7))  # lidocaine: 90% for 1 h
    at = (("L4-L5", "bilateral"),)
    first = block_view("2025-00001", anesthetic="lidocaine", diary=quick, pain_before=10, joints=at,
                       procedure_date=dt.date(2025, 1, 10))  # fmt: skip
    second = block_view("2025-00002", joints=at, procedure_date=dt.date(2025, 1, 31))
    ablation.setdefault("prior_block_relief_percent", None)
    return [first, second, make_view("2025-00003", **ablation)]


def test_an_ablation_that_meets_the_policy_shows_each_rule_and_the_blocks_it_follows(tmp_path: Path) -> None:
    views = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),))
    text = summary_text(tmp_path, views[2:], [pathway_of(views)])
    expected = [
        "Indication check", "Meets the clinic's policy (Two blocks at 80% (Medicare LCD))",
        "Follows 2025-00001 (2025-01-10, L4-L5 bilateral): positive, 90% peak relief, 1 h at 80% or more",
        "2025-00002 (2025-01-31, L4-L5 bilateral): positive, 88% peak relief, 2 h at 80% or more",
        # One line per rule (both sides of L4-L5 alike: one line); the blocks under "Follows" by number and date.
        "Met L4-L5 left, L4-L5 right: first ablation; 2 of 2 blocks at this joint before it positive (2 positive "
        "blocks at 80% relief required) · evidence 2025-00001 (2025-01-10); 2025-00002 (2025-01-31)",
        "Met lumbar: 1 ablation session in the 12 months up to 2025-03-14, this one included (at most 2)",
    ]  # fmt: skip
    missing = [item for item in expected if item not in text]
    assert not missing, (missing, text)
    assert "Not met" not in text and "Reason recorded" not in text


def test_an_ablation_outside_the_policy_prints_the_rule_not_met_and_the_reason_recorded(tmp_path: Path) -> None:
    reason = "Severe pain; the patient could not attend a second block (lives 300 km away)."
    views = two_blocks_then_ablation(outside_policy_reason=reason)
    text = summary_text(tmp_path, views[2:], [pathway_of(views)])
    assert "Outside the clinic's policy" in text
    rules = ["Not met L5-S1 left: first ablation, but no block at this joint is recorded",
             "Met L4-L5 left, L4-L5 right: first ablation", "Met lumbar", f"Reason recorded {reason}"]  # fmt: skip
    positions = [text.find(rule) for rule in rules]  # the rule not met first, the reason after the rules
    assert min(positions) >= 0 and positions == sorted(positions), (positions, text)


def test_an_ablation_outside_the_policy_without_a_reason_says_one_is_required(tmp_path: Path) -> None:
    views = two_blocks_then_ablation(status="draft", signed=False)
    text = summary_text(tmp_path, views[2:], [pathway_of(views)])
    assert "Outside the clinic's policy" in text
    assert "Reason recorded None: required before the case is signed." in text


def test_the_clinics_policy_decides_the_verdict(tmp_path: Path) -> None:
    """One block at 50% (the other preset): the case's own recorded block relief (80%) counts at L5-S1 left."""
    views = two_blocks_then_ablation(prior_block_relief_percent=80)
    text = summary_text(tmp_path, views[2:], [pathway_of(views, ONE_BLOCK_50)])
    assert "Meets the clinic's policy (One block at 50% (some commercial payers))" in text
    assert "block relief recorded on this case: 80%" in text


def test_without_the_patients_pathway_the_reason_is_still_printed(tmp_path: Path) -> None:
    text = summary_text(tmp_path, [make_view(outside_policy_reason="Urgent: payer approved by phone")])
    assert "Not checked here" in text and "Urgent: payer approved by phone" in text


# ---------------------------------------------------------------- the patient pathway PDF

#: Joint groups treated in turn: each gets two blocks, an ablation, and a repeat once relief fades.
_GROUPS = (
    (("L4-L5", "bilateral"), ("L5-S1", "bilateral")),
    (("L3-L4", "right"),),
    (("C5-C6", "right"), ("C6-C7", "right")),
    (("T11-T12", "left"),),
)


def long_history(count: int = 40, **patient: Any) -> list[CaseView]:
    """`count` cases of one patient over several years, as a clinic's record holds them: per joint group a
    lidocaine then a bupivacaine block (one negative now and then), an RF ablation or rhizotomy with its
    follow-ups, a repeat after relief faded, a complication on some; a laminectomy among them."""
    views: list[CaseView] = []
    day = dt.date(2015, 1, 5)
    step = 0
    while len(views) < count:
        group = _GROUPS[(step // 4) % len(_GROUPS)]
        number = f"20{day.year % 100:02d}-{len(views) + 1:05d}"
        kind = step % 4 if step % 11 != 10 else 9
        if kind in (0, 1):  # a block; every 7th is negative (relief gone in 30 min)
            anesthetic = "lidocaine" if kind == 0 else "bupivacaine"
            diary = (("15min", 6), ("30min", 7), ("1h", 8)) if step % 7 == 3 else DIARY
            views.append(block_view(number, anesthetic=anesthetic, joints=group, diary=diary, volumes=(0.5, 0.5),
                                    procedure_date=day, **patient))  # fmt: skip
        elif kind == 9:
            views.append(make_view(number, procedure="laminectomy", levels=(("L4-L5", "bilateral"),),
                                   procedure_date=day, prior_block_relief_percent=None, **patient))  # fmt: skip
        else:
            procedure = "radiofrequency_ablation" if step % 3 else "endoscopic_rhizotomy"
            follow = tuple(
                OutcomeScore(tp, day + dt.timedelta(days=days), nrs_back=3, relief_percent=relief)
                for tp, days, relief in (("6w", 42, 80), ("3m", 91, 75), ("6m", 190, 60), ("12m", 370, 30))
            )
            issues = (
                (Complication("hematoma", "postoperative", day + dt.timedelta(days=3), "I"),) if step % 5 == 2 else ()
            )
            reason = "Payer approved a repeat by letter." if step % 6 == 3 else None
            views.append(make_view(number, procedure=procedure, levels=group, procedure_date=day, outcomes=follow,
                                   complications=issues, prior_block_relief_percent=None,
                                   outside_policy_reason=reason, **patient))  # fmt: skip
        step += 1
        gap = (21, 35, 290, 60, 60, 60, 60, 60, 60, 60)[kind]  # a repeat once relief fades ...
        day += dt.timedelta(days=120 if kind == 2 and step % 3 == 0 else gap)  # ... or too soon: outside policy
    return views


def pdf_pages(tmp_path: Path, views: list[CaseView], name: str = "pathway.pdf") -> list[str]:
    out = tmp_path / name
    write_patient_pathway(pathway_of(views), out, settings=SETTINGS, generated_at=GENERATED)
    return [flat(page) for page in pages_text(out)]


def test_the_pathway_pdf_identifies_the_patient_and_states_the_policy_with_its_source(tmp_path: Path) -> None:
    views = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),))
    pages = pdf_pages(tmp_path, views)
    first = pages[0]
    expected = [
        "Patient pathway", "Nguyễn, Thị Hồng", "MRN-1001", "born 1961-04-12", "female",
        "The clinic's policy in force", "Two blocks at 80% (Medicare LCD)", "L38803",
        "the clinic must confirm them with its payers", "Timeline by joint", "L4-L5 left", "L4-L5 right",
    ]  # fmt: skip
    assert not [item for item in expected if item not in first]
    for page_number, page in enumerate(pages, start=1):  # every page names the patient and counts its pages
        assert "Nguyễn, Thị Hồng" in page and "MRN-1001" in page
        assert f"Patient pathway · Page {page_number} of {len(pages)}" in page


def test_the_pathway_pdf_lists_every_case_with_its_block_result_and_indication_check(tmp_path: Path) -> None:
    views = two_blocks_then_ablation(outside_policy_reason="Severe pain, second block refused by the patient")
    text = " ".join(pdf_pages(tmp_path, views))
    expected = [
        "Cases (3)", "2025-00001", "Positive block 1, lidocaine: 90% peak, 1 h at 80%",
        "Positive block 2, bupivacaine: 88% peak, 2 h at 80%", "Outside L5-S1 left: first ablation, but no block",
        "Reason recorded: Severe pain, second block refused by the patient",
        "Latest indication checks in detail", "Outside the clinic's policy", "Comparative blocks",
        "2025-00001: 1 h", "2025-00002: 2 h",
        "concordant: the long-acting block's relief lasted longer",
        "Overview", "Blocks 2: 2 positive, 0 negative, 0 not judged", "1 outside it (2025-00003)",
    ]  # fmt: skip
    missing = [item for item in expected if item not in text]
    assert not missing, (missing, text)


def test_the_timeline_has_a_row_per_joint_with_blocks_ablations_relief_and_complications() -> None:
    views = two_blocks_then_ablation(levels=(("L4-L5", "left"),), outcomes=(
        OutcomeScore("6w", dt.date(2025, 4, 25), relief_percent=70), OutcomeScore("6m", dt.date(2025, 9, 14),
                                                                                 relief_percent=55)),
        complications=(Complication("hematoma", "postoperative", dt.date(2025, 3, 16), "I"),))  # fmt: skip
    rows = {row.label: row for row in timeline_rows(pathway_of(views))}
    assert list(rows) == ["L4-L5 left", "L4-L5 right"]
    left = rows["L4-L5 left"]
    assert [(m.kind, m.label) for m in left.marks] == [
        ("block_positive", "90%"), ("block_positive", "88%"), ("ablation", "55%")]  # fmt: skip
    assert left.marks[-1].relief_until == dt.date(2025, 9, 14)  # to the last follow-up: no later ablation
    assert left.complications == (dt.date(2025, 3, 16),)
    assert [m.kind for m in rows["L4-L5 right"].marks] == ["block_positive", "block_positive"]


def test_a_40_case_pathway_prints_every_case_and_every_page_identifies_the_patient(tmp_path: Path) -> None:
    views = long_history(40, family="Wolfeschlegelsteinhausenbergerdorff-Hernández y Montenegro de la Cruz",
                         given="Maria-Guadalupe Alejandra Esperanza")  # fmt: skip
    pages = pdf_pages(tmp_path, views)
    text = " ".join(pages)
    assert "Cases (40)" in text
    missing = [v.case_number for v in views if v.case_number not in text]
    assert not missing, missing
    for page_number, page in enumerate(pages, start=1):
        assert "Montenegro de la Cruz" in page and "MRN-1001" in page
        assert f"Page {page_number} of {len(pages)}" in page


def test_a_patient_without_cases_prints_a_pathway_that_says_so(tmp_path: Path) -> None:
    empty = build_pathway(make_view().record.patient, [], default_policy())
    out = tmp_path / "empty.pdf"
    write_patient_pathway(empty, out, settings=SETTINGS, generated_at=GENERATED)
    text = flat(" ".join(pages_text(out)))
    assert "No cases recorded for this patient." in text and "Two blocks at 80%" in text


def test_the_checks_in_detail_are_those_of_the_latest_ablation_at_each_joint() -> None:
    """A repeat at L4-L5 left replaces the first ablation there; the first stays for L4-L5 right until a repeat
    there replaces it too."""
    views = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),))
    left = make_view("2026-00004", levels=(("L4-L5", "left"),), procedure_date=dt.date(2026, 1, 10))
    right = make_view("2026-00005", levels=(("L4-L5", "right"),), procedure_date=dt.date(2026, 2, 10))
    assert [e.case.case_number for e in latest_ablations(pathway_of([*views, left]))] == ["2025-00003", "2026-00004"]
    assert [e.case.case_number for e in latest_ablations(pathway_of([*views, left, right]))] == [
        "2026-00004",
        "2026-00005",
    ]


# ---------------------------------------------------------------- from the command line, against a database


def _diary(*pains: int) -> list[dict[str, Any]]:
    return [{"time": t, "pain": p} for t, p in zip(("15min", "30min", "1h", "2h", "4h"), pains, strict=False)]


def pathway_file() -> dict[str, Any]:
    """Two blocks at L4-L5 bilateral, then an RF ablation there and at L5-S1 left (no block), with its reason."""
    levels = [{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}]
    block = {"procedure": "medial_branch_block", "prior_block_relief_percent": None, "levels": levels}
    lidocaine = {"anesthetic": "lidocaine", "pain_before": 10, "diary": _diary(1, 1, 1, 5, 7)}
    bupivacaine = {"anesthetic": "bupivacaine", "pain_before": 8, "diary": _diary(3, 1, 1, 1, 2)}
    reason = "Second block at L5-S1 refused; payer agreed by phone"
    return case_file(
        simple_case("2025-01-10", **block, block=lidocaine),
        simple_case("2025-01-31", **block, block=bupivacaine),
        simple_case(
            "2025-03-14",
            procedure="radiofrequency_ablation",
            prior_block_relief_percent=None,
            outside_policy_reason=reason,
        ),
    )


def imported(tmp_path: Path, db: str) -> str:
    result = run("import", write(tmp_path / "pathway.json", pathway_file()), db=db)
    assert result.returncode == 0, result.stderr
    return db


def test_caselog_summary_prints_the_block_result_and_the_indication_check(db_target: str, tmp_path: Path) -> None:
    db = imported(tmp_path, db_target)
    out = tmp_path / "summaries.pdf"
    result = run("summary", "2025-00002", "2025-00003", "--output", str(out), db=db)
    assert result.returncode == 0, result.stderr
    text = flat(" ".join(pages_text(out)))
    assert "POSITIVE by the clinic's policy (80% relief)" in text and "block 2 in the series at these joints" in text
    assert "Outside the clinic's policy (Two blocks at 80% (Medicare LCD))" in text
    assert "Follows 2025-00001 (2025-01-10, L4-L5 bilateral): positive" in text
    assert "Reason recorded Second block at L5-S1 refused; payer agreed by phone" in text


def test_caselog_patient_output_writes_the_pathway_pdf_and_audits_it_as_a_print(db_target: str, tmp_path: Path) -> None:
    db = imported(tmp_path, db_target)
    out = tmp_path / "pathway.pdf"
    result = run("patient", "MRN-1001", "--output", str(out), db=db)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and out.stat().st_mode & 0o777 == 0o600
    text = flat(" ".join(pages_text(out)))
    assert "Patient pathway" in text and "Nguyễn, Thị Hồng" in text and "Cases (3)" in text
    assert "Reason recorded: Second block at L5-S1 refused; payer agreed by phone" in text
    database = open_database(db)
    try:
        printed = [e for e in audit.entries(database, record_type="case") if e.action == "print"]
    finally:
        database.close()
    assert sorted(e.record_id for e in printed) == ["2025-00001", "2025-00002", "2025-00003"]
    assert all(e.details == {"document": "patient pathway", "mrn": "MRN-1001"} for e in printed)


def test_caselog_patient_output_refuses_an_unknown_patient_or_folder_and_writes_nothing(
    db_target: str, tmp_path: Path
) -> None:
    db = imported(tmp_path, db_target)
    unknown = run("patient", "NO-SUCH-MRN", "--output", str(tmp_path / "a.pdf"), db=db)
    assert unknown.returncode == 3 and "NO-SUCH-MRN" in unknown.stderr and not (tmp_path / "a.pdf").exists()
    no_folder = run("patient", "MRN-1001", "--output", str(tmp_path / "missing" / "b.pdf"), db=db)
    assert no_folder.returncode == 2 and "does not exist" in no_folder.stderr and "Traceback" not in no_folder.stderr
    database = open_database(db)
    try:
        assert not [e for e in audit.entries(database) if e.action == "print"]
    finally:
        database.close()


def test_a_draft_is_marked_in_the_table_of_cases(tmp_path: Path) -> None:
    views = two_blocks_then_ablation(status="draft", signed=False)
    assert "2025-00003 Draft RF ablation" in " ".join(pdf_pages(tmp_path, views))


def test_many_joints_are_drawn_in_several_timelines_on_one_date_axis() -> None:
    """30 joints: a drawing of 24 rows and one of 6, the same dates across, the legend under the last only."""
    rows = [Row(f"joint {i}", (Mark(dt.date(2020, 1, 1) + dt.timedelta(days=40 * i), "block_positive", "88%"),))
            for i in range(30)]  # fmt: skip
    drawings = timelines(rows, 540.0)
    assert [len(d.rows) for d in drawings] == [24, 6] and [d.legend for d in drawings] == [False, True]
    assert {(d.start, d.end) for d in drawings} == {(dt.date(2019, 12, 2), dt.date(2023, 4, 5))}
    assert drawings[0].x_of(dt.date(2019, 12, 2)) == LABEL_W and drawings[1].x_of(dt.date(2023, 4, 5)) == 534.0


def test_caselog_patient_json_with_output_keeps_stdout_to_the_json(db_target: str, tmp_path: Path) -> None:
    db = imported(tmp_path, db_target)
    out = tmp_path / "pathway.pdf"
    result = run("patient", "MRN-1001", "--json", "--output", str(out), db=db)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["cases"]) == 3 and str(out) in result.stderr and out.exists()
