"""The PDF reports read back with pypdf: what a coordinator, a quality reviewer and a surgeon would check.

No database: case views are built by hand, each test changing only what it is about.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import stat
import subprocess
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pypdf
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from caselog import vocab
from caselog.errors import InvalidInput
from caselog.records import (
    Anesthesia,
    CaseRecord,
    CaseView,
    Complication,
    OutcomeScore,
    Patient,
    TreatedLevel,
)
from caselog.reports import ReportSettings, chart, write_case_summaries, write_complication_log, write_surgeon_log
from caselog.reports import complications as complication_report
from caselog.reports import summary as summary_report
from caselog.reports.spine import marked_joints
from caselog.resources import ENV_VAR, ResourceMissing, resource_path, resources_dir

GENERATED = dt.datetime(2025, 7, 1, 9, 30)
SETTINGS = ReportSettings(facility_name="Riverside Spine Center")


# ---------------------------------------------------------------- building case views by hand


def make_view(
    number: str = "2025-00001",
    *,
    status: str = "final",
    signed: bool = True,
    family: str = "Nguyễn",
    given: str = "Thị Hồng",
    mrn: str = "MRN-1001",
    procedure: str = "radiofrequency_ablation",
    levels: Sequence[tuple[str, str]] = (("L4-L5", "bilateral"), ("L5-S1", "left")),
    complications: Sequence[Complication] = (),
    outcomes: Sequence[OutcomeScore] = (),
    notes: str | None = "Tolerated well.",
    procedure_date: dt.date = dt.date(2025, 3, 14),
    surgeon: str = "Dr. Amara Okafor",
    **changes: Any,
) -> CaseView:
    record = CaseRecord(
        patient=Patient(mrn=mrn, family_name=family, given_name=given, birth_date=dt.date(1961, 4, 12), sex="female"),
        procedure_date=procedure_date,
        surgeon=surgeon,
        procedure=procedure,
        levels=tuple(TreatedLevel(level, side) for level, side in levels),
        duration_minutes=75,
        anesthesia=Anesthesia(
            type="local_sedation", sedation="moderate", asa_class="III", emergency=True, provider="Ivan Petrov, CRNA"
        ),
        disposition="same_day_discharge",
        case_number=number,
        status=status,
        facility="Riverside Spine Center",
        assistants=("Sam Whitfield PA-C",),
        procedure_detail="Cooled RF probes",
        cpt_codes=("64635", "64636"),
        diagnosis_codes=("M47.816",),
        indication="Facet-mediated low back pain",
        injury_related=True,
        prior_block_relief_percent=80,
        start_time=dt.datetime.combine(procedure_date, dt.time(8, 30)),
        end_time=dt.datetime.combine(procedure_date, dt.time(9, 45)),
        estimated_blood_loss_ml=5,
        complications=tuple(complications),
        outcomes=tuple(outcomes),
        notes=notes,
    )
    record = dataclasses.replace(record, **changes)
    is_signed = signed and status != "draft"
    return CaseView(
        id=int(number[-5:]),
        version=1,
        record=record,
        created_at=dt.datetime(2025, 3, 14, 10, 0),
        updated_at=dt.datetime(2025, 3, 14, 10, 0),
        signed_by="Dr. Amara Okafor" if is_signed else None,
        signed_at=dt.datetime(2025, 3, 14, 11, 5) if is_signed else None,
    )


def complication(category: str = "hematoma", grade: str = "I", review: str = "closed", **changes: Any) -> Complication:
    base = Complication(
        category=category,
        timing="postoperative",
        onset_date=dt.date(2025, 3, 16),
        clavien_dindo=grade,
        treatment="Ice and observation",
        resolved_date=dt.date(2025, 3, 20),
        review_status=review,
    )
    return dataclasses.replace(base, **changes)


OUTCOMES = (
    OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_back=8, nrs_leg=3, odi=46),
    OutcomeScore("6w", dt.date(2025, 4, 25), nrs_back=2, nrs_leg=1, relief_percent=75),
    OutcomeScore("3m", dt.date(2025, 6, 14), nrs_back=3, odi=20),
)


def as_draft(view: CaseView) -> CaseView:
    record = dataclasses.replace(view.record, status="draft")
    return dataclasses.replace(view, record=record, signed_by=None, signed_at=None)


def long_view(number: str = "2025-00003") -> CaseView:
    """10 levels, 8 long complications and 3,000 characters of notes: must flow over several pages."""
    levels = [(vocab.LEVELS[i], ("left", "right", "bilateral")[i % 3]) for i in range(5, 15)]
    categories = ["hematoma", "nerve_irritation", "numbness", "dural_tear",
                  "urinary_retention", "readmission", "bleeding", "other"]  # fmt: skip
    comps = [
        complication(
            category,
            grade,
            description=f"Event {i} described at length. " + "Observed on the ward and followed up in clinic. " * 6,
            treatment="Managed conservatively with medication review and follow-up. " * 4,
        )
        for i, (category, grade) in enumerate(
            zip(categories, ["I", "II", "IIIa", "IIIb", "I", "II", "IVa", "V"], strict=True)
        )
    ]
    notes = "\n".join(f"Line {i}: " + "procedure note text " * 8 for i in range(20))
    assert len(notes) >= 3000
    return make_view(number, levels=levels, complications=comps, outcomes=OUTCOMES, notes=notes)


# ---------------------------------------------------------------- reading PDFs back


def pages_text(path: Path) -> list[str]:
    return [unicodedata.normalize("NFC", page.extract_text()) for page in pypdf.PdfReader(path).pages]


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (pypdf breaks lines where the PDF wraps them)."""
    return " ".join(text.split())


def footers(texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """(label, page, of) from each page's "LABEL · Page X of Y" footer."""
    found = []
    for text in texts:
        matches = re.findall(r"(Case [\d-]+|Complication log|Surgeon case log) · Page (\d+) of (\d+)", text)
        assert len(matches) == 1, text
        label, page, total = matches[0]
        found.append((label, int(page), int(total)))
    return found


# ---------------------------------------------------------------- case summaries


def test_each_case_starts_on_a_new_page_with_its_own_page_numbers(tmp_path: Path) -> None:
    out = tmp_path / "day.pdf"
    cases = [make_view("2025-00001", outcomes=OUTCOMES), make_view("2025-00002", status="draft"), long_view()]
    write_case_summaries(cases, out, settings=SETTINGS, generated_at=GENERATED)

    texts = pages_text(out)
    numbered = footers(texts)
    assert len(texts) == len(numbered) >= 4
    groups: dict[str, list[tuple[int, int]]] = {}
    for label, page, total in numbered:
        groups.setdefault(label, []).append((page, total))
    assert list(groups) == ["Case 2025-00001", "Case 2025-00002", "Case 2025-00003"]  # in order, never interleaved
    for pages in groups.values():
        total = len(pages)
        assert pages == [(i, total) for i in range(1, total + 1)]
    # The first page of each case opens with its summary and carries its case number.
    start = 0
    for label, pages in groups.items():
        first = texts[start]
        assert label in first and "Summary" in first and "Procedure details" in first
        start += len(pages)


def test_summary_prints_every_field(tmp_path: Path) -> None:
    out = tmp_path / "one.pdf"
    view = make_view(
        complications=[complication("hematoma", "IIIa", description="Small L5 hematoma")], outcomes=OUTCOMES
    )
    write_case_summaries([view], out, settings=SETTINGS, generated_at=GENERATED)
    text = flat(" ".join(pages_text(out)))
    expected = [
        "Riverside Spine Center", "Case summary", "Case 2025-00001", "SIGNED",
        "Nguyễn, Thị Hồng", "MRN-1001", "1961-04-12", "(63 y)", "female",
        "2025-03-14", "Dr. Amara Okafor", "Sam Whitfield PA-C",
        "Radiofrequency ablation (facet medial branch)", "Cooled RF probes", "64635, 64636", "M47.816",
        "Facet-mediated low back pain", "Injury related Yes", "80%",
        "L4-L5", "Bilateral", "L3 medial branch, L4 medial branch",
        "L5-S1", "Left", "L4 medial branch, L5 dorsal ramus",
        "2025-03-14 08:30 to 09:45", "1 h 15 min", "Local anesthesia with sedation (moderate sedation)",
        "III E", "Ivan Petrov, CRNA", "5 mL", "Same-day discharge",
        "Hematoma", "Small L5 hematoma", "IIIa", "Ice and observation", "2025-03-16", "2025-03-20",
        "Baseline", "6 weeks", "3 months", "46", "75%", "Pain (NRS 0–10)",
        "Tolerated well.", "Signed: Dr. Amara Okafor · 2025-03-14 11:05",
        "Generated 2025-07-01 09:30", "Confidential",
    ]  # fmt: skip
    missing = [item for item in expected if item not in text]
    assert not missing, missing


def test_outcome_chart_needs_two_scored_timepoints(tmp_path: Path) -> None:
    one_point = make_view(outcomes=OUTCOMES[:1])
    out = tmp_path / "single.pdf"
    write_case_summaries([one_point], out, settings=SETTINGS)
    text = flat(" ".join(pages_text(out)))
    assert "Baseline" in text and "Pain (NRS" not in text


def test_a_baseline_and_one_follow_up_draw_no_chart_the_table_says_as_much(tmp_path: Path) -> None:
    """A block's 2-week check: one change from baseline, stated in the table and the result; no chart of two dots."""
    out = tmp_path / "one-follow-up.pdf"
    write_case_summaries([make_view(outcomes=OUTCOMES[:2])], out, settings=SETTINGS)
    text = flat(" ".join(pages_text(out)))
    assert "Baseline 2025-03-01" in text and "6 weeks 2025-04-25" in text and "Pain (NRS" not in text
    assert chart.chart_data(["L4-L5"], OUTCOMES[:2]) is None and chart.chart_data(["L4-L5"], OUTCOMES) is not None


NECK_SCORES = (
    OutcomeScore("3m", dt.date(2025, 6, 14), nrs_neck=6, ndi=30),
    OutcomeScore("baseline", dt.date(2025, 3, 1), nrs_neck=7, nrs_arm=6, ndi=42, nrs_back=9),
    OutcomeScore("6w", dt.date(2025, 4, 25), nrs_neck=3, nrs_arm=5),
)


def test_a_cervical_chart_draws_neck_and_arm_pain_in_timepoint_order() -> None:
    """The region's pain, not back and leg: a neck case once printed no chart at all. A back score a neck case
    happens to hold is in the table, not on the chart; an arm score not asked at 3 months leaves a gap."""
    data = chart.chart_data([TreatedLevel("C5-C6", "right"), TreatedLevel("C6-C7", "right")], NECK_SCORES)
    assert data is not None
    assert data.title == "Pain (NRS 0–10)" and data.timepoints == ("Base", "6 wk", "3 mo")
    assert [(s.name, s.values) for s in data.series] == [("Neck", (7, 3, 6)), ("Arm", (6, 5, None))]
    lumbar = chart.chart_data(["L4-L5"], OUTCOMES)
    assert lumbar is not None and [(s.name, s.values) for s in lumbar.series] == [
        ("Back", (8, 2, 3)),
        ("Leg", (3, 1, None)),
    ]
    assert chart.chart_data(["L4-L5"], NECK_SCORES) is None  # a lumbar case with only neck scores: nothing to draw


def _drawn_text(flowable: Flowable, tmp_path: Path) -> list[tuple[float, float, str]]:
    """(x, y, text) of every string the flowable draws, from a one-page PDF of it alone."""
    path = tmp_path / "drawn.pdf"
    canvas = Canvas(str(path), pagesize=(400, 300))
    flowable.drawOn(canvas, 20, 20)
    canvas.save()
    found: list[tuple[float, float, str]] = []

    def visit(text: str, cm: Any, tm: Any, font_dict: Any, font_size: float) -> None:
        if text.strip():
            found.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5], text.strip()))

    pypdf.PdfReader(path).pages[0].extract_text(visitor_text=visit)
    return found


@pytest.mark.parametrize("width", [140.0, 166.0, 190.0, 240.0])
def test_the_chart_legend_never_crowds_its_title(tmp_path: Path, width: float) -> None:
    """Beside a wide outcome table (or on A4) the chart is narrow: its legend once overprinted the title. The legend
    sits on the title's line only with room to spare, otherwise on a line of its own; the plot keeps its height."""
    levels = [TreatedLevel("C5-C6", "right")]
    drawn = chart.pain_chart(levels, NECK_SCORES, width=width, height=84)
    assert drawn is not None
    texts = {text: (x, y) for x, y, text in _drawn_text(drawn, tmp_path)}
    assert {"Pain (NRS 0–10)", "Neck", "Arm", "Base", "6 wk", "3 mo"} <= set(texts)
    title_x, title_y = texts["Pain (NRS 0–10)"]
    title_end = title_x + stringWidth("Pain (NRS 0–10)", chart.FONT_BOLD, 8)
    neck_x, neck_y = texts["Neck"]
    if neck_y == title_y:  # beside: after the title, with its key, and at least a gap between
        assert neck_x - 12 - 4 >= title_end + 10
        assert drawn.height == 84
    else:  # under the title, a line lower; the chart one line taller
        assert neck_y < title_y - 8 and width < 170
        assert drawn.height > 84
    arm_x, _ = texts["Arm"]
    assert arm_x + stringWidth("Arm", chart.FONT, 8) <= 20 + width + 0.01  # within the chart


def test_empty_sections_say_so(tmp_path: Path) -> None:
    out = tmp_path / "bare.pdf"
    write_case_summaries([make_view(notes=None)], out, settings=SETTINGS)
    text = flat(" ".join(pages_text(out)))
    assert "Complications and outcomes No complications recorded. No outcome scores recorded." in text  # one heading
    assert "Notes" not in text  # no empty heading: it pushed the signature onto a page of its own


def test_block_procedures_list_nerves_and_others_the_region(tmp_path: Path) -> None:
    out = tmp_path / "two.pdf"
    cervical = make_view("2025-00001", procedure="medial_branch_block", levels=[("C2-C3", "right"), ("T5-T6", "left")])
    decompression = make_view("2025-00002", procedure="laminectomy", levels=[("L3-L4", "bilateral")])
    write_case_summaries([cervical, decompression], out, settings=SETTINGS)
    first, second = _case_texts(out)
    assert "Third occipital nerve" in first and "T4 medial branch, T5 medial branch" in first
    assert "Nerves targeted" not in second and "Lumbar" in second


def _case_texts(path: Path) -> tuple[str, str]:
    texts = pages_text(path)
    labels = [label for label, _, _ in footers(texts)]
    first = " ".join(t for t, label in zip(texts, labels, strict=True) if label == "Case 2025-00001")
    second = " ".join(t for t, label in zip(texts, labels, strict=True) if label == "Case 2025-00002")
    return flat(first), flat(second)


def test_draft_carries_a_draft_mark_on_every_page_and_signed_cases_none(tmp_path: Path) -> None:
    draft_pdf, signed_pdf = tmp_path / "draft.pdf", tmp_path / "signed.pdf"
    write_case_summaries([as_draft(long_view())], draft_pdf, settings=SETTINGS)
    write_case_summaries([long_view()], signed_pdf, settings=SETTINGS)

    draft_pages = pages_text(draft_pdf)
    assert len(draft_pages) > 1
    assert all("DRAFT" in page for page in draft_pages)
    assert "Signed: ____" in flat(draft_pages[-1])
    signed_pages = pages_text(signed_pdf)
    assert not any("DRAFT" in page for page in signed_pages)
    assert all("SIGNED" in page for page in signed_pages)


def test_amended_case_is_not_a_draft_and_says_it_was_amended(tmp_path: Path) -> None:
    out = tmp_path / "amended.pdf"
    write_case_summaries([make_view(status="amended")], out, settings=SETTINGS)
    text = flat(" ".join(pages_text(out)))
    assert "AMENDED" in text and "DRAFT" not in text and "Amended after signing" in text


def test_signed_status_without_signature_record_prints_an_empty_signature_line(tmp_path: Path) -> None:
    out = tmp_path / "unsigned.pdf"
    write_case_summaries([make_view(signed=False)], out, settings=SETTINGS)
    assert "Signed: ____" in flat(" ".join(pages_text(out)))


@pytest.mark.parametrize(
    ("family", "given"),
    [("Nguyễn", "Thị Hồng"), ("Łukasik-O'Brien", "Zoë"), ("Иванова", "Анна"), ("Παπαδοπούλου", "Ελένη")],
)
def test_names_in_any_script_survive_extraction(tmp_path: Path, family: str, given: str) -> None:
    out = tmp_path / "names.pdf"
    write_case_summaries([make_view(family=family, given=given)], out, settings=SETTINGS)
    text = pages_text(out)[0]
    assert f"{family}, {given}" in text


def _fonts_used(path: Path) -> list[Any]:
    """Every font dictionary a page or a form on it refers to."""
    fonts = []
    for page in pypdf.PdfReader(path).pages:
        resources = [page["/Resources"]]
        for xobject in (page["/Resources"].get("/XObject") or {}).values():
            if "/Resources" in xobject.get_object():
                resources.append(xobject.get_object()["/Resources"])
        for res in resources:
            fonts += [ref.get_object() for ref in (res.get("/Font") or {}).values()]
    return fonts


def test_every_font_is_the_embedded_unicode_font(tmp_path: Path) -> None:
    out = tmp_path / "font.pdf"
    write_case_summaries([make_view(family="Иванова", outcomes=OUTCOMES)], out, settings=SETTINGS)
    fonts = _fonts_used(out)
    assert fonts
    for font in fonts:
        assert "DejaVuSans" in str(font["/BaseFont"]), font["/BaseFont"]
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # the TrueType program is in the file
        assert "/ToUnicode" in font  # which is what makes the text searchable and copyable


def test_metadata_and_file_carry_no_patient_identifier(tmp_path: Path) -> None:
    out = tmp_path / "meta.pdf"
    view = make_view(family="Łukasik-O'Brien", given="Zoë", mrn="MRN-777")
    write_case_summaries([view], out, settings=SETTINGS)
    meta = pypdf.PdfReader(out).metadata
    assert meta is not None
    assert meta.title == "CaseLog case summary"
    values = " ".join(str(v) for v in meta.values())
    for identifier in ("Łukasik", "O'Brien", "Zoë", "MRN-777", "1961-04-12", "2025-00001"):
        assert identifier not in values
    raw = out.read_bytes()
    assert b"MRN-777" not in raw.split(b"/Info")[-1][:2000]


def test_file_is_readable_by_the_owner_only_even_when_replacing_one(tmp_path: Path) -> None:
    out = tmp_path / "mode.pdf"
    out.write_bytes(b"old")
    out.chmod(0o644)
    write_case_summaries([make_view()], out, settings=SETTINGS)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["mode.pdf"]  # no temporary file left beside it


def test_missing_output_folder_is_invalid_input_naming_the_path(tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "day.pdf"
    with pytest.raises(InvalidInput) as error:
        write_case_summaries([make_view()], out, settings=SETTINGS)
    assert error.value.exit_status == 2
    assert str(out) in error.value.message
    assert not out.parent.exists()


def test_output_under_a_file_or_onto_a_folder_is_invalid_input(tmp_path: Path) -> None:
    plain_file = tmp_path / "notes.txt"
    plain_file.write_text("x")
    with pytest.raises(InvalidInput):
        write_case_summaries([make_view()], plain_file / "day.pdf", settings=SETTINGS)
    with pytest.raises(InvalidInput):
        write_complication_log([], tmp_path, date_from=None, date_to=None, settings=SETTINGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_output_folder_is_invalid_input(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InvalidInput) as error:
            write_surgeon_log([], locked / "log.pdf", surgeon="X", date_from=None, date_to=None, settings=SETTINGS)
        assert "not writable" in error.value.message
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_folder_the_file_system_refuses_is_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.access can say yes where a read-only mount or an ACL says no; creating the file decides."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("caselog.files.tempfile.mkstemp", refuse)
    out = tmp_path / "log.pdf"
    with pytest.raises(InvalidInput) as error:
        write_complication_log([], out, date_from=None, date_to=None, settings=SETTINGS)
    assert str(out) in error.value.message
    assert list(tmp_path.iterdir()) == []


class _Explodes(Flowable):  # type: ignore[misc]
    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (10, 10)

    def draw(self) -> None:
        raise RuntimeError("disk full while drawing")


def test_a_failure_while_writing_leaves_no_half_written_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "day.pdf"
    out.write_bytes(b"%PDF previous good copy")
    real_story = summary_report.case_story

    def story_then_failure(*args: Any, **kwargs: Any) -> list[Flowable]:
        return [*real_story(*args, **kwargs), _Explodes()]

    monkeypatch.setattr(summary_report, "case_story", story_then_failure)
    with pytest.raises(RuntimeError):
        write_case_summaries([make_view(), long_view()], out, settings=SETTINGS)
    assert out.read_bytes() == b"%PDF previous good copy"
    assert [p.name for p in tmp_path.iterdir()] == ["day.pdf"]


def test_a_long_case_flows_over_pages_with_table_headers_repeated(tmp_path: Path) -> None:
    out = tmp_path / "long.pdf"
    view = long_view()
    write_case_summaries([view], out, settings=SETTINGS)
    texts = pages_text(out)
    assert len(texts) >= 3
    assert footers(texts) == [("Case 2025-00003", i, len(texts)) for i in range(1, len(texts) + 1)]
    whole = flat(" ".join(texts))
    for c in view.record.complications:
        assert vocab.COMPLICATION_CATEGORIES[c.category] in whole
    for lv in view.record.levels:
        assert lv.level in whole
    assert "Line 0:" in whole and "Line 19:" in whole
    # The complications table spans pages, and its header row is repeated on each of them.
    with_rows = [t for t in texts if "Event " in t]
    assert len(with_rows) >= 2
    assert all("Treatment" in t and "Resolved" in t for t in with_rows)
    # Every page still names the patient, so a loose sheet can be filed.
    assert all("Nguyễn, Thị Hồng" in t and "MRN-1001" in t for t in texts)


def test_all_twenty_four_levels_fit(tmp_path: Path) -> None:
    out = tmp_path / "all.pdf"
    every = [(level, "bilateral") for level in vocab.LEVELS]
    write_case_summaries([make_view(procedure="laminectomy", levels=every)], out, settings=SETTINGS)
    whole = flat(" ".join(pages_text(out)))
    assert all(level in whole for level in vocab.LEVELS)


def test_user_text_is_printed_literally_not_as_markup(tmp_path: Path) -> None:
    out = tmp_path / "markup.pdf"
    notes = "Pain <b>worse</b> & better\nSecond line <unclosed"
    write_case_summaries([make_view(notes=notes, indication="A < B & C > D")], out, settings=SETTINGS)
    text = " ".join(pages_text(out))
    assert "Pain <b>worse</b> & better" in text
    assert "Second line <unclosed" in text
    assert "A < B & C > D" in text


def test_notes_keep_their_line_breaks(tmp_path: Path) -> None:
    out = tmp_path / "lines.pdf"
    write_case_summaries([make_view(notes="First line\nSecond line")], out, settings=SETTINGS)
    assert re.search(r"First line\s*\n\s*Second line", pages_text(out)[-1])


def test_progress_is_reported_per_case(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    write_case_summaries(
        [make_view("2025-00001"), make_view("2025-00002")],
        tmp_path / "p.pdf",
        settings=SETTINGS,
        progress=lambda done, total, message: calls.append((done, total)),
    )
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_logo_is_drawn_and_a_bad_logo_is_refused_before_writing(tmp_path: Path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (31, 58, 95)).save(logo)
    out = tmp_path / "logo.pdf"
    write_case_summaries([make_view()], out, settings=ReportSettings(logo_path=logo))
    page = pypdf.PdfReader(out).pages[0]
    assert any(str(k).startswith("/") for k in page["/Resources"]["/XObject"])
    assert len(page.images) >= 1

    bad = tmp_path / "logo.txt"
    bad.write_text("not an image")
    for candidate in (bad, tmp_path / "missing.png"):
        target = tmp_path / f"bad-{candidate.name}.pdf"
        with pytest.raises(InvalidInput) as error:
            write_case_summaries([make_view()], target, settings=ReportSettings(logo_path=candidate))
        assert str(candidate) in error.value.message
        assert not target.exists()


def test_without_a_facility_name_the_case_facility_heads_the_page(tmp_path: Path) -> None:
    out = tmp_path / "default.pdf"
    write_case_summaries([make_view(facility="Hillside Clinic")], out, settings=ReportSettings())
    assert "Hillside Clinic" in pages_text(out)[0]
    assert ReportSettings().confidentiality.startswith("Confidential")


def test_spine_marks_treated_joints_on_their_side() -> None:
    marks = marked_joints(
        [TreatedLevel("L4-L5", "bilateral"), TreatedLevel("C5-C6", "left"), TreatedLevel("X", "left")]
    )
    assert [level for level, _, _ in marks] == ["L4-L5", "L4-L5", "C5-C6"]
    (_, left_x, y1), (_, right_x, y2), (_, cervical_x, cervical_y) = marks
    assert left_x < right_x and y1 == y2
    assert cervical_x < right_x and cervical_y > y1  # the neck is drawn above the low back


# ---------------------------------------------------------------- complication log


def quarter() -> list[CaseView]:
    """Six cases: laminectomy 1 of 2 with a complication, RFA 2 of 3, one block without any."""
    return [
        make_view("2025-00001", procedure="laminectomy", complications=[complication("dural_tear", "IIIb", "open")]),
        make_view("2025-00002", procedure="laminectomy"),
        make_view(
            "2025-00003",
            complications=[complication("hematoma", "I", "closed"), complication("numbness", "II", "under_review")],
        ),
        make_view("2025-00004", complications=[complication("wrong_level", "IIIa", "open")]),
        make_view("2025-00005"),
        make_view("2025-00006", procedure="medial_branch_block", levels=[("L3-L4", "left")]),
    ]


def test_complication_log_totals_rates_and_rows(tmp_path: Path) -> None:
    out = tmp_path / "complications.pdf"
    write_complication_log(
        quarter(), out, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 3, 31), settings=SETTINGS
    )
    texts = pages_text(out)
    text = flat(" ".join(texts))
    assert "Complication log" in text and "Procedures from 2025-01-01 to 2025-03-31" in text
    # Laminectomy 1/2 = 50.0%, Wilson 9.5% to 90.5%; RFA 2/3 = 66.7%, 20.8% to 93.9%; all 3/6.
    assert "Laminectomy (decompression) 2 1 50.0% 9.5% – 90.5%" in text
    assert "Radiofrequency ablation (facet medial branch) 3 2 66.7% 20.8% – 93.9%" in text
    assert "Medial branch block (diagnostic) 1 0 0.0% 0.0% – 79.3%" in text
    assert "All procedures 6 3 50.0% 18.8% – 81.2%" in text
    # By grade: one complication each at I, II, IIIa, IIIb.
    assert "IIIb Intervention under general anesthesia 1 25.0% 1 16.7%" in text
    assert "IVa Single-organ dysfunction needing intensive care 0" in text
    for number, label in [("2025-00001", "Dural tear / CSF leak"), ("2025-00003", "Hematoma"),
                          ("2025-00003", "New numbness or sensory loss"),
                          ("2025-00004", "Wrong-level or wrong-site procedure")]:  # fmt: skip
        assert number in text and label in text
    assert "2 reviews open" in text
    assert "2025-00005" not in text  # cases without complications count in rates, not in the event list
    assert footers(texts)[-1] == ("Complication log", len(texts), len(texts))
    assert pypdf.PdfReader(out).metadata.title == "CaseLog complication log"


def test_open_reviews_stand_out(tmp_path: Path) -> None:
    events = complication_report.events_of(quarter())
    flowables = complication_report._event_table(events, 700)
    table = flowables[-1]
    open_rows = {i for i, e in enumerate(events) if e.review_status == "open"}
    highlighted = {i for i, commands in table.row_styles.items() if any(cmd[0] == "BACKGROUND" for cmd in commands)}
    assert open_rows == highlighted == {0, 3}


def test_complication_log_of_an_empty_range_says_so(tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    write_complication_log([], out, date_from=dt.date(2030, 1, 1), date_to=dt.date(2030, 3, 31), settings=SETTINGS)
    texts = pages_text(out)
    assert len(texts) == 1
    assert "No cases were logged in this range" in flat(texts[0])


def test_complication_log_without_complications_still_gives_rates(tmp_path: Path) -> None:
    out = tmp_path / "clean.pdf"
    write_complication_log([make_view()], out, date_from=None, date_to=None, settings=SETTINGS)
    text = flat(" ".join(pages_text(out)))
    assert "All procedure dates" in text and "No complications recorded in this range" in text
    assert "All procedures 1 0 0.0%" in text


def test_a_long_complication_log_repeats_its_header_on_every_page(tmp_path: Path) -> None:
    cases = [
        make_view(f"2025-{i:05d}", complications=[complication("hematoma", "I", "open" if i % 5 == 0 else "closed")])
        for i in range(1, 301)
    ]
    out = tmp_path / "many.pdf"
    write_complication_log(cases, out, date_from=None, date_to=None, settings=SETTINGS)
    texts = pages_text(out)
    assert len(texts) > 5
    assert [page for _, page, _ in footers(texts)] == list(range(1, len(texts) + 1))
    event_pages = [t for t in texts if "2025-00" in t]
    assert all("Grade" in t and "Review" in t for t in event_pages)
    listed = re.findall(r"2025-\d{5}", " ".join(event_pages))
    assert sorted(set(listed)) == [f"2025-{i:05d}" for i in range(1, 301)]


# ---------------------------------------------------------------- surgeon case log


def test_surgeon_log_totals_and_one_line_per_case(tmp_path: Path) -> None:
    cases = [
        make_view("2025-00002", mrn="A-2", procedure="laminectomy", levels=[("L4-L5", "bilateral")],
                  cpt_codes=("63047",), procedure_date=dt.date(2025, 2, 1)),
        make_view("2025-00001", mrn="A-1", complications=[complication("hematoma", "II")],
                  procedure_date=dt.date(2025, 1, 15)),
        make_view("2025-00003", mrn="A-3", status="draft", levels=[("L3-L4", "left"), ("L4-L5", "left"),
                                                                   ("L5-S1", "left")], cpt_codes=()),
    ]  # fmt: skip
    out = tmp_path / "surgeon.pdf"
    write_surgeon_log(
        cases, out, surgeon="Dr. Amara Okafor", date_from=dt.date(2025, 1, 1), date_to=None, settings=SETTINGS
    )
    texts = pages_text(out)
    text = flat(" ".join(texts))
    assert "Surgeon case log" in text and "Surgeon: Dr. Amara Okafor" in text
    assert "Procedures from 2025-01-01 onwards" in text
    assert "3 cases, 6 levels treated" in text and "1 not yet signed" in text
    assert "Radiofrequency ablation (facet medial branch) 2 5 66.7%" in text
    assert "Laminectomy (decompression) 1 1 33.3%" in text
    assert "All procedures 3 6 100.0%" in text
    # By number of levels: 1 -> 1 case, 2 -> 1, 3 -> 1; by CPT code, including cases without one.
    assert "1 1 33.3%" in text and "3 1 33.3%" in text
    assert "64635 1 33.3%" in text and "63047 1 33.3%" in text and "(none recorded) 1 33.3%" in text
    # One line per case, in date order, with MRN, levels and sides and complications.
    assert text.index("2025-00001") < text.index("2025-00002") < text.index("2025-00003")
    assert "2025-01-15 2025-00001 A-1" in text
    assert "L3-L4 left; L4-L5 left; L5-S1 left" in text
    assert "Hematoma (II)" in text and "Draft" in text
    assert "Nguyễn" not in text  # credentialing logs identify patients by MRN only
    assert footers(texts)[0] == ("Surgeon case log", 1, len(texts))


def test_surgeon_log_of_an_empty_range_says_so(tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    write_surgeon_log([], out, surgeon="Dr. Lee", date_from=None, date_to=dt.date(2025, 1, 31), settings=SETTINGS)
    texts = pages_text(out)
    assert len(texts) == 1
    assert "No cases were logged for Dr. Lee in this range" in flat(texts[0])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# ---------------------------------------------------------------- resources and the no-Qt rule


def test_resources_are_found_next_to_the_package() -> None:
    assert (resources_dir() / "fonts" / "LICENSE-DejaVu.txt").is_file()
    assert resource_path("fonts", "DejaVuSans.ttf").stat().st_size > 100_000


def test_a_wrong_resources_override_is_reported_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(ResourceMissing) as error:
        resources_dir()
    assert str(tmp_path / "nowhere") in error.value.message
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(ResourceMissing) as missing:
        resource_path("fonts", "DejaVuSans.ttf")
    assert "DejaVuSans.ttf" in missing.value.message


def test_reports_never_load_qt(tmp_path: Path) -> None:
    script = (
        "import sys, datetime as dt\n"
        "from pathlib import Path\n"
        "from caselog.reports import ReportSettings, write_complication_log\n"
        f"write_complication_log([], Path({str(tmp_path / 'q.pdf')!r}), date_from=None, date_to=None,"
        " settings=ReportSettings())\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a4_paper_and_unknown_paper(tmp_path: Path) -> None:
    out = tmp_path / "a4.pdf"
    write_case_summaries([make_view()], out, settings=ReportSettings(paper="A4"))
    width, height = (float(v) for v in pypdf.PdfReader(out).pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)
    with pytest.raises(InvalidInput):
        write_case_summaries([make_view()], tmp_path / "x.pdf", settings=ReportSettings(paper="legal-ish"))
    assert not (tmp_path / "x.pdf").exists()
