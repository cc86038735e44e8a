"""The app's few style rules: calm colours, messages in red beside their fields, hints in grey."""

from __future__ import annotations

STYLE_SHEET = """
QLabel#fieldError { color: #b42318; font-size: 9pt; }
QLabel#hint { color: #4b5563; font-size: 9pt; }
QLabel#formStatus { color: #4b5563; }
QLabel#formStatus[ready="true"] { color: #166534; }
QLabel#greetingTitle { font-size: 20pt; font-weight: 600; color: #1f3a5f; }
QPushButton#greetingButton { padding: 8px 20px; font-size: 11pt; }
QLabel#greetingText { font-size: 11pt; color: #374151; }
QGroupBox { font-weight: 600; color: #1f3a5f; margin-top: 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
QGroupBox QLabel, QGroupBox QCheckBox { font-weight: normal; color: palette(window-text); }
QTableView { gridline-color: #e5e7eb; }
QTableView::item:selected { background: #cfe0f7; color: black; }
"""
