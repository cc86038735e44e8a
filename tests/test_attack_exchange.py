"""What an attacker or a careless user tried against today's exchange formats (FHIR, the research export, the day's
schedule), through the real command line and a direct edit of the database file.

Each test is one attempt that once got through; nothing may crash, be guessed, or be written in half.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import case_file, make_case, simple_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write


def _clinic(tmp_path: Path) -> str:
    """A single-user database with a block and a rhizotomy of one patient."""
    db = str(tmp_path / "clinic.sqlite3")
    block = simple_case("2024-05-02", procedure="medial_branch_block", cpt_codes=["64493"],
                        levels=[{"level": "L4-L5", "side": "bilateral"}])  # fmt: skip
    assert run("import", write(tmp_path / "in.json", case_file(make_case(), block)), db=db).returncode == 0
    return db


def _count(db: str, table: str) -> int:
    with raw_connect(db, readonly=True) as con:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize(("stored", "why"), [
    ("123", "must be text, not 123"),
    ('["urn:oid:1.2"]', "must be text, not ['urn:oid:1.2']"),
    ('"not a uri"', "'not a uri' is not an absolute URI"),
    ('" urn:oid:1.2"', "' urn:oid:1.2' has blanks around it"),
    ("{oops", "not JSON"),
])  # fmt: skip
def test_a_damaged_mrn_system_is_refused_before_a_byte_of_the_bundle(tmp_path: Path, stored: str, why: str) -> None:
    """A number there crashed the export halfway through standard output; a text that is no URI went into every id."""
    db = _clinic(tmp_path)
    with raw_connect(db) as con:
        con.execute("INSERT INTO clinic_settings (name, value, updated_at) VALUES "
                    "('fhir_mrn_system', ?, '2025-01-01 00:00:00')", (stored,))  # fmt: skip
    for command in (["export", "--format", "fhir"], ["clinic", "show"]):
        result = run(*command, db=db)
        assert result.returncode == 1 and result.stdout == "", (command, result.stderr)
        assert f"setting fhir_mrn_system stored in the database is not valid ({why}" in result.stderr
        assert "unexpected error" not in result.stderr
    assert run("clinic", "set", "fhir-mrn-system", "urn:oid:1.2", db=db).returncode == 0
    assert run("export", "--format", "fhir", db=db).returncode == 0


def _key(db: str, sql: str) -> None:
    with raw_connect(db) as con:
        con.execute(sql)


@pytest.mark.parametrize("sql", [
    "UPDATE clinic_secrets SET value = ''",
    "UPDATE clinic_secrets SET value = '00'",
    "UPDATE clinic_secrets SET value = 'not hex at all'",
    "DELETE FROM clinic_secrets",
])  # fmt: skip
def test_a_damaged_or_removed_pseudonym_key_makes_no_research_export(tmp_path: Path, sql: str) -> None:
    """An empty key gave pseudonyms anyone can recompute from an MRN; a removed one silently gave new ones."""
    db = _clinic(tmp_path)
    first = tmp_path / "first.zip"
    assert run("export", "--format", "research", "--output", str(first), db=db).returncode == 0
    _key(db, sql)
    again = tmp_path / "again.zip"
    result = run("export", "--format", "research", "--output", str(again), db=db)
    assert result.returncode == 1, result.stderr
    assert "The research export's pseudonym key was" in result.stderr and "unexpected error" not in result.stderr
    assert not again.exists() and list(tmp_path.glob("again*")) == []


def _bundle(tmp_path: Path, db: str) -> dict[str, Any]:
    exported = run("export", "--format", "fhir", db=db)
    assert exported.returncode == 0, exported.stderr
    bundle: dict[str, Any] = json.loads(exported.stdout)
    return bundle


def test_a_bundle_giving_one_patient_id_twice_is_refused(tmp_path: Path) -> None:
    """Two Patients at one address: the last one read won, and the cases imported under another name and birth date."""
    bundle = _bundle(tmp_path, _clinic(tmp_path))
    (patient,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    other = copy.deepcopy(patient)
    other["resource"]["name"][0]["family"] = "Smith"
    other["resource"]["birthDate"] = "1970-01-01"
    bundle["entry"].append(other)
    target = str(tmp_path / "target.sqlite3")
    assert run("init", db=target).returncode == 0
    result = run("import", "--format", "fhir", write(tmp_path / "b.json", bundle), db=target)
    assert result.returncode == 2
    assert f"{patient['fullUrl']} appears twice in the bundle" in result.stderr
    assert _count(target, "cases") == 0 and _count(target, "patients") == 0


def test_a_bundle_giving_one_procedure_twice_is_refused(tmp_path: Path) -> None:
    """A Procedure repeated (without its case number) imported as a second, duplicate case."""
    bundle = _bundle(tmp_path, _clinic(tmp_path))
    procedure = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    again = copy.deepcopy(procedure)
    again["resource"].pop("identifier")
    bundle["entry"].append(again)
    target = str(tmp_path / "target.sqlite3")
    assert run("init", db=target).returncode == 0
    result = run("import", "--format", "fhir", write(tmp_path / "b.json", bundle), db=target)
    assert result.returncode == 2 and "appears twice in the bundle" in result.stderr
    assert _count(target, "cases") == 0


def test_an_other_procedure_on_the_schedule_is_kept_not_dropped(tmp_path: Path) -> None:
    """Its missing detail (asked for in the form) failed the line with no message: it vanished from the list."""
    db = str(tmp_path / "clinic.sqlite3")
    assert run("init", db=db).returncode == 0
    day = tmp_path / "day.csv"
    day.write_text(
        "date,MRN,name,birth date,sex,procedure,levels,surgeon\n"
        '2026-12-01,MRN-9,"Abara, Chidi",1961-04-12,M,Other procedure,L4-L5 bilateral,Dr. A\n'
        '2026-12-01,MRN-10,"Abara, Dike",1962-04-12,M,laminotomy,L4-L5 left,Dr. A\n',
        encoding="utf-8",
    )
    result = run("import", "--format", "schedule", str(day), db=db)
    assert result.returncode == 0, result.stderr
    assert "Added 2 scheduled procedures" in result.stdout
    with raw_connect(db, readonly=True) as con:
        rows = con.execute("SELECT mrn, procedure FROM scheduled_procedures ORDER BY source_line").fetchall()
    assert rows == [("MRN-9", "other"), ("MRN-10", "laminotomy")]


def _patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    patient: dict[str, Any] = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    return patient


def _import_refused(tmp_path: Path, bundle: dict[str, Any]) -> str:
    target = str(tmp_path / "target.sqlite3")
    assert run("init", db=target).returncode == 0
    result = run("import", "--format", "fhir", write(tmp_path / "b.json", bundle), db=target)
    assert result.returncode == 2, result.stderr
    assert _count(target, "cases") == 0 and _count(target, "patients") == 0
    return result.stderr


def test_a_patient_with_two_of_the_clinics_mrns_is_refused(tmp_path: Path) -> None:
    """The first MRN was taken in silence: the cases could land on another patient of the clinic."""
    bundle = _bundle(tmp_path, _clinic(tmp_path))
    patient = _patient_of(bundle)
    patient["identifier"].append({**patient["identifier"][0], "value": "MRN-2002"})
    stderr = _import_refused(tmp_path, bundle)
    assert "identifier: holds two MRNs of this clinic's system urn:caselog:mrn ('MRN-1001', 'MRN-2002')" in stderr


def test_a_patient_with_two_different_official_names_is_refused(tmp_path: Path) -> None:
    """The first official name was taken in silence, whichever the sending system meant."""
    bundle = _bundle(tmp_path, _clinic(tmp_path))
    _patient_of(bundle)["name"].append({"use": "official", "family": "Smith", "given": ["Anna"]})
    assert "name: holds two different official names" in _import_refused(tmp_path, bundle)


def test_an_observation_of_two_procedures_is_refused(tmp_path: Path) -> None:
    """An outcome whose focus is one case and partOf another was read into both: one score counted twice."""
    db = str(tmp_path / "same-day.sqlite3")
    block = make_case(procedure="medial_branch_block", cpt_codes=["64493"], complications=[],
                      levels=[{"level": "L3-L4", "side": "left"}])  # fmt: skip
    assert run("import", write(tmp_path / "in.json", case_file(make_case(), block)), db=db).returncode == 0
    bundle = _bundle(tmp_path, db)
    procedures = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure"]
    outcome = next(e["resource"] for e in bundle["entry"] if "focus" in e["resource"])
    (other,) = [url for url in procedures if url != outcome["focus"][0]["reference"]]
    outcome["partOf"] = [{"reference": other}]
    stderr = _import_refused(tmp_path, bundle)
    assert f"Observation/{outcome['id']}: refers to 2 Procedures (focus and partOf)" in stderr
