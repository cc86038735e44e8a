"""The quality desk's list judges every block of the clinic in whole numbers (caselog.pathway.block_positive) and
every ablation in one pass over its patient's history (caselog.pathway.PolicyJudge), writing out only the cases
outside the policy with the case form's own check. Both must say exactly what the case form's reading and check
say: here by hand-worked examples and against read_block over many diaries; the lists themselves are compared
in tests/test_outside_policy_speed_equivalence.py.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from caselog import vocab
from caselog.pathway import PolicyFacts, PolicyJudge, block_positive, joints_and_regions, read_block
from caselog.policy import IndicationPolicy
from caselog.records import BlockDetails, DiaryEntry


def _block(anesthetic: str, before: int | None, pains: list[tuple[str, int]]) -> BlockDetails:
    return BlockDetails(anesthetic, None, before, tuple(DiaryEntry(time, pain) for time, pain in pains))


# Pain 8 before; 1 from 30 min to 1 h, 4 at 2 h: 87.5% peak relief, 60 minutes at 80% or more.
DIARY = [("30min", 1), ("1h", 1), ("2h", 4)]


def test_a_block_with_enough_relief_for_as_long_as_the_anesthetic_lasts_is_positive() -> None:
    """Lidocaine lasts 1-2 h: 87.5% for 60 minutes is positive at 80%, not at 90% (the peak is below it)."""
    assert block_positive(_block("lidocaine", 8, DIARY), 80)
    assert not block_positive(_block("lidocaine", 8, DIARY), 90)
    assert block_positive(_block("lidocaine", 8, DIARY), 50)


def test_relief_shorter_than_the_anesthetic_lasts_is_not_positive() -> None:
    """Bupivacaine lasts 2-8 h: 60 minutes at 80% is shorter (a placebo response is as likely); at 50% relief
    lasted 2 h (pain 4 of 8), as long as bupivacaine's shortest; "other" has no duration, so peak relief decides."""
    assert not block_positive(_block("bupivacaine", 8, DIARY), 80)
    assert block_positive(_block("bupivacaine", 8, DIARY), 50)
    assert block_positive(_block("other", 8, DIARY), 80)


def test_a_block_that_cannot_be_measured_is_not_positive() -> None:
    """No diary, no pain score before, or a pain score of 0 before: the diary cannot tell."""
    assert not block_positive(_block("lidocaine", 8, []), 80)
    assert not block_positive(_block("lidocaine", None, DIARY), 80)
    assert not block_positive(_block("lidocaine", 0, DIARY), 80)


def test_block_positive_is_what_read_block_says_for_many_diaries() -> None:
    """Seeded random diaries (every anesthetic, thresholds from 1% to 100%, pain before from -3 to 10 and
    missing, pains that get worse too): the whole-number result equals the exact reading's."""
    rng = random.Random(14)
    times = list(vocab.DIARY_TIMES)
    anesthetics = [*vocab.ANESTHETIC_HOURS, "other"]
    positives = 0
    for _ in range(4000):
        chosen = sorted(rng.sample(times, rng.randint(0, len(times))), key=times.index)
        before = rng.choice([None, -3, 0, 1, 3, 7, 8, 10])
        block = _block(rng.choice(anesthetics), before, [(time, rng.randint(0, 10)) for time in chosen])
        threshold = rng.choice([1, 30, 50, 75, 80, 90, 100])
        expected = read_block(block, threshold).positive is True
        assert block_positive(block, threshold) == expected, (block, threshold)
        positives += expected
    assert 200 < positives < 3800  # both results are compared


def _case(day: str, procedure: str, joints: tuple[tuple[str, str], ...], *, positive: bool = False,
          prior: int | None = None, reliefs: tuple[tuple[str, int], ...] = ()) -> PolicyFacts:  # fmt: skip
    found, regions = joints_and_regions(joints)
    return PolicyFacts(dt.date.fromisoformat(day), procedure in vocab.ABLATIONS, procedure == "medial_branch_block",
                       found, regions, prior, positive,
                       tuple((dt.date.fromisoformat(when), relief) for when, relief in reliefs))  # fmt: skip


L45 = (("L4-L5", "left"),)
MBB, RFA = "medial_branch_block", "radiofrequency_ablation"


def test_the_judge_finds_the_ablations_outside_the_policy_by_hand() -> None:
    """Two positive blocks, then an ablation (meets); a repeat 3 months on (too soon, and no relief recorded 6
    months on); a block on the day of an ablation does not count before it."""
    judge = PolicyJudge(IndicationPolicy(2, 80, 6, 50, 6, 2))
    cases = [
        _case("2024-01-08", MBB, L45, positive=True),
        _case("2024-01-22", MBB, L45, positive=True),
        _case("2024-02-05", RFA, L45, reliefs=(("2024-08-05", 60),)),  # 0: meets
        _case("2024-05-06", RFA, L45),  # 3: repeat after 3 months, no relief 6 months on
        _case("2024-06-03", MBB, (("C5-C6", "right"),), positive=True),
        _case("2024-06-03", RFA, (("C5-C6", "right"),)),  # 5: the same day's block is not before it
    ]
    assert judge.outside(cases) == [3, 5]
    assert judge.outside(cases[:3]) == []


def test_the_judge_counts_sessions_in_a_rolling_twelve_months() -> None:
    """Limit 1: a second lumbar ablation 11 months after the first is outside, 13 months after is not."""
    judge = PolicyJudge(IndicationPolicy(1, 50, 0, 0, 0, 1))
    first = _case("2024-01-15", RFA, L45, prior=90)
    other_joint = (("L3-L4", "right"),)
    assert judge.outside([first, _case("2024-12-15", RFA, other_joint, prior=90)]) == [1]
    assert judge.outside([first, _case("2025-02-15", RFA, other_joint, prior=90)]) == []


@pytest.mark.parametrize("required, prior, outside", [(1, 80, []), (1, 79, [0]), (2, 95, [0]), (1, None, [0])])
def test_without_a_block_the_relief_recorded_on_the_ablation_counts_for_one(
    required: int, prior: int | None, outside: list[int]
) -> None:
    """No block at the joint: the block relief recorded on the case counts as one positive block."""
    judge = PolicyJudge(IndicationPolicy(required, 80, 6, 50, 6, 2))
    assert judge.outside([_case("2024-01-15", RFA, L45, prior=prior)]) == outside
