"""The dashboard for everyone: cases per month, complication rates with Wilson intervals, durations, pain scores,
durability of relief with its bands, comparison and claims, and the share of follow-ups reaching the minimal
clinically important difference, each a chart with the numbers behind it one click away.

The figures come from caselog.dashboard and caselog.outcomes in the background; date range and surgeon apply to
every chart.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from functools import partial

from PySide6.QtCharts import QChart, QChartView
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPainter, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caselog.dashboard import SCORE_MEASURES, CasesPerMonth, Dashboard, DashboardService, Overview
from caselog.outcomes import MCIDShare, measure_label
from caselog.outcomes_commands import COLUMNS, share_cells
from caselog.records import CaseFilter
from caselog.tables import Table
from ui import shortcuts
from ui.desks import dashboard_charts as charts
from ui.desks.common import DateRange, Desk, NumbersModel, set_combo_items, sorted_view_model
from ui.desks.dashboard_charts import MCID_MEASURES
from ui.desks.dashboard_durability import CENSORING_RULE, DurabilityFigures
from ui.messages import show_error
from ui.tasks import Progress
from ui.widgets import combo
from ui.window_state import restore_geometry, save_geometry

TABS = ("per_month", "rates", "durations", "scores", "durability", "outcomes")


ChartMaker = Callable[[], QChart]


class LazyChartView(QChartView):
    """A chart view that draws its chart from `pending` when first shown or asked for (`chart()`): a chart on a
    tab nobody opened holds no graphics items (a durability chart at a million cases: about 8 MB)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: ChartMaker | None = None

    def draw(self) -> None:
        """Make the pending chart and show it in place of the one shown (which is deleted)."""
        make, self.pending = self.pending, None
        if make is None:
            return
        old = super().chart()
        chart = make()
        self.setChart(chart)
        if old is not None and old is not chart:
            old.deleteLater()

    def chart(self) -> QChart:
        self.draw()
        return super().chart()

    def showEvent(self, event: QShowEvent) -> None:
        self.draw()
        super().showEvent(event)


class ChartPanel(QWidget):
    """One chart with a heading, a note saying how to read it, and its numbers as a sortable table; the chart is
    drawn once the panel is on screen (or asked for), not while its tab stays hidden."""

    def __init__(self, title: str, note: str) -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setObjectName("deskHeading")
        self.note = QLabel(note)
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.toggle = QPushButton("Show numbers")
        self.toggle.setAccessibleName(f"Show the numbers behind {title}")
        self.toggle.setCheckable(True)
        self.copy = QPushButton("Copy numbers")
        self.copy.setAccessibleName(f"Copy the numbers behind {title}")
        self.copy.setToolTip("Copy the table, tab-separated, to paste into a spreadsheet")
        self.which = combo("Which numbers", [])
        self.which.setVisible(False)
        self.tables: list[Table] = []
        self.view = LazyChartView()
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setAccessibleName(title)
        self.numbers = NumbersModel(self)
        self.table = QTableView()
        self.table.setModel(sorted_view_model(self.numbers, self))
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the chart's order first
        self.table.setAccessibleName(f"Numbers behind {title}")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.empty = QLabel("")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("hint")
        self.stack = QStackedWidget()
        for w in (self.view, self.table, self.empty):
            self.stack.addWidget(w)
        self.extra = QVBoxLayout()
        # Figures that belong beside the chart (durability: intervals, comparison, claims); empty elsewhere.
        self.side = QVBoxLayout()
        self.side.setContentsMargins(8, 0, 0, 0)
        body = QHBoxLayout()
        body.addWidget(self.stack, 1)
        body.addLayout(self.side)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.which)
        head.addWidget(self.toggle)
        head.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addWidget(self.note)
        layout.addLayout(body, 1)
        layout.addLayout(self.extra)
        self.toggle.toggled.connect(self._toggled)
        self.which.currentIndexChanged.connect(self._show_table)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.numbers.as_text()))
        self.has_chart = False
        self._key: object = None

    def show_result(
        self, chart: ChartMaker | None, *tables: Table, empty: str = "No cases in this range.", key: object = None
    ) -> None:
        """The numbers now; the chart `chart()` makes once the panel is on screen (at once when it is). With a
        `key` equal to the last one shown (the same figures), the chart already made or pending is kept."""
        self.tables = list(tables)
        self.which.blockSignals(True)
        self.which.clear()
        for t in tables:
            self.which.addItem(t.title)
        self.which.blockSignals(False)
        self._show_table(0)
        same = key is not None and key == self._key and self.has_chart and chart is not None
        self._key = key
        self.has_chart = chart is not None
        if chart is not None and not same:
            self.view.pending = chart
            if self.view.isVisible():
                self.view.draw()
        elif chart is None:
            self.view.pending = None
        self.empty.setText(empty)
        self._toggled(self.toggle.isChecked())

    def _show_table(self, index: int) -> None:
        table = self.tables[index] if 0 <= index < len(self.tables) else Table("", (), ())
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.model().sort(-1)  # type: ignore[attr-defined]
        self.numbers.set_table(table.columns, table.rows)
        self.table.resizeColumnsToContents()
        self.copy.setEnabled(bool(table.rows))

    def _toggled(self, numbers: bool) -> None:
        self.which.setVisible(numbers and len(self.tables) > 1)
        self.toggle.setText("Show chart" if numbers else "Show numbers")
        if numbers:
            self.stack.setCurrentWidget(self.table)
        else:
            self.stack.setCurrentWidget(self.view if self.has_chart else self.empty)


class DashboardDesk(Desk):
    """`refresh()` rebuilds every chart for the current filters; `result` is the last Dashboard shown."""

    def _build(self) -> None:
        """The filters, the charts and their tables."""
        self._generation = 0
        self.result: Dashboard | None = None
        self.shares: list[MCIDShare] = []
        self.loading = False
        self.setWindowTitle("Dashboard – CaseLog")

        self.dates = DateRange(today=self._today)
        self.surgeon = combo("Surgeon filter", [("All surgeons", None)])
        self.reload = QPushButton("Reload")
        shortcuts.bind(self.reload, "reload", tip="Read the figures again")
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-weight: 600;")
        self.summary.setAccessibleName("What the dashboard counts")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 2)
        bar.addWidget(self.dates)
        bar.addWidget(self.surgeon)
        bar.addWidget(self.reload)
        bar.addStretch(1)
        # What is counted goes on its own line: it grows with the filters and must not widen the window.
        self.summary.setWordWrap(True)
        self.summary.setContentsMargins(8, 0, 8, 0)

        self.panels = {
            "per_month": ChartPanel("Cases per month by procedure", "Every case logged, by procedure date."),
            "rates": ChartPanel(
                "Complication rate by procedure",
                "Share of cases with at least one complication (a case counts once however many it had), with its "
                "95% Wilson interval; the counts are cases with complications / all cases. Wide bars mean few cases: "
                "read them as uncertain, not as different.",
            ),
            "durations": ChartPanel(
                "Duration by procedure",
                "Minutes from start to end. Box: first to third quartile; line: median; whiskers: shortest and "
                "longest case (quartiles are type 7, as Excel QUARTILE.INC).",
            ),
            "scores": ChartPanel(
                "Pain and disability by timepoint",
                "Median score of the patients with a score recorded at each timepoint (the n differs by "
                "timepoint: patients lost to follow-up are not counted). Quartiles and n are in the numbers.",
            ),
            "durability": ChartPanel("Durability of relief: time to repeat treatment", CENSORING_RULE),
            "outcomes": ChartPanel(
                "Outcomes: share reaching the minimal clinically important difference (MCID)",
                "Follow-ups at each timepoint whose score improved from the case's own baseline by at least the MCID "
                "(ODI and NDI: 10 points; pain NRS: 2 points or 30%; PGIC: much or very much improved, no baseline "
                "needed), with the 95% Wilson interval as a bar. n counts the follow-ups where it could be judged "
                "(the legend: fewest to most at a timepoint).",
            ),
        }
        self.measure = combo("Score measure", [(measure_label(m), m) for m in SCORE_MEASURES])
        measure_row = QHBoxLayout()
        measure_row.addWidget(QLabel("Measure:"))
        measure_row.addWidget(self.measure)
        measure_row.addStretch(1)
        self.panels["scores"].extra.addLayout(measure_row)
        self.mcid_measure = combo("MCID measure", [(measure_label(m), m) for m in MCID_MEASURES])
        mcid_row = QHBoxLayout()
        mcid_row.addWidget(QLabel("Measure:"))
        mcid_row.addWidget(self.mcid_measure)
        mcid_row.addStretch(1)
        self.panels["outcomes"].extra.addLayout(mcid_row)
        self.figures = DurabilityFigures()
        self.panels["durability"].side.addWidget(self.figures)
        self.at_risk = QLabel("")
        self.at_risk.setTextFormat(Qt.TextFormat.RichText)
        self.at_risk.setAccessibleName("Numbers at risk")
        self.panels["durability"].extra.addWidget(self.at_risk)
        self.tabs = QTabWidget()
        for key, label in zip(TABS, ("Cases per month", "Complication rate", "Duration", "Pain scores",
                                     "Durability of relief", "Outcomes (MCID)"), strict=True):  # fmt: skip
            self.tabs.addTab(self.panels[key], label)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(bar)
        cl.addWidget(self.summary)
        cl.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.dates.changed.connect(self.refresh)
        self.surgeon.currentIndexChanged.connect(lambda _i: self.refresh())
        self.reload.clicked.connect(self.refresh)
        self.measure.currentIndexChanged.connect(lambda _i: self._show_scores())
        self.mcid_measure.currentIndexChanged.connect(lambda _i: self._show_mcid())
        restore_geometry(self, "dashboard", QSize(1340, 800))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.figures.fit(event.size().width())
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        save_geometry(self, "dashboard")
        super().closeEvent(event)

    def case_filter(self) -> CaseFilter:
        date_from, date_to = self.dates.dates()
        return CaseFilter(date_from=date_from, date_to=date_to, surgeon=self.surgeon.currentData())

    def refresh(self) -> None:
        """Build the figures in the background; an older build still running is simply ignored when it ends."""
        self._generation += 1
        generation = self._generation
        case_filter = self.case_filter()
        service = self.services.cases
        figures = DashboardService(service, today=self._today)
        self.loading = True
        self.summary.setText("Loading…")

        def first(_progress: Progress) -> tuple[list[str], Overview]:
            return service.surgeons(), figures.overview(case_filter)

        def first_shown(result: tuple[list[str], Overview]) -> None:
            if generation == self._generation and self.loading:  # the whole build's failure is shown by it
                self._apply_overview(*result)

        # The first tab as soon as its few figures are counted (a second at a million cases), the rest after.
        self.services.tasks.run(first, on_result=first_shown, owner=self)

        def work(_progress: Progress) -> tuple[list[str], Dashboard, list[MCIDShare]]:
            return service.surgeons(), *figures.build_with_shares(case_filter)

        def done(result: tuple[list[str], Dashboard, list[MCIDShare]]) -> None:
            if generation == self._generation:
                self._apply(*result)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.loading = False
                self.summary.setText("The figures could not be read.")
                show_error(self, "The dashboard could not be built", exc)

        self.services.tasks.run(work, on_result=done, on_error=failed, owner=self)

    def _apply_overview(self, surgeons: list[str], overview: Overview) -> None:
        """The first tab while the other figures are still being counted."""
        self._show_first_tab(surgeons, overview.cases, overview.cases_per_month, "the other tabs are loading…")

    def _show_first_tab(self, surgeons: list[str], cases: int, per_month: CasesPerMonth, when: str) -> str:
        """The surgeons, the summary line and the cases per month; returns the note for an empty chart."""
        set_combo_items(self.surgeon, ("All surgeons", None), [(s, s) for s in surgeons])
        who = self.surgeon.currentText() if self.surgeon.currentData() else "all surgeons"
        noun = "case" if cases == 1 else "cases"
        self.summary.setText(f"{cases:,} {noun} · {self.dates.text()} · {who} · {when}")
        empty = "No cases in this range." if cases == 0 else "No data for this chart in this range."
        self.panels["per_month"].show_result(
            partial(charts.cases_per_month_chart, per_month) if per_month.months and cases else None,
            per_month.table(),
            empty=empty,
            key=(self._generation, per_month),  # the whole build's months are its first figures': drawn once
        )
        return empty

    def _apply(self, surgeons: list[str], board: Dashboard, shares: list[MCIDShare]) -> None:
        self.result = board
        self.shares = shares
        stamp = dt.datetime.now().strftime("%H:%M")
        empty = self._show_first_tab(surgeons, board.cases, board.cases_per_month, f"read at {stamp}")
        rates = board.complication_rates
        has_rates = any(r.cases for r in rates.rows)
        self.panels["rates"].show_result(partial(charts.rates_chart, rates) if has_rates else None, rates.table(),
                                         empty=empty)  # fmt: skip
        durations = board.durations
        has_durations = any(r.minutes.n for r in durations.rows)
        self.panels["durations"].show_result(
            partial(charts.durations_chart, durations) if has_durations else None, durations.table(), empty=empty
        )
        self._show_scores()
        durability = board.durability
        self.panels["durability"].show_result(
            partial(charts.durability_chart, durability) if durability.curves else None,
            *durability.tables(),
            empty="No ablations or rhizotomies in this range." if board.cases else empty,
        )
        self.at_risk.setText(_at_risk_html(durability) if durability.curves else "")
        self.figures.show_figures(durability)
        self.figures.setVisible(bool(durability.curves))
        self._show_mcid()
        self.loading = False

    def _show_scores(self) -> None:
        if self.result is None:
            return
        scores = self.result.pain_scores
        measure = self.measure.currentData()
        has = any(r.measure == measure and r.scores.n for r in scores.rows)
        empty = "No scores recorded in this range." if self.result.cases else "No cases in this range."
        chart = partial(charts.scores_chart, scores, measure) if has else None
        self.panels["scores"].show_result(chart, scores.table(), empty=empty)

    def _show_mcid(self) -> None:
        if self.result is None:
            return
        measure = self.mcid_measure.currentData()
        has = any(r.measure == measure and r.n for r in self.shares)
        if not self.result.cases:
            empty = "No cases in this range."
        else:
            empty = f"No follow-up in this range where the MCID on {measure_label(measure)} could be judged."
        self.panels["outcomes"].show_result(partial(charts.mcid_chart, self.shares, measure) if has else None,
                                            mcid_table(self.shares), empty=empty)  # fmt: skip


def mcid_table(shares: list[MCIDShare]) -> Table:
    """The numbers behind the outcomes chart, as `caselog report outcomes` writes them."""
    return Table("Share reaching the MCID (95% Wilson interval)", COLUMNS, tuple(share_cells(r) for r in shares))


def _at_risk_html(durability: object) -> str:
    columns, rows = charts.at_risk_rows(durability)  # type: ignore[arg-type]
    head = "".join(f"<th style='padding:0 10px;text-align:right'>{html.escape(c)}</th>" for c in columns[1:])
    body = "".join(
        "<tr><td style='padding-right:10px'>" + html.escape(r[0]) + "</td>"
        + "".join(f"<td style='padding:0 10px;text-align:right'>{v}</td>" for v in r[1:]) + "</tr>"
        for r in rows
    )  # fmt: skip
    return (
        f"<table cellspacing='0'><tr><th style='text-align:left;padding-right:10px'>{html.escape(columns[0])}"
        f"</th>{head}</tr>{body}</table>"
    )
