"""caselog.outcomes: the measures a follow-up asks by region, and MCID against the case's own baseline."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from caselog import outcomes
from caselog.outcomes import MCID_RULES, case_mcid, mcid, mcid_shares, measures_for, region_of_levels
from caselog.records import CaseFilter, OutcomeScore, TreatedLevel
from caselog.service import CaseService
from caselog.stats import rate
from tests.factories import case_file, make_case, simple_case

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


def test_cervical_follow_ups_are_judged_on_ndi_and_neck_and_arm_pain() -> None:
    """NDI 40 -> 28 and arm pain 6 -> 4 reach it; the case's ODI is not judged in the cervical region."""
    baseline = _score("baseline", ndi=40, nrs_neck=7, nrs_arm=6, odi=50)
    flags = mcid(baseline, _score(ndi=28, nrs_neck=6, nrs_arm=4, odi=10, pgic=3), "cervical")
    assert flags.flags == (("ndi", True), ("nrs_neck", False), ("nrs_arm", True), ("pgic", False))
    assert outcomes.reached_text(flags) == "NDI, NRS arm"


def test_pgic_much_or_very_much_improved_reaches_it_without_a_baseline() -> None:
    assert [mcid(None, _score(pgic=p), "lumbar").get("pgic") for p in range(1, 8)] == [True, True] + [False] * 5
    assert mcid(None, _score(nrs_back=3), "lumbar").get("pgic") is None
    assert outcomes.reached_text(mcid(None, _score(pgic=5), "lumbar")) == "none"
    assert outcomes.reached_text(mcid(None, _score(nrs_back=3), "lumbar")) == ""


def test_a_score_outside_the_region_is_still_shown() -> None:
    """A cervical case with an ODI keeps it in view: nothing recorded is hidden by the region's choice."""
    held = [_score("baseline", ndi=30, odi=44)]
    assert outcomes.scores_shown(["C5-C6"], held) == ("ndi", "nrs_neck", "nrs_arm", "odi")
    assert outcomes.scores_shown(["L4-L5"], held) == ("odi", "nrs_back", "nrs_leg", "ndi")
    assert outcomes.scores_shown(["L4-L5"], []) == ("odi", "nrs_back", "nrs_leg")


def test_answers_are_said_in_words() -> None:
    o = _score(work_status="off_work_pain", analgesics="opioid", returned_to_activities=dt.date(2025, 2, 3),
               physical_therapy=False)  # fmt: skip
    assert outcomes.answers_text(o) == (
        "off work because of pain, opioid pain medication, back to usual activities on 2025-02-03, no physical therapy"
    )
    assert outcomes.answers_text(_score(odi=3)) == ""
    assert outcomes.pgic_text(2) == "2 much improved" and outcomes.pgic_text(None) == ""


def test_read_only_tables_show_the_scores_held_region_first() -> None:
    """A cervical case scored only with the ODI and back pain shows those, not three empty neck columns."""
    held = [_score("baseline", odi=44, nrs_back=6), _score(nrs_back=3, ndi=None)]
    assert outcomes.scores_held(["C5-C6"], held) == ("odi", "nrs_back")
    assert outcomes.scores_held(["C5-C6"], [_score(ndi=20, nrs_back=2)]) == ("ndi", "nrs_back")
    assert outcomes.scores_held(["C5-C6"], [_score(relief_percent=50)]) == ("ndi", "nrs_neck", "nrs_arm")


# ---- shares per procedure and timepoint, from SQL, on SQLite and PostgreSQL ------------------------------


def _v3(*cases: dict[str, Any]) -> dict[str, Any]:
    return {**case_file(*cases), "version": 3}


def _neck_case(day: str, outcomes_: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return simple_case(day, levels=[{"level": "C5-C6", "side": "right"}], outcomes=outcomes_, **changes)


CLINIC = [
    # lumbar rhizotomy: 6w ODI 46 -> 30 (reached), back 8 -> 7 (not), leg 3 -> 2 (33 %: reached), PGIC 2
    simple_case("2025-01-10", outcomes=[
        {"timepoint": "baseline", "date": "2025-01-02", "odi": 46, "nrs_back": 8, "nrs_leg": 3},
        {"timepoint": "6w", "date": "2025-02-21", "odi": 30, "nrs_back": 7, "nrs_leg": 2, "pgic": 2},
    ]),
    # lumbar rhizotomy: 6w ODI 20 -> 15 (not), no back score, PGIC 4; baseline ODI 5 makes 3m's ODI unmeasurable
    simple_case("2025-01-11", patient={**make_case()["patient"], "mrn": "MRN-2"}, outcomes=[
        {"timepoint": "baseline", "date": "2025-01-03", "odi": 20, "nrs_leg": 0},
        {"timepoint": "6w", "date": "2025-02-22", "odi": 15, "nrs_leg": 0, "pgic": 4},
    ]),
    # lumbar rhizotomy without a baseline: only its PGIC counts
    simple_case("2025-01-12", patient={**make_case()["patient"], "mrn": "MRN-3"}, outcomes=[
        {"timepoint": "6w", "date": "2025-02-23", "odi": 10, "pgic": 1},
    ]),
    # cervical rhizotomy: NDI 40 -> 28 (reached), neck 7 -> 6 (not); its ODI is not judged in the cervical region
    _neck_case("2025-01-13", [
        {"timepoint": "baseline", "date": "2025-01-04", "ndi": 40, "nrs_neck": 7, "odi": 50},
        {"timepoint": "6w", "date": "2025-02-24", "ndi": 28, "nrs_neck": 6, "odi": 10},
    ], patient={**make_case()["patient"], "mrn": "MRN-4"}),
    # an RFA at 36 months
    simple_case("2021-01-10", procedure="radiofrequency_ablation", patient={**make_case()["patient"], "mrn": "MRN-5"},
                outcomes=[{"timepoint": "baseline", "date": "2021-01-02", "nrs_back": 6},
                          {"timepoint": "36m", "date": "2024-01-12", "nrs_back": 4}]),
]  # fmt: skip


def _shares(service: CaseService, case_filter: CaseFilter | None = None) -> dict[tuple[str, str, str], tuple[int, int]]:
    with service.reading() as session:
        return {(r.procedure, r.timepoint, r.measure): (r.n, r.reached) for r in mcid_shares(session, case_filter)}


def test_shares_count_measurable_follow_ups_and_those_reaching_mcid(service: CaseService) -> None:
    service.import_cases(_v3(*CLINIC))
    rhizotomy = "endoscopic_rhizotomy"
    assert _shares(service) == {
        (rhizotomy, "6w", "odi"): (2, 1),
        (rhizotomy, "6w", "nrs_back"): (1, 0),
        (rhizotomy, "6w", "nrs_leg"): (1, 1),  # the 0 at baseline is not measurable
        (rhizotomy, "6w", "ndi"): (1, 1),
        (rhizotomy, "6w", "nrs_neck"): (1, 0),
        (rhizotomy, "6w", "pgic"): (3, 2),
        ("radiofrequency_ablation", "36m", "nrs_back"): (1, 1),
    }
    with service.reading() as session:
        rows = mcid_shares(session)
    assert [(r.procedure, r.timepoint, r.measure) for r in rows][:6] == [
        (rhizotomy, "6w", m) for m in ("odi", "nrs_back", "nrs_leg", "ndi", "nrs_neck", "pgic")
    ]
    pgic = next(r for r in rows if r.measure == "pgic")
    assert pgic.rate == rate(2, 3)
    assert _shares(service, CaseFilter(procedure="radiofrequency_ablation")) == {
        ("radiofrequency_ablation", "36m", "nrs_back"): (1, 1)
    }


def test_shares_agree_with_each_follow_ups_flags(service: CaseService) -> None:
    """The grouped SQL and `mcid` on every case give the same counts, on random scores of both regions."""
    rng = random.Random(15)
    cases = []
    for i in range(40):

        def score(low: int, high: int) -> int | None:
            return None if rng.random() < 0.25 else rng.randint(low, high)

        def outcome(timepoint: str, day: str) -> dict[str, Any]:
            values = {"odi": score(0, 100), "nrs_back": score(0, 10), "nrs_leg": score(0, 10), "ndi": score(0, 100),
                      "nrs_neck": score(0, 10), "nrs_arm": score(0, 10), "relief_percent": 50}  # fmt: skip
            if timepoint != "baseline":
                values["pgic"] = score(1, 7)
            return {"timepoint": timepoint, "date": day, **values}

        level = rng.choice(["C5-C6", "T11-T12", "L4-L5"])
        follow = [outcome("baseline", "2024-01-02")] * (rng.random() < 0.8)
        follow += [outcome("6w", "2024-02-21"), outcome("12m", "2025-01-10")]
        cases.append(simple_case("2024-01-10", levels=[{"level": level, "side": "left"}], outcomes=follow,
                                 procedure=rng.choice(["endoscopic_rhizotomy", "radiofrequency_ablation"]),
                                 patient={**make_case()["patient"], "mrn": f"MRN-R{i}"}))  # fmt: skip
    service.import_cases(_v3(*cases))
    expected: dict[tuple[str, str, str], list[int]] = {}
    for view in service.iter_cases(CaseFilter()):
        r = view.record
        for timepoint, flags in case_mcid(r.levels, r.outcomes).items():
            for measure, reached in flags.flags:
                if reached is not None:
                    counts = expected.setdefault((r.procedure, timepoint, measure), [0, 0])
                    counts[0] += 1
                    counts[1] += reached
    assert _shares(service) == {k: tuple(v) for k, v in expected.items()}
    assert len(expected) > 10
