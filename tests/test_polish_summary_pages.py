"""An ablation's case summary with its indication check and four or five follow-ups prints on one page: the
verdict sits on the check's heading line, "No complications recorded." on the results heading's line, and a short
note is one labelled line over the signature, so nothing is left out and no text shrinks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from caselog.records import OutcomeScore
from caselog.reports import write_case_summaries
from tests.test_reports import GENERATED, SETTINGS, as_draft, flat, pages_text
from tests.test_reports_layout import drawn_sizes
from tests.test_reports_pathway import pathway_of, two_blocks_then_ablation

SCORES = (
    OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_back=8, nrs_leg=6, odi=46),
    OutcomeScore("2w", dt.date(2025, 3, 28), nrs_back=5, nrs_leg=5, pgic=3, analgesics="opioid"),
    OutcomeScore("6w", dt.date(2025, 4, 25), nrs_back=3, nrs_leg=2, odi=30, relief_percent=75, pgic=2),
    OutcomeScore("3m", dt.date(2025, 6, 14), nrs_back=3, nrs_leg=2, odi=24, relief_percent=70, pgic=2),
    OutcomeScore("6m", dt.date(2025, 9, 14), nrs_back=4, nrs_leg=2, odi=26, relief_percent=60, pgic=2,
                 work_status="working"),
    OutcomeScore("12m", dt.date(2026, 3, 14), nrs_back=5, nrs_leg=3, odi=30, relief_percent=40, pgic=3),
)  # fmt: skip
NOTE = "Tolerated well, no sedation issues."


def _printed(folder: Path, follow_ups: int, notes: str | None) -> Path:
    """The summary of an ablation at L4-L5 after two positive blocks, printed with its pathway, as a draft."""
    views = two_blocks_then_ablation(levels=(("L4-L5", "bilateral"),), outcomes=SCORES[: follow_ups + 1], notes=notes)
    out = folder / "ablation.pdf"
    write_case_summaries([as_draft(views[2])], out, settings=SETTINGS, generated_at=GENERATED,
                         pathways=[pathway_of(views)])  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("follow_ups", "notes"), [(4, None), (4, NOTE), (5, None)], ids=["four", "four-with-a-note", "five"]
)
def test_an_ablation_with_its_check_and_four_or_five_follow_ups_fits_one_page(
    tmp_path: Path, follow_ups: int, notes: str | None
) -> None:
    out = _printed(tmp_path, follow_ups, notes)
    pages = pages_text(out)
    assert len(pages) == 1, pages[-1][:300]
    text = flat(pages[0])
    assert "Indication check Verdict Meets the clinic's policy (Two blocks at 80%" in text
    assert "Complications and outcomes No complications recorded." in text
    assert "Follows 2025-00001 (2025-01-10, L4-L5 bilateral)" in text and "Met " in text
    assert ("Notes: " + NOTE in text) == bool(notes) and "Signed:" in text
    assert all(f"{day:%Y-%m-%d}" in text for day in (s.date for s in SCORES[: follow_ups + 1]))
    assert min(size for size, _ in drawn_sizes(out)) >= 7.99


def test_long_notes_keep_their_section(tmp_path: Path) -> None:
    """Four lines or more are a section of their own, which flows over the page end as it must."""
    long = "Fluoroscopic confirmation of needle placement at each level; no vascular uptake. " * 6
    text = flat(" ".join(pages_text(_printed(tmp_path, 2, long))))
    assert "Notes Fluoroscopic confirmation" in text and "Notes: " not in text
