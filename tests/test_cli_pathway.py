"""`caselog patient MRN`, `caselog policy show|set` and the sign gate from the command line: output and exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from caselog.accounts import AccountService, Actor
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY, case_file, simple_case
from tests.test_cli import run, write
from tests.test_cli_accounts import PASSWORD, as_user

LEFT = [{"level": "L4-L5", "side": "left"}]
DIARY = {"anesthetic": "lidocaine", "pain_before": 8,
         "diary": [{"time": "30min", "pain": 1}, {"time": "1h", "pain": 1}, {"time": "2h", "pain": 4}]}  # fmt: skip


def pathway_cases() -> list[dict[str, Any]]:
    """A block (7/8 = 87.5% from 30 min to 1 h: positive at 80%), then an ablation with one follow-up."""
    return [
        simple_case("2025-01-10", procedure="medial_branch_block", cpt_codes=["64493"], levels=LEFT, block=DIARY,
                    prior_block_relief_percent=None),
        simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None,
                    outcomes=[{"timepoint": "6w", "date": "2025-04-03", "relief_percent": 70}]),
    ]  # fmt: skip


def test_patient_shows_the_pathway_as_text_and_json(db_target: str, tmp_path: Path) -> None:
    assert run("import", write(tmp_path / "in.json", case_file(*pathway_cases())), db=db_target).returncode == 0
    shown = run("patient", "MRN-1001", db=db_target)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "Patient  Nguyễn, Thị Hồng   MRN MRN-1001" in out
    assert "block 1 in its series; lidocaine; peak relief 88%, 1 h at 80% or more" in out
    # The default policy asks for two positive blocks: one is on file.
    assert "indication: OUTSIDE the clinic's policy" in out
    assert "[NOT MET] L4-L5 left: first ablation; 1 of 1 block at this joint before it positive" in out
    assert "relief at L4-L5 left: until 2025-04-03 (last follow-up); 70% on 2025-04-03" in out
    data = json.loads(run("patient", "MRN-1001", "--json", db=db_target).stdout)
    assert [c["case_number"] for c in data["cases"]] == ["2025-00001", "2025-00002"]
    assert data["cases"][1]["indication"]["meets"] is False
    assert data["joints"][0]["events"][1]["relief_until"] == "2025-04-03"
    unknown = run("patient", "MRN-404", db=db_target)
    assert unknown.returncode == 3 and "No patient with MRN 'MRN-404'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_policy_show_and_set_name_the_option_of_a_bad_value(db_target: str) -> None:
    shown = run("policy", "show", db=db_target)
    assert shown.returncode == 0 and "Two blocks at 80% (Medicare LCD)" in shown.stdout
    assert "confirm them with its payers" in shown.stdout
    bad = run("policy", "set", "--blocks", "3", "--threshold", "0", db=db_target)
    assert bad.returncode == 2
    assert (
        "--blocks: is 3; must be from 1 to 2" in bad.stderr and "--threshold: is 0; must be from 1 to 100" in bad.stderr
    )
    assert run("policy", "set", "--max-sessions", "two", db=db_target).returncode == 2
    assert "give --preset KEY or a value" in run("policy", "set", db=db_target).stderr
    changed = run("policy", "set", "--preset", "one_block_50", "--repeat-relief-months", "3", db=db_target)
    assert changed.returncode == 0 and "set by the clinic (no preset)" in changed.stdout
    stored = json.loads(run("policy", "show", "--json", db=db_target).stdout)
    assert stored == {
        "blocks_required": 1,
        "relief_threshold_percent": 50,
        "repeat_min_interval_months": 6,
        "repeat_relief_percent": 50,
        "repeat_relief_months": 3,
        "max_sessions_per_12_months": 2,
    }
    # Unchanged values stay: only the threshold moves.
    assert run("policy", "set", "--threshold", "60", db=db_target).returncode == 0
    assert json.loads(run("policy", "show", "--json", db=db_target).stdout)["repeat_relief_months"] == 3


def test_signing_outside_the_policy_exits_2_naming_the_reason(db_target: str, tmp_path: Path) -> None:
    assert run("import", write(tmp_path / "in.json", case_file(*pathway_cases())), db=db_target).returncode == 0
    refused = run("sign", "2025-00002", db=db_target)
    assert refused.returncode == 2
    assert refused.stderr.startswith("outside_policy_reason: is required to sign case 2025-00002: it is outside")
    assert run("show", "2025-00002", "--json", db=db_target).stdout.count('"status": "draft"') == 1
    assert run("sign", "2025-00001", db=db_target).returncode == 0  # a block is not checked


def test_roles_view_the_pathway_and_only_an_administrator_sets_the_policy(tmp_path: Path) -> None:
    target = str(tmp_path / "caselog.sqlite3")
    db = open_database(target)
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*pathway_cases()))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, Actor("boss", "Clinic Admin", "admin")).add_account(
        "cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD
    )
    db.close()
    assert run("patient", "MRN-1001", db=target).returncode == 4  # nobody signed in
    assert run("patient", "MRN-1001", db=target, env=as_user("cole")).returncode == 0
    assert run("policy", "show", db=target, env=as_user("cole")).returncode == 0
    refused = run("policy", "set", "--preset", "one_block_50", db=target, env=as_user("cole"))
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    assert run("policy", "set", "--preset", "one_block_50", db=target, env=as_user("boss")).returncode == 0
