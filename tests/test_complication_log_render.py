"""The complication log draws its event rows straight on the canvas (issue 18: under 10 s at a million cases). The
page must be the one reportlab's Table drew before, word for word and pixel for pixel: the reference here is the
same log with each page's rows handed to a Table again (`RowTable._page`, what the log used until now)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageChops
from sqlalchemy import event

from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.quality import cases_by_procedure
from caselog.records import CaseFilter, CaseView
from caselog.reports import complications as log
from caselog.reports.rowtable import RowTable
from caselog.service import CaseService
from tests.test_reports import GENERATED, SETTINGS, complication, make_view

HEAD = "Audit trail: entry 2000, head 0123456789ab…"


@pytest.fixture(scope="module")
def demo_path(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 demo cases over six years, a few percent with complications (some open, some under review)."""
    path = tmp_path_factory.mktemp("render") / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    CaseService(db).add_records(generate_cases(2000, seed=5))
    db.close()
    return path


@pytest.fixture
def demo(demo_path: Path) -> Iterator[CaseService]:
    db = open_database(demo_path)
    yield CaseService(db)
    db.close()


def write(events: list[log.LogEvent], counts: dict[str, int], out: Path) -> Path:
    log.write_complication_log(log.LoggedRange(events, counts), out, date_from=None, date_to=None,
                               settings=SETTINGS, generated_at=GENERATED, audit_head=HEAD)  # fmt: skip
    return out


def drawn_and_reference(
    events: list[log.LogEvent], counts: dict[str, int], folder: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    drawn = write(events, counts, folder / "drawn.pdf")
    with monkeypatch.context() as patch:
        patch.setattr(log.EventRows, "_page", RowTable._page)  # each page's rows in a reportlab Table, as before
        reference = write(events, counts, folder / "table.pdf")
    return drawn, reference


def page_texts(pdf: Path) -> list[str]:
    """Each page's words in reading order, one space between them."""
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(pdf).pages]


def page_images(pdf: Path, folder: Path) -> list[Image.Image]:
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True)
    return [Image.open(p).convert("RGB") for p in sorted(folder.glob(f"{pdf.stem}-*.png"))]


def assert_same_document(drawn: Path, reference: Path, folder: Path) -> list[str]:
    """Same words in the same order on every page (pypdf and pdftotext), and the same pixels."""
    texts = page_texts(drawn)
    assert texts == page_texts(reference)
    layout = [subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True, check=True).stdout
              for p in (drawn, reference)]  # fmt: skip
    assert layout[0] == layout[1]
    images, expected = page_images(drawn, folder), page_images(reference, folder)
    assert len(images) == len(expected) == len(texts)
    for number, (image, wanted) in enumerate(zip(images, expected, strict=True), start=1):
        assert ImageChops.difference(image, wanted).getbbox() is None, f"page {number} differs"
    return texts


def test_a_demo_log_prints_what_the_table_printed(demo: CaseService, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    with demo.reading() as session:
        events = log.events_for_log(session, CaseFilter())
    counts = cases_by_procedure(demo, CaseFilter())
    statuses = {e.review_status for e in events}
    assert len(events) > 40 and {"open", "under_review", "closed"} <= statuses
    drawn, reference = drawn_and_reference(events, counts, tmp_path, monkeypatch)
    texts = assert_same_document(drawn, reference, tmp_path)
    assert len(texts) >= 4 and all("Procedure" in t and "Review" in t for t in texts[1:])  # the header, each page
    assert texts[-1].count(f"Page {len(texts)} of {len(texts)}") == 1


def test_long_and_foreign_text_wraps_as_the_table_wrapped_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2,000-character description (cut after eight lines), a word with no space to break at, Arabic, Hebrew and
    Chinese text DejaVu Sans lacks (a run in its own font), and an open and an under-review row among them."""
    note = "Dural tear repaired primarily with fibrin sealant; patient kept flat for 24 hours. " * 25
    views: list[CaseView] = [
        make_view("2025-00001", complications=[complication("other", "IIIb", "open", description=note[:2000])]),
        make_view("2025-00002", procedure_detail="X" * 300,
                  complications=[complication("bleeding", "II", "under_review", description="Ü" * 120)]),
        make_view("2025-00003", complications=[complication("other", "I", "open", description="نزيف خفيف بعد الإجراء"),
                                               complication("other", "I", "closed", description="出血 " * 40)]),
        make_view("2025-00004", levels=[(f"L{i}-L{i + 1}", "bilateral") for i in range(1, 5)],
                  complications=[complication("numbness", "I", "closed", description="שלום עולם " * 12)]),
    ]  # fmt: skip
    events = log.events_of(views)
    counts = {"radiofrequency_ablation": len(views)}
    drawn, reference = drawn_and_reference(events, counts, tmp_path, monkeypatch)
    text = " ".join(assert_same_document(drawn, reference, tmp_path))
    assert "…" in text and "XXXX" in text and "出血" in text


def test_the_log_reads_only_what_it_prints(demo: CaseService) -> None:
    """The rows loaded for the log are those of the whole cases, and no outcome, follow-up attempt or patient is
    read for them (loading whole cases cost about a third of the log's time at a million cases)."""
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = demo.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with demo.reading() as session:
            events = log.events_for_log(session, CaseFilter(), batch=7)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    read = " ".join(statements).lower()
    assert "outcome" not in read and "follow_up" not in read and "patients" not in read
    assert events == log.events_of(list(demo.iter_cases(CaseFilter())))


def test_a_date_range_logs_its_own_events(demo: CaseService) -> None:
    views = list(demo.iter_cases(CaseFilter()))
    first, last = views[500].record.procedure_date, views[1500].record.procedure_date
    inside = [v for v in views if first <= v.record.procedure_date <= last]
    with demo.reading() as session:
        events = log.events_for_log(session, CaseFilter(date_from=first, date_to=last))
    assert events == log.events_of(inside) and events


def test_rates_count_each_case_once_however_many_complications_it_had() -> None:
    two = make_view("2025-00001", complications=[complication("hematoma"), complication("bleeding", "II")])
    one = make_view("2025-00002", procedure="laminectomy", complications=[complication("dural_tear")])
    rows, total = log.rates_by_procedure(log.events_of([two, one]), {"radiofrequency_ablation": 4, "laminectomy": 1})
    assert {r.label: (r.cases, r.with_complication) for r in rows} == {
        "Radiofrequency ablation (facet medial branch)": (4, 1),
        "Laminectomy (decompression)": (1, 1),
    }
    assert (total.cases, total.with_complication) == (5, 2)


def test_the_rows_come_in_batches_on_either_database(service: CaseService) -> None:
    """SQLite and PostgreSQL (a server-side cursor there): each batch reads its cases' levels while the next waits."""
    service.add_records(generate_cases(400, seed=9))
    whole = log.events_of(list(service.iter_cases(CaseFilter())))
    assert len(whole) > 6
    with service.reading() as session:
        assert log.events_for_log(session, CaseFilter(), batch=3) == whole
