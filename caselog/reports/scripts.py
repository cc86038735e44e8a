"""Names in any script on paper: a font per text run, Arabic letters joined, right-to-left text in reading order.

DejaVu Sans prints Latin, Greek, Cyrillic and Vietnamese; text in Arabic, Hebrew, Chinese, Japanese or
Korean gets a run in a font that has those letters (Noto Sans Arabic, Noto Sans Hebrew, Droid Sans
Fallback, NanumGothic), registered only when a PDF first needs it. reportlab lays out glyphs left to
right without shaping, so Arabic is first joined with arabic-reshaper (contextual letter forms) and
each line is then put into visual order with python-bidi (the Unicode bidirectional algorithm).
Both happen per line, after wrapping, as the bidi algorithm prescribes.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from caselog.resources import resource_path

FONT = "CaseLogSans"
FONT_BOLD = "CaseLogSans-Bold"
ARABIC = "CaseLogArabic"
HEBREW = "CaseLogHebrew"
CJK = "CaseLogCJK"
HANGUL = "CaseLogHangul"

#: The font files behind the fallback fonts (each ships with its licence in resources/fonts).
FALLBACK_FILES: dict[str, str] = {
    ARABIC: "NotoSansArabic-Regular.ttf",
    HEBREW: "NotoSansHebrew-Regular.ttf",
    CJK: "DroidSansFallbackFull.ttf",
    HANGUL: "NanumGothic.ttf",
}

# Code point ranges (first, last) that go to a fallback font; everything else prints in DejaVu Sans.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0590, 0x05FF, HEBREW),
    (0x0600, 0x06FF, ARABIC),
    (0x0750, 0x077F, ARABIC),
    (0x08A0, 0x08FF, ARABIC),
    (0x1100, 0x11FF, HANGUL),
    (0x2E80, 0x2FDF, CJK),
    (0x3000, 0x303F, CJK),
    (0x3040, 0x30FF, CJK),
    (0x3130, 0x318F, HANGUL),
    (0x31F0, 0x31FF, CJK),
    (0x3400, 0x4DBF, CJK),
    (0x4E00, 0x9FFF, CJK),
    (0xA960, 0xA97F, HANGUL),
    (0xAC00, 0xD7FF, HANGUL),
    (0xF900, 0xFAFF, CJK),
    (0xFB1D, 0xFB4F, HEBREW),
    (0xFB50, 0xFDFF, ARABIC),
    (0xFE70, 0xFEFF, ARABIC),
    (0xFF00, 0xFFEF, CJK),
    (0x20000, 0x2FFFF, CJK),
)
_STARTS = [first for first, _, _ in _RANGES]
_RTL_CLASSES = frozenset({"R", "AL"})


def script_font(char: str, base: str = FONT) -> str:
    """The font that prints `char`: a fallback font for the scripts DejaVu Sans lacks, else `base`."""
    code = ord(char)
    if code < 0x0590:
        return base
    index = bisect_right(_STARTS, code) - 1
    if index >= 0 and code <= _RANGES[index][1]:
        return _RANGES[index][2]
    return base


@cache
def register_fallback(name: str) -> None:
    """Register one fallback font on first use (loading all four would cost every PDF ~0.2 s).

    Bold maps to the same face: these fonts ship in one weight, and a name in bold Arabic still prints.
    """
    pdfmetrics.registerFont(TTFont(name, str(resource_path("fonts", FALLBACK_FILES[name]))))
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)


def needs_help(value: str) -> bool:
    """Whether `value` has any character outside DejaVu's scripts (the common case answers this fast)."""
    return any(ord(ch) >= 0x0590 and script_font(ch) != FONT for ch in value)


def has_rtl(value: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in value)


def joined(value: str) -> str:
    """Arabic letters in their joined (contextual) forms; other text unchanged. Logical order kept."""
    if not any(0x0600 <= ord(ch) <= 0x08FF for ch in value):
        return value
    return str(arabic_reshaper.reshape(value))


def visual(line: str) -> str:
    """One line in the order it is printed left to right: right-to-left runs reversed, numbers kept."""
    if not has_rtl(line):
        return line
    return str(get_display(line))


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    font: str


def runs(line: str, base: str = FONT) -> list[Run]:
    """`line` (already joined and in visual order) cut into runs of one font each.

    Spaces and punctuation stay in the run they sit in when that font has them, so a name is one run.
    """
    out: list[Run] = []
    current = ""
    current_font = base
    for ch in line:
        font = script_font(ch, base)
        if font == base and current_font != base and ch in _NEUTRAL and ord(ch) in _cmap(current_font):
            font = current_font
        elif font in FALLBACK_FILES:
            register_fallback(font)
        if font != current_font and current:
            out.append(Run(current, current_font))
            current = ""
        current_font = font
        current += ch
    if current:
        out.append(Run(current, current_font))
    return out


_NEUTRAL = frozenset(" -.,'()/")


@cache
def _cmap(font: str) -> frozenset[int]:
    """The code points `font` has glyphs for."""
    return frozenset(pdfmetrics.getFont(font).face.charToGlyph)


def covers(font: str, value: str) -> bool:
    """Whether `font` has a glyph for every character of `value` (no empty boxes)."""
    return all(ord(ch) in _cmap(font) for ch in value)


def line_width(line: str, size: float, base: str = FONT) -> float:
    return float(sum(pdfmetrics.stringWidth(r.text, r.font, size) for r in runs(line, base)))


def markup_line(line: str, base: str = FONT) -> str:
    """Paragraph markup for one logical line of user text: joined, in visual order, a <font> per fallback run."""
    prepared = visual(joined(line))
    return "".join(
        escape(r.text) if r.font == base else f'<font name="{r.font}">{escape(r.text)}</font>'
        for r in runs(prepared, base)
    )


def wrap(value: str, width: float, size: float, base: str = FONT) -> list[str]:
    """`value` (one line of logical text) broken into printed lines no wider than `width`, each in visual order.

    Breaks at spaces; a word wider than a line (CJK has no spaces) breaks between characters.
    """
    words = joined(value).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if line_width(candidate, size, base) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for piece in _pieces(word, width, size, base):
            if current:
                lines.append(current)
            current = piece
    if current or not lines:
        lines.append(current)
    return [visual(line) for line in lines]


def _pieces(word: str, width: float, size: float, base: str) -> Iterator[str]:
    piece = ""
    for ch in word:
        if piece and line_width(piece + ch, size, base) > width:
            yield piece
            piece = ""
        piece += ch
    yield piece


def draw_line(canvas: Canvas, x: float, y: float, line: str, size: float, base: str = FONT) -> float:
    """Draw one printed line (visual order) at x, changing font per run; returns its width."""
    start = x
    for run in runs(line, base):
        canvas.setFont(run.font, size)
        canvas.drawString(x, y, run.text)
        x += pdfmetrics.stringWidth(run.text, run.font, size)
    return x - start
