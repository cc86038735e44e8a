"""Signatures cannot be forged through an import, nor undone through an update (issue 10, signing and roles)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import InvalidInput, NotPermitted
from caselog.records import case_to_contract
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case, simple_case
from tests.test_cli import run, write
from tests.test_cli_accounts import PASSWORD, as_user

OKAFOR = "Dr. Amara Okafor"
RAMAN = "Dr. Priya Raman"
SURGEON = Actor("okafor", OKAFOR, "surgeon")
COORDINATOR = Actor("cole", "Cole Mendez", "coordinator")


def _with_accounts(db: Database) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    admin = AccountService(db, Actor("boss", "Clinic Admin", "admin"))
    admin.add_account("okafor", role="surgeon", full_name=OKAFOR, password=PASSWORD)
    admin.add_account("cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD)


def _signed_file() -> dict[str, object]:
    """Three drafts, then a case marked signed in Dr. Raman's name at cases[3]."""
    drafts = [simple_case(f"2025-0{m}-02", patient={**make_case()["patient"], "mrn": f"M-{m}"}) for m in (1, 2, 3)]
    return case_file(*drafts, make_case(surgeon=RAMAN, status="final"))


def test_a_coordinator_cannot_import_a_case_signed_in_a_surgeons_name(db: Database) -> None:
    """Today's hole: the case arrives signed, in someone else's name, and can never be deleted."""
    _with_accounts(db)
    service = CaseService(db, actor=COORDINATOR, today=lambda: TODAY)
    with pytest.raises(NotPermitted) as refused:
        service.import_cases(_signed_file())
    assert refused.value.message.startswith("cases[3].status: ")
    assert RAMAN in refused.value.message
    assert CaseService(db, actor=SURGEON, today=lambda: TODAY).count() == 0  # all or none
    trail = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin")).audit_trail()
    assert trail[-1].action == "refused" and trail[-1].username == "cole"
    assert trail[-1].details["attempted"] == "import_signed"


def test_a_surgeon_cannot_import_another_surgeons_signed_case(db: Database) -> None:
    _with_accounts(db)
    expected = r"cases\[3\]\.status: .*as Dr\. Priya Raman's case, and Dr\. Amara Okafor \(Surgeon\) may not"
    with pytest.raises(NotPermitted, match=expected):
        CaseService(db, actor=SURGEON, today=lambda: TODAY).import_cases(_signed_file())


def test_a_surgeon_importing_own_signed_case_is_recorded_as_its_signer(db: Database) -> None:
    """Allowed, but the trail says who brought the signature in, when, and that it came in an import."""
    _with_accounts(db)
    service = CaseService(db, actor=SURGEON, today=lambda: TODAY)
    [number] = service.import_cases(case_file(make_case(surgeon=OKAFOR, status="final")))
    view = service.get_case(number)
    assert view.status == "final" and view.signed_by == OKAFOR and view.signed_at is not None
    history = service.history(number)
    assert [e.action for e in history] == ["import", "sign"]
    sign = history[1]
    assert sign.username == "okafor" and sign.details["arrived_signed"] == "import"
    assert sign.changes == {"signed_by": [None, OKAFOR]}
    assert sign.occurred_at == history[0].occurred_at


def test_without_accounts_an_imported_signed_case_is_signed_by_its_surgeon(service: CaseService) -> None:
    [number] = service.import_cases(case_file(make_case(surgeon=RAMAN, status="final")))
    view = service.get_case(number)
    assert view.signed_by == RAMAN and view.signed_at is not None
    assert [e.action for e in service.history(number)] == ["import", "sign"]


def test_import_of_a_signed_case_from_the_command_line_is_refused_with_exit_4(db_target: str, tmp_path: Path) -> None:
    db = open_database(db_target)
    _with_accounts(db)
    db.close()
    source = write(tmp_path / "signed.json", _signed_file())
    result = run("import", source, db=db_target, env=as_user("cole"))
    assert result.returncode == 4, result.stderr
    assert "cases[3].status:" in result.stderr and "Nothing was imported" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert run("list", db=db_target, env=as_user("cole")).stdout.startswith("No cases yet")


@pytest.fixture
def signed_case(service: CaseService) -> str:
    [number] = service.import_cases(case_file(make_case(status="final")))
    return number


@pytest.mark.parametrize("status", ["draft", "amended"])
def test_update_cannot_set_a_signed_case_to_another_status(service: CaseService, signed_case: str, status: str) -> None:
    """Today `status: draft` on a signed case is silently ignored; it is an attempt to undo a signature."""
    content = case_to_contract(service.get_case(signed_case).record)
    content.update(status=status, notes="Changed after signing.")
    with pytest.raises(InvalidInput) as refused:
        service.update_case(signed_case, content, reason="typo")
    assert refused.value.problems[0].path == "status"
    assert "never goes back to draft" in refused.value.problems[0].message
    view = service.get_case(signed_case)
    assert view.status == "final" and view.version == 1


def test_update_of_a_signed_case_with_its_own_status_or_none_amends_it(service: CaseService, signed_case: str) -> None:
    content = case_to_contract(service.get_case(signed_case).record)
    content["notes"] = "Corrected after signing."
    assert service.update_case(signed_case, content, reason="typo").status == "amended"
    content.pop("status")
    content["notes"] = "Corrected again."
    assert service.update_case(signed_case, content, reason="typo").status == "amended"


def test_update_to_draft_from_the_command_line_exits_2(db_target: str, tmp_path: Path) -> None:
    source = write(tmp_path / "in.json", case_file(make_case(status="final")))
    assert run("import", source, db=db_target).returncode == 0
    shown = json.loads(run("show", "2025-00001", "--json", db=db_target).stdout)
    shown["status"] = "draft"
    result = run("update", "2025-00001", write(tmp_path / "draft.json", shown), "--reason", "undo", db=db_target)
    assert result.returncode == 2 and result.stderr.startswith("status: "), result.stderr
    assert json.loads(run("show", "2025-00001", "--json", db=db_target).stdout)["status"] == "final"
