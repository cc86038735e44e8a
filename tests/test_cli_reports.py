"""`caselog summary` and `caselog report` as a coordinator and a quality reviewer run them."""

from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader

from caselog.settings import Settings, save_settings
from tests.factories import case_file, make_case, simple_case
from tests.test_cli import run, write


def _db(tmp_path: Path, db: str) -> str:
    cases = case_file(
        make_case(),
        simple_case("2025-03-14", procedure="laminectomy", surgeon="Dr. Priya Raman",
                    patient={"mrn": "Z-1", "family_name": "Иванова", "given_name": "Мария",
                             "birth_date": "1950-01-01", "sex": "female"}),
        simple_case("2025-02-01", procedure="medial_branch_block"),
    )  # fmt: skip
    assert run("import", write(tmp_path / "in.json", cases), db=db).returncode == 0
    return db


def _text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_summary_of_named_cases_each_starts_a_page(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    out = tmp_path / "summaries.pdf"
    result = run("summary", "2025-00002", "2025-00001", "--output", str(out), db=db)
    assert result.returncode == 0, result.stderr
    pages = _text(out)
    assert "2025-00002" in pages[0] and "Иванова" in pages[0]
    first_of_second = next(i for i, page in enumerate(pages) if "2025-00001" in page)
    assert first_of_second >= 1 and "2025-00002" not in pages[first_of_second]
    assert out.stat().st_mode & 0o777 == 0o600


def test_summary_of_a_day_in_case_number_order(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    out = tmp_path / "day.pdf"
    assert run("summary", "--date", "2025-03-14", "--output", str(out), db=db).returncode == 0
    text = "\n".join(_text(out))
    # 2025-00003 (a block) may be cited as evidence in the rhizotomy's indication check; its summary is not there.
    assert text.index("2025-00001") < text.index("2025-00002") and "Case 2025-00003" not in text


def test_facility_from_settings_and_no_patient_in_metadata(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    save_settings(Settings(facility_name="Riverside Spine Center"))
    out = tmp_path / "s.pdf"
    assert run("summary", "2025-00002", "--output", str(out), db=db).returncode == 0
    assert "Riverside Spine Center" in _text(out)[0]
    metadata = " ".join(str(v) for v in (PdfReader(out).metadata or {}).values())
    assert "Иванова" not in metadata and "Z-1" not in metadata


def test_summary_wrong_input(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    missing = run("summary", "2025-00001", "2025-00099", "--output", str(tmp_path / "x.pdf"), db=db)
    assert missing.returncode == 3 and "2025-00099" in missing.stderr
    assert not (tmp_path / "x.pdf").exists()
    no_folder = run("summary", "2025-00001", "--output", str(tmp_path / "no" / "x.pdf"), db=db)
    assert no_folder.returncode == 2 and "does not exist" in no_folder.stderr
    both = run("summary", "2025-00001", "--date", "2025-03-14", "--output", str(tmp_path / "y.pdf"), db=db)
    assert both.returncode == 2 and "Traceback" not in both.stderr


def test_complication_log_and_surgeon_log(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    log = tmp_path / "complications.pdf"
    result = run("report", "complications", "--from", "2025-01-01", "--to", "2025-12-31", "--output", str(log), db=db)
    assert result.returncode == 0 and "3 cases, 1 complications" in result.stdout
    text = "\n".join(_text(log))
    assert "Incision-site soreness" in text and "2025-00001" in text
    surgeon = tmp_path / "surgeon.pdf"
    result = run("report", "surgeon-log", "--surgeon", "Dr. Priya Raman", "--output", str(surgeon), db=db)
    assert result.returncode == 0
    text = "\n".join(_text(surgeon))
    assert "2025-00002" in text and "2025-00001" not in text


def test_empty_range_is_a_pdf_that_says_so(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    out = tmp_path / "empty.pdf"
    result = run("report", "complications", "--from", "2020-01-01", "--to", "2020-12-31", "--output", str(out), db=db)
    assert result.returncode == 0
    assert "no cases" in "\n".join(_text(out)).lower()
    assert json.loads(run("export", db=db).stdout)["cases"]  # nothing was changed by printing
