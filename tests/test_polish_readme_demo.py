"""The README's line on `caselog demo --cases 1000000` says what the demo's year and site spread does."""

from __future__ import annotations

import collections
import datetime as dt
import re
from pathlib import Path

import pytest

from caselog import demo

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_says_which_years_and_sites_a_million_demo_cases_span(monkeypatch: pytest.MonkeyPatch) -> None:
    """25 years back from the run's day touch 26 calendar years (a run in 2026 dates cases 2001-2026): a small
    stream with the million's shape shows the spread without making a million cases."""
    lines = " ".join(line.split("#", 1)[-1].strip() for line in README.read_text(encoding="utf-8").splitlines())
    said = re.search(
        r"1,000,000 = (\d+) sites, ([\d,]+) a year over the (\d+) years to today: run in (\d{4}), (\d{4})-(\d{4})",
        lines,
    )
    assert said, "the README's demo line"
    sites, a_year, years, run_in, first, last = said.groups()
    shape = demo.network_shape(1_000_000)
    assert shape == (int(years), int(sites))
    assert int(a_year.replace(",", "")) == 1_000_000 // shape[0]

    count = 2_500
    monkeypatch.setattr(demo, "NETWORK_FROM", 1_000)
    monkeypatch.setattr(demo, "network_shape", lambda _count: shape)
    spread: collections.Counter[int] = collections.Counter()
    facilities = set()
    for record in demo.stream_cases(count, seed=1, until=dt.date(int(run_in), 11, 30)):
        spread[record.procedure_date.year] += 1
        facilities.add(record.facility)
    assert (min(spread), max(spread)) == (int(first), int(last))
    assert len(facilities) == int(sites)
    full_years = [spread[year] for year in range(int(first) + 1, int(last))]
    assert all(abs(n - count / shape[0]) <= count / shape[0] * 0.1 for n in full_years), spread
