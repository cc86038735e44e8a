"""The demo's patients follow the pathways it claims: blocks read from their diaries, ablations at the joints
that responded after two positive blocks, repeats after relief that lasted, and a few marked departures.

Checked independently of the policy code (joints and dates worked out here), on a few thousand cases.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterator

import pytest

from caselog import policy, vocab
from caselog.demo import DEPARTURES, block_peak, generate_cases, generate_marked
from caselog.pathway import add_months, check_indication, pathway_case, read_block
from caselog.records import CaseRecord, case_to_contract
from caselog.validation import FORMAT_NAME, FORMAT_VERSION, validate_file

UNTIL = dt.date(2026, 6, 30)
THRESHOLD = 80  # the default policy: two blocks with >= 80% relief

Marked = list[tuple[CaseRecord, str | None]]


@pytest.fixture(scope="module")
def marked() -> Marked:
    return generate_marked(4000, seed=11, until=UNTIL)


def _joints(record: CaseRecord) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for lv in record.levels:
        found.update((lv.level, side) for side in (("left", "right") if lv.side == "bilateral" else (lv.side,)))
    return found


def _patients(marked: Marked) -> dict[str, Marked]:
    by_mrn: dict[str, Marked] = defaultdict(list)
    for record, departure in marked:
        by_mrn[record.patient.mrn].append((record, departure))
    return by_mrn


def _ablations(marked: Marked) -> Iterator[tuple[CaseRecord, str | None, Marked]]:
    """Each ablation with its departure and the patient's cases before it."""
    for cases in _patients(marked).values():
        for i, (record, departure) in enumerate(cases):
            if record.procedure in vocab.ABLATIONS:
                yield record, departure, cases[:i]


def _positive(record: CaseRecord) -> bool:
    return record.block is not None and bool(read_block(record.block, THRESHOLD).positive)


def test_the_same_seed_gives_the_same_cases() -> None:
    assert generate_cases(300, seed=5, until=UNTIL) == generate_cases(300, seed=5, until=UNTIL)
    assert generate_cases(300, seed=5, until=UNTIL) != generate_cases(300, seed=6, until=UNTIL)


def test_every_demo_case_is_a_valid_case_of_the_current_version(marked: Marked) -> None:
    """What the demo stores would import from a file unchanged: blocks, volumes and reasons included."""
    records = [record for record, _ in marked]
    data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "cases": [case_to_contract(r) for r in records]}
    read, problems = validate_file(data, today=UNTIL)
    assert problems == []
    assert read == records


def test_blocks_record_anesthetic_volumes_and_a_diary_some_negative(marked: Marked) -> None:
    blocks = [r for r, _ in marked if r.procedure == "medial_branch_block"]
    assert all(r.block is not None and r.block.diary and r.block.pain_before for r in blocks)
    assert all(lv.volume_ml is not None for r in blocks for lv in r.levels)
    assert all(lv.volume_ml is None for r, _ in marked if r.procedure != "medial_branch_block" for lv in r.levels)
    assert all(r.block is None for r, _ in marked if r.procedure != "medial_branch_block")
    readings = [read_block(r.block, THRESHOLD) for r in blocks if r.block is not None]
    negative = sum(1 for reading in readings if not reading.positive)
    assert 0.1 < negative / len(readings) < 0.4
    assert {"shorter"} == {reading.concordance for reading in readings if not reading.positive} - {"concordant"}
    assert {r.block.anesthetic for r in blocks if r.block} == {"lidocaine", "bupivacaine", "ropivacaine"}


def test_comparative_pairs_last_longer_on_bupivacaine(marked: Marked) -> None:
    """A lidocaine block and a later bupivacaine one at the same joints: when both work, the long-acting one's
    relief lasts longer (the comparative-block check reads concordant)."""
    pairs = 0
    for cases in _patients(marked).values():
        blocks = [r.block and (r, r.block) for r, _ in cases if _positive(r)]
        for (short, short_block), (long, long_block) in itertools.pairwise(b for b in blocks if b):
            if (short_block.anesthetic, long_block.anesthetic) == ("lidocaine", "bupivacaine"):
                pairs += 1
                assert _joints(long) <= _joints(short)
                lasted = read_block(long_block, THRESHOLD).relief_minutes
                assert lasted > read_block(short_block, THRESHOLD).relief_minutes
    assert pairs > 50


def test_first_ablations_follow_two_positive_blocks_at_their_joints_unless_marked(marked: Marked) -> None:
    seen: dict[str | None, int] = defaultdict(int)
    for record, departure, before in _ablations(marked):
        earlier = [r for r, _ in before if r.procedure_date < record.procedure_date]
        if any(r.procedure in vocab.ABLATIONS for r in earlier):
            continue  # a repeat: the next test
        seen[departure] += 1
        blocks = [r for r in earlier if r.procedure == "medial_branch_block"]
        for joint in _joints(record):
            at_joint = [b for b in blocks if joint in _joints(b)]
            positive = [b for b in at_joint if _positive(b)]
            if departure is None:
                assert len(positive) >= 2, (record.patient.mrn, joint)
            elif departure == "one_block":
                assert len(positive) == 1
            elif departure == "negative_block":
                assert at_joint and not positive
            else:
                assert departure == "blocks_elsewhere" and not at_joint
                assert record.prior_block_relief_percent and record.prior_block_relief_percent >= THRESHOLD
        if blocks:
            assert record.prior_block_relief_percent == block_peak(blocks[-1].block)  # type: ignore[arg-type]
    assert seen[None] > 5 * sum(n for kind, n in seen.items() if kind)
    assert {kind for kind in seen if kind} == {"one_block", "negative_block", "blocks_elsewhere"}


def test_repeats_come_after_relief_that_lasted_unless_marked(marked: Marked) -> None:
    """The default repeat rule: >= 6 months since the last ablation at the joint, whose follow-up showed >= 50%
    relief at a visit >= 6 months after it; and at most two sessions in twelve months."""
    repeats: dict[str | None, int] = defaultdict(int)
    for record, departure, before in _ablations(marked):
        earlier = [r for r, _ in before if r.procedure in vocab.ABLATIONS and _joints(r) & _joints(record)]
        if not earlier:
            continue
        repeats[departure] += 1
        last = earlier[-1]
        lasted = any(
            o.relief_percent is not None and o.relief_percent >= 50 and o.date >= add_months(last.procedure_date, 6)
            for o in last.outcomes
        )
        if departure is None:
            assert record.procedure_date >= add_months(last.procedure_date, 6) and lasted
            in_year = [r for r in earlier if r.procedure_date > add_months(record.procedure_date, -12)]
            assert len(in_year) + 1 <= 2
        else:
            assert departure == "early_repeat" and not lasted
        assert record.prior_block_relief_percent is None
    assert repeats[None] > 50 and repeats["early_repeat"] > 0


def test_relief_fades_sooner_after_an_ablation_than_after_a_rhizotomy(marked: Marked) -> None:
    intervals: dict[str, list[int]] = defaultdict(list)
    relief_by_visit: dict[str, list[int]] = defaultdict(list)
    for record, _, before in _ablations(marked):
        earlier = [r for r, _ in before if r.procedure in vocab.ABLATIONS]
        if earlier:
            intervals[earlier[-1].procedure].append((record.procedure_date - earlier[-1].procedure_date).days)
        for outcome in record.outcomes:
            if outcome.relief_percent is not None and record.procedure == "radiofrequency_ablation":
                relief_by_visit[outcome.timepoint].append(outcome.relief_percent)
        if earlier:  # the earlier treatment's follow-up stops at this one: its relief is not this one's
            assert all(o.date < record.procedure_date for o in earlier[-1].outcomes)
    assert statistics.median(intervals["radiofrequency_ablation"]) < statistics.median(
        intervals["endoscopic_rhizotomy"]
    )
    assert statistics.median(intervals["endoscopic_rhizotomy"]) > 2 * 365
    assert statistics.mean(relief_by_visit["6w"]) > statistics.mean(relief_by_visit["12m"]) + 15


def test_a_few_departures_some_with_a_reason(marked: Marked) -> None:
    departures = [(r, d) for r, d in marked if d is not None]
    ablations = [r for r, _ in marked if r.procedure in vocab.ABLATIONS]
    assert 0 < len(departures) < 0.15 * len(ablations)
    reasons = [r.outside_policy_reason for r, _ in departures]
    assert any(reasons) and not all(reasons)
    assert all(r.outside_policy_reason in DEPARTURES[d] for r, d in departures if r.outside_policy_reason)
    assert all(r.outside_policy_reason is None for r, d in marked if d is None)


def test_other_procedures_stay_single_cases(marked: Marked) -> None:
    """Open decompressions and the rest are still there, one case per patient, without block details."""
    others = [r for r, _ in marked if r.procedure in ("laminectomy", "laminotomy", "other")]
    assert others and all(r.block is None and r.outside_policy_reason is None for r in others)
    by_mrn = _patients(marked)
    assert all(len(by_mrn[r.patient.mrn]) == 1 for r in others)


def test_the_policy_check_finds_exactly_the_marked_departures(marked: Marked) -> None:
    """caselog.pathway.check_indication under the default policy agrees with what the demo says it made."""
    default = policy.default_policy()
    for cases in _patients(marked).values():
        history = [pathway_case(record, f"D-{i}") for i, (record, _) in enumerate(cases)]
        for case, (record, departure) in zip(history, cases, strict=True):
            if record.procedure in vocab.ABLATIONS:
                check = check_indication(case, history, default)
                assert check.outside_policy == (departure is not None), (record.patient.mrn, check.summary)


def test_no_demo_case_outside_the_policy_is_signed_without_its_reason(marked: Marked) -> None:
    """The service refuses to sign such a case; the demo, another door into the data, keeps the same rule."""
    departures = [record for record, departure in marked if departure is not None]
    unexplained = [r for r in departures if r.outside_policy_reason is None]
    assert unexplained and any(r.outside_policy_reason for r in departures)  # both kinds are there
    assert all(r.status == "draft" for r in unexplained)
