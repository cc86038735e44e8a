"""Patient identification on paper: every page names the patient in full, in any script (issue 10).

Read back with pypdf: text per page, and which embedded font each run of text was drawn in.
"""

from __future__ import annotations

import dataclasses
import itertools
import unicodedata
from pathlib import Path
from typing import Any

import pypdf
import pytest

from caselog.reports import scripts, write_case_summaries, write_complication_log, write_surgeon_log
from caselog.reports.page import Context, header_layout
from tests.test_reports import GENERATED, SETTINGS, complication, flat, long_view, make_view, pages_text

LONG_FAMILY = "Featherstonehaugh-Cholmondeley-Wolfeschlegelsteinhausenberger Montgomery-Ashworth"
LONG_GIVEN = "Alexandrina Victoria Josephine Anne"
LONG_NAME = f"{LONG_FAMILY}, {LONG_GIVEN}"


def squeezed(value: str) -> str:
    """Text without any whitespace: a name wrapped over lines reads back with line breaks in it."""
    return "".join(value.split())


def test_a_115_character_name_leaves_mrn_and_birth_date_on_every_page(tmp_path: Path) -> None:
    assert len(LONG_NAME) >= 115
    view = long_view()
    patient = dataclasses.replace(
        view.record.patient, mrn="MRN-77-0042", family_name=LONG_FAMILY, given_name=LONG_GIVEN
    )
    view = dataclasses.replace(view, record=dataclasses.replace(view.record, patient=patient))
    out = tmp_path / "long-name.pdf"
    write_case_summaries([view], out, settings=SETTINGS, generated_at=GENERATED)
    texts = pages_text(out)
    assert len(texts) >= 2
    for text in texts:
        assert squeezed(LONG_NAME) in squeezed(text)
        assert "MRN MRN-77-0042" in text
        assert "born 1961-04-12" in text


def _overlaps(a: Any, b: Any) -> bool:
    """Whether two placed header lines' boxes (baseline to cap height) intersect."""
    a_box = (a.x, a.y - 0.25 * a.size, a.x + a.width, a.y + 0.8 * a.size)
    b_box = (b.x, b.y - 0.25 * b.size, b.x + b.width, b.y + 0.8 * b.size)
    return a_box[0] < b_box[2] and b_box[0] < a_box[2] and a_box[1] < b_box[3] and b_box[1] < a_box[3]


@pytest.mark.parametrize(
    ("name", "facility", "reference"),
    [
        (LONG_NAME, "Riverside Spine Center", "Case 2025-00001"),
        (
            "W" * 100 + ", " + "M" * 100,
            "RiversideSpineAndPainCenterOfTheGreaterMetropolitanAreaNorthCampus",
            "Case 2025-00001",
        ),
        ("Nguyễn, Thị Hồng", "Clinic " * 30, "Surgeon " + "Okafor-" * 40),
        ("العلي, محمد", "東京脊椎クリニック", "Case 2025-00002"),
    ],
)
def test_header_lines_stay_inside_the_page_and_never_overlap(name: str, facility: str, reference: str) -> None:
    context = Context(
        group="g", title="Case summary", facility=facility, reference=reference, badge="SIGNED",
        patient=name, identifiers="MRN 123456789012  ·  born 1961-04-12  ·  procedure 2025-03-14",
    )  # fmt: skip
    left, right, top = 36.0, 576.0, 756.0
    placed = header_layout(context, left, right, top)
    badge = type(placed[0])("SIGNED", "b", 15, right - 60, top - 34, 60)  # the badge's box under the reference
    for item in placed:
        assert left - 0.01 <= item.x and item.x + item.width <= right + 0.01, item
        assert item.size >= 8, item
    for a, b in itertools.combinations([*placed, badge], 2):
        assert not _overlaps(a, b), (a, b)
    printed = squeezed("".join(p.text for p in placed if p.font == scripts.FONT_BOLD and p.y < top - 42))
    assert printed == squeezed(scripts.visual(scripts.joined(name))) or len(scripts.wrap(name, 1e6, 8)) == 1


# ---------------------------------------------------------------- names in any script

NAMES = {
    "arabic": ("العلي", "محمد"),
    "hebrew": ("כהן", "שרה"),
    "chinese": ("王", "小明"),
    "japanese": ("山田", "太郎"),
    "korean": ("김", "민준"),
}
EXPECTED_FONT = {
    "arabic": "NotoSansArabic",
    "hebrew": "NotoSansHebrew",
    "chinese": "DroidSansFallback",
    "japanese": "DroidSansFallback",
    "korean": "NanumGothic",
}


class _Runs:
    """Collects (text, font base name) for every text operation pypdf's visitor reports on a page."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str, float]] = []

    def __call__(self, text: str, cm: Any, tm: Any, font_dict: Any, font_size: float) -> None:
        if text.strip() and font_dict is not None:
            base = str(font_dict.get("/BaseFont", "")).split("+")[-1]
            self.found.append((text, base, font_size * abs(tm[0] or tm[3] or 1) * abs(cm[0] or 1)))


def runs_of(path: Path) -> list[tuple[str, str, float]]:
    collector = _Runs()
    for page in pypdf.PdfReader(path).pages:
        page.extract_text(visitor_text=collector)
    return collector.found


def _embedded_fonts(path: Path) -> dict[str, Any]:
    fonts: dict[str, Any] = {}
    for page in pypdf.PdfReader(path).pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            font = ref.get_object()
            fonts[str(font["/BaseFont"]).split("+")[-1]] = font
    return fonts


@pytest.mark.parametrize("script", list(NAMES))
def test_names_in_any_script_print_in_a_font_that_has_their_letters(tmp_path: Path, script: str) -> None:
    family, given = NAMES[script]
    view = make_view(family=family, given=given, surgeon=f"Dr. {family} {given}", notes=f"Seen with {given} {family}.")
    out = tmp_path / f"{script}.pdf"
    write_case_summaries([view], out, settings=SETTINGS, generated_at=GENERATED)
    fonts = _embedded_fonts(out)
    assert any(name.startswith(EXPECTED_FONT[script]) for name in fonts), fonts
    for name, font in fonts.items():
        assert "/FontFile2" in font["/FontDescriptor"].get_object(), name  # embedded TrueType, not substituted
    # Every letter of the name is drawn in the script's font, and that font has a glyph for it (no empty box).
    drawn: dict[str, set[str]] = {}
    for text, base, _ in runs_of(out):
        for ch in unicodedata.normalize("NFKC", text):  # pypdf reads joined Arabic forms back as plain letters
            drawn.setdefault(ch, set()).add(base)
    for ch in family + given:
        assert drawn.get(ch), f"{ch!r} not printed"
        assert all(b.startswith(EXPECTED_FONT[script]) for b in drawn[ch]), (ch, drawn[ch])
    font = scripts.script_font(family[0])
    scripts.register_fallback(font)
    assert scripts.covers(font, scripts.joined(f"{family} {given}").replace(" ", ""))


@pytest.mark.parametrize("script", ["arabic", "hebrew"])
def test_right_to_left_names_read_back_in_reading_order(tmp_path: Path, script: str) -> None:
    """Printed right to left: the family name (first in "Family, Given") on the right, the given name left of it.

    pypdf reads a right-to-left text run back in logical order: the Arabic name is one run ("Family, Given"
    read back whole); the Hebrew one is two runs around the comma (DejaVu's), read back left to right.
    """
    family, given = NAMES[script]
    out = tmp_path / f"{script}.pdf"
    write_case_summaries([make_view(family=family, given=given)], out, settings=SETTINGS, generated_at=GENERATED)
    drawn = [
        unicodedata.normalize("NFKC", text).strip(" ,\n")
        for text, base, _ in runs_of(out)
        if base.startswith(EXPECTED_FONT[script])
    ]
    if script == "arabic":
        assert drawn[0] == f"{family}, {given}"
    else:
        assert drawn[:2] == [given, family]
    assert scripts.visual(f"{family}, {given}") == f"{given[::-1]} ,{family[::-1]}"


def test_arabic_letters_are_joined() -> None:
    """محمد printed in its joined forms (initial, medial, final), not four isolated letters."""
    shaped = scripts.joined("محمد")
    assert shaped != "محمد"
    assert all(0xFE70 <= ord(ch) <= 0xFEFF for ch in shaped)
    assert unicodedata.normalize("NFKC", shaped) == "محمد"


def test_the_logs_print_surgeons_and_details_in_any_script(tmp_path: Path) -> None:
    surgeon = "김민준"
    views = [
        make_view("2025-00001", surgeon=surgeon, procedure_detail="王小明 protocol", complications=[
            complication(description="כהן: بعد العملية")]),
        make_view("2025-00002", surgeon=surgeon),
    ]  # fmt: skip
    log = tmp_path / "surgeon.pdf"
    write_surgeon_log(views, log, surgeon=surgeon, date_from=None, date_to=None, settings=SETTINGS,
                      generated_at=GENERATED)  # fmt: skip
    fonts = {base for _, base, _ in runs_of(log)}
    assert {"NanumGothic", "DroidSansFallback"} <= {f.split("-")[0] for f in fonts}, fonts
    comp = tmp_path / "complications.pdf"
    write_complication_log(views, comp, date_from=None, date_to=None, settings=SETTINGS, generated_at=GENERATED)
    fonts = {base.split("-")[0] for _, base, _ in runs_of(comp)}
    assert {"NotoSansHebrew", "NotoSansArabic", "DroidSansFallback"} <= fonts, fonts
    assert "כהן" in flat(pages_text(comp)[0])
