"""Outcomes in print: the case summary's outcome table by region with its MCID column and attempts, and the
outcomes report PDF."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pypdf

from caselog.records import FollowUpAttempt, OutcomeScore
from caselog.reports import write_case_summaries
from tests.test_reports import GENERATED, SETTINGS, complication, flat, make_view, pages_text

NECK_OUTCOMES = (
    OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_neck=7, nrs_arm=6, ndi=42),
    OutcomeScore("6w", dt.date(2025, 4, 25), nrs_neck=3, nrs_arm=5, pgic=2, work_status="off_work_pain"),
    OutcomeScore("3m", dt.date(2025, 6, 14), nrs_neck=6, ndi=30, pgic=4, analgesics="opioid", physical_therapy=True),
)
ATTEMPTS = (
    FollowUpAttempt("6m", dt.date(2025, 9, 16), "could_not_reach"),
    FollowUpAttempt("6m", dt.date(2025, 9, 23), "moved_away", "to Lyon"),
)


def cervical_view() -> object:
    view = make_view(levels=(("C5-C6", "right"), ("C6-C7", "right")), complications=[complication()],
                     outcomes=NECK_OUTCOMES, notes="Tolerated well.")  # fmt: skip
    record = dataclasses.replace(view.record, follow_up_attempts=ATTEMPTS)
    return dataclasses.replace(view, record=record)


def test_a_cervical_summary_prints_neck_scores_mcid_answers_and_attempts_on_one_page(tmp_path: Path) -> None:
    out = tmp_path / "neck.pdf"
    write_case_summaries([cervical_view()], out, settings=SETTINGS, generated_at=GENERATED)  # type: ignore[list-item]
    texts = pages_text(out)
    assert len(pypdf.PdfReader(out).pages) == 1, texts
    text = flat(texts[0])
    assert "Timepoint Date NDI Neck Arm Relief PGIC MCID" in text
    # 6 weeks: neck 7 -> 3 (4 points) and PGIC 2 reach it, arm 6 -> 5 does not; 3 months: NDI 42 -> 30 only.
    assert "6 weeks 2025-04-25 — 3 5 — 2 Neck, PGIC 3 months 2025-06-14 30 6 — — 4 NDI" in text
    assert (
        "At 3 months (2025-06-14): neck pain 6 (baseline 7), NDI 30 (baseline 42), PGIC 4 no change, opioid, "
        "PT prescribed."
    ) in text  # the latest follow-up's answers, short
    assert (
        "Follow-up attempts: 2025-09-16 (6 months) could not reach; 2025-09-23 (6 months) moved away: to Lyon" in text
    )
    assert "MCID, better than baseline by: ODI or NDI 10 points, pain 2 points or 30%, PGIC 1-2." in text
    assert "ODI " not in text.replace("by: ODI or NDI", "") and "Back" not in text  # no lumbar columns for a neck


def test_a_lumbar_summary_without_follow_up_prints_no_mcid_note(tmp_path: Path) -> None:
    baseline_only = (OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_back=8, odi=46),)
    out = tmp_path / "base.pdf"
    write_case_summaries([make_view(outcomes=baseline_only)], out, settings=SETTINGS, generated_at=GENERATED)
    text = flat(pages_text(out)[0])
    assert "Timepoint Date ODI Back Relief MCID" in text  # only the scores held
    assert "MCID, better than baseline" not in text


def test_a_typical_follow_up_case_with_answers_and_an_attempt_fits_one_page(tmp_path: Path) -> None:
    """Three timepoints with PGIC and answers, a complication, a referring physician and an attempt."""
    lumbar = (
        OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_back=8, nrs_leg=6, odi=46),
        OutcomeScore("2w", dt.date(2025, 3, 28), nrs_back=5, nrs_leg=5, pgic=3, analgesics="opioid"),
        OutcomeScore("6w", dt.date(2025, 4, 25), nrs_back=2, nrs_leg=1, odi=30, relief_percent=75, pgic=2,
                     work_status="working", analgesics="non_opioid", physical_therapy=True),
    )  # fmt: skip
    view = make_view(complications=[complication()], outcomes=lumbar, notes="Tolerated well, no sedation issues.")
    record = dataclasses.replace(view.record, referring_physician="Dr. Ken Ito", follow_up_attempts=ATTEMPTS[:1])
    out = tmp_path / "typical.pdf"
    write_case_summaries([dataclasses.replace(view, record=record)], out, settings=SETTINGS, generated_at=GENERATED)
    texts = pages_text(out)
    assert len(texts) == 1, texts
    text = flat(texts[0])
    assert "PGIC 2 much improved, working, non-opioid, PT prescribed." in text
    assert "Follow-up attempts: 2025-09-16 (6 months) could not reach." in text and "Signed:" in text
