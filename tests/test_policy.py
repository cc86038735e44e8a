"""The clinic's indication policy: presets with their sources, its stored form, who may change it."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.tables import clinic_settings_t
from caselog.errors import CaselogError, InvalidInput, NotPermitted
from caselog.policy import (
    PRESETS,
    IndicationPolicy,
    default_policy,
    policy_from_json,
    policy_to_json,
    preset_of,
)
from caselog.service import CaseService

PASSWORD = "correct horse battery"
ADMIN = Actor("boss", "Clinic Admin", "admin")
COORDINATOR = Actor("cole", "Cole Mendez", "coordinator")


def test_presets_follow_the_published_criteria_and_say_where_they_come_from() -> None:
    medicare = PRESETS["medicare_lcd"]
    assert medicare.policy == IndicationPolicy(
        blocks_required=2, relief_threshold_percent=80, repeat_min_interval_months=6, repeat_relief_percent=50,
        repeat_relief_months=6, max_sessions_per_12_months=2,
    )  # fmt: skip
    assert (
        "Medicare" in medicare.source
        and "80%" in medicare.source
        and "confirm them with its payers" in (medicare.source)
    )
    one_block = PRESETS["one_block_50"]
    assert (one_block.policy.blocks_required, one_block.policy.relief_threshold_percent) == (1, 50)
    assert "commercial payers" in one_block.source and "confirm them with its payers" in one_block.source
    assert default_policy() == medicare.policy
    assert preset_of(medicare.policy) == "medicare_lcd"
    assert preset_of(IndicationPolicy(2, 80, 6, 50, 3, 2)) is None  # adjusted by the clinic


def test_the_stored_form_round_trips_and_names_each_wrong_field() -> None:
    policy = IndicationPolicy(1, 50, 3, 60, 3, 4)
    assert policy_from_json(policy_to_json(policy)) == policy
    bad = {**policy_to_json(policy), "blocks_required": 3, "relief_threshold_percent": "80", "colour": "red"}
    del bad["repeat_relief_months"]
    with pytest.raises(InvalidInput) as caught:
        policy_from_json(bad)
    assert caught.value.lines() == [
        "colour: is not a field of the indication policy",
        "blocks_required: is 3; must be from 1 to 2",
        "relief_threshold_percent: must be a whole number, not '80'",
        "repeat_relief_months: is missing",
    ]
    with pytest.raises(InvalidInput, match="max_sessions_per_12_months: must be a whole number, not True"):
        policy_from_json({**policy_to_json(policy), "max_sessions_per_12_months": True})
    with pytest.raises(InvalidInput, match="must be an object"):
        policy_from_json([1, 2])


def test_the_default_until_set_then_kept_and_audited(service: CaseService) -> None:
    assert service.indication_policy() == PRESETS["medicare_lcd"].policy
    chosen = PRESETS["one_block_50"].policy
    service.set_indication_policy(chosen)
    assert service.indication_policy() == chosen
    [entry] = [e for e in service.audit_trail() if e.action == "clinic_setting"]
    assert entry.changes["indication_policy"] == [None, policy_to_json(chosen)]
    with pytest.raises(InvalidInput, match="relief_threshold_percent: is 0; must be from 1 to 100"):
        service.set_indication_policy(IndicationPolicy(relief_threshold_percent=0))
    assert service.indication_policy() == chosen  # nothing written


def test_a_policy_edited_outside_caselog_is_refused_not_replaced_by_the_default(service: CaseService) -> None:
    service.set_indication_policy(default_policy())
    with service.db.write() as session:
        session.execute(update(clinic_settings_t).values(value='{"blocks_required": 7}'))
    with pytest.raises(CaselogError, match=r"indication policy stored in the database is not valid.*blocks_required"):
        service.indication_policy()


def test_only_an_administrator_changes_the_policy(db: Database) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, ADMIN).add_account("cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD)
    CaseService(db, actor=ADMIN).set_indication_policy(PRESETS["one_block_50"].policy)
    coordinator = CaseService(db, actor=COORDINATOR)
    assert coordinator.indication_policy() == PRESETS["one_block_50"].policy
    with pytest.raises(NotPermitted):
        coordinator.set_indication_policy(default_policy())
    assert coordinator.indication_policy() == PRESETS["one_block_50"].policy
