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
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from caselog.errors import InvalidInput
from caselog.reports.common import (
    ALERT,
    AMBER,
    FONT,
    FONT_BOLD,
    MUTED,
    NAVY,
    OK_GREEN,
    PAPER_SIZES,
    RULE,
    ReportSettings,
    fmt_datetime,
    plain,
    register_fonts,
)
from caselog.reports.output import check_output, write_atomically

MARGIN = 36.0
HEADER_H = 64.0
FOOTER_H = 40.0
FOOTER_RULE_Y = MARGIN + FOOTER_H - 12
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
    subline: str = ""  # under the rule: the patient's identification, or the log's scope
    watermark: str | None = None
    footer_label: str = ""  # beside the page number, e.g. "Case 2024-00012"


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
    ) -> None:
        width, height = PAPER_SIZES.get(settings.paper.lower(), PAPER_SIZES["letter"])
        pagesize = (height, width) if landscape else (width, height)
        # Metadata is generic on purpose: a file's properties must never name the patient.
        super().__init__(
            stream,
            pagesize=pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + HEADER_H,
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
        left = MARGIN
        x = left
        if self.logo is not None:
            image, (iw, ih) = self.logo
            scale = min(34 / ih, 110 / iw)
            canvas.drawImage(image, left, top - ih * scale, iw * scale, ih * scale, mask="auto")
            x = left + iw * scale + 8
        right = width - MARGIN
        reference_w = 230.0
        facility_lines = simpleSplit(plain(context.facility), FONT_BOLD, 10, right - reference_w - x)[:1]
        canvas.setFillColor(MUTED)
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(x, top - 10, facility_lines[0] if facility_lines else "")
        canvas.setFillColor(NAVY)
        canvas.setFont(FONT_BOLD, 15)
        canvas.drawString(x, top - 29, context.title)
        if context.reference:
            size = 12.0
            while size > 7 and canvas.stringWidth(context.reference, FONT_BOLD, size) > reference_w:
                size -= 0.5
            canvas.setFont(FONT_BOLD, size)
            canvas.setFillColor(NAVY)
            canvas.drawRightString(right, top - 11, context.reference)
        if context.badge:
            self._draw_badge(canvas, context.badge, right, top - 34)
        rule_y = top - 42
        canvas.setStrokeColor(NAVY)
        canvas.setLineWidth(1.2)
        canvas.line(left, rule_y, right, rule_y)
        if context.subline:
            canvas.setFont(FONT, 8.5)
            canvas.setFillColor(NAVY)
            sub = simpleSplit(context.subline, FONT, 8.5, right - left)[:1]
            canvas.drawString(left, rule_y - 12, sub[0] if sub else "")

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
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(left, FOOTER_BASELINE, f"Generated {fmt_datetime(self.generated_at)} by CaseLog")
        lines = simpleSplit(plain(self.settings.confidentiality), FONT, 7, right - left)[:2]
        canvas.setFont(FONT, 7)
        for i, line in enumerate(lines):
            canvas.drawString(left, top - 21 - 8.5 * i, line)


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
    stamp = generated_at if generated_at is not None else dt.datetime.now().replace(microsecond=0)

    def build(stream: BinaryIO) -> None:
        doc = ReportDocument(
            stream, settings=settings, generated_at=stamp, meta_title=meta_title, logo=logo, landscape=landscape
        )
        with _binary_streams():
            doc.build(story, canvasmaker=_NumberedCanvas)

    write_atomically(output, build)
