"""caselog.outcomes: the measures a follow-up asks by region, and MCID against the case's own baseline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caselog import outcomes
from caselog.outcomes import MCID_RULES, case_mcid, mcid, measures_for, region_of_levels
from caselog.records import OutcomeScore, TreatedLevel

DAY = dt.date(2025, 1, 1)


def _score(timepoint: str = "3m", **values: Any) -> OutcomeScore:
    return OutcomeScore(timepoint=timepoint, date=DAY, **values)


def test_measures_follow_the_first_levels_region() -> None:
    """Lumbar and thoracic cases ask the ODI and back/leg pain, cervical ones the NDI and neck/arm pain."""
    common = ("relief_percent", "pgic", "work_status", "analgesics", "returned_to_activities", "physical_therapy")
    assert measures_for([TreatedLevel("L4-L5", "left")]) == ("odi", "nrs_back", "nrs_leg", *common)
    assert measures_for(["T11-T12"]) == ("odi", "nrs_back", "nrs_leg", *common)
    assert measures_for(["C5-C6", "L4-L5"]) == ("ndi", "nrs_neck", "nrs_arm", *common)
    assert measures_for(["C7-T1"])[:3] == ("ndi", "nrs_neck", "nrs_arm")  # C7-T1 is cervical (upper vertebra)
    assert region_of_levels([]) == "lumbar"  # a new form with no level yet


def test_odi_needs_ten_points_and_room_to_improve() -> None:
    """ODI 46 -> 36 reaches MCID, 46 -> 37 does not; a baseline under 10 cannot improve by 10: not measurable."""
    assert mcid(_score("baseline", odi=46), _score(odi=36), "lumbar").get("odi") is True
    assert mcid(_score("baseline", odi=46), _score(odi=37), "lumbar").get("odi") is False
    assert mcid(_score("baseline", odi=8), _score(odi=0), "lumbar").get("odi") is None
    assert mcid(_score("baseline", odi=46), _score(odi=60), "lumbar").get("odi") is False  # worse


def test_nrs_counts_two_points_or_thirty_percent() -> None:
    """8 -> 6 is 2 points; 3 -> 2 is 33 %: both reach it. 8 -> 7 is neither. 0 at baseline: nothing to improve."""
    flags = mcid(_score("baseline", nrs_back=8, nrs_leg=3), _score(nrs_back=6, nrs_leg=2), "lumbar")
    assert (flags.get("nrs_back"), flags.get("nrs_leg")) == (True, True)
    assert mcid(_score("baseline", nrs_back=8), _score(nrs_back=7), "lumbar").get("nrs_back") is False
    assert mcid(_score("baseline", nrs_leg=0), _score(nrs_leg=0), "lumbar").get("nrs_leg") is None
    assert mcid(_score("baseline", nrs_leg=1), _score(nrs_leg=0), "lumbar").get("nrs_leg") is True  # 100 %


def test_no_baseline_means_not_measurable() -> None:
    flags = mcid(None, _score(odi=10, nrs_back=1), "lumbar")
    assert [m for m, _ in flags.flags] == ["odi", "nrs_back", "nrs_leg", "pgic"]
    assert not flags.measurable and not flags.any_reached


@pytest.mark.parametrize(("points", "percent"), [(10, None), (2, 30)])
def test_rules_agree_with_their_definition_everywhere(points: int, percent: int | None) -> None:
    """Every baseline/follow-up pair in range gives what the published rule says, written out the long way."""
    rule = outcomes.ImprovementRule("x", points, percent, "test")
    top = 100 if percent is None else 10
    for before in range(top + 1):
        for after in range(top + 1):
            got = rule.reached(before, after)
            if before == 0 or (percent is None and before < points):
                assert got is None
            else:
                by_percent = percent is not None and (before - after) / before >= percent / 100
                assert got == (before - after >= points or by_percent), (before, after)


def test_case_mcid_flags_each_follow_up_against_the_baseline() -> None:
    levels = [TreatedLevel("L4-L5", "bilateral")]
    found = case_mcid(levels, [_score("baseline", odi=46, nrs_back=8), _score("6w", nrs_back=2), _score(odi=40)])
    assert set(found) == {"6w", "3m"}
    assert found["6w"].get("nrs_back") is True and found["6w"].get("odi") is None
    assert found["3m"].get("odi") is False


def test_every_score_has_a_rule_with_a_source() -> None:
    assert set(MCID_RULES) == set(outcomes.ALL_SCORES)
    assert all(rule.source for rule in MCID_RULES.values())
