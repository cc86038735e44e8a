"""The dashboard's charts, drawn with QtCharts from caselog.dashboard's frozen results (GUI thread only).

Every chart states its unit and its n; the numbers behind each are the result's `table()`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCharts import (
    QAbstractAxis,
    QAbstractSeries,
    QAreaSeries,
    QBarCategoryAxis,
    QBarSet,
    QBoxPlotSeries,
    QBoxSet,
    QCategoryAxis,
    QChart,
    QLineSeries,
    QScatterSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPen

from caselog import stats, vocab
from caselog.dashboard import CasesPerMonth, ComplicationRates, Durations, PainScores
from caselog.durability import DAYS_PER_MONTH, Durability, DurabilityCurve
from caselog.outcomes import ALL_SCORES, MCIDShare, measure_label
from ui.style import colours, is_dark

COLOURS = {
    "endoscopic_rhizotomy": "#2563eb",
    "radiofrequency_ablation": "#ea580c",
    "medial_branch_block": "#16a34a",
    "laminectomy": "#7c3aed",
    "laminotomy": "#db2777",
    "other": "#6b7280",
}
MEASURE_RANGES = {"nrs_back": 10, "nrs_leg": 10, "odi": 100}
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _dark() -> bool:
    return is_dark(QGuiApplication.palette())


def colour(procedure: str) -> QColor:
    """The procedure's colour in every chart; lighter on a dark palette, so lines keep 3:1 against the plot."""
    found = QColor(COLOURS.get(procedure, "#6b7280"))
    return found.lighter(150) if _dark() else found


def muted() -> QColor:
    """Reference lines (the median's 50%, all procedures): grey that reads on either palette."""
    return QColor("#9ca3af" if _dark() else "#6b7280")


def short(procedure: str) -> str:
    return vocab.label(vocab.PROCEDURE_SHORT, procedure)


def _chart() -> QChart:
    """A chart in the app's palette: on a dark palette, dark plot and light labels (Qt's dark theme, flattened)."""
    chart = QChart()
    if _dark():
        chart.setTheme(QChart.ChartTheme.ChartThemeDark)
    chart.setBackgroundBrush(QBrush(QGuiApplication.palette().base().color()))
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setBackgroundRoundness(0)
    return chart


def _axes(chart: QChart, x: QAbstractAxis, y: QAbstractAxis, series: Sequence[QAbstractSeries]) -> None:
    """Put `x` under the chart and `y` on its left, and plot every one of `series` against them."""
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    for one in series:
        one.attachAxis(x)
        one.attachAxis(y)


def _value_axis(title: str, low: float, high: float, *, ticks: int = 6, fmt: str = "%d") -> QValueAxis:
    axis = QValueAxis()
    axis.setRange(low, high)
    axis.setTitleText(title)
    axis.setTickCount(ticks)
    axis.setLabelFormat(fmt)
    return axis


def _nice_top(value: float, step: float) -> float:
    return max(step, math.ceil(value / step) * step)


# ---- cases per month -------------------------------------------------------------------------------------


def cases_per_month_chart(data: CasesPerMonth) -> QChart:
    chart = _chart()
    series = QStackedBarSeries()
    counts = {(c.month, c.procedure): c.cases for c in data.counts}  # data.count looks through every month
    for procedure in data.procedures:
        bar = QBarSet(short(procedure))
        bar.setColor(colour(procedure))
        bar.setBorderColor(colour(procedure))
        bar.append([float(counts.get((m, procedure), 0)) for m in data.months])
        series.append(bar)
    series.setBarWidth(0.8)
    chart.addSeries(series)
    top = max((sum(counts.get((m, p), 0) for p in data.procedures) for m in data.months), default=0)
    y = _value_axis("Cases", 0, _nice_top(top, 5), ticks=6)
    x: QAbstractAxis
    if len(data.months) > 18:
        # One bar a month is too narrow for a name each: the years are named at each January instead, on a value
        # axis with the bars at 0, 1, 2…; a category axis keeps a label and a grid line per month even when they
        # are hidden (about 7 MB for 20 years of months).
        x = QCategoryAxis()
        x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        x.setRange(-0.5, len(data.months) - 0.5)
        first_january = next((i for i, m in enumerate(data.months) if m.month == 1), len(data.months))
        for i, m in enumerate(data.months):
            if m.month == 1 or (i == 0 and first_january >= 4):  # the first month is named unless a year starts soon
                x.append(f"{m.year}" if m.month == 1 else f"{MONTHS_SHORT[m.month - 1]} {m.year}", i - 0.5)
        x.setTitleText("Month of the procedure (each bar is one month; labels mark where a year starts)")
    else:
        x = QBarCategoryAxis()
        x.append([f"{MONTHS_SHORT[m.month - 1]} {m.year}" for m in data.months])
        x.setLabelsAngle(-60 if len(data.months) > 8 else 0)
    _axes(chart, x, y, [series])
    return chart


# ---- complication rates: a forest plot -------------------------------------------------------------------


def rates_chart(data: ComplicationRates) -> QChart:
    """Each procedure's rate (dot) with its 95% Wilson interval (line); the dashed line is all procedures."""
    chart = _chart()
    rows = [r for r in data.rows if r.cases]
    count = len(rows)
    top = _nice_top(max((100 * r.rate.upper for r in rows), default=10), 5)
    x = _value_axis("Cases with at least one complication (%), 95% Wilson interval", 0, top, ticks=int(top // 5) + 1)
    y = QCategoryAxis()
    y.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    y.setRange(-0.7, count - 0.3)
    y.setGridLineVisible(False)
    points = QScatterSeries()
    points.setName("Rate")
    points.setMarkerSize(11)
    ink = QColor(colours(QGuiApplication.palette()).title)
    points.setColor(ink)
    points.setBorderColor(ink)
    chart.addSeries(points)
    lines: list[QLineSeries] = []
    for i, row in reversed(list(enumerate(rows))):  # a category axis takes its labels bottom up
        level = count - 1 - i  # the first procedure on top
        r = row.rate
        y.append(
            f"{short(row.procedure)}: {row.cases_with_complications}/{row.cases} = {100 * (r.proportion or 0):.1f}%"
            f" ({100 * r.lower:.1f}–{100 * r.upper:.1f})",
            level,
        )
        line = QLineSeries()
        line.setPen(QPen(colour(row.procedure), 3))
        line.append(100 * row.rate.lower, level)
        line.append(100 * row.rate.upper, level)
        lines.append(line)
        points.append(round(100 * (row.rate.proportion or 0.0), 1), level)
    total = stats.rate(sum(r.cases_with_complications for r in rows), sum(r.cases for r in rows))
    overall = QLineSeries()
    overall.setName(f"All procedures: {100 * (total.proportion or 0):.1f}%")
    pen = QPen(muted(), 1.5, Qt.PenStyle.DashLine)
    overall.setPen(pen)
    overall.append(100 * (total.proportion or 0), -0.7)
    overall.append(100 * (total.proportion or 0), count - 0.3)
    for series in (*lines, overall):
        chart.addSeries(series)
    _axes(chart, x, y, [points, *lines, overall])
    for line in lines:
        _unlisted(chart, line)
    for marker in chart.legend().markers(points):
        marker.setLabel("Rate (95% Wilson interval as the bar)")
    return chart


# ---- durations: box plots ----------------------------------------------------------------------------------


def durations_chart(data: Durations) -> QChart:
    chart = _chart()
    series = QBoxPlotSeries()
    series.setName("Box: quartiles, line: median, whiskers: minimum and maximum")
    top = 0.0
    for row in data.rows:
        q = row.minutes
        if not q.n:
            continue
        box = QBoxSet(f"{short(row.procedure)}<br>n={q.n}, median {q.median:g}")
        for which, value in (
            (QBoxSet.ValuePositions.LowerExtreme, q.minimum),
            (QBoxSet.ValuePositions.LowerQuartile, q.q1),
            (QBoxSet.ValuePositions.Median, q.median),
            (QBoxSet.ValuePositions.UpperQuartile, q.q3),
            (QBoxSet.ValuePositions.UpperExtreme, q.maximum),
        ):
            box.setValue(which, float(value or 0))
        box.setBrush(colour(row.procedure).lighter(160))
        box.setPen(QPen(colour(row.procedure).darker(120), 1.5))
        series.append(box)
        top = max(top, float(q.maximum or 0))
    chart.addSeries(series)
    x = QBarCategoryAxis()
    x.append([s.label() for s in series.boxSets()])
    y = _value_axis("Minutes", 0, _nice_top(top, 30), ticks=int(_nice_top(top, 30) // 30) + 1)
    _axes(chart, x, y, [series])
    chart.legend().setVisible(True)
    return chart


# ---- pain and disability scores ----------------------------------------------------------------------------


def scores_chart(data: PainScores, measure: str) -> QChart:
    """Median score at each timepoint, one line per procedure; quartiles and n are in the numbers."""
    chart = _chart()
    timepoints = [t for t in vocab.TIMEPOINTS if any(r.timepoint == t and r.measure == measure for r in data.rows)]
    index = {t: i for i, t in enumerate(timepoints)}
    procedures = list(dict.fromkeys(r.procedure for r in data.rows if r.measure == measure))
    series_list: list[QLineSeries] = []
    for procedure in procedures:
        line = QLineSeries()
        line.setPen(QPen(colour(procedure), 2.5))
        line.setPointsVisible(True)
        line.setMarkerSize(4)  # drawn as a radius: a dot of 8 pixels
        ns = []
        for row in data.rows:
            if row.procedure == procedure and row.measure == measure and row.scores.median is not None:
                line.append(index[row.timepoint], float(row.scores.median))
                ns.append(row.scores.n)
        n_text = "" if not ns else f"{min(ns)}–{max(ns)}" if min(ns) != max(ns) else f"{ns[0]}"
        line.setName(f"{short(procedure)} (n={n_text})" if ns else short(procedure))  # n per timepoint: the note
        series_list.append(line)
        chart.addSeries(line)
    x = QCategoryAxis()
    x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    for t, i in index.items():
        x.append(vocab.label(vocab.TIMEPOINTS, t), i)
    x.setRange(-0.3, max(len(timepoints) - 0.7, 0.7))
    label = vocab.label(vocab.OUTCOME_MEASURE_LABELS, measure)
    y = _value_axis(f"Median {label} (0–{MEASURE_RANGES[measure]})", 0, MEASURE_RANGES[measure], ticks=6)
    _axes(chart, x, y, series_list)
    return chart


# ---- durability of relief: Kaplan-Meier --------------------------------------------------------------------


def step_points(km: stats.KaplanMeier, value: Callable[[stats.SurvivalStep], float]) -> list[QPointF]:
    """A step function of the curve in (months, %): flat until each step's time, then straight down (or up)
    to its new value; `value` reads the survival or an edge of its band. 100% at the start."""
    level, points = 100.0, [QPointF(0, 100)]
    for step in km.steps:
        month = step.time / DAYS_PER_MONTH
        points.append(QPointF(month, level))
        level = 100 * value(step)
        points.append(QPointF(month, level))
    points.append(QPointF(max((s.time for s in km.steps), default=0) / DAYS_PER_MONTH, level))
    return points


def _band(km: stats.KaplanMeier, procedure: str) -> QAreaSeries:
    """The 95% band (exponential Greenwood) shaded between its lower and upper step lines."""
    area = QAreaSeries()
    # The edges are the area's children: built apart (QAreaSeries(upper, lower)), PySide lets Python delete the area.
    upper, lower = QLineSeries(area), QLineSeries(area)
    upper.append(step_points(km, lambda s: s.upper))
    lower.append(step_points(km, lambda s: s.lower))
    area.setUpperSeries(upper)
    area.setLowerSeries(lower)
    fill = colour(procedure)
    fill.setAlpha(70 if _dark() else 50)
    area.setBrush(QBrush(fill))
    area.setPen(QPen(Qt.PenStyle.NoPen))
    area.setName(f"{short(procedure)}: 95% band")
    return area


def curve_name(curve: DurabilityCurve) -> str:
    """The legend's words beside a curve: who left its follow-up (medians and intervals are in the table beside
    the chart; a longer entry is cut short in a legend at 1280 pixels)."""
    return f"{short(curve.procedure)}: {curve.n:,} sides, lost to follow-up {curve.lost:,}, died {curve.died:,}"


def _unlisted(chart: QChart, series: QAbstractSeries) -> None:
    """Leave a series out of the legend (drawn, named for the accessible tree and the tests, not listed)."""
    for marker in chart.legend().markers(series):
        marker.setVisible(False)


def durability_chart(data: Durability) -> QChart:
    """Step curves of the share of treated sides not yet treated again with their shaded 95% bands, ticks where
    follow-up ends (censored), and dashed the same sides with every lost one counted as a repeat."""
    chart = _chart()
    last = max((s.time for c in data.curves for s in c.curve.steps), default=365.0) / DAYS_PER_MONTH
    top = _nice_top(last, 12)
    x = _value_axis("Months since the procedure", 0, top, ticks=int(top // 12) + 1)
    x.setMinorTickCount(1)
    y = _value_axis("Not yet treated again (%)", 0, 100, ticks=6)
    attached: list[QAbstractSeries] = []
    for curve in data.curves:
        band = _band(curve.curve, curve.procedure)
        chart.addSeries(band)
        attached.append(band)
        _unlisted(chart, band)  # the note says what the shading is; one entry per curve keeps the legend whole
    half = QLineSeries()
    half.setName("50%: the median")
    half.setPen(QPen(muted(), 1, Qt.PenStyle.DashLine))
    half.append(0, 50)
    half.append(top, 50)
    chart.addSeries(half)
    attached.append(half)
    _unlisted(chart, half)
    for curve in data.curves:
        line = QLineSeries()
        line.setPen(QPen(colour(curve.procedure), 2.5))
        line.append(step_points(curve.curve, lambda s: s.survival))
        line.setName(curve_name(curve))
        ticks = QScatterSeries()
        ticks.setMarkerShape(QScatterSeries.MarkerShape.MarkerShapeRectangle)
        ticks.setMarkerSize(5)
        ticks.setColor(colour(curve.procedure))
        ticks.setBorderColor(colour(curve.procedure))
        for step in curve.curve.steps:
            if step.censored:
                ticks.append(step.time / DAYS_PER_MONTH, 100 * step.survival)
        chart.addSeries(line)
        chart.addSeries(ticks)
        _unlisted(chart, ticks)
        attached += [line, ticks]
        if curve.sensitivity is not None and curve.lost:
            worst = QLineSeries()
            worst.setPen(QPen(colour(curve.procedure), 1.5, Qt.PenStyle.DashLine))
            worst.append(step_points(curve.sensitivity.curve, lambda s: s.survival))
            worst.setName(f"{short(curve.procedure)}, lost counted as repeats")
            chart.addSeries(worst)
            _unlisted(chart, worst)  # dashed, in the curve's colour: the note says what it is
            attached.append(worst)
    _axes(chart, x, y, attached)
    return chart


def at_risk_rows(data: Durability) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The numbers-at-risk table under the curves: sides still followed and not repeated at 0, 6, 12… months."""
    months = [0, *(a.months for a in data.curves[0].at_risk)] if data.curves else [0]
    rows = [
        (short(c.procedure), str(c.patients), str(c.n), *(str(a.at_risk) for a in c.at_risk)) for c in data.curves
    ]  # at 0 months every treated side is at risk
    return tuple(["Number at risk (sides)", "Patients", *(f"{m} mo" for m in months)]), rows


# ---- outcomes: share reaching the minimal clinically important difference ----------------------------------


#: The measures the MCID is judged on, in the outcomes view's order: every region's scores, then PGIC.
MCID_MEASURES: tuple[str, ...] = (*ALL_SCORES, "pgic")


def mcid_chart(shares: Sequence[MCIDShare], measure: str) -> QChart:
    """Share of follow-ups reaching the MCID on `measure` at each timepoint, a line per procedure with its 95%
    Wilson interval as a bar through each point (procedures side by side, a little apart, so bars never hide
    each other)."""
    chart = _chart()
    rows = [r for r in shares if r.measure == measure and r.n]
    timepoints = [t for t in vocab.TIMEPOINTS if any(r.timepoint == t for r in rows)]
    index = {t: i for i, t in enumerate(timepoints)}
    procedures = list(dict.fromkeys(r.procedure for r in rows))
    attached: list[QLineSeries] = []
    for i, procedure in enumerate(procedures):
        offset = (i - (len(procedures) - 1) / 2) * 0.08
        line = QLineSeries()
        line.setPen(QPen(colour(procedure), 2.5))
        line.setPointsVisible(True)
        line.setMarkerSize(4)  # drawn as a radius: a dot of 8 pixels
        mine = [r for r in rows if r.procedure == procedure]
        for r in mine:
            at = index[r.timepoint] + offset
            line.append(at, 100 * (r.rate.proportion or 0.0))
            bar = QLineSeries()
            bar.setPen(QPen(colour(procedure), 1.5))
            bar.append(at, 100 * r.rate.lower)
            bar.append(at, 100 * r.rate.upper)
            attached.append(bar)
        ns = [r.n for r in mine]
        n_text = f"{min(ns)}–{max(ns)}" if min(ns) != max(ns) else f"{ns[0]}"
        line.setName(f"{short(procedure)} (n={n_text})")
        attached.append(line)
    for series in attached:
        chart.addSeries(series)
        if not series.name():
            _unlisted(chart, series)
    x = QCategoryAxis()
    x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    for t, i in index.items():
        x.append(vocab.label(vocab.TIMEPOINTS, t), i)
    x.setRange(-0.4, max(len(timepoints) - 0.6, 0.6))
    x.setTitleText("Timepoint after the procedure")
    y = _value_axis(f"Reaching the MCID on {measure_label(measure)} (%), 95% Wilson interval", 0, 100, ticks=6)
    _axes(chart, x, y, attached)
    return chart
