"""The page around every CaseLog PDF: header with facility and status, DRAFT watermark, footer with "Page X of Y".

A report is a list of flowables; a zero-size `PageContext` marker placed in that list says what the
pages from there on belong to (which case, which status). Decoration is drawn when a page ends, so
the marker at the top of a case's first page already applies to that page; page numbers are drawn
when the whole document is saved, once each group's page count is known.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from caselog.errors import InvalidInput
from caselog.reports import scripts
from caselog.reports.common import (
    ALERT,
    AMBER,
    FONT,
    FONT_BOLD,
    MARGIN,
    MUTED,
    NAVY,
    OK_GREEN,
    PAPER_SIZES,
    RULE,
    ReportSettings,
    fmt_datetime,
    frame_width,
    plain,
    register_fonts,
)
from caselog.reports.output import check_output, write_atomically

HEADER_H = 64.0
RULE_DROP = 42.0  # from the top of the header area to its rule
IDENT_SIZE = 8.5
IDENT_LEADING = 11.0
FOOTER_H = 36.0
FOOTER_RULE_Y = MARGIN + FOOTER_H - 8
FOOTER_BASELINE = FOOTER_RULE_Y - 10

Logo = tuple[ImageReader, tuple[int, int]]

BADGE_COLOURS: dict[str, Color] = {"DRAFT": ALERT, "SIGNED": OK_GREEN, "AMENDED": AMBER}


@dataclass(frozen=True, slots=True)
class Context:
    """What the pages of one group (one case, or the whole log) show around their content."""

    group: str
    title: str
    facility: str
    reference: str = ""  # top right, e.g. "Case 2024-00012"
    badge: str | None = None  # "DRAFT", "SIGNED", "AMENDED"
    subline: str = ""  # under the rule: the log's scope (wraps; never cut)
    patient: str = ""  # under the rule, bold: the patient's name (wraps; never cut)
    identifiers: str = ""  # beside or under the name: MRN, birth date, procedure date
    watermark: str | None = None
    footer_label: str = ""  # beside the page number, e.g. "Case 2024-00012"


@dataclass(frozen=True, slots=True)
class Placed:
    """One line of header text as drawn: left x, baseline y, width and size (what the overlap test checks)."""

    text: str
    font: str
    size: float
    x: float
    y: float
    width: float
    colour: Color = NAVY


def _fit_line(value: str, font: str, sizes: Sequence[float], width: float) -> tuple[str, float]:
    """The largest of `sizes` at which `value` fits `width` on one line; at the smallest, cut with "…"."""
    for size in sizes:
        lines = scripts.wrap(value, width, size, font)
        if len(lines) == 1:
            return lines[0], size
    size = sizes[-1]
    return scripts.wrap(value, width - scripts.line_width(" …", size, font), size, font)[0] + " …", size


def header_layout(context: Context, left: float, right: float, top: float, logo_w: float = 0.0) -> list[Placed]:
    """Where each line of the page header goes; `top` is the top of the header area.

    The case reference (top right) keeps its room and the facility is fitted into what is left, so neither
    overprints the other. Under the rule, the patient's name wraps onto as many lines as it needs (sizes
    9 to 8 pt) and the MRN and birth date sit beside it, or on their own line when the name leaves no room:
    every page identifies the patient in full, however long the name.
    """
    register_fonts()
    placed: list[Placed] = []
    x = left + logo_w
    reference_w = 0.0
    if context.reference:
        line, size = _fit_line(plain(context.reference), FONT_BOLD, (12, 11, 10, 9, 8), 230.0)
        reference_w = scripts.line_width(line, size, FONT_BOLD)
        placed.append(Placed(line, FONT_BOLD, size, right - reference_w, top - 11, reference_w))
    facility_room = right - x - (reference_w + 14 if reference_w else 0)
    line, size = _fit_line(plain(context.facility), FONT_BOLD, (10, 9, 8), facility_room)
    placed.append(Placed(line, FONT_BOLD, size, x, top - 10, scripts.line_width(line, size, FONT_BOLD), MUTED))
    title_w = scripts.line_width(context.title, 15, FONT_BOLD)
    placed.append(Placed(context.title, FONT_BOLD, 15, x, top - 29, title_w))
    y = top - RULE_DROP - 12
    width = right - left
    if context.patient:
        details = plain(context.identifiers)
        details_w = scripts.line_width(details, IDENT_SIZE, FONT)
        beside = width - details_w - 16 >= width * 0.3
        name_w = width - details_w - 16 if beside else width
        name = plain(context.patient)
        for size in (9.0, 8.5, 8.0):
            name_lines = scripts.wrap(name, name_w, size, FONT_BOLD)
            if len(name_lines) == 1:
                break
        for index, line in enumerate(name_lines):
            placed.append(Placed(line, FONT_BOLD, size, left, y - IDENT_LEADING * index,
                                 scripts.line_width(line, size, FONT_BOLD)))  # fmt: skip
        details_y = y if beside else y - IDENT_LEADING * len(name_lines)
        for index, line in enumerate(scripts.wrap(details, width, IDENT_SIZE, FONT)):
            line_w = scripts.line_width(line, IDENT_SIZE, FONT)
            x_at = right - line_w if beside else left
            placed.append(Placed(line, FONT, IDENT_SIZE, x_at, details_y - IDENT_LEADING * index, line_w))
    elif context.subline:
        for index, line in enumerate(scripts.wrap(plain(context.subline), width, IDENT_SIZE, FONT)):
            placed.append(Placed(line, FONT, IDENT_SIZE, left, y - IDENT_LEADING * index,
                                 scripts.line_width(line, IDENT_SIZE, FONT)))  # fmt: skip
    return placed


def extra_header_height(context: Context, width: float) -> float:
    """How much taller than HEADER_H the header of `context` is (0 for a one-line identification)."""
    placed = header_layout(context, 0.0, width, 0.0)
    lowest = min((p.y for p in placed), default=0.0)
    return max(0.0, -(lowest) - (RULE_DROP + 12))


class PageContext(Flowable):  # type: ignore[misc]
    """Zero-size marker: from this point on, pages belong to `context`. Also reports progress."""

    def __init__(self, context: Context, on_reached: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.context = context
        self.on_reached = on_reached

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (0.0, 0.0)

    def draw(self) -> None:
        pass


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds finished pages until save(), then stamps "Page X of Y" counted within each page's group."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished_pages: list[dict[str, Any]] = []
        self.page_group = ""
        self.page_label = ""

    def showPage(self) -> None:
        self._finished_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        totals = Counter(page["page_group"] for page in self._finished_pages)
        seen: Counter[str] = Counter()
        for page in self._finished_pages:
            self.__dict__.update(page)
            seen[self.page_group] += 1
            self._stamp_page_number(seen[self.page_group], totals[self.page_group])
            super().showPage()
        super().save()

    def _stamp_page_number(self, number: int, total: int) -> None:
        width, _ = self._pagesize
        words = f"Page {number} of {total}"
        if self.page_label:
            words = f"{self.page_label} · {words}"
        self.saveState()
        self.setFont(FONT_BOLD, 8)
        self.setFillColor(NAVY)
        self.drawRightString(width - MARGIN, FOOTER_BASELINE, words)
        self.restoreState()


class ReportDocument(BaseDocTemplate):  # type: ignore[misc]
    def __init__(
        self,
        stream: BinaryIO,
        *,
        settings: ReportSettings,
        generated_at: dt.datetime,
        meta_title: str,
        logo: Logo | None,
        landscape: bool = False,
        header_extra: float = 0.0,
    ) -> None:
        width, height = PAPER_SIZES.get(settings.paper.lower(), PAPER_SIZES["letter"])
        pagesize = (height, width) if landscape else (width, height)
        # Metadata is generic on purpose: a file's properties must never name the patient.
        super().__init__(
            stream,
            pagesize=pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + HEADER_H + header_extra,
            bottomMargin=MARGIN + FOOTER_H,
            title=meta_title,
            author="CaseLog",
            subject=meta_title,
            creator="CaseLog",
            keywords="",
            producer="CaseLog (ReportLab)",
            invariant=False,
            # Every string, even an empty table cell, in the embedded font: no base-14 Helvetica
            # for a viewer to substitute.
            initialFontName=FONT,
            initialFontSize=8,
        )
        self.settings = settings
        self.generated_at = generated_at
        self.context: Context | None = None
        self.logo = logo
        # Laid out once per document, not on each of its (possibly thousands of) pages.
        self._headers: dict[tuple[Context, float], list[Placed]] = {}
        self._footer_lines: list[str] | None = None
        frame = Frame(
            self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
            leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
        )  # fmt: skip
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=self._decorate)])

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, PageContext):
            self.context = flowable.context
            if flowable.on_reached is not None:
                flowable.on_reached()

    def _decorate(self, canvas: _NumberedCanvas, doc: ReportDocument) -> None:
        context = self.context
        if context is None:
            return
        canvas.page_group = context.group
        canvas.page_label = context.footer_label
        canvas.saveState()
        if context.watermark:
            self._draw_watermark(canvas, context.watermark)
        self._draw_header(canvas, context)
        self._draw_footer(canvas)
        canvas.restoreState()

    def _draw_watermark(self, canvas: Canvas, word: str) -> None:
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFillColor(ALERT, alpha=0.13)
        canvas.setFont(FONT_BOLD, 120)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -40, word)
        canvas.restoreState()

    def _draw_header(self, canvas: Canvas, context: Context) -> None:
        width, height = self.pagesize
        top = height - MARGIN
        left, right = MARGIN, width - MARGIN
        logo_w = 0.0
        if self.logo is not None:
            image, (iw, ih) = self.logo
            scale = min(34 / ih, 110 / iw)
            canvas.drawImage(image, left, top - ih * scale, iw * scale, ih * scale, mask="auto")
            logo_w = iw * scale + 8
        placed = self._headers.get((context, logo_w))
        if placed is None:
            placed = self._headers[(context, logo_w)] = header_layout(context, left, right, top, logo_w)
        for item in placed:
            canvas.setFillColor(item.colour)
            scripts.draw_line(canvas, item.x, item.y, item.text, item.size, item.font)
        if context.badge:
            self._draw_badge(canvas, context.badge, right, top - 34)
        rule_y = top - RULE_DROP
        canvas.setStrokeColor(NAVY)
        canvas.setLineWidth(1.2)
        canvas.line(left, rule_y, right, rule_y)

    def _draw_badge(self, canvas: Canvas, word: str, right: float, baseline: float) -> None:
        colour = BADGE_COLOURS.get(word, NAVY)
        size = 9.5
        text_w = canvas.stringWidth(word, FONT_BOLD, size)
        pad = 6.0
        box_w = text_w + 2 * pad
        canvas.saveState()
        canvas.setFillColor(colour)
        canvas.setStrokeColor(colour)
        canvas.roundRect(right - box_w, baseline - 4, box_w, size + 7, 3, stroke=0, fill=1)
        canvas.setFillColorRGB(1, 1, 1)
        canvas.setFont(FONT_BOLD, size)
        canvas.drawString(right - box_w + pad, baseline, word)
        canvas.restoreState()

    def _draw_footer(self, canvas: Canvas) -> None:
        width, _ = self.pagesize
        left, right = MARGIN, width - MARGIN
        top = FOOTER_RULE_Y
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(left, top, right, top)
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(left, FOOTER_BASELINE, f"Generated {fmt_datetime(self.generated_at)} by CaseLog")
        if self._footer_lines is None:
            self._footer_lines = scripts.wrap(plain(self.settings.confidentiality), right - left, 8, FONT)[:2]
        for i, line in enumerate(self._footer_lines):
            scripts.draw_line(canvas, left, top - 20 - 9.5 * i, line, 8, FONT)


@contextlib.contextmanager
def _binary_streams() -> Iterator[None]:
    """Skip reportlab's ASCII85 wrapping of page streams while we build: it makes files a quarter larger and
    cost ~5 ms a page, for 7-bit mail transports no one prints from. Restored afterwards (a process-wide flag)."""
    previous = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = previous


def load_logo(settings: ReportSettings) -> Logo | None:
    """The configured logo, checked up front: a wrong path is the user's input error, not a crash mid-print."""
    if settings.logo_path is None:
        return None
    path = settings.logo_path
    if not path.is_file():
        raise InvalidInput(f"{path}: logo file not found")
    try:
        reader = ImageReader(str(path))
        size = reader.getSize()
    except Exception as exc:  # reportlab/PIL raise many types for a file that is not an image
        raise InvalidInput(f"{path}: logo is not a PNG or JPEG image ({exc})") from exc
    return reader, (int(size[0]), int(size[1]))


def render(
    output: Path,
    make_story: Callable[[], Sequence[Flowable]],
    *,
    settings: ReportSettings,
    generated_at: dt.datetime | None,
    meta_title: str,
    landscape: bool = False,
) -> None:
    """Check the output folder and the settings, build the story, then lay it out into `output` atomically.

    Every check that can fail on the user's input runs before anything touches the disk.
    """
    check_output(output)
    if settings.paper.lower() not in PAPER_SIZES:
        raise InvalidInput(f"paper: unknown paper size {settings.paper!r}; use one of {', '.join(PAPER_SIZES)}")
    logo = load_logo(settings)
    register_fonts()
    story = list(make_story())
    # One frame for the whole document: it starts below the tallest header any of its pages needs.
    page_w = frame_width(settings, landscape=landscape)
    header_extra = max(
        (extra_header_height(f.context, page_w) for f in story if isinstance(f, PageContext)), default=0.0
    )
    stamp = generated_at if generated_at is not None else dt.datetime.now().replace(microsecond=0)

    def build(stream: BinaryIO) -> None:
        doc = ReportDocument(
            stream, settings=settings, generated_at=stamp, meta_title=meta_title, logo=logo, landscape=landscape,
            header_extra=header_extra,
        )  # fmt: skip
        with _binary_streams():
            doc.build(story, canvasmaker=_NumberedCanvas)

    write_atomically(output, build)
