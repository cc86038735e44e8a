"""The patient view: one patient's pathway (blocks, ablations with their relief, repeats, complications) on a
time axis, a row per treated joint, with the cases under it; opened from any case in the main window.

It shows what CaseService.patient_pathway computes (caselog.pathway) and computes nothing itself: the rows and
words come from `patient_timeline(pathway)`. A case opens from the chart or the list (Return, double click).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from caselog import vocab
from caselog.errors import CaselogError
from caselog.pathway import (
    CONCORDANCE_TEXT,
    CaseOnPathway,
    Pathway,
    PathwayEvent,
    block_result_text,
    duration_text,
    joints_text,
    percent_text,
)
from caselog.policy import PRESETS, IndicationPolicy, preset_of
from caselog.records import CaseListItem
from ui import shortcuts
from ui.desks.menu import open_case_number
from ui.messages import show_error
from ui.pathway_chart import RESULT_SIGN, ROW_HEIGHT, TimelineChart, TimelineMark, TimelineRow
from ui.style import app_style_sheet
from ui.tables import HeadedTableModel, Selection, list_table, select_row
from ui.widgets import named_button
from ui.window_state import restore_geometry, save_geometry

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts

#: What the chart's shapes mean, in words (the chart never relies on colour alone).
LEGEND = (
    "◆ filled: positive block   ◇ hollow: negative block   ◇ grey: result unknown (no diary)   "
    "▬ ablation or rhizotomy, drawn over its relief period: ┃ ends at the next ablation of that joint, "
    "▶ at the last follow-up (relief lasted at least that long)   △ complication, with its Clavien-Dindo grade   "
    "□ other procedure"
)
CASE_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the patient as the list under the chart shows it."""

    case_number: str
    date: dt.date
    procedure: str
    levels: str
    #: The block's reading or the ablation's relief, in words ("peak 85%, 6 h, positive (2nd block)").
    result: str
    #: The indication check ("meets the policy", "outside the policy: ...") or "" when it does not apply.
    indication: str
    #: The check's full summary (the findings and their evidence), shown as the cell's tooltip.
    indication_detail: str
    complications: str
    status: str


@dataclass(frozen=True, slots=True)
class PatientTimeline:
    """Everything the patient view shows, as plain words and rows."""

    title: str  # "Ada Lovelace · MRN 12345"
    facts: str  # "born 1960-01-01 · female · 10 cases, 2023-01-05 to 2025-08-01"
    policy: str  # the policy the results were read under
    rows: tuple[TimelineRow, ...]
    cases: tuple[CaseLine, ...]


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def policy_text(policy: IndicationPolicy) -> str:
    """The policy the results were read under, in one sentence."""
    key = preset_of(policy)
    name = PRESETS[key].label if key else "the clinic's own numbers"
    blocks = f"{policy.blocks_required} positive block{'s' if policy.blocks_required > 1 else ''}"
    return (
        f"Read under the clinic's policy ({name}): {blocks} at {policy.relief_threshold_percent}% relief or more "
        f"before a first ablation at a joint; a repeat at least {policy.repeat_min_interval_months} months after the "
        f"last, which gave {policy.repeat_relief_percent}% relief or more for {policy.repeat_relief_months} months; "
        f"at most {policy.max_sessions_per_12_months} ablation sessions per region in 12 months."
    )


def _procedure(key: str) -> str:
    return vocab.label(vocab.PROCEDURE_SHORT, key)


def _block_words(entry: CaseOnPathway, threshold: int) -> str:
    """A block's reading, its result first: "positive · 2nd block (lidocaine) · peak 88%, 1 h at 80% or more, as
    long as the anesthetic lasts"."""
    reading, block = entry.reading, entry.case.block
    series = f"{ordinal(entry.series)} block" if entry.series else "block"
    anesthetic = f" ({vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic).lower()})" if block else ""
    words = f"{block_result_text(reading)} · {series}{anesthetic}"
    if reading is None or reading.peak_relief is None:
        return words
    lasted = f"{duration_text(reading.relief_minutes)} at {threshold}% or more"
    return f"{words} · peak {percent_text(reading.peak_relief)}, {lasted}, {CONCORDANCE_TEXT[reading.concordance]}"


def _relief_words(event: PathwayEvent) -> str:
    """An ablation's relief, the latest first, and why its period ends where it does."""
    if event.relief_until is None:
        return "no follow-up recorded yet"
    why = "the next ablation at this joint" if event.relief_ended_by == "next_ablation" else "the last follow-up"
    period = f"relief period until {event.relief_until} ({why})"
    if not event.relief:
        return f"no relief recorded · {period}"
    day, percent = event.relief[-1]
    return f"{percent}% relief on {day} · {period}"


def _mark(event: PathwayEvent, entry: CaseOnPathway | None, threshold: int) -> TimelineMark:
    number = event.case_number or ""
    day = event.date.isoformat()
    if event.kind == "block":
        reading = event.reading
        sign = RESULT_SIGN[reading.positive if reading else None]
        peak = percent_text(reading.peak_relief) if reading and reading.peak_relief is not None else ""
        text = f"Block {event.series or ''}: {peak} {sign}".replace("  ", " ").replace(" :", ":")
        words = _block_words(entry, threshold) if entry else block_result_text(reading)
        return TimelineMark("block", number, event.date, text, f"Case {number}, {day}. {words}",
                            reading.positive if reading else None)  # fmt: skip
    if event.kind == "ablation":
        short = "Rhizotomy" if event.procedure == "endoscopic_rhizotomy" else "RFA"
        latest = f" · relief {event.relief[-1][1]}%" if event.relief else ""
        flag = " · outside policy" if event.outside_policy else ""
        bar_end = event.relief_ended_by or "no_follow_up"
        description = f"Case {number}, {day}. {_procedure(event.procedure)}: {_relief_words(event)}"
        if entry is not None and entry.check.applies:
            description += f". {entry.check.summary}"
        return TimelineMark("ablation", number, event.date, f"{short}{latest}{flag}", description,
                            until=event.relief_until, bar_end=bar_end)  # fmt: skip
    if event.kind == "complication" and event.complication is not None:
        c = event.complication
        what = vocab.label(vocab.COMPLICATION_CATEGORIES, c.category)
        return TimelineMark("complication", number, event.date, f"CD {c.clavien_dindo}",
                            f"Complication of case {number}, onset {day}: {what}, Clavien-Dindo grade "
                            f"{c.clavien_dindo}")  # fmt: skip
    return TimelineMark("procedure", number, event.date, _procedure(event.procedure),
                        f"Case {number}, {day}. {_procedure(event.procedure)}")  # fmt: skip


def _case_line(entry: CaseOnPathway, events: dict[str, PathwayEvent], threshold: int) -> CaseLine:
    case = entry.case
    if case.is_block:
        result = _block_words(entry, threshold)
    elif case.is_ablation and case.case_number in events:
        result = _relief_words(events[case.case_number])
    else:
        result = ""
    detail = entry.check.summary if entry.check.applies else ""
    if not entry.check.applies:
        indication = ""
    elif entry.check.meets:
        indication = "Meets the policy"
    elif case.outside_policy_reason:
        indication = "Outside the policy, reason given"
        detail += f"\nReason: {case.outside_policy_reason}"
    else:
        indication = "Outside the policy, no reason given"
    grades = ", ".join(f"CD {c.clavien_dindo} {vocab.label(vocab.COMPLICATION_CATEGORIES, c.category).lower()}"
                       for c in case.complications)  # fmt: skip
    return CaseLine(case.case_number or "", case.date, _procedure(case.procedure), joints_text(case.joints), result,
                    indication, detail, grades,
                    vocab.label(vocab.CASE_STATUSES, case.status))  # fmt: skip


def patient_timeline(pathway: Pathway) -> PatientTimeline:
    """What the patient view shows of a pathway, in words and rows (nothing is computed here)."""
    threshold = pathway.policy.relief_threshold_percent
    by_number = {entry.case.case_number: entry for entry in pathway.cases}
    rows = tuple(
        TimelineRow(row.text, tuple(_mark(e, by_number.get(e.case_number), threshold) for e in row.events))
        for row in pathway.rows
    )
    ablations = {e.case_number or "": e for row in pathway.rows for e in row.events if e.kind == "ablation"}
    cases = tuple(_case_line(entry, ablations, threshold) for entry in pathway.cases)
    p = pathway.patient
    count = len(pathway.cases)
    span = f", {pathway.cases[0].case.date} to {pathway.cases[-1].case.date}" if count else ""
    cases_text = f"{count} case{'s' if count != 1 else ''}{span}"
    facts = f"born {p.birth_date} · {vocab.label(vocab.SEXES, p.sex).lower()} · {cases_text}"
    pairs = [
        f"Comparative blocks at {joints_text(pair.joints)}: {duration_text(pair.short_minutes)} (short-acting, "
        f"{pair.short_acting.case_number}) and {duration_text(pair.long_minutes)} (long-acting, "
        f"{pair.long_acting.case_number}): "
        + {True: "concordant", False: "not concordant", None: "not judged"}[pair.concordant]
        for pair in pathway.pairs
    ]
    policy = " ".join([policy_text(pathway.policy), *pairs])
    return PatientTimeline(f"{p.display_name} · MRN {p.mrn}", facts, policy, rows, cases)


class PathwayCasesModel(HeadedTableModel):
    """The patient's cases, oldest first (the chart reads left to right too)."""

    #: The result last: the longest words, given the width the others leave.
    COLUMNS = ("Date", "Case", "Procedure", "Levels", "Status", "Indication", "Complications", "Result")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases: list[CaseLine] = []

    def set_cases(self, cases: Sequence[CaseLine]) -> None:
        self.beginResetModel()
        self.cases = sorted(cases, key=lambda c: (c.date, c.case_number))
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.cases)

    def _headings(self) -> Sequence[str]:
        return self.COLUMNS

    def row_of(self, case_number: str) -> int:
        return next((i for i, c in enumerate(self.cases) if c.case_number == case_number), -1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        case = self.cases[index.row()]
        if role == CASE_ROLE:
            return case
        if role == Qt.ItemDataRole.ToolTipRole and self.COLUMNS[index.column()] == "Indication":
            return case.indication_detail or None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (case.date.isoformat(), case.case_number, case.procedure, case.levels, case.status,
                      case.indication, case.complications, case.result)  # fmt: skip
            return values[index.column()]
        return None


class PathwayView(QDialog):
    """One patient's timeline and cases, read by `load` (again on F5 and after a case opened here closes), with
    the case `chosen` (the one it was opened from) current.
    `open_case(number)` asks the main window to open that case; `print_pdf` writes the "patient pathway" PDF."""

    open_case = Signal(str)

    def __init__(self, load: Callable[[], PatientTimeline], *, today: dt.date, chosen: str | None = None,
                 print_pdf: Callable[[], object] | None = None, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._load = load
        self._today = today
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.title = QLabel()
        self.title.setObjectName("deskHeading")
        self.title.setAccessibleName("Patient")
        self.facts = QLabel()
        self.facts.setAccessibleName("Patient facts")
        self.policy = QLabel()
        self.policy.setObjectName("hint")
        self.policy.setWordWrap(True)
        self.policy.setAccessibleName("Policy the results were read under")
        legend = QLabel(LEGEND)
        legend.setObjectName("hint")
        legend.setWordWrap(True)
        legend.setAccessibleName("What the timeline's shapes mean")

        self.chart = TimelineChart()
        self.chart_area = QScrollArea()
        self.chart_area.setWidget(self.chart)
        self.chart_area.setWidgetResizable(True)
        self.chart_area.setFocusProxy(self.chart)
        self.chart_area.setAccessibleName("Patient timeline")

        self.model = PathwayCasesModel(self)
        self.table = list_table(self.model, "The patient's cases", widths=(86, 92, 140, 120, 64, 215, 150),
                                selection=Selection.SingleSelection)  # fmt: skip
        # Return opens the row's case, as in the main list (the same key from the one shortcut table).
        self.open_action = QAction("Open case", self.table)
        shortcuts.bind(self.open_action, "open", tip="Open the chosen case")
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_action.triggered.connect(lambda _c=False: self._open_chosen())
        self.table.addAction(self.open_action)
        self.reload_action = QAction("Reload", self)
        shortcuts.bind(self.reload_action, "reload", tip="Read the patient's cases again")
        self.reload_action.triggered.connect(lambda _c=False: self.reload())
        self.addAction(self.reload_action)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.open_button = named_button("&Open case", "Open the chosen case")
        self.print_button = named_button("&Print / Save as PDF…", "Print or save the patient pathway as a PDF")
        if print_pdf is not None:
            self.print_button.clicked.connect(lambda _c=False: print_pdf())
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.setVisible(print_pdf is not None)  # after addButton, which shows it

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.facts, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.policy)
        layout.addWidget(self.chart_area, 3)
        layout.addWidget(legend)
        layout.addWidget(self.table, 2)
        layout.addWidget(buttons)

        self.chart.open_case.connect(self.open_case)
        self.table.doubleClicked.connect(lambda _index: self._open_chosen())
        self.open_button.clicked.connect(lambda _c=False: self._open_chosen())
        self.chart.chosen.connect(self._chart_chose)
        self.table.selectionModel().currentRowChanged.connect(lambda now, _old: self._table_chose(now))
        self.show_timeline(load(), keep=chosen)  # the case it was opened from, chosen on the chart and the list
        restore_geometry(self, "pathway", QSize(1240, 680))
        self.chart.setFocus()

    def show_timeline(self, timeline: PatientTimeline, keep: str | None = None) -> None:
        """Show `timeline`, with the case `keep` chosen again when it is still there (else the first)."""
        self.timeline = timeline
        self.setWindowTitle(f"Patient pathway – {timeline.title}")
        self.title.setText(timeline.title)
        self.facts.setText(timeline.facts)
        self.policy.setText(timeline.policy)
        self.chart.set_rows(timeline.rows, today=self._today)
        self.model.set_cases(timeline.cases)
        # The chart takes the height its rows need (scrolling beyond); the list below gets the rest.
        frame = 2 * self.chart_area.frameWidth()
        self.chart_area.setMaximumHeight(self.chart.sizeHint().height() + frame)
        mark = self.chart.current_mark()
        if keep and self.model.row_of(keep) >= 0:
            select_row(self.table, self.model.row_of(keep))
        elif mark is not None and mark.case_number:
            self._chart_chose(mark.case_number)
        elif self.model.cases:
            select_row(self.table, 0)

    def reload(self) -> None:
        """Read the pathway again (a case opened from here may have changed); an error is said, not raised."""
        try:
            timeline = self._load()
        except CaselogError as exc:
            show_error(self, "The patient's pathway could not be read", exc)
            return
        self.show_timeline(timeline, keep=self.chosen_case())

    def chosen_case(self) -> str | None:
        index = self.table.currentIndex()
        case = index.data(CASE_ROLE) if index.isValid() else None
        return case.case_number if isinstance(case, CaseLine) else None

    def _open_chosen(self) -> None:
        number = self.chosen_case()
        if number is not None:
            self.open_case.emit(number)

    def _chart_chose(self, case_number: str) -> None:
        self._show_current_mark()
        if case_number and self.chosen_case() != case_number:
            select_row(self.table, self.model.row_of(case_number))

    def _table_chose(self, index: QModelIndex) -> None:
        case = index.data(CASE_ROLE) if index.isValid() else None
        if isinstance(case, CaseLine) and self.chart.choose_case(case.case_number):
            self._show_current_mark()

    def _show_current_mark(self) -> None:
        """Scroll the chart (in a small window) to the chosen mark's row."""
        if self.chart.current is not None:
            top = self.chart.row_top(self.chart.current[0])
            self.chart_area.ensureVisible(0, top + ROW_HEIGHT // 2, 0, ROW_HEIGHT // 2 + 2)

    def done(self, result: int) -> None:
        save_geometry(self, "pathway")
        super().done(result)


def can_open_pathway(row: CaseListItem | None) -> bool:
    return row is not None


def open_pathway(window: MainWindowParts) -> PathwayView | None:
    """The patient view of the selected case's patient, over the main window (it locks with it)."""
    row = window.current_row()
    if row is None:
        return None
    services, mrn = window.services, row.mrn

    def load() -> PatientTimeline:
        return patient_timeline(services.cases.patient_pathway(mrn))

    try:
        view = PathwayView(load, today=window._today(), chosen=row.case_number, parent=window)
    except CaselogError as exc:
        show_error(window, "The patient's pathway could not be read", exc)
        return None

    def open_case(number: str) -> None:
        open_case_number(window, number)
        if window.form is not None:  # what was changed there shows here once the form closes
            window.form.finished.connect(view.reload)

    view.open_case.connect(open_case)
    view.finished.connect(lambda _r: view.deleteLater())
    window.guard_window(view)
    view.show()
    view.activateWindow()
    view.chart.setFocus()  # the keys walk the timeline at once
    return view
