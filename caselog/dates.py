"""Calendar arithmetic shared by every part of CaseLog (no dependency: any module may import it)."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (earlier when negative), or that month's last day when it has no such day
    (31 August + 6 months = 28 or 29 February)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if day.day <= 28:  # every month has it
        return dt.date(year, month + 1, day.day)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def whole_months(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end` (0 when `end` is earlier): 10 January to 9 July is 5, to 10 July 6."""
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)
