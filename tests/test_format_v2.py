"""Format version 2: a block's anesthetic, volumes and diary, and the reason for a case outside the policy.

Every door applies the same rules (validation), version 1 files are still read, and what is stored comes back
exactly (export, import into an empty database, export again)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from caselog.errors import InvalidInput
from caselog.exchange import single_case, write_csv, write_json
from caselog.service import CaseService
from caselog.validation import FORMAT_VERSION, validate_case, validate_file
from tests.factories import TODAY, case_file, make_case

DIARY = [
    {"time": time, "pain": pain}
    for time, pain in [("15min", 2), ("30min", 1), ("1h", 1), ("2h", 2), ("4h", 4), ("6h", 6), ("8h", 7),
                       ("next_morning", 7)]
]  # fmt: skip


def block_case(**changes: Any) -> dict[str, Any]:
    """A lumbar diagnostic block with its diary (bupivacaine, pain 8 before)."""
    base: dict[str, Any] = {
        "procedure": "medial_branch_block",
        "cpt_codes": ["64493", "64494"],
        "levels": [{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}, {"level": "L5-S1", "side": "right",
                                                                               "volume_ml": 0.25}],
        "block": {"anesthetic": "bupivacaine", "pain_before": 8, "diary": DIARY, "activities_possible": True},
        "complications": [],
        "outcomes": [],
        "start_time": None,
        "end_time": None,
        "duration_minutes": 20,
        "anesthesia": {"type": "local"},
    }  # fmt: skip
    base.update(changes)
    return make_case(**base)


def problems_of(case: dict[str, Any]) -> list[str]:
    record, problems = validate_case(case, today=TODAY)
    assert (record is None) == bool(problems)
    return [str(p) for p in problems]


def test_a_block_case_is_read_with_its_diary_in_order() -> None:
    shuffled = block_case(block={"anesthetic": "lidocaine", "pain_before": 6,
                                 "diary": [{"time": "2h", "pain": 5}, {"time": "15min", "pain": 1}]})  # fmt: skip
    record, problems = validate_case(shuffled, today=TODAY)
    assert problems == [] and record is not None and record.block is not None
    assert [(e.time, e.pain) for e in record.block.diary] == [("15min", 1), ("2h", 5)]
    assert [lv.volume_ml for lv in record.levels] == [0.5, 0.25]
    assert record.block.activities_possible is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"procedure": "radiofrequency_ablation", "cpt_codes": []}, "block: only a medial branch block records"),
        ({"block": {"pain_before": 5}}, "block.anesthetic: is required"),
        ({"block": {"anesthetic": "procaine"}}, "block.anesthetic: unknown anesthetic 'procaine'"),
        ({"block": {"anesthetic": "other"}}, "block.anesthetic_detail: is required"),
        ({"block": {"anesthetic": "lidocaine", "diary": [{"time": "1h", "pain": 3}]}},
         "block.pain_before: is required with a diary"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 0, "diary": [{"time": "1h", "pain": 0}]}},
         "block.pain_before: is 0"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 11}}, "block.pain_before: 11 is out of range"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 5, "diary": [{"time": "3h", "pain": 1}]}},
         "block.diary[0].time: unknown diary time '3h'"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 5,
                    "diary": [{"time": "1h", "pain": 1}, {"time": "1h", "pain": 2}]}},
         "block.diary[1].time: '1h' is already in the diary"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 5, "diary": [{"time": "1h", "pain": -1}]}},
         "block.diary[0].pain: -1 is out of range"),
        ({"block": {"anesthetic": "lidocaine", "pain_before": 5, "diary": [{"time": "1h"}]}},
         "block.diary[0].pain: is required"),
        ({"block": {"anesthetic": "lidocaine", "activities_possible": "yes"}},
         "block.activities_possible: must be true, false or null"),
        ({"block": {"anesthetic": "lidocaine", "dose_mg": 5}}, "block.dose_mg: unknown field"),
        ({"block": ["lidocaine"]}, "block: must be an object"),
        ({"levels": [{"level": "L4-L5", "side": "left", "volume_ml": 0}]}, "levels[0].volume_ml: 0 mL is out of range"),
        ({"levels": [{"level": "L4-L5", "side": "left", "volume_ml": 5.5}]}, "levels[0].volume_ml: 5.5 mL is out"),
        ({"levels": [{"level": "L4-L5", "side": "left", "volume_ml": 0.333}]}, "more than two decimals"),
        ({"levels": [{"level": "L4-L5", "side": "left", "volume_ml": "0.5"}]}, "must be a number of mL, not text"),
        ({"levels": [{"level": "L4-L5", "side": "left", "volume_ml": True}]}, "must be a number of mL"),
        ({"outside_policy_reason": "x" * 2001}, "outside_policy_reason: is 2001 characters long"),
        ({"outside_policy_reason": "fine\u202e"}, "outside_policy_reason: contains"),
    ],
)  # fmt: skip
def test_each_rule_of_a_block_names_its_field(changes: dict[str, Any], expected: str) -> None:
    found = problems_of(block_case(**changes))
    assert any(expected in p for p in found), found


def test_a_volume_belongs_to_a_block_only() -> None:
    case = make_case(levels=[{"level": "L4-L5", "side": "left", "volume_ml": 0.5}])
    assert problems_of(case) == ["levels[0].volume_ml: only a medial branch block records an injected volume"]


def test_a_version_1_file_holding_a_version_2_field_is_refused_and_a_plain_one_read() -> None:
    v1 = {"format": "caselog-cases", "version": 1, "cases": [make_case(), block_case()]}
    records, problems = validate_file(v1, today=TODAY)
    assert sorted(str(p) for p in problems) == [
        "cases[1].block: needs format version 2 (this file says version 1)",
        "cases[1].levels[0].volume_ml: needs format version 2 (this file says version 1)",
        "cases[1].levels[1].volume_ml: needs format version 2 (this file says version 1)",
    ]
    records, problems = validate_file({**v1, "cases": [make_case()]}, today=TODAY)
    assert problems == [] and len(records) == 1
    with pytest.raises(InvalidInput, match="needs format version 2"):
        single_case({**v1, "cases": [make_case(outside_policy_reason="payer approved")]}, "f.json")


def test_export_import_export_keeps_every_block_value(service: CaseService, db_target: str) -> None:
    cases = [
        block_case(),
        block_case(block={"anesthetic": "other", "anesthetic_detail": "Articaine 4%", "pain_before": 7,
                          "diary": [], "activities_possible": False}, patient={**make_case()["patient"]}),
        make_case(outside_policy_reason="Second block declined by the patient; payer approved one block"),
        block_case(block=None, levels=[{"level": "C5-C6", "side": "left"}], cpt_codes=["64490"]),
    ]  # fmt: skip
    service.import_cases(case_file(*cases))
    first = io.StringIO()
    write_json(service.iter_cases(), first)
    exported = json.loads(first.getvalue())
    assert exported["version"] == FORMAT_VERSION
    by_number = {c["case_number"]: c for c in exported["cases"]}
    held = list(by_number.values())
    assert held[0]["block"]["diary"] == DIARY and held[0]["levels"][1]["volume_ml"] == 0.25
    assert held[1]["block"]["anesthetic_detail"] == "Articaine 4%" and held[1]["block"]["activities_possible"] is False
    assert "block" not in held[2] and held[2]["outside_policy_reason"].startswith("Second block declined")
    assert "block" not in held[3] and "volume_ml" not in held[3]["levels"][0]
    assert "outside_policy_reason" not in held[0]
    # The same file into an empty database gives the same cases.
    other = CaseService(service.db, today=lambda: TODAY)
    for number in by_number:
        other.delete_case(number, reason="re-import")
    other.import_cases(exported)
    again = io.StringIO()
    write_json(other.iter_cases(), again)
    assert json.loads(again.getvalue())["cases"] == exported["cases"]


def test_csv_has_the_block_columns(service: CaseService) -> None:
    service.import_cases(case_file(block_case(), make_case(outside_policy_reason="=HYPERLINK(1)")))
    out = io.StringIO()
    write_csv(service.iter_cases(), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    block, ablation = rows
    assert block["block_anesthetic"] == "bupivacaine" and block["block_pain_before"] == "8"
    assert block["block_volumes_ml"] == "L4-L5 0.5; L5-S1 0.25"
    assert block["block_diary"].startswith("15min 2; 30min 1; 1h 1")
    # pain 8 -> 1 at 30 min and 1 h: 87.5% relief, printed 88 (half up)
    assert block["block_peak_relief_percent"] == "88" and block["block_activities_possible"] == "yes"
    assert ablation["block_anesthetic"] == "" and ablation["block_peak_relief_percent"] == ""
    assert ablation["outside_policy_reason"] == "'=HYPERLINK(1)"  # a formula is never run by a spreadsheet
