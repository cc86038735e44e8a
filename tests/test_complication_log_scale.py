"""The complication log reads only the cases with a complication and counts the others in SQL (issue 18): the PDF
must still list every complication of the range, and the quality desk's and the command line's logs agree."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from caselog import cli
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.records import CaseFilter
from caselog.reports import ReportSettings
from caselog.service import CaseService
from ui.desks import quality_jobs

NUMBER = re.compile(r"\b(\d{4}-\d{5})\b")


@pytest.fixture(scope="module")
def demo_path(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 demo cases over six years (a few percent with one or more complications)."""
    path = tmp_path_factory.mktemp("log") / "log.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    CaseService(db).add_records(generate_cases(1500, seed=11))
    db.close()
    return path


def listed(pdf: Path) -> tuple[Counter[str], str]:
    """Case numbers as the event table lists them (one per complication), and the whole text."""
    text = "\n".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    table = text[text.index("Complications (") :]
    return Counter(NUMBER.findall(table)), text


def test_the_log_lists_every_complication_of_the_range(demo_path: Path, tmp_path: Path) -> None:
    db = open_database(demo_path)
    try:
        service = CaseService(db)
        expected: Counter[str] = Counter()
        cases = 0
        for view in service.iter_cases(CaseFilter()):
            cases += 1
            expected[view.case_number] += len(view.record.complications)
        expected = +expected  # cases without a complication dropped
        assert sum(expected.values()) > 20
        out = tmp_path / "cli.pdf"
        assert cli.main(["--db", str(demo_path), "report", "complications", "--output", str(out)]) == 0
        found, text = listed(out)
        assert found == expected
        assert f"{cases} cases" in text and f"{sum(expected.values())} complications" in text

        desk_pdf = tmp_path / "desk.pdf"
        work = quality_jobs.complication_log(service, None, None, desk_pdf, ReportSettings())
        assert work(lambda *_: None) == (cases, sum(expected.values()))
        assert listed(desk_pdf)[0] == expected
    finally:
        db.close()


def test_a_date_range_keeps_its_own_cases_and_denominators(demo_path: Path, tmp_path: Path) -> None:
    db = open_database(demo_path)
    try:
        service = CaseService(db)
        views = list(service.iter_cases(CaseFilter()))
        first, last = views[len(views) // 3].record.procedure_date, views[2 * len(views) // 3].record.procedure_date
        inside = [v for v in views if first <= v.record.procedure_date <= last]
        expected = +Counter({v.case_number: len(v.record.complications) for v in inside})
        out = tmp_path / "range.pdf"
        code = cli.main(["--db", str(demo_path), "report", "complications", "--from", first.isoformat(), "--to",
                         last.isoformat(), "--output", str(out)])  # fmt: skip
        assert code == 0
        found, text = listed(out)
        assert found == expected and f"{len(inside)} cases" in text
    finally:
        db.close()
