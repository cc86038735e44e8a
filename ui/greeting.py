"""What an empty database shows instead of an empty grid: log the first case, or load demo data to look around."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class Greeting(QWidget):
    new_case = Signal()
    load_demo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Welcome to CaseLog")
        title.setObjectName("greetingTitle")
        text = QLabel(
            "There are no cases in this database yet.\n"
            "Log your first case now, or load demo cases to try the search, filters and PDFs first.\n"
            "Demo cases are made up; use them in a test database, not in the clinic's."
        )
        text.setObjectName("greetingText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.first_case = QPushButton("Log your first case")
        self.first_case.setAccessibleName("Log your first case")
        self.first_case.setDefault(True)
        self.first_case.setMinimumHeight(40)
        self.demo = QPushButton("Load demo data")
        self.demo.setAccessibleName("Load demo data")
        self.demo.setMinimumHeight(40)
        self.first_case.setObjectName("greetingButton")
        self.demo.setObjectName("greetingButton")
        self.database = QLabel()
        self.database.setObjectName("hint")
        self.database.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.database.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.first_case)
        buttons.addSpacing(12)
        buttons.addWidget(self.demo)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addSpacing(10)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addSpacing(20)
        layout.addLayout(buttons)
        layout.addSpacing(24)
        layout.addWidget(self.database, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(3)
        self.first_case.clicked.connect(self.new_case)
        self.demo.clicked.connect(self.load_demo)

    def set_database(self, name: str) -> None:
        self.database.setText(f"Database: {name}")
