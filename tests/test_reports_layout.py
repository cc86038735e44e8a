"""The case summary as a chart document (issue 11): what a referring physician needs first, readable, on one page.

Read back with pypdf: page text, and the size every piece of text is drawn at.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pypdf
import pytest

from caselog.demo import generate_cases
from caselog.records import CaseRecord, CaseView, OutcomeScore
from caselog.reports import write_case_summaries, write_complication_log, write_surgeon_log
from caselog.reports.plan import PLANS
from tests.test_reports import GENERATED, OUTCOMES, SETTINGS, as_draft, complication, flat, make_view, pages_text
from tests.test_reports_pathway import block_view, pathway_of, two_blocks_then_ablation


def drawn_sizes(path: Path) -> list[tuple[float, str]]:
    """(size in points as printed, text) of every text run on every page, forms included."""
    found: list[tuple[float, str]] = []

    def visit(text: str, cm: Any, tm: Any, font_dict: Any, font_size: float) -> None:
        if not text.strip():
            return
        # The text matrix times the current transformation matrix; its vertical scale times Tf is the size.
        c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
        found.append((font_size * math.hypot(c, d), text))

    for page in pypdf.PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return found


def typical_case() -> CaseView:
    """Like a demo case: two levels, one complication, three outcome timepoints, a short note, a draft."""
    return as_draft(
        make_view(complications=[complication()], outcomes=OUTCOMES, notes="Tolerated well, no sedation issues.")
    )


def test_no_text_below_8_points_in_any_report(tmp_path: Path) -> None:
    views = [typical_case(), make_view("2025-00002", outcomes=OUTCOMES, complications=[complication(review="open")])]
    summary, complications, surgeon = tmp_path / "s.pdf", tmp_path / "c.pdf", tmp_path / "l.pdf"
    write_case_summaries(views, summary, settings=SETTINGS, generated_at=GENERATED)
    write_complication_log(views, complications, date_from=None, date_to=None, settings=SETTINGS,
                           generated_at=GENERATED)  # fmt: skip
    write_surgeon_log(views, surgeon, surgeon="Dr. Amara Okafor", date_from=None, date_to=None, settings=SETTINGS,
                      generated_at=GENERATED)  # fmt: skip
    for path in (summary, complications, surgeon):
        sizes = drawn_sizes(path)
        assert len(sizes) > 30, path
        small = [(round(size, 2), text) for size, text in sizes if size < 7.99]
        assert not small, (path.name, small[:10])
    # The spine drawing (a form) and the chart were read too: their labels are in the list.
    texts = " ".join(text for _, text in drawn_sizes(summary))
    assert "treated joint" in texts and "L4-L5" in texts and "Base" in texts


def test_a_typical_case_fits_one_page(tmp_path: Path) -> None:
    out = tmp_path / "typical.pdf"
    write_case_summaries([typical_case()], out, settings=SETTINGS, generated_at=GENERATED)
    texts = pages_text(out)
    assert len(texts) == 1, [t[-300:] for t in texts]
    assert "Signed:" in texts[0] and "Complications and outcomes" in texts[0] and "Timepoint" in texts[0]


def demo_summary(record: CaseRecord, index: int, folder: Path) -> Path:
    """The summary PDF of a generated case, numbered as the `index`-th case of 2025, as a draft."""
    numbered = dataclasses.replace(record, case_number=f"2025-{index + 1:05d}")
    view = CaseView(id=index + 1, version=1, record=numbered, created_at=GENERATED, updated_at=GENERATED,
                    signed_by=None, signed_at=None)  # fmt: skip
    out = folder / f"demo-{index}.pdf"
    write_case_summaries([view], out, settings=SETTINGS, generated_at=GENERATED)
    return out


def test_demo_cases_with_up_to_five_timepoints_fit_one_page(tmp_path: Path) -> None:
    records = [r for r in generate_cases(24, seed=3, until=dt.date(2025, 6, 30)) if len(r.outcomes) <= 5]
    assert len(records) >= 10
    for index, record in enumerate(records):
        out = demo_summary(record, index, tmp_path)
        assert len(pypdf.PdfReader(out).pages) == 1, (record.procedure, len(record.levels), len(record.outcomes))


#: A block's 2-week check, as the demo records it: the scores, PGIC and the answers.
TWO_WEEK_CHECK = (
    OutcomeScore("baseline", dt.date(2025, 1, 31), nrs_back=8, nrs_leg=6, odi=46),
    OutcomeScore("2w", dt.date(2025, 2, 14), nrs_back=7, nrs_leg=6, odi=44, relief_percent=10, pgic=4,
                 work_status="working", analgesics="non_opioid", physical_therapy=False),
)  # fmt: skip


@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("with_complication", [False, True])
def test_a_block_with_its_two_week_check_fits_one_page(tmp_path: Path, paper: str, with_complication: bool) -> None:
    """The longest block summary a clinic prints often: 3 levels, a full diary read under the policy (two lines),
    its 2-week scores, a note or a complication, a draft. It took two pages once the demo followed blocks up at 2
    weeks; nothing is left out to fit."""
    joints = (("L3-L4", "bilateral"), ("L4-L5", "bilateral"), ("L5-S1", "left"))
    first = block_view("2025-00001", anesthetic="lidocaine", joints=joints, volumes=(0.5, 0.5, 0.4),
                       procedure_date=dt.date(2025, 1, 10))  # fmt: skip
    changes: dict[str, Any] = {"complications": [complication()], "notes": None} if with_complication else {
        "notes": "Fluoroscopic confirmation of needle placement at each level; no vascular uptake."
    }  # fmt: skip
    block = as_draft(block_view("2025-00002", joints=joints, volumes=(0.5, 0.5, 0.4), outcomes=TWO_WEEK_CHECK,
                                procedure_date=dt.date(2025, 1, 31), **changes))  # fmt: skip
    out = tmp_path / "block.pdf"
    settings = dataclasses.replace(SETTINGS, paper=paper)
    write_case_summaries([block], out, settings=settings, generated_at=GENERATED, pathways=[pathway_of([first, block])])
    pages = pages_text(out)
    assert len(pages) == 1, pages[-1][:300]
    text = flat(pages[0])
    expected = [
        "Anesthetic Bupivacaine (0.5%)", "Activities Yes: could do what usually hurts",
        "Relief — 63% 88% 88% 88% 75% 38% 25% 0%", "POSITIVE by the clinic's policy",
        "Complications and outcomes", "Hematoma" if with_complication else "No complications recorded.",
        "2 weeks 2025-02-14 44 7 6 10% 4 none", "MCID, better than baseline by", "Signed:", "Draft: not signed",
    ]  # fmt: skip
    assert not [item for item in expected if item not in text], text


def test_an_ablation_with_its_check_and_three_follow_ups_fits_one_page(tmp_path: Path) -> None:
    """After two blocks, checked against the policy, scored at 2 weeks, 6 weeks and 3 months, chart beside the
    table: one page when there is no note (with one, or a complication, the notes and signature take a second)."""
    scores = (
        OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_back=8, nrs_leg=6, odi=46),
        OutcomeScore("2w", dt.date(2025, 3, 28), nrs_back=5, nrs_leg=5, pgic=3, analgesics="opioid"),
        OutcomeScore("6w", dt.date(2025, 4, 25), nrs_back=3, nrs_leg=2, odi=30, relief_percent=75, pgic=2),
        OutcomeScore("3m", dt.date(2025, 6, 14), nrs_back=3, nrs_leg=2, odi=24, relief_percent=70, pgic=2),
    )
    views = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),), outcomes=scores, notes=None)
    out = tmp_path / "ablation.pdf"
    write_case_summaries([as_draft(views[2])], out, settings=SETTINGS, generated_at=GENERATED,
                         pathways=[pathway_of(views)])  # fmt: skip
    pages = pages_text(out)
    assert len(pages) == 1, pages[-1][:300]
    text = flat(pages[0])
    assert "Meets the clinic's policy" in text and "Pain (NRS 0–10) Back Leg" in text and "Signed:" in text


def test_summary_leads_with_procedure_levels_result_and_plan(tmp_path: Path) -> None:
    out = tmp_path / "lead.pdf"
    write_case_summaries([typical_case()], out, settings=SETTINGS, generated_at=GENERATED)
    text = flat(pages_text(out)[0])
    order = [
        "Summary",
        "Radiofrequency ablation (facet medial branch)",
        "L4-L5 bilateral, L5-S1 left",
        "Complications: Hematoma (Clavien-Dindo I, resolved 2025-03-20)",
        "At 3 months (2025-06-14): back pain 3 (baseline 8)",
        "Same-day discharge.",
        "Standard instructions for this procedure, not an individual plan:",
        "No heavy lifting or strenuous exercise for 2–4 weeks",
        "Next outcome scores due at 6 months.",
        "Call the clinic",
        "Procedure details",
        "Complications and outcomes",
        "Ice and observation",
        "Timepoint Date",
        "Notes",
    ]
    positions = [text.find(words) for words in order]
    assert all(p >= 0 for p in positions), [w for w, p in zip(order, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("procedure", "words"),
    [
        ("medial_branch_block", "pain diary for 6–8 hours"),
        ("endoscopic_rhizotomy", "Keep the incision dry for 48 hours"),
        ("laminectomy", "No lifting over 5 kg"),
        ("other", "No standard instructions for this procedure; see the notes."),
    ],
)
def test_each_procedure_gets_its_standard_instructions(tmp_path: Path, procedure: str, words: str) -> None:
    out = tmp_path / "plan.pdf"
    write_case_summaries([make_view(procedure=procedure)], out, settings=SETTINGS, generated_at=GENERATED)
    assert words in flat(pages_text(out)[0])


def test_every_procedure_but_other_has_a_plan() -> None:
    """The next follow-up the plan prints is tested in tests/test_plan.py."""
    from caselog import vocab

    assert set(vocab.PROCEDURES) - set(PLANS) == {"other"}


def test_referring_physician_and_copies_head_the_summary(tmp_path: Path) -> None:
    view = typical_case()
    record = dataclasses.replace(
        view.record,
        referring_physician="Dr. Maria López, Riverside Family Practice, 12 Elm St, Springfield",
        copy_to=("Dr. Ken Ito, Pain Clinic", "Physiotherapy Dept."),
    )
    out = tmp_path / "referral.pdf"
    write_case_summaries([dataclasses.replace(view, record=record)], out, settings=SETTINGS, generated_at=GENERATED)
    text = flat(pages_text(out)[0])
    referral = text.find("Referring physician: Dr. Maria López, Riverside Family Practice, 12 Elm St, Springfield")
    copies = text.find("Copy to: Dr. Ken Ito, Pain Clinic; Physiotherapy Dept.")
    assert 0 <= referral < copies < text.find("Summary")


def test_a_typical_case_with_a_referring_physician_still_fits_one_page(tmp_path: Path) -> None:
    view = typical_case()
    record = dataclasses.replace(view.record, referring_physician="Dr. Ken Ito, Riverside Pain Clinic")
    out = tmp_path / "short-referral.pdf"
    write_case_summaries([dataclasses.replace(view, record=record)], out, settings=SETTINGS, generated_at=GENERATED)
    assert len(pages_text(out)) == 1


def test_demo_cases_with_a_complication_fit_one_page_and_the_signature_never_stands_alone(tmp_path: Path) -> None:
    """Tried as a coordinator printing the complication cases of 2,000: 12 of 59 put the signature alone on page 2."""
    records = [r for r in generate_cases(600, seed=1, until=dt.date(2025, 6, 30)) if r.complications]
    assert len(records) >= 10
    for index, record in enumerate(records):
        pages = pages_text(demo_summary(record, index, tmp_path))
        if len(record.outcomes) <= 6 and not record.notes:
            assert len(pages) == 1, (record.procedure, len(record.outcomes))
        last = flat(pages[-1])
        assert "Signed:" in last and (len(pages) == 1 or "Notes" in last or "Timepoint" in last), last[-300:]
