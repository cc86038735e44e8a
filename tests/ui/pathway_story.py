"""One made-up patient's pathway for the patient view's tests and screenshots: ten cases over two years.

L4-L5: a lidocaine block on both sides, then a bupivacaine block per side (left positive, right negative); a
radiofrequency ablation on the left whose relief lasts past six months, repeated 13 months later; a right-side
ablation done outside the policy (one block, negative), with its reason. L5-S1 left: a block without a diary
(result unknown), a positive one, an endoscopic rhizotomy with a Clavien-Dindo II complication.
"""

from __future__ import annotations

from typing import Any

from tests.factories import case_file, simple_case

MRN = "PW-0042"
PATIENT = {"mrn": MRN, "family_name": "Okafor", "given_name": "Grace", "birth_date": "1958-07-19", "sex": "female"}


def _levels(text: str) -> list[dict[str, str]]:
    return [{"level": part.split()[0], "side": part.split()[1]} for part in text.split("; ")]


def _diary(anesthetic: str, before: int, **pains: int) -> dict[str, Any]:
    times = {"m15": "15min", "m30": "30min", "h1": "1h", "h2": "2h", "h4": "4h", "h6": "6h", "h8": "8h"}
    return {"anesthetic": anesthetic, "pain_before": before,
            "diary": [{"time": times[k], "pain": v} for k, v in pains.items()]}  # fmt: skip


def _block(date: str, levels: str, details: dict[str, Any]) -> dict[str, Any]:
    return simple_case(date, patient=PATIENT, procedure="medial_branch_block", cpt_codes=["64493"],
                       prior_block_relief_percent=None, levels=_levels(levels), block=details)  # fmt: skip


def _outcomes(*points: tuple[str, str, int]) -> list[dict[str, Any]]:
    return [{"timepoint": t, "date": d, "relief_percent": r} for t, d, r in points]


def _ablation(date: str, levels: str, procedure: str = "radiofrequency_ablation", **more: Any) -> dict[str, Any]:
    codes = ["64635"] if procedure == "radiofrequency_ablation" else ["64635", "64636"]
    return simple_case(date, patient=PATIENT, procedure=procedure, cpt_codes=codes, prior_block_relief_percent=None,
                       levels=_levels(levels), **more)  # fmt: skip


def story_cases() -> list[dict[str, Any]]:
    lidocaine = _diary("lidocaine", 8, m30=1, h1=1, h2=5)  # 87.5% for 1 h: positive at 80%
    bupivacaine = _diary("bupivacaine", 8, m30=1, h1=1, h2=1, h4=1, h6=4)  # 87.5% for 4 h: positive
    weak = _diary("bupivacaine", 8, m30=5, h1=5, h2=6)  # 37.5%: negative
    return [
        _block("2023-09-05", "L4-L5 bilateral", lidocaine),
        _block("2023-09-26", "L4-L5 left", bupivacaine),
        _block("2023-09-26", "L4-L5 right", weak),
        _ablation(
            "2023-10-20",
            "L4-L5 left",
            outcomes=_outcomes(("6w", "2023-12-01", 80), ("6m", "2024-04-22", 60), ("12m", "2024-10-21", 30)),
        ),
        _block("2023-11-15", "L5-S1 left", {"anesthetic": "lidocaine"}),  # no diary kept: result unknown
        _block("2024-01-10", "L5-S1 left", lidocaine),
        _ablation(
            "2024-02-01",
            "L5-S1 left",
            "endoscopic_rhizotomy",
            outcomes=_outcomes(("6w", "2024-03-14", 85), ("6m", "2024-08-01", 80), ("12m", "2025-02-03", 75)),
            complications=[
                {
                    "category": "nerve_irritation",
                    "timing": "postoperative",
                    "onset_date": "2024-02-06",
                    "clavien_dindo": "II",
                    "treatment": "Pregabalin for 3 weeks",
                }
            ],
        ),
        _ablation(
            "2024-11-12",
            "L4-L5 left",
            outcomes=_outcomes(("6w", "2024-12-27", 75), ("3m", "2025-02-12", 70), ("6m", "2025-05-13", 65)),
        ),
        _ablation(
            "2025-01-20",
            "L4-L5 right",
            outside_policy_reason="Severe pain, patient declined a second block",
            outcomes=_outcomes(("6w", "2025-03-03", 50)),
        ),
        _block("2025-04-08", "L3-L4 left", bupivacaine),
    ]


def story_file() -> dict[str, Any]:
    return case_file(*story_cases())
