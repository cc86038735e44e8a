"""`caselog report outcomes`: the MCID shares as CSV, JSON and PDF, audited, refused where the roles say so."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.errors import InvalidInput, NotPermitted
from caselog.outcomes_commands import report_outcomes
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import case_file
from tests.test_cli import run, write
from tests.test_outcomes import CLINIC


def _db(tmp_path: Path, db: str) -> str:
    source = write(tmp_path / "in.json", {**case_file(*CLINIC), "version": 3})
    result = run("import", source, db=db)
    assert result.returncode == 0, result.stderr
    return db


def test_csv_to_standard_output_and_json_to_a_file(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    result = run("report", "outcomes", db=db)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert rows[0] == ["Procedure", "Timepoint", "Measure", "Follow-ups", "Reached MCID", "Share %", "95% CI low %",
                       "95% CI high %"]  # fmt: skip
    assert rows[1][:6] == ["Endoscopic rhizotomy (facet medial branch)", "6 weeks", "ODI", "2", "1", "50.0"]
    assert ["Radiofrequency ablation (facet medial branch)", "36 months", "NRS back", "1", "1", "100.0"] in [
        r[:6] for r in rows
    ]
    out = tmp_path / "shares.json"
    result = run("report", "outcomes", "--format", "json", "--procedure", "endoscopic_rhizotomy", "--output",
                 str(out), db=db)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote the outcomes report (6 rows)" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["filters"] == {"procedure": "endoscopic_rhizotomy"}
    pgic = next(s for s in data["shares"] if s["measure"] == "pgic")
    assert (pgic["timepoint"], pgic["n"], pgic["reached"]) == ("6w", 3, 2)
    assert 0 < pgic["ci_low"] < 2 / 3 < pgic["ci_high"] < 1
    trail = run("audit", db=db).stdout
    assert trail.count("outcome rows") == 2  # both exports recorded


def test_pdf_lists_each_procedure_and_the_rules(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    out = tmp_path / "outcomes.pdf"
    result = run("report", "outcomes", "--format", "pdf", "--output", str(out), db=db)
    assert result.returncode == 0, result.stderr
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(out).pages)
    assert "Outcomes: share reaching MCID" in text
    assert "Endoscopic rhizotomy (facet medial branch)" in text and "Radiofrequency ablation" in text
    assert "6 weeks ODI 2 1 50.0%" in text
    assert "Farrar et al., Pain 2001;94:149-158" in text and "Ostelo et al., Spine 2008;33:90-94" in text
    assert out.stat().st_mode & 0o777 == 0o600
    assert "outcomes report" in run("audit", db=db).stdout


def test_a_pdf_needs_a_file_and_a_folder_that_exists(db_target: str, tmp_path: Path) -> None:
    db = _db(tmp_path, db_target)
    result = run("report", "outcomes", "--format", "pdf", db=db)
    assert result.returncode == 2 and "--output: a PDF needs --output FILE" in result.stderr
    result = run("report", "outcomes", "--format", "pdf", "--output", str(tmp_path / "nope" / "x.pdf"), db=db)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    result = run("report", "outcomes", "--from", "2025-02-01", "--to", "2025-01-01", db=db)
    assert result.returncode == 2 and "is after --to" in result.stderr


def test_an_empty_selection_gives_a_pdf_saying_so(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    assert report_outcomes(CaseService(db), CaseFilter(), "pdf", out) == 0
    text = " ".join((PdfReader(out).pages[0].extract_text() or "").split())
    assert "No follow-up with a measurable outcome in this selection." in text


def test_an_administrator_may_not_read_the_outcomes(db: Database, tmp_path: Path) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"))
    with pytest.raises(NotPermitted):
        report_outcomes(admin, CaseFilter(), "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(InvalidInput):
        report_outcomes(admin, CaseFilter(), "xlsx", None)
