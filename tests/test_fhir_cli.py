"""`caselog export --format fhir`, `caselog import --format fhir` and `caselog clinic` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from caselog.accounts import AccountService, Actor
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY
from tests.helpers.sample_cases import sample_file
from tests.test_cli import run, write
from tests.test_cli_accounts import PASSWORD, as_user

SYSTEM = "urn:oid:2.16.840.1.113883.3.7777.1"


def test_export_and_import_a_fhir_bundle_from_the_command_line(
    db_target: str, tmp_path: Path, sqlite_template: Path
) -> None:
    assert run("import", write(tmp_path / "sample.json", sample_file()), db=db_target).returncode == 0
    streamed = run("export", "--format", "fhir", "--procedure", "laminectomy", db=db_target)
    assert streamed.returncode == 0, streamed.stderr
    assert "has not set the system of its MRNs" in streamed.stderr and "clinic set fhir-mrn-system" in streamed.stderr
    Bundle.model_validate_json(streamed.stdout)

    assert run("clinic", "set", "fhir-mrn-system", SYSTEM, db=db_target).returncode == 0
    shown = run("clinic", "show", db=db_target)
    assert shown.stdout.split() == ["fhir-mrn-system", SYSTEM]
    target = tmp_path / "cases.fhir.json"
    written = run("export", "--format", "fhir", "--output", str(target), db=db_target)
    assert written.returncode == 0 and "Exported 8 cases" in written.stderr and "Warning" not in written.stderr
    bundle = json.loads(target.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    systems = {r["resource"]["identifier"][0]["system"] for r in bundle["entry"]
               if r["resource"]["resourceType"] == "Patient"}  # fmt: skip
    assert systems == {SYSTEM}

    twin = str(tmp_path / "twin.sqlite3")
    shutil.copy(sqlite_template, twin)
    assert run("clinic", "set", "fhir-mrn-system", SYSTEM, db=twin).returncode == 0
    wrong = run("import", str(target), db=twin)  # without --format: not CaseLog's JSON
    assert (
        wrong.returncode == 2
        and wrong.stderr == f"{target}: is a FHIR bundle, not a CaseLog file: import it with --format fhir\n"
    )
    imported = run("import", "--format", "fhir", str(target), db=twin)
    assert imported.returncode == 0, imported.stderr
    assert len(imported.stdout.split()) == 8
    original = json.loads(run("export", db=db_target).stdout)["cases"]
    assert json.loads(run("export", db=twin).stdout)["cases"] == original


def test_a_bundle_that_lacks_a_surgeon_exits_2_and_imports_nothing(db_target: str, tmp_path: Path) -> None:
    db = open_database(db_target)
    CaseService(db, today=lambda: TODAY).import_cases(sample_file())
    db.close()
    bundle = json.loads(run("export", "--format", "fhir", db=db_target).stdout)
    procedure = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    procedure["performer"] = procedure["performer"][1:]  # the surgeon went missing on the way
    empty = str(tmp_path / "empty.sqlite3")
    assert run("init", db=empty).returncode == 0
    result = run("import", "--format", "fhir", write(tmp_path / "broken.json", bundle), db=empty)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Procedure/{procedure['id']}.performer: missing: the surgeon" in result.stderr
    assert json.loads(run("export", db=empty).stdout)["cases"] == []
    assert run("import", "--format", "xml", "x.json", db=empty).returncode == 2


def test_only_an_administrator_sets_the_mrn_system_and_it_is_audited(db_target: str) -> None:
    db = open_database(db_target)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, Actor("boss", "Clinic Admin", "admin")).add_account(
        "cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD
    )
    db.close()
    refused = run("clinic", "set", "fhir-mrn-system", "urn:oid:6.6.6", db=db_target, env=as_user("cole"))
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    not_a_uri = run("clinic", "set", "fhir-mrn-system", "our hospital", db=db_target, env=as_user("boss"))
    assert not_a_uri.returncode == 2 and "fhir-mrn-system: 'our hospital' is not an absolute URI" in not_a_uri.stderr
    done = run("clinic", "set", "fhir-mrn-system", SYSTEM, db=db_target, env=as_user("boss"))
    assert done.returncode == 0 and SYSTEM in done.stdout
    assert SYSTEM in run("clinic", "show", db=db_target, env=as_user("cole")).stdout
    not_for_admins = run("export", "--format", "fhir", db=db_target, env=as_user("boss"))  # admins see no cases
    assert not_for_admins.returncode == 4 and not_for_admins.stdout == "" and "Warning" not in not_for_admins.stderr
    db = open_database(db_target)
    entries = [e for e in CaseService(db, actor=Actor("boss", "Clinic Admin", "admin")).audit_trail()
               if e.action == "clinic_setting"]  # fmt: skip
    db.close()
    assert [(e.username, e.changes) for e in entries] == [("boss", {"fhir_mrn_system": [None, SYSTEM]})]
