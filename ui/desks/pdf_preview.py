"""A PDF preview for the desks (QtPdf's QPdfView: page through, zoom) and printing its pages on a QPrinter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QToolButton, QVBoxLayout, QWidget

#: Pages are drawn onto the printer as images at this resolution at most: sharp on paper, modest in memory.
PRINT_DPI = 300
ZOOM_STEPS = (0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)


class PdfPreview(QWidget):
    """Shows one PDF file; `load(path)` returns its page count, `clear(text)` shows a placeholder instead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = QPdfView()
        self.view.setAccessibleName("Print preview")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setPageSpacing(12)
        self.view.setStyleSheet("QPdfView { background: #9ca3af; }")
        self.placeholder = QLabel("Nothing to preview yet.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("hint")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)

        def button(text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(tip)
            b.clicked.connect(lambda _c=False: slot())
            return b

        self.previous = button("◀", "Previous page (Page Up)", lambda: self.go(self.current_page() - 1))
        self.next = button("▶", "Next page (Page Down)", lambda: self.go(self.current_page() + 1))
        self.page_label = QLabel("")
        self.page_label.setAccessibleName("Page")
        self.zoom_out = button("−", "Zoom out (Ctrl+-)", lambda: self.zoom(-1))
        self.zoom_in = button("+", "Zoom in (Ctrl++)", lambda: self.zoom(+1))
        self.fit_width = button("Fit width", "Fit the page width", lambda: self.fit(QPdfView.ZoomMode.FitToWidth))
        self.fit_page = button("Whole page", "Show whole pages", lambda: self.fit(QPdfView.ZoomMode.FitInView))
        self.zoom_label = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for w in (self.previous, self.page_label, self.next):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.zoom_out, self.zoom_label, self.zoom_in, self.fit_width, self.fit_page):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self.view.pageNavigator().currentPageChanged.connect(lambda _p: self._update())
        self.view.zoomFactorChanged.connect(lambda _z: self._update())
        self.document.pageCountChanged.connect(lambda _n: self._update())
        self._update()

    # ---- content ----------------------------------------------------------------------------------------

    def load(self, path: Path) -> int:
        self.document.close()
        error = self.document.load(str(path))
        if error != QPdfDocument.Error.None_:
            self.clear(f"The preview could not be shown ({error.name}).")
            return 0
        self.stack.setCurrentWidget(self.view)
        self.view.pageNavigator().jump(0, QPointF(), self.view.zoomFactor())
        self._update()
        return self.document.pageCount()

    def clear(self, text: str = "Nothing to preview yet.") -> None:
        self.document.close()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self._update()

    @property
    def page_count(self) -> int:
        return self.document.pageCount() if self.stack.currentWidget() is self.view else 0

    def current_page(self) -> int:
        return self.view.pageNavigator().currentPage()

    # ---- navigation ---------------------------------------------------------------------------------------

    def go(self, page: int) -> None:
        if 0 <= page < self.page_count:
            self.view.pageNavigator().jump(page, QPointF(), self.view.zoomFactor())

    def zoom(self, step: int) -> None:
        current = self.view.zoomFactor()
        if step > 0:
            target = next((z for z in ZOOM_STEPS if z > current + 0.01), ZOOM_STEPS[-1])
        else:
            target = next((z for z in reversed(ZOOM_STEPS) if z < current - 0.01), ZOOM_STEPS[0])
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(target)

    def fit(self, mode: QPdfView.ZoomMode) -> None:
        self.view.setZoomMode(mode)

    def _update(self) -> None:
        if not (shiboken6.isValid(self.document) and shiboken6.isValid(self.page_label)):
            return  # a document destroyed with its window still says its page count changed
        count = self.page_count
        page = self.current_page() if count else -1
        self.page_label.setText(f"Page {page + 1} of {count}" if count else "No pages")
        self.previous.setEnabled(count > 0 and page > 0)
        self.next.setEnabled(count > 0 and page < count - 1)
        for w in (self.zoom_in, self.zoom_out, self.fit_width, self.fit_page):
            w.setEnabled(count > 0)
        mode = self.view.zoomMode()
        self.zoom_label.setText(
            {QPdfView.ZoomMode.FitToWidth: "fit width", QPdfView.ZoomMode.FitInView: "whole page"}.get(
                mode, f"{round(self.view.zoomFactor() * 100)}%"
            )
            if count
            else ""
        )


def page_size_of(document: QPdfDocument) -> QPageSize | None:
    """The paper of the document's first page, so the print dialog starts on the paper the PDF was laid out on."""
    if document.pageCount() == 0:
        return None
    points = document.pagePointSize(0)
    return QPageSize(
        QSizeF(points.width(), points.height()), QPageSize.Unit.Point, "", QPageSize.SizeMatchPolicy.FuzzyMatch
    )


def prepare_printer(printer: QPrinter, document: QPdfDocument) -> None:
    size = page_size_of(document)
    if size is not None:
        printer.setPageSize(size)
        points = document.pagePointSize(0)
        landscape = points.width() > points.height()
        printer.setPageOrientation(QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait)
    printer.setFullPage(True)  # the PDF carries its own margins
    printer.setFromTo(1, max(document.pageCount(), 1))


def print_document(
    document: QPdfDocument, printer: QPrinter, *, on_page: Callable[[int, int], bool] | None = None
) -> int:
    """Draw the document's pages (the printer's from/to range, else all) onto `printer`; returns pages sent.

    `on_page(done, total)` is asked after each page; returning False aborts the job (nothing is printed).
    Raises OSError when the printer cannot be opened.
    """
    count = document.pageCount()
    first = max(printer.fromPage(), 1) if printer.fromPage() else 1
    last = min(printer.toPage(), count) if printer.toPage() else count
    pages = list(range(first - 1, last))
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError(f"The printer {printer.printerName() or printer.outputFileName()} could not be opened")
    try:
        target_area = QRectF(painter.viewport())
        for done, page in enumerate(pages):
            if done:
                printer.newPage()
            points = document.pagePointSize(page)
            scale = min(target_area.width() / points.width(), target_area.height() / points.height())
            target = QRectF(0, 0, points.width() * scale, points.height() * scale)
            dpi = min(printer.resolution(), PRINT_DPI)
            image: QImage = document.render(
                page, QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
            )
            painter.drawImage(target, image)
            if on_page is not None and not on_page(done + 1, len(pages)):
                printer.abort()
                return 0
    finally:
        painter.end()
    return len(pages)
