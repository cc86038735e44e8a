"""Demo data never mixes silently with a clinic's patients: administrators only, and never into real cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.errors import InvalidInput, NotPermitted
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.test_cli import run, write
from tests.test_cli_accounts import PASSWORD, as_user

ADMIN = Actor("boss", "Clinic Admin", "admin")


def _accounts(db: Database) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    admin = AccountService(db, ADMIN)
    admin.add_account("okafor", role="surgeon", full_name="Dr. Amara Okafor", password=PASSWORD)
    admin.add_account("cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD)


@pytest.mark.parametrize("user", ["okafor", "cole"])
def test_only_an_administrator_may_add_demo_data(db_target: str, user: str) -> None:
    """Today any role could add signed fake patients to a clinic's log."""
    db = open_database(db_target)
    _accounts(db)
    db.close()
    refused = run("demo", "--cases", "3", db=db_target, env=as_user(user))
    assert refused.returncode == 4 and "only an administrator" in refused.stderr, refused.stderr
    trail = run("audit", db=db_target, env=as_user("boss")).stdout
    assert "refused" in trail and "attempted: demo" in trail
    added = run("demo", "--cases", "3", db=db_target, env=as_user("boss"))
    assert added.returncode == 0 and "Added 3 demo cases" in added.stdout, added.stderr
    assert run("list", db=db_target, env=as_user("cole")).stdout.rstrip().endswith("3 cases")


def test_demo_is_refused_on_a_database_with_real_cases(db_target: str, tmp_path: Path) -> None:
    assert run("import", write(tmp_path / "real.json", case_file(make_case())), db=db_target).returncode == 0
    refused = run("demo", "--cases", "3", db=db_target)
    assert refused.returncode == 2 and refused.stderr.startswith("--into-real-database: "), refused.stderr
    assert run("list", db=db_target).stdout.rstrip().endswith("1 case")
    confirmed = run("demo", "--cases", "3", "--into-real-database", db=db_target)
    assert confirmed.returncode == 0, confirmed.stderr
    assert run("list", db=db_target).stdout.rstrip().endswith("4 cases")


def test_demo_may_be_added_again_to_a_demo_database(db_target: str) -> None:
    assert run("demo", "--cases", "5", "--seed", "2", db=db_target).returncode == 0
    again = run("demo", "--cases", "5", "--seed", "3", db=db_target)
    assert again.returncode == 0, again.stderr


def test_real_cases_are_told_by_the_audit_trail_not_by_the_mrn(db: Database) -> None:
    """A case typed in with a demo-looking MRN is real."""
    service = CaseService(db, today=lambda: TODAY)
    assert not service.holds_real_cases()
    service.add_records(generate_cases(1, seed=4, until=TODAY))
    assert not service.holds_real_cases()
    lookalike = make_case(patient={**make_case()["patient"], "mrn": "D00001-000042"})
    service.import_cases(case_file(lookalike))
    assert service.holds_real_cases()
    with pytest.raises(InvalidInput, match="--into-real-database"):
        service.add_records(generate_cases(2, seed=4, until=TODAY))


def test_the_app_offers_demo_data_only_where_it_is_allowed(db: Database) -> None:
    service = CaseService(db, today=lambda: TODAY)
    assert service.offers_demo()
    _accounts(db)
    assert not CaseService(db, today=lambda: TODAY).offers_demo()  # nobody signed in
    assert not CaseService(db, actor=Actor("cole", "Cole Mendez", "coordinator")).offers_demo()
    admin = CaseService(db, actor=ADMIN, today=lambda: TODAY)
    assert admin.offers_demo()
    CaseService(db, actor=Actor("cole", "Cole Mendez", "coordinator"), today=lambda: TODAY).import_cases(
        case_file(make_case())
    )
    assert not admin.offers_demo()
    with pytest.raises(NotPermitted):
        CaseService(db, actor=Actor("cole", "Cole Mendez", "coordinator")).add_records(
            generate_cases(1, seed=4, until=TODAY), into_real_database=True
        )
