"""The pathway's computations, each with an example worked by hand in the comments: a block's relief, its
duration and concordance, the clinic's policy rule by rule, and the patient's timeline."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

import pytest

from caselog.errors import InvalidInput, NotFound
from caselog.pathway import (
    PathwayCase,
    add_months,
    build_pathway,
    check_indication,
    concordance,
    duration_text,
    joints_of,
    pathway_to_json,
    peak_relief,
    percent_text,
    read_block,
    relief_minutes,
    whole_months,
)
from caselog.policy import PRESETS, IndicationPolicy
from caselog.records import BlockDetails, CaseRecord, Complication, DiaryEntry, OutcomeScore, Patient, TreatedLevel
from caselog.service import CaseService
from tests.factories import simple_case

MEDICARE = PRESETS["medicare_lcd"].policy  # 2 blocks at 80%, repeat after 6 months with 50% lasting 6, 2 a year
ONE_BLOCK = PRESETS["one_block_50"].policy  # 1 block at 50%, otherwise the same


def diary(anesthetic: str, before: int, **pains: int) -> BlockDetails:
    times = {"m15": "15min", "m30": "30min", "h1": "1h", "h2": "2h", "h4": "4h", "h6": "6h", "h8": "8h",
             "morning": "next_morning"}  # fmt: skip
    return BlockDetails(anesthetic, pain_before=before, diary=tuple(DiaryEntry(times[k], p) for k, p in pains.items()))


# Pain 8 before. Relief = (8 - pain) / 8: 15 min 2 -> 75%, 30 min 1 -> 87.5%, 1 h 1 -> 87.5%, 2 h 3 -> 62.5%,
# 4 h 6 -> 25%. Peak 87.5%. At 80% the run is 30 min .. 1 h, broken at 2 h: 60 minutes.
LIDOCAINE_80 = diary("lidocaine", 8, m15=2, m30=1, h1=1, h2=3, h4=6)
# Pain 8: 30 min .. 4 h at 1 -> 87.5%, 6 h 3 -> 62.5%. At 80%: 240 minutes (bupivacaine lasts 2-8 h).
BUPIVACAINE_80 = diary("bupivacaine", 8, m30=1, h1=1, h2=1, h4=1, h6=3)
# Pain 8: 15 min 4 -> 50%, 30 min 3 -> 62.5%, 1 h 3 -> 62.5%, 2 h 4 -> 50%, 4 h 6 -> 25%. Peak 62.5%:
# positive at 50% (run to 2 h = 120 min, lidocaine 1-2 h: concordant), negative at 80%.
LIDOCAINE_62 = diary("lidocaine", 8, m15=4, m30=3, h1=3, h2=4, h4=6)


def test_relief_duration_and_concordance_worked_by_hand() -> None:
    assert peak_relief(LIDOCAINE_80) == Fraction(175, 2)  # 87.5%
    assert percent_text(peak_relief(LIDOCAINE_80)) == "88%"  # 87.5 rounds half up
    assert relief_minutes(LIDOCAINE_80, 80) == 60
    assert relief_minutes(LIDOCAINE_80, 50) == 120  # 75, 87.5, 87.5, 62.5 >= 50; 25 breaks the run at 4 h
    assert relief_minutes(LIDOCAINE_80, 90) == 0  # never reached
    assert concordance(LIDOCAINE_80, 80) == "concordant"  # 60 min within lidocaine's 1-2 h
    # The same diary after bupivacaine (2-8 h): 60 min at 80% is shorter than the anesthetic lasts.
    as_bupivacaine = BlockDetails("bupivacaine", pain_before=8, diary=LIDOCAINE_80.diary)
    assert concordance(as_bupivacaine, 80) == "shorter"
    assert read_block(as_bupivacaine, 80).positive is False  # a peak of 87.5% is not enough when too short
    # Relief of 7/8 = 87.5% until the next morning (1080 min) after lidocaine (at most 120): longer, still positive.
    overnight = diary("lidocaine", 8, h1=1, h2=1, h4=1, h8=1, morning=1)
    assert concordance(overnight, 80) == "longer" and read_block(overnight, 80).positive is True
    assert concordance(diary("other", 8, h1=1), 80) == "not_judged"
    assert read_block(BlockDetails("lidocaine"), 80).positive is None  # no diary: cannot tell
    reading = read_block(BUPIVACAINE_80, 80)
    assert (reading.relief_minutes, reading.concordance, reading.positive) == (240, "concordant", True)
    assert read_block(LIDOCAINE_62, 50).positive is True and read_block(LIDOCAINE_62, 80).positive is False
    assert [duration_text(m) for m in (45, 60, 90, 1080)] == ["45 min", "1 h", "1.5 h", "18 h"]


def test_months_are_calendar_months() -> None:
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)  # no 31 February: the month's last day
    assert add_months(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)  # leap year
    assert add_months(dt.date(2025, 2, 1), -12) == dt.date(2024, 2, 1)
    assert whole_months(dt.date(2024, 1, 15), dt.date(2024, 7, 14)) == 5
    assert whole_months(dt.date(2024, 1, 15), dt.date(2024, 7, 15)) == 6
    assert whole_months(dt.date(2024, 1, 15), dt.date(2023, 7, 15)) == 0


def lv(text: str) -> tuple[TreatedLevel, ...]:
    """ "L4-L5 left; L5-S1 bilateral" -> levels."""
    return tuple(TreatedLevel(*part.split()) for part in text.split("; "))


def case(number: str | None, date: str, procedure: str, levels: str, **more: Any) -> PathwayCase:
    return PathwayCase(number, dt.date.fromisoformat(date), procedure, lv(levels), **more)


def block(number: str, date: str, levels: str, details: BlockDetails) -> PathwayCase:
    return case(number, date, "medial_branch_block", levels, block=details)


def rfa(number: str | None, date: str, levels: str, **more: Any) -> PathwayCase:
    return case(number, date, "radiofrequency_ablation", levels, **more)


def finding(check: Any, rule: str, where: str) -> Any:
    [found] = [f for f in check.findings if f.rule == rule and f.where == where]
    return found


def test_bilateral_is_two_joints() -> None:
    assert joints_of(lv("L5-S1 bilateral; L4-L5 left")) == (("L4-L5", "left"), ("L5-S1", "left"), ("L5-S1", "right"))


def test_first_ablation_needs_the_blocks_the_policy_asks_for() -> None:
    b1 = block("2025-00001", "2025-01-10", "L4-L5 left", LIDOCAINE_80)  # positive at 80%
    b2 = block("2025-00002", "2025-01-24", "L4-L5 left", BUPIVACAINE_80)  # positive at 80%
    weak = block("2025-00002", "2025-01-24", "L4-L5 left", LIDOCAINE_62)  # 62.5%: negative at 80%
    ablation = rfa(None, "2025-02-20", "L4-L5 left")
    met = check_indication(ablation, [b1, b2], MEDICARE)
    assert met.applies and met.meets and not met.outside_policy
    blocks = finding(met, "blocks", "L4-L5 left")
    assert "2 of 2 blocks" in blocks.text
    assert [e.case_number for e in blocks.evidence] == ["2025-00001", "2025-00002"]
    assert blocks.evidence[0].text == (
        "medial branch block (lidocaine): 88% peak relief, 1 h at 80% or more, as long as the anesthetic lasts: "
        "positive"
    )
    unmet = check_indication(ablation, [b1, weak], MEDICARE)
    assert unmet.outside_policy and "1 of 2 blocks" in unmet.summary
    # One block at 50% (a commercial payer's preset): the 62.5% block alone is enough.
    assert check_indication(ablation, [weak], ONE_BLOCK).meets
    assert not check_indication(ablation, [weak], MEDICARE).meets
    # A block after the ablation, or at another joint, is no evidence for it.
    later = block("2025-00009", "2025-03-01", "L4-L5 left", LIDOCAINE_80)
    elsewhere = block("2025-00003", "2025-01-12", "L4-L5 right", LIDOCAINE_80)
    assert not check_indication(ablation, [b1, later, elsewhere], MEDICARE).meets


def test_the_relief_recorded_on_the_case_counts_once_when_caselog_holds_no_block() -> None:
    ablation = rfa(None, "2025-02-20", "L4-L5 left", prior_block_relief_percent=85)
    one = check_indication(ablation, [], ONE_BLOCK)
    assert one.meets  # 85% >= 50%: one positive block, one required
    assert finding(one, "blocks", "L4-L5 left").evidence[0].text == "block relief recorded on this case: 85%"
    two = check_indication(ablation, [], MEDICARE)
    assert not two.meets and "counts as one positive block" in two.summary  # 2 required
    low = check_indication(rfa(None, "2025-02-20", "L4-L5 left", prior_block_relief_percent=40), [], ONE_BLOCK)
    assert not low.meets and "40%, is below 50%" in low.summary
    none = check_indication(rfa(None, "2025-02-20", "L4-L5 left"), [], ONE_BLOCK)
    assert not none.meets and "no block at this joint is recorded" in none.summary
    # Never in addition to a block held in CaseLog: a negative block there is not outweighed by the 85%.
    negative = block("2025-00001", "2025-01-10", "L4-L5 left", diary("lidocaine", 8, h1=6))  # 25%
    assert not check_indication(ablation, [negative], ONE_BLOCK).meets


def test_a_bilateral_ablation_is_judged_joint_by_joint() -> None:
    left_blocks = [block("2025-00001", "2025-01-10", "L4-L5 left", LIDOCAINE_80),
                   block("2025-00002", "2025-01-24", "L4-L5 left", BUPIVACAINE_80)]  # fmt: skip
    check = check_indication(rfa(None, "2025-02-20", "L4-L5 bilateral"), left_blocks, MEDICARE)
    assert finding(check, "blocks", "L4-L5 left").met and not finding(check, "blocks", "L4-L5 right").met
    assert [f.where for f in check.unmet] == ["L4-L5 right"]
    # A bilateral block covers each side.
    both = [block("2025-00001", "2025-01-10", "L4-L5 bilateral", LIDOCAINE_80),
            block("2025-00002", "2025-01-24", "L4-L5 bilateral", BUPIVACAINE_80)]  # fmt: skip
    assert check_indication(rfa(None, "2025-02-20", "L4-L5 right"), both, MEDICARE).meets


def outcome(timepoint: str, date: str, relief: int | None) -> OutcomeScore:
    return OutcomeScore(timepoint, dt.date.fromisoformat(date), relief_percent=relief)


def test_a_repeat_needs_the_interval_and_lasting_relief_from_the_last_ablation() -> None:
    # First ablation 15 January 2024; 6 months later is 15 July 2024.
    followed = (outcome("6w", "2024-02-26", 80), outcome("6m", "2024-07-20", 70))
    first = rfa("2024-00001", "2024-01-15", "L4-L5 left", outcomes=followed)
    # 1 September 2024: 7 whole months after (15 August is 7, 15 September would be 8); 70% on 20 July >= 50%.
    repeat = rfa(None, "2024-09-01", "L4-L5 left")
    check = check_indication(repeat, [first], MEDICARE)
    assert check.meets, check.summary
    assert finding(check, "repeat_interval", "L4-L5 left").text == (
        "L4-L5 left: repeat 7 months after 2024-00001 (2024-01-15) (at least 6 required)"
    )
    relief = finding(check, "repeat_relief", "L4-L5 left")
    assert relief.met and relief.evidence[-1].date == dt.date(2024, 7, 20)
    # Too soon: 1 May is 3 whole months after.
    early = check_indication(rfa(None, "2024-05-01", "L4-L5 left"), [first], MEDICARE)
    assert "not before 2024-07-15" in finding(early, "repeat_interval", "L4-L5 left").text
    # Relief recorded only at 6 weeks (80%), before the 6 months: not shown to last.
    short = rfa("2024-00001", "2024-01-15", "L4-L5 left", outcomes=followed[:1])
    unshown = check_indication(repeat, [short], MEDICARE)
    assert not unshown.meets
    text = finding(unshown, "repeat_relief", "L4-L5 left").text
    assert "no relief recorded 6 months or more after 2024-00001" in text
    # Relief at 6 months below 50%.
    faded = rfa("2024-00001", "2024-01-15", "L4-L5 left", outcomes=(outcome("6m", "2024-07-20", 30),))
    assert "best relief recorded 6 months or more after 2024-00001 (2024-01-15) is 30%" in (
        check_indication(repeat, [faded], MEDICARE).summary
    )
    # A repeat needs no new blocks: the repeat rules replace the block rule at that joint.
    assert {f.rule for f in check.findings} == {"repeat_interval", "repeat_relief", "sessions"}


def test_sessions_per_region_in_a_rolling_12_months() -> None:
    policy = IndicationPolicy(blocks_required=1, relief_threshold_percent=50, max_sessions_per_12_months=2)
    prior = dict(prior_block_relief_percent=90)
    # The 12 months up to 1 February 2025 start after 1 February 2024.
    history = [
        rfa("2024-00001", "2024-02-01", "L2-L3 left", **prior),  # exactly 12 months before: outside
        rfa("2024-00002", "2024-03-01", "L4-L5 left", **prior),  # lumbar, inside
        rfa("2024-00003", "2024-06-01", "C5-C6 right", **prior),  # cervical: another region
    ]
    case_ = rfa(None, "2025-02-01", "L3-L4 left", **prior)
    sessions = finding(check_indication(case_, history, policy), "sessions", "lumbar")
    assert sessions.met and sessions.text.startswith("lumbar: 2 ablation sessions")  # 2024-00002 and this one
    history.append(rfa("2024-00004", "2024-09-10", "L5-S1 right", **prior))  # lumbar, inside: 3 > 2
    sessions = finding(check_indication(case_, history, policy), "sessions", "lumbar")
    assert not sessions.met and sessions.text.startswith("lumbar: 3 ablation sessions")
    assert [e.case_number for e in sessions.evidence] == ["2024-00002", "2024-00004"]


def test_only_ablations_are_checked() -> None:
    check = check_indication(block("2025-00001", "2025-01-10", "L4-L5 left", LIDOCAINE_80), [], MEDICARE)
    assert not check.applies and check.meets and not check.outside_policy


def mbb(date: str, levels: list[dict[str, str]], details: dict[str, Any], **more: Any) -> dict[str, Any]:
    return simple_case(date, procedure="medial_branch_block", cpt_codes=["64493"], prior_block_relief_percent=None,
                       levels=levels, block=details, **more)  # fmt: skip


LEFT = [{"level": "L4-L5", "side": "left"}]
GOOD_DIARY = {
    "anesthetic": "lidocaine",
    "pain_before": 8,
    "diary": [{"time": "30min", "pain": 1}, {"time": "1h", "pain": 1}, {"time": "2h", "pain": 4}],
}


def test_the_service_checks_a_case_against_the_patients_other_cases(service: CaseService) -> None:
    # Two blocks at L4-L5 left: 7/8 = 87.5% from 30 min to 1 h (lidocaine 1-2 h: concordant): positive at 80%.
    service.import_cases({"format": "caselog-cases", "version": 2, "cases": [
        mbb("2025-01-10", LEFT, GOOD_DIARY), mbb("2025-01-24", LEFT, GOOD_DIARY),
        simple_case("2025-01-24", procedure="medial_branch_block", prior_block_relief_percent=None,
                    levels=LEFT, block=GOOD_DIARY, patient={**simple_case("x")["patient"], "mrn": "OTHER-1"}),
    ]})  # fmt: skip
    record = _record(simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None))
    check = service.indication_check(record)
    assert check.meets, check.summary
    assert [e.case_number for e in check.findings[0].evidence] == ["2025-00001", "2025-00002"]  # not OTHER-1's
    bilateral = _record(simple_case("2025-02-20", levels=[{"level": "L4-L5", "side": "bilateral"}]))
    assert not service.indication_check(bilateral).meets
    service.set_indication_policy(IndicationPolicy(blocks_required=2, relief_threshold_percent=90))
    assert not service.indication_check(record).meets  # 87.5% < 90%: the stored policy is applied


def test_a_saved_case_is_not_its_own_history(service: CaseService) -> None:
    [number] = service.import_cases({"format": "caselog-cases", "version": 2, "cases": [
        simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=90)]})  # fmt: skip
    service.set_indication_policy(ONE_BLOCK)
    view = service.get_case(number)
    # Checked as itself: a first ablation (it is not an earlier ablation at its own joint).
    check = service.indication_check(view.record, number)
    assert check.meets and {f.rule for f in check.findings} == {"blocks", "sessions"}, check.summary
    assert finding(check, "sessions", "lumbar").text.startswith("lumbar: 1 ablation session ")


def _record(data: dict[str, Any]) -> CaseRecord:
    from caselog.validation import validate_case
    from tests.factories import TODAY

    record, problems = validate_case(data, today=TODAY)
    assert record is not None, problems
    return record


@pytest.mark.parametrize("threshold", [50, 80])
def test_positive_needs_the_peak_and_a_duration_not_shorter_than_the_anesthetic(threshold: int) -> None:
    # Pain 10, lidocaine: 15 min 1 -> 90%, 30 min 9 -> 10%: 15 minutes at 50% or 80%, lidocaine needs 1 h.
    brief = diary("lidocaine", 10, m15=1, m30=9)
    reading = read_block(brief, threshold)
    assert (reading.peak_relief, reading.relief_minutes, reading.concordance) == (90, 15, "shorter")
    assert reading.positive is False


PATIENT = Patient("MRN-7", "Okoye", "Ada", dt.date(1960, 5, 1), "female")


def story() -> list[PathwayCase]:
    """A patient's pathway, in time order (the numbers say which case is which)."""
    followed = (outcome("baseline", "2024-02-20", None), outcome("6w", "2024-04-12", 80),
                outcome("6m", "2024-09-02", 60))  # fmt: skip
    onset = Complication("numbness", "postoperative", dt.date(2024, 3, 3), "I")
    return [
        block("2024-00001", "2024-01-10", "L4-L5 bilateral", LIDOCAINE_80),  # 60 min at 80%
        block("2024-00002", "2024-01-24", "L4-L5 bilateral", BUPIVACAINE_80),  # 240 min at 80%
        block("2024-00003", "2024-02-01", "L5-S1 left", LIDOCAINE_80),
        block("2024-00004", "2024-02-08", "L4-L5 left; L5-S1 left", BUPIVACAINE_80),
        rfa("2024-00005", "2024-03-01", "L4-L5 bilateral", outcomes=followed, complications=(onset,)),
        rfa("2025-00001", "2025-01-15", "L4-L5 left"),
    ]


def test_series_numbers_count_earlier_blocks_at_any_of_the_joints() -> None:
    pathway = build_pathway(PATIENT, reversed(story()), MEDICARE)  # any order in, time order out
    series = {e.case.case_number: e.series for e in pathway.cases}
    # 00001 first at L4-L5; 00002 second there; 00003 first at L5-S1 left; 00004 at L4-L5 left and L5-S1 left
    # follows 00001, 00002 (L4-L5 left) and 00003 (L5-S1 left): fourth.
    assert series == {"2024-00001": 1, "2024-00002": 2, "2024-00003": 1, "2024-00004": 4, "2024-00005": None,
                      "2025-00001": None}  # fmt: skip


def test_a_comparative_pair_is_concordant_when_the_long_acting_block_lasted_longer() -> None:
    pathway = build_pathway(PATIENT, story(), MEDICARE)
    # Only 00001 (lidocaine) and 00002 (bupivacaine) are at exactly the same joints; 00004's differ from 00003's.
    [pair] = pathway.pairs
    assert (pair.short_acting.case_number, pair.long_acting.case_number) == ("2024-00001", "2024-00002")
    assert (pair.short_minutes, pair.long_minutes, pair.concordant) == (60, 240, True)  # 240 > 60
    # The same diary after both anesthetics: 60 min each, the long-acting one did not last longer.
    same = BlockDetails("bupivacaine", pain_before=8, diary=LIDOCAINE_80.diary)
    flat = [block("2024-00001", "2024-01-10", "L4-L5 left", LIDOCAINE_80),
            block("2024-00002", "2024-01-24", "L4-L5 left", same)]  # fmt: skip
    [discordant] = build_pathway(PATIENT, flat, MEDICARE).pairs
    assert (discordant.short_minutes, discordant.long_minutes, discordant.concordant) == (60, 60, False)
    no_diary = [flat[0], block("2024-00002", "2024-01-24", "L4-L5 left", BlockDetails("ropivacaine"))]
    assert build_pathway(PATIENT, no_diary, MEDICARE).pairs[0].concordant is None


def test_rows_per_joint_with_blocks_ablations_their_relief_and_complications() -> None:
    pathway = build_pathway(PATIENT, story(), MEDICARE)
    assert [row.text for row in pathway.rows] == ["L4-L5 left", "L4-L5 right", "L5-S1 left"]
    left, right, lower = pathway.rows
    assert [(e.kind, e.case_number) for e in left.events] == [
        ("block", "2024-00001"), ("block", "2024-00002"), ("block", "2024-00004"), ("ablation", "2024-00005"),
        ("complication", "2024-00005"), ("ablation", "2025-00001"),
    ]  # fmt: skip
    first = left.events[3]
    # At L4-L5 left the relief of 2024-00005 lasts until the next ablation there (15 January 2025); its
    # follow-ups after the procedure are in it (the baseline before it, without relief, is not).
    assert (first.relief_until, first.relief_ended_by) == (dt.date(2025, 1, 15), "next_ablation")
    assert first.relief == ((dt.date(2024, 4, 12), 80), (dt.date(2024, 9, 2), 60))
    # At L4-L5 right nothing followed: until its last follow-up, 2 September 2024.
    [ablation] = [e for e in right.events if e.kind == "ablation"]
    assert (ablation.relief_until, ablation.relief_ended_by) == (dt.date(2024, 9, 2), "last_follow_up")
    assert [e.complication.category for e in right.events if e.complication] == ["numbness"]
    last = left.events[-1]
    assert (last.relief_until, last.relief_ended_by, last.relief) == (None, None, ())  # no follow-up yet
    assert [(e.kind, e.series) for e in lower.events] == [("block", 1), ("block", 4)]
    assert left.events[0].reading is not None and left.events[0].reading.relief_minutes == 60


def test_each_ablation_is_checked_against_the_cases_before_it() -> None:
    checks = {e.case.case_number: e.check for e in build_pathway(PATIENT, story(), MEDICARE).cases}
    assert not checks["2024-00001"].applies
    # 2024-00005 at L4-L5 left: 00001, 00002 and 00004 positive (3 of 3); at right 00001 and 00002 (2 of 2).
    assert checks["2024-00005"].meets, checks["2024-00005"].summary
    # 2025-00001, a repeat at L4-L5 left: 10 whole months after 1 March 2024; 60% on 2 September 2024, on or
    # after 1 September (6 months): met; lumbar sessions after 15 January 2024: 2024-00005 and itself, 2 <= 2.
    assert checks["2025-00001"].meets, checks["2025-00001"].summary
    assert "10 months after 2024-00005" in checks["2025-00001"].findings[0].text


def test_the_pathway_as_json() -> None:
    data = pathway_to_json(build_pathway(PATIENT, story(), MEDICARE))
    assert data["patient"] == {"mrn": "MRN-7", "family_name": "Okoye", "given_name": "Ada",
                               "birth_date": "1960-05-01", "sex": "female"}  # fmt: skip
    assert data["policy"]["preset"] == "medicare_lcd" and data["policy"]["blocks_required"] == 2
    first = data["cases"][0]
    assert first["block"] == {"series": 1, "peak_relief_percent": 88, "relief_minutes": 60,
                              "concordance": "concordant", "positive": True}  # fmt: skip
    assert first["indication"] is None
    assert data["cases"][5]["indication"]["meets"] is True
    assert data["cases"][5]["indication"]["findings"][0]["evidence"][0] == {
        "case_number": "2024-00005", "date": "2024-03-01", "text": "RF ablation at L4-L5 left"}  # fmt: skip
    ablation = data["joints"][0]["events"][3]
    assert ablation == {"kind": "ablation", "date": "2024-03-01", "case_number": "2024-00005",
                        "procedure": "radiofrequency_ablation", "relief_until": "2025-01-15",
                        "relief_ended_by": "next_ablation", "outside_policy": False,
                        "relief": [{"date": "2024-04-12", "relief_percent": 80},
                                   {"date": "2024-09-02", "relief_percent": 60}]}  # fmt: skip
    assert data["comparative_pairs"] == [{"levels": [{"level": "L4-L5", "side": "left"},
                                                     {"level": "L4-L5", "side": "right"}],
                                          "short_acting": "2024-00001", "long_acting": "2024-00002",
                                          "short_acting_minutes": 60, "long_acting_minutes": 240,
                                          "concordant": True}]  # fmt: skip
    json.dumps(data)  # plain data throughout


def test_the_service_builds_a_patients_pathway(service: CaseService) -> None:
    data_ = {"format": "caselog-cases", "version": 2, "cases": [
        mbb("2025-01-10", LEFT, GOOD_DIARY),
        simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None,
                    complications=[{"category": "numbness", "timing": "postoperative", "onset_date": "2025-02-22",
                                    "clavien_dindo": "I"}],
                    outcomes=[{"timepoint": "6w", "date": "2025-04-03", "relief_percent": 70}]),
        simple_case("2025-02-21", procedure="laminotomy", patient={**simple_case("x")["patient"], "mrn": "OTHER-1"}),
    ]}  # fmt: skip
    service.import_cases(data_)
    pathway = service.patient_pathway(" MRN-1001 ")
    assert pathway.patient.mrn == "MRN-1001" and [e.case.case_number for e in pathway.cases] == [
        "2025-00001", "2025-00002"]  # fmt: skip
    [row] = pathway.rows
    assert [(e.kind, e.date) for e in row.events] == [
        ("block", dt.date(2025, 1, 10)),
        ("ablation", dt.date(2025, 2, 20)),
        ("complication", dt.date(2025, 2, 22)),
    ]
    assert row.events[1].relief == ((dt.date(2025, 4, 3), 70),)
    # One positive block; the default policy asks for two.
    assert row.events[1].outside_policy and [e.case.case_number for e in pathway.outside_policy] == ["2025-00002"]
    with pytest.raises(NotFound, match="No patient with MRN 'NOBODY'"):
        service.patient_pathway("NOBODY")


def other_patient(mrn: str) -> dict[str, Any]:
    return {**simple_case("2025-01-01")["patient"], "mrn": mrn, "family_name": f"Family {mrn}"}


def test_the_quality_desk_lists_every_ablation_outside_the_policy(service: CaseService) -> None:
    service.set_indication_policy(ONE_BLOCK)  # one block at 50%
    amara, lee = "Dr. Amara Okafor", "Dr. Lee Chen"
    cases = [
        # MRN-1001: a positive block (87.5% at 50%), then an ablation that meets the policy, then a repeat
        # two months later (too soon) with a reason.
        mbb("2024-11-04", LEFT, GOOD_DIARY),  # 2024-00001
        simple_case("2024-12-02", levels=LEFT, prior_block_relief_percent=None),  # 2024-00002 meets
        simple_case("2025-02-03", levels=LEFT, prior_block_relief_percent=None,
                    outside_policy_reason="Severe pain returned early"),  # 2025-00001 too soon
        # P-2: no block anywhere, no relief recorded: outside, without reason; another surgeon, rhizotomy.
        simple_case("2025-01-20", procedure="radiofrequency_ablation", surgeon=lee, patient=other_patient("P-2"),
                    prior_block_relief_percent=None),  # 2025-00002
        # P-3: a laminotomy is never checked.
        simple_case("2025-01-21", procedure="laminotomy", patient=other_patient("P-3")),  # 2025-00003
    ]  # fmt: skip
    service.import_cases({"format": "caselog-cases", "version": 2, "cases": cases})
    listed = service.outside_policy()
    # In date order: 2025-00002 (20 January) before 2025-00001 (3 February).
    assert [(i.case_number, i.mrn, i.case.surgeon) for i in listed] == [
        ("2025-00002", "P-2", lee), ("2025-00001", "MRN-1001", amara)]  # fmt: skip
    nothing, early = listed
    assert early.reason == "Severe pain returned early" and nothing.reason is None
    assert [f.rule for f in early.findings] == ["repeat_interval", "repeat_relief"]
    assert early.patient_name == "Nguyễn, Thị Hồng" and nothing.patient_name == "Family P-2, Thị Hồng"
    assert "no block at this joint is recorded" in nothing.check.summary
    # Filters: with or without a reason, surgeon, procedure, dates (inclusive).
    assert [i.case_number for i in service.outside_policy(with_reason=True)] == ["2025-00001"]
    assert [i.case_number for i in service.outside_policy(with_reason=False)] == ["2025-00002"]
    assert [i.case_number for i in service.outside_policy(surgeon=lee)] == ["2025-00002"]
    assert [i.case_number for i in service.outside_policy(procedure="endoscopic_rhizotomy")] == ["2025-00001"]
    assert service.outside_policy(procedure="laminotomy") == []
    in_range = service.outside_policy(date_from=dt.date(2025, 2, 3), date_to=dt.date(2025, 2, 3))
    # The cases before the range still count as history: 2025-00001 is a repeat of 2024-00002, not a first.
    assert [(i.case_number, [f.rule for f in i.findings]) for i in in_range] == [
        ("2025-00001", ["repeat_interval", "repeat_relief"])]  # fmt: skip
    assert service.outside_policy(date_to=dt.date(2025, 1, 19)) == []
    # Under the two-block preset the first ablation is outside too (one positive block of two).
    service.set_indication_policy(MEDICARE)
    assert [i.case_number for i in service.outside_policy()] == ["2024-00002", "2025-00002", "2025-00001"]


def test_the_list_judges_each_case_as_the_check_of_one_case_does(service: CaseService) -> None:
    """The list reads the cases in bulk and the single check case by case: the same verdicts."""
    cases = [
        mbb("2024-11-04", LEFT, GOOD_DIARY),
        simple_case("2024-12-02", levels=[{"level": "L4-L5", "side": "bilateral"}], prior_block_relief_percent=90,
                    outcomes=[{"timepoint": "6m", "date": "2025-06-03", "relief_percent": 60}]),
        mbb("2024-11-18", [{"level": "L4-L5", "side": "bilateral"}],
            {**GOOD_DIARY, "anesthetic": "bupivacaine"}),
        simple_case("2025-06-20", levels=LEFT, prior_block_relief_percent=None),
    ]  # fmt: skip
    numbers = service.import_cases({"format": "caselog-cases", "version": 2, "cases": cases})
    listed = {i.case_number: i.check for i in service.outside_policy()}
    for number in numbers:
        view = service.get_case(number)
        check = service.indication_check(view.record, number)
        assert (check.outside_policy, check.summary) == (
            (True, listed[number].summary) if number in listed else (False, check.summary)
        )
    # 2024-00002 at L4-L5 left: 2024-00001 positive, 2024-00003 (bupivacaine, 60 min at 80%: shorter than its
    # 2 h) negative: 1 of 2. 2025-00001 repeats it 6 whole months later with 60% on 3 June 2025, on or after
    # 2 June (6 months): met.
    assert set(listed) == {"2024-00002"}


def test_signing_a_case_outside_the_policy_needs_the_reason(service: CaseService) -> None:
    # No block on file and no block relief recorded: outside the policy at L4-L5 left.
    outside = simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=None)
    [number] = service.import_cases({"format": "caselog-cases", "version": 2, "cases": [outside]})
    with pytest.raises(InvalidInput) as refused:
        service.sign_case(number)
    [problem] = refused.value.problems
    assert problem.path == "outside_policy_reason"
    assert problem.message.startswith(f"is required to sign case {number}: it is outside the clinic's policy (")
    assert service.get_case(number).status == "draft"  # nothing written
    assert not [e for e in service.audit_trail() if e.action == "sign"]
    # A draft is saved with the reason, then signed.
    service.update_case(number, {**outside, "outside_policy_reason": "Cannot tolerate a second block"})
    assert service.sign_case(number).status == "final"
    # Created signed: the same rule.
    with pytest.raises(InvalidInput, match="outside_policy_reason: is required to sign the case"):
        service.create_case({**outside, "status": "final"})
    # Imported signed: history is kept as it was (and the quality desk lists it).
    [kept] = service.import_cases({"format": "caselog-cases", "version": 2, "cases": [{**outside, "status": "final"}]})
    assert kept in [i.case_number for i in service.outside_policy(with_reason=False)]


def test_a_case_within_the_policy_or_no_ablation_signs_without_a_reason(service: CaseService) -> None:
    service.set_indication_policy(ONE_BLOCK)
    within = simple_case("2025-02-20", levels=LEFT, prior_block_relief_percent=70)  # 70% >= 50%: one block
    block_case = mbb("2025-01-10", LEFT, GOOD_DIARY)
    numbers = service.import_cases({"format": "caselog-cases", "version": 2, "cases": [within, block_case]})
    assert [service.sign_case(n).status for n in numbers] == ["final", "final"]
