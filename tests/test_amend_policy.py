"""An amendment is signed content: one that moves an ablation outside the clinic's policy needs the reason, as a
signature does; a case that was already outside (history from before the policy) can still be corrected."""

from __future__ import annotations

import pytest

from caselog.errors import InvalidInput
from caselog.policy import PRESETS
from caselog.service import CaseService
from tests.factories import POLICY_REASON, case_file, simple_case

LEFT = [{"level": "L4-L5", "side": "left"}]
OTHER_JOINT = [{"level": "L5-S1", "side": "left"}]
POSITIVE = {"anesthetic": "lidocaine", "pain_before": 8,
            "diary": [{"time": "30min", "pain": 1}, {"time": "1h", "pain": 1}, {"time": "2h", "pain": 4}]}  # fmt: skip


def _block_then_ablation(service: CaseService) -> str:
    """One positive block at L4-L5 left, then an ablation there: inside the one-block preset. Returns the ablation."""
    service.set_indication_policy(PRESETS["one_block_50"].policy)
    service.import_cases(case_file(
        simple_case("2025-01-10", procedure="medial_branch_block", cpt_codes=["64493"], levels=LEFT, block=POSITIVE,
                    prior_block_relief_percent=None),
        simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None),
    ))  # fmt: skip
    service.sign_case("2025-00002")
    return "2025-00002"


def test_an_amendment_moving_the_case_outside_needs_the_reason(service: CaseService) -> None:
    number = _block_then_ablation(service)
    view = service.get_case(number)
    moved = {**simple_case("2025-02-20", levels=OTHER_JOINT, prior_block_relief_percent=None), "status": "final"}
    with pytest.raises(InvalidInput) as refused:
        service.update_case(number, moved, reason="Level typed wrongly")
    problem = refused.value.problems[0]
    assert problem.path == "outside_policy_reason"
    assert problem.message.startswith(f"is required to amend case {number}: it is outside the clinic's policy")
    assert service.get_case(number).version == view.version  # nothing written
    amended = service.update_case(number, {**moved, "outside_policy_reason": POLICY_REASON}, reason="Level typed")
    assert amended.status == "amended" and amended.record.outside_policy_reason == POLICY_REASON


def test_a_case_already_outside_can_be_corrected_without_a_reason(service: CaseService) -> None:
    service.set_indication_policy(PRESETS["one_block_50"].policy)
    history = {**simple_case("2024-11-04", levels=OTHER_JOINT, prior_block_relief_percent=None), "status": "final"}
    service.import_cases(case_file(history))  # signed before the clinic had a policy: no block on file
    corrected = service.update_case("2024-00001", {**history, "notes": "Fluoroscopy images filed."}, reason="Notes")
    assert corrected.status == "amended" and corrected.record.notes == "Fluoroscopy images filed."


def test_an_amendment_inside_the_policy_needs_no_reason(service: CaseService) -> None:
    number = _block_then_ablation(service)
    inside = {**simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None), "status": "final",
              "notes": "Tolerated well."}  # fmt: skip
    assert service.update_case(number, inside, reason="Note added").record.notes == "Tolerated well."
