"""The app's few style rules, readable on light and dark palettes: messages beside their fields, hints, titles.

`STYLE_SHEET` holds sizes and weights only (and colours taken from the palette), so any window may set it.
Colours that carry meaning (errors, review states, titles) come from `colours(palette)`: one set for light
palettes, one for dark ones, each at least 4.5:1 (WCAG AA) against the palette's window and base colours.
`app_style_sheet(palette)` adds them; the application (and the main window) set that.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

STYLE_SHEET = """
QLabel#fieldError { font-size: 9pt; }
QLabel#hint { font-size: 9pt; }
QLabel#greetingTitle { font-size: 20pt; font-weight: 600; }
QPushButton#greetingButton { padding: 8px 20px; font-size: 11pt; }
QLabel#greetingText { font-size: 11pt; }
QLabel#deskHeading { font-size: 11pt; font-weight: 600; }
QGroupBox { font-weight: 600; margin-top: 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
QGroupBox QLabel, QGroupBox QCheckBox { font-weight: normal; color: palette(window-text); }
QTableView { gridline-color: palette(midlight); }
"""


@dataclass(frozen=True, slots=True)
class Colours:
    """Meaningful colours for one palette; each a '#rrggbb' string for style sheets and HTML."""

    title: str
    hint: str
    error: str
    warning: str
    success: str
    rule: str  # lines under headings (not text)


LIGHT = Colours(title="#1f3a5f", hint="#4b5563", error="#b42318", warning="#92400e", success="#166534", rule="#d0d7e2")
DARK = Colours(title="#a8c7f0", hint="#c8ccd2", error="#ffada3", warning="#f5b54a", success="#7ee2a0", rule="#5b6472")


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colours(palette: QPalette) -> Colours:
    return DARK if is_dark(palette) else LIGHT


def review_colour(status: str, palette: QPalette) -> QColor:
    """A review state's colour in lists: open (error), under review (warning), closed (success)."""
    c = colours(palette)
    return QColor({"open": c.error, "under_review": c.warning, "closed": c.success}.get(status, c.hint))


def app_style_sheet(palette: QPalette) -> str:
    """STYLE_SHEET with the colours of this palette."""
    c = colours(palette)
    return (
        STYLE_SHEET
        + f"""
QLabel#fieldError {{ color: {c.error}; }}
QLabel#hint {{ color: {c.hint}; }}
QLabel#formStatus {{ color: {c.hint}; }}
QLabel#formStatus[ready="true"] {{ color: {c.success}; }}
QLabel#greetingTitle {{ color: {c.title}; }}
QLabel#greetingText {{ color: palette(window-text); }}
QLabel#deskHeading {{ color: {c.title}; }}
QGroupBox {{ color: {c.title}; }}
"""
    )


def dark_palette() -> QPalette:
    """The dark Fusion palette many Qt apps ship: the tests and the screenshots check colours against it."""
    p = QPalette()
    window, base, text = QColor("#353535"), QColor("#2a2a2a"), QColor("#f0f0f0")
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor("#424242")),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.ToolTipBase, base),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.PlaceholderText, QColor("#a0a0a0")),
        (QPalette.ColorRole.Highlight, QColor("#2a82da")),
        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
        (QPalette.ColorRole.Link, QColor("#7fb2f0")),
        (QPalette.ColorRole.Mid, QColor("#5a5a5a")),
        (QPalette.ColorRole.Midlight, QColor("#4a4a4a")),
    ):
        p.setColor(role, colour)
    muted = QColor("#8a8a8a")  # disabled text: readable, and plainly not available
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, muted)
    return p


def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio (1 to 21) of two colours."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
