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
from caselog.records import CaseRecord, CaseView
from caselog.reports import write_case_summaries, write_complication_log, write_surgeon_log
from caselog.reports.plan import PLANS
from tests.test_reports import GENERATED, OUTCOMES, SETTINGS, as_draft, complication, flat, make_view, pages_text


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
    assert "Signed:" in texts[0] and "Outcomes" in texts[0]


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
        "Complications (1)",
        "Outcomes",
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
        assert "Signed:" in last and (len(pages) == 1 or "Notes" in last or "Outcomes" in last), last[-300:]
