"""What every CaseLog PDF shares: settings, the embedded Unicode font, paragraph styles, tables and text helpers."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import CondPageBreak, Flowable, HRFlowable, Paragraph, Table, TableStyle

from caselog.reports import scripts
from caselog.reports.rowtable import RowTable
from caselog.reports.scripts import FONT as FONT
from caselog.reports.scripts import FONT_BOLD as FONT_BOLD
from caselog.resources import resource_path

DEFAULT_CONFIDENTIALITY = (
    "Confidential: contains protected health information. Use only for patient care and quality review; "
    "store and dispose of according to facility policy."
)


NAVY = colors.HexColor("#1F3A5F")
INK = colors.HexColor("#1B1B1B")
MUTED = colors.HexColor("#5A6472")
RULE = colors.HexColor("#B4BCC8")
STRIPE = colors.HexColor("#F2F4F7")
HEADER_FILL = colors.HexColor("#DCE3EC")
ALERT = colors.HexColor("#B3261E")
ALERT_FILL = colors.HexColor("#FBE3E1")
OK_GREEN = colors.HexColor("#1E7B3A")
AMBER = colors.HexColor("#A15C00")

if TYPE_CHECKING:
    from caselog.settings import Settings

BLANK = "—"

PAPER_SIZES: dict[str, tuple[float, float]] = {"letter": LETTER, "a4": A4}
MARGIN = 36.0  # every page's margin on each side, in points


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """How a facility brands its PDFs; one value for every report, passed in by the CLI or the desktop app.

    `facility_name` heads every page (a case summary falls back to the case's own facility, then to
    "CaseLog"); `logo_path` is a PNG or JPEG drawn beside it; `paper` is "letter" or "a4".
    """

    facility_name: str | None = None
    logo_path: Path | None = None
    confidentiality: str = DEFAULT_CONFIDENTIALITY
    paper: str = "letter"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportSettings:
        """The facility's branding as the settings file holds it (shared by the CLI and the desktop app)."""
        return cls(
            facility_name=settings.facility_name or None,
            logo_path=Path(settings.logo_path) if settings.logo_path else None,
            paper=settings.paper or "letter",
        )


@cache
def register_fonts() -> None:
    """Register DejaVu Sans (regular and bold) once per process; reportlab embeds the glyphs it uses."""
    pdfmetrics.registerFont(TTFont(FONT, str(resource_path("fonts", "DejaVuSans.ttf"))))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(resource_path("fonts", "DejaVuSans-Bold.ttf"))))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def text(value: str | None) -> str:
    """User text made safe for Paragraph markup: NFC (so Vietnamese marks sit on one glyph), escaped, newlines kept.

    Text in a script DejaVu Sans lacks gets its own font per run, Arabic joined, right-to-left lines in
    reading order (see `scripts`).
    """
    if value is None or value == "":
        return BLANK
    normalised = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\t", "    ")
    if scripts.needs_help(normalised) or scripts.has_rtl(normalised):
        return "<br/>".join(scripts.markup_line(line) for line in normalised.split("\n"))
    return escape(normalised).replace("\n", "<br/>")


def plain(value: str | None) -> str:
    """User text for canvas strings and table cells that are not Paragraphs (no markup, one line)."""
    if value is None or value == "":
        return BLANK
    return " ".join(unicodedata.normalize("NFC", value).split())


def wrap_lines(
    value: str | None, width: float, font: str = FONT, size: float = 8, *, max_lines: int = 8
) -> str | RunLines:
    """Plain text broken into lines that fit `width`, for table cells that are strings, not Paragraphs.

    A string cell costs a fraction of a Paragraph to measure and draw, which decides how fast a log of
    thousands of rows prints; the table takes "\n" as a line break. Past `max_lines` the text is cut
    with "…" so that no single row can outgrow a page (the case summary has the full text).
    Text in a script DejaVu Sans lacks (or right-to-left) becomes a `RunLines` cell instead.
    """
    flat = plain(value)
    if scripts.needs_help(flat) or scripts.has_rtl(flat):
        lines = scripts.wrap(flat, width, size, font)
        if len(lines) > max_lines:
            lines = [*lines[: max_lines - 1], lines[max_lines - 1].rstrip() + " …"]
        return RunLines(lines, font, size)
    lines = [part for line in simpleSplit(flat, font, size, width) for part in _break_long(line, width, font, size)]
    if len(lines) > max_lines:
        last = lines[max_lines - 1].rstrip()
        while last and pdfmetrics.stringWidth(last + " …", font, size) > width:  # a letter with its accents
            cut = len(last) - 1
            while cut > 0 and unicodedata.combining(last[cut]):
                cut -= 1
            last = last[:cut].rstrip()
        lines = [*lines[: max_lines - 1], last + " …"]
    return "\n".join(lines) or BLANK


def _break_long(line: str, width: float, font: str, size: float) -> list[str]:
    """A line wider than `width` (a word with no space to break at: a long name, an MRN) in pieces that fit,
    broken between letters, never between a letter and its accents (combining marks stay with it)."""
    if pdfmetrics.stringWidth(line, font, size) <= width:
        return [line]
    pieces: list[str] = []
    current = ""
    for char in line:
        if current and not unicodedata.combining(char) and pdfmetrics.stringWidth(current + char, font, size) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


class RunLines(Flowable):  # type: ignore[misc]
    """Printed lines (visual order) drawn run by run in their fonts: a table cell for text in any script.

    Takes the cell's text colour; `lines` is what `rowtable.row_height` counts.
    """

    def __init__(self, lines: Sequence[str], font: str = FONT, size: float = 8, leading: float = 10) -> None:
        super().__init__()
        self.lines = list(lines)
        self.font = font
        self.size = size
        self.leading = leading

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        width = max((scripts.line_width(line, self.size, self.font) for line in self.lines), default=0.0)
        return (width, self.leading * len(self.lines))

    def draw(self) -> None:
        top = self.leading * len(self.lines) - self.size  # the first baseline, where a string cell has it
        for index, line in enumerate(self.lines):
            scripts.draw_line(self.canv, 0, top - self.leading * index, line, self.size, self.font)


def fmt_date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else BLANK


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return BLANK
    stamp = value.strftime("%Y-%m-%d %H:%M")
    return f"{stamp} {value.tzname()}" if value.tzinfo is not None else stamp


def fmt_time(value: dt.datetime | None) -> str:
    return value.strftime("%H:%M") if value is not None else BLANK


def fmt_duration(minutes: int) -> str:
    """`45 min`, `1 h 05 min`: what an OR board shows."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def fmt_percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def fmt_range(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """The date range a log covers, in words a reader cannot misread."""
    if date_from and date_to:
        return f"Procedures from {date_from.isoformat()} to {date_to.isoformat()}"
    if date_from:
        return f"Procedures from {date_from.isoformat()} onwards"
    if date_to:
        return f"Procedures up to {date_to.isoformat()}"
    return "All procedure dates"


def short_range(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """The range for a page header's corner: `2024-01-01 – 2024-03-31`, open ends as `…`."""
    if not (date_from or date_to):
        return "All dates"
    start = date_from.isoformat() if date_from else "…"
    end = date_to.isoformat() if date_to else "…"
    return f"{start} – {end}"


def frame_width(settings: ReportSettings, *, landscape: bool = False) -> float:
    """The width the story can use on the settings' paper (the page margins are fixed)."""
    width, height = PAPER_SIZES.get(settings.paper.lower(), PAPER_SIZES["letter"])
    return float(height if landscape else width) - 2 * MARGIN


def column_widths(total: float, fixed: Mapping[int, float], shares: Mapping[int, float]) -> list[float]:
    """A table's column widths: the `fixed` ones in points, the others share what is left by their `shares`."""
    flexible = total - sum(fixed.values())
    return [fixed[i] if i in fixed else flexible * shares[i] for i in range(len(fixed) + len(shares))]


def _style(name: str, **kwargs: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": FONT, "fontSize": 9, "leading": 11.5, "textColor": INK, "alignment": TA_LEFT}
    base.update(kwargs)
    return ParagraphStyle(name, **base)


@dataclass(frozen=True, slots=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    label: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_alert: ParagraphStyle
    head_cell: ParagraphStyle
    head_cell_right: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    notice: ParagraphStyle


@cache
def styles() -> Styles:
    register_fonts()
    return Styles(
        body=_style("body"),
        small=_style("small", fontSize=8, leading=10),
        muted=_style("muted", fontSize=8, leading=10, textColor=MUTED),
        label=_style("label", fontName=FONT_BOLD, fontSize=8, leading=10, textColor=MUTED),
        cell=_style("cell", fontSize=8, leading=10),
        cell_bold=_style("cell_bold", fontName=FONT_BOLD, fontSize=8, leading=10),
        cell_alert=_style("cell_alert", fontName=FONT_BOLD, fontSize=8, leading=10, textColor=ALERT),
        head_cell=_style("head_cell", fontName=FONT_BOLD, fontSize=8, leading=9.5, textColor=NAVY),
        head_cell_right=_style(
            "head_cell_right", fontName=FONT_BOLD, fontSize=8, leading=9.5, textColor=NAVY, alignment=TA_RIGHT
        ),
        heading=_style(
            "heading", fontName=FONT_BOLD, fontSize=10.5, leading=13, textColor=NAVY, spaceBefore=5, spaceAfter=1
        ),
        title=_style("title", fontName=FONT_BOLD, fontSize=13, leading=16, textColor=NAVY, spaceAfter=4),
        notice=_style("notice", fontSize=10, leading=13, textColor=INK, spaceBefore=12),
    )


def section(title: str, *, room: float = 90) -> list[Flowable]:
    """A section heading with a rule under it, moved to the next page unless `room` points follow it.

    CondPageBreak rather than keepWithNext: keepWithNext wraps the heading and a long table into one
    KeepTogether, which pushes the whole table to the next page and leaves a hole behind it.
    """
    return [CondPageBreak(room), *heading(title)]


def heading(title: str) -> list[Flowable]:
    """A section heading and its rule, without the page-break check (for use inside a table cell)."""
    rule = HRFlowable(width="100%", thickness=0.75, color=NAVY, spaceBefore=0, spaceAfter=4)
    return [Paragraph(escape(title), styles().heading), rule]


def para(markup: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A Paragraph from markup that is already escaped (see `text`)."""
    return Paragraph(markup, style or styles().cell)


def field_grid(pairs: Sequence[tuple[str, str]], width: float, *, columns: int = 2) -> Table:
    """Label/value pairs in `columns` side-by-side columns; values are escaped markup. A pair whose label
    starts with "*" takes the full width (indication, notes-like text)."""
    st = styles()
    label_w = 27 * 4.0 if columns == 2 else 30 * 4.0
    value_w = width / columns - label_w
    rows: list[list[Any]] = []
    spans: list[tuple[int, int]] = []
    current: list[Any] = []
    for raw_label, value in pairs:
        full = raw_label.startswith("*")
        label = raw_label.lstrip("*")
        cells = [wrap_lines(label, label_w - 6, FONT_BOLD, st.label.fontSize), para(value, st.body)]
        if full:
            if current:
                rows.append(current + [""] * (2 * columns - len(current)))
                current = []
            spans.append((len(rows), 2 * columns - 1))
            rows.append(cells + [""] * (2 * columns - 2))
            continue
        current.extend(cells)
        if len(current) == 2 * columns:
            rows.append(current)
            current = []
    if current:
        rows.append(current + [""] * (2 * columns - len(current)))
    table = Table(rows, colWidths=[label_w, value_w] * columns, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8, 10),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TEXTCOLOR", (0, 0), (-1, -1), MUTED),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    commands += [
        ("FONT", (col, 0), (col, -1), FONT_BOLD, st.label.fontSize, st.label.leading)
        for col in range(0, 2 * columns, 2)
    ]
    commands += [("SPAN", (1, row), (last, row)) for row, last in spans]
    table.setStyle(TableStyle(commands))
    return table


def _table_commands(numeric: Sequence[int]) -> list[tuple[Any, ...]]:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8, 10),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, NAVY),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE]),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    commands += [("ALIGN", (col, 1), (col, -1), "RIGHT") for col in numeric]
    return commands


def _header_cells(header: Sequence[str], numeric: Sequence[int]) -> list[Paragraph]:
    st = styles()
    return [para(text(h), st.head_cell_right if i in numeric else st.head_cell) for i, h in enumerate(header)]


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    col_widths: Sequence[float],
    *,
    extra: Sequence[tuple[Any, ...]] = (),
    numeric: Sequence[int] = (),
) -> Table:
    """A ruled data table whose header row repeats on every page it flows onto ("\n" breaks a header).

    Cells may be Paragraphs (wrapping, markup) or plain strings; `numeric` columns are right-aligned,
    header included. For logs of thousands of rows use `row_table`.
    """
    table = Table([_header_cells(header, numeric), *[list(r) for r in rows]], colWidths=list(col_widths),
                  repeatRows=1, hAlign="LEFT")  # fmt: skip
    table.setStyle(TableStyle([*_table_commands(numeric), *extra]))
    return table


def row_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    col_widths: Sequence[float],
    *,
    row_styles: Mapping[int, Sequence[tuple[Any, ...]]] | None = None,
    numeric: Sequence[int] = (),
) -> RowTable:
    """Like `grid_table` for plain-text rows (pre-wrapped with `wrap_lines`), splitting in linear time.

    `row_styles[i]` are commands for data row i written for row 0, e.g. `("FONT", (0, 0), (-1, 0), ...)`.
    """
    return RowTable(_header_cells(header, numeric), rows, col_widths, style=_table_commands(numeric),
                    row_styles=row_styles)  # fmt: skip
