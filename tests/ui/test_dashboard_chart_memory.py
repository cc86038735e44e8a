"""The dashboard's charts hold what they draw and no more: at a million cases over twenty years the app must stay
under 250 MB with every desk open (issue 18), and QtCharts keeps a label and a grid line per category even when
they are hidden."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCharts import QBarCategoryAxis, QCategoryAxis, QStackedBarSeries

from caselog.dashboard import CasesPerMonth, MonthCount
from ui.desks.dashboard_charts import cases_per_month_chart

PROCEDURES = ("endoscopic_rhizotomy", "radiofrequency_ablation", "medial_branch_block")


def months_of(first_year: int, years: int) -> tuple[dt.date, ...]:
    return tuple(dt.date(first_year + i // 12, i % 12 + 1, 1) for i in range(12 * years))


def per_month(months: tuple[dt.date, ...]) -> CasesPerMonth:
    counts = tuple(MonthCount(m, p, (i + k) % 9) for i, m in enumerate(months) for k, p in enumerate(PROCEDURES))
    return CasesPerMonth(months, PROCEDURES, counts)


def axis_labels(chart: object) -> int:
    """Every label the chart's axes hold, shown or not (a category axis: one per category)."""
    axes = chart.axes()  # type: ignore[attr-defined]
    return sum(a.count() for a in axes if isinstance(a, QBarCategoryAxis | QCategoryAxis))


def test_twenty_years_of_months_keep_a_label_per_year_not_per_month(qapp: object) -> None:
    """240 months: the axis names each January (20 labels), not 240 hidden month names; every bar is still drawn
    with its count, in month order."""
    months = months_of(2007, 20)
    data = per_month(months)
    chart = cases_per_month_chart(data)
    assert axis_labels(chart) == 20
    series = chart.series()[0]
    assert isinstance(series, QStackedBarSeries)
    for bar, procedure in zip(series.barSets(), PROCEDURES, strict=True):
        assert [bar.at(i) for i in range(bar.count())] == [float(data.count(m, procedure)) for m in months]
    years = next(a for a in chart.axes() if isinstance(a, QCategoryAxis))
    assert years.categoriesLabels()[:2] == ["2007", "2008"]
    assert (years.min(), years.max()) == (-0.5, 239.5)


def test_a_year_of_months_names_each_month(qapp: object) -> None:
    """Up to 18 months each bar has its month's name under it."""
    months = months_of(2025, 1)
    chart = cases_per_month_chart(per_month(months))
    names = next(a for a in chart.axes() if isinstance(a, QBarCategoryAxis)).categories()
    assert names[0] == "Jan 2025" and len(names) == 12
