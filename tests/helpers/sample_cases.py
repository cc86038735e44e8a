"""The 8-case sample (issue 16): the six procedures and every part of a case at least once, for the exports."""

from __future__ import annotations

from typing import Any

from tests.factories import case_file, make_case, simple_case

#: A patient with two cases in the sample: one Patient resource, two procedures.
IVANOVA = {"mrn": "L-3002", "family_name": "Иванова", "given_name": "Анна", "birth_date": "1948-09-09", "sex": "female"}


def sample_cases() -> list[dict[str, Any]]:
    """Eight cases: the six procedures, signed and draft, with and without clock times, a block with its diary,
    complications open and resolved, outcomes, a mononym, and every extension of the format."""
    return [
        make_case(  # a signed rhizotomy with everything the form offers
            status="final",
            referring_physician="Dr. Maria López, Riverside Family Practice",
            copy_to=["Dr. Hana Kim", "Physio West"],
            fluoroscopy_time_s=42,
            estimated_blood_loss_ml=5,
            injury_related=True,
            anesthesia={
                "type": "local_sedation",
                "sedation": "moderate",
                "asa_class": "II",
                "emergency": True,
                "provider": "Dr. Lee Park",
            },
            notes="Tolerated well.\nDischarged with a diary.",
        ),
        simple_case(  # the same patient's first, diagnostic block: lidocaine, its volumes and diary
            "2025-01-10",
            procedure="medial_branch_block",
            cpt_codes=["64493", "64494"],
            prior_block_relief_percent=None,
            levels=[
                {"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5},
                {"level": "L5-S1", "side": "left", "volume_ml": 0.25},
            ],
            block={
                "anesthetic": "lidocaine",
                "pain_before": 7,
                "activities_possible": True,
                "diary": [{"time": "15min", "pain": 2}, {"time": "30min", "pain": 1}, {"time": "2h", "pain": 5}],
            },
            start_time="2025-01-10T10:00",
            end_time="2025-01-10T10:20",
            duration_minutes=20,
            anesthesia={"type": "local"},
        ),
        simple_case(  # a comparative block with an anesthetic the list does not name
            "2025-01-24",
            procedure="medial_branch_block",
            cpt_codes=["64493"],
            prior_block_relief_percent=None,
            levels=[{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}],
            block={
                "anesthetic": "other",
                "anesthetic_detail": "Levobupivacaine 0.5%",
                "pain_before": 6,
                "diary": [{"time": "1h", "pain": 1}, {"time": "next_morning", "pain": 4}],
            },
            anesthesia={"type": "local"},
            duration_minutes=15,
        ),
        simple_case(  # cervical ablation without clock times, admitted, on another patient
            "2024-11-05",
            patient={
                "mrn": "C-77",
                "family_name": "Łukasik",
                "given_name": "Zofia",
                "birth_date": "1950-02-28",
                "sex": "female",
            },
            procedure="radiofrequency_ablation",
            cpt_codes=["64633"],
            diagnosis_codes=["M47.812", "M54.2"],
            levels=[{"level": "C4-C5", "side": "right"}, {"level": "C5-C6", "side": "right"}],
            duration_minutes=55,
            anesthesia={"type": "general", "asa_class": "III"},
            disposition="admitted",
            outside_policy_reason="Second ablation within the year: agreed at the spine meeting",
            outcomes=[
                {"timepoint": "baseline", "date": "2024-10-20", "nrs_back": 7, "odi": 38},
                {"timepoint": "3m", "date": "2025-02-06", "nrs_back": 3, "odi": 20, "relief_percent": 60},
            ],
        ),
        simple_case(  # laminectomy with an intraoperative dural tear and a resolved hematoma
            "2025-02-03",
            patient=IVANOVA,
            procedure="laminectomy",
            cpt_codes=["63047", "63048"],
            diagnosis_codes=["M48.061"],
            levels=[{"level": "L3-L4", "side": "bilateral"}, {"level": "L4-L5", "side": "bilateral"}],
            start_time="2025-02-03T13:05",
            end_time="2025-02-03T15:40",
            duration_minutes=155,
            anesthesia={"type": "general", "asa_class": "III", "provider": "Dr. Omar Haddad"},
            estimated_blood_loss_ml=250,
            disposition="overnight_observation",
            assistants=["Sam Whitfield, PA-C", "Dr. Ines Duarte"],
            complications=[
                {
                    "category": "dural_tear",
                    "timing": "intraoperative",
                    "onset_date": "2025-02-03",
                    "clavien_dindo": "IIIb",
                    "treatment": "Primary repair, fibrin sealant",
                    "resolved_date": "2025-02-03",
                    "review_status": "closed",
                },
                {
                    "category": "hematoma",
                    "timing": "postoperative",
                    "onset_date": "2025-02-06",
                    "clavien_dindo": "II",
                    "resolved_date": "2025-02-20",
                    "review_status": "under_review",
                },
            ],
            outcomes=[
                {"timepoint": "baseline", "date": "2025-01-15", "nrs_leg": 8, "odi": 52},
                {"timepoint": "6w", "date": "2025-03-17", "nrs_leg": 2, "odi": 24},
            ],
        ),
        simple_case(  # laminotomy under spinal anesthesia, transferred, signed
            "2024-12-12",
            status="final",
            patient=IVANOVA,
            procedure="laminotomy",
            cpt_codes=["63030"],
            levels=[{"level": "L5-S1", "side": "left"}],
            duration_minutes=90,
            anesthesia={"type": "spinal"},
            disposition="transferred",
            facility="St. Brigid Hospital",
        ),
        simple_case(  # another procedure on a patient with one name, with a late complication still open
            "2025-01-02",
            patient={
                "mrn": "X-9",
                "family_name": "Sukarno",
                "given_name": "",
                "birth_date": "1970-07-07",
                "sex": "other",
            },
            procedure="other",
            procedure_detail="Facet cyst excision",
            cpt_codes=[],
            diagnosis_codes=["M71.38"],
            levels=[{"level": "T11-T12", "side": "right"}],
            duration_minutes=70,
            anesthesia={"type": "epidural"},
            facility=None,
            assistants=[],
            indication=None,
            notes=None,
            complications=[
                {
                    "category": "other",
                    "description": "Persistent itch at the incision",
                    "timing": "late",
                    "onset_date": "2025-03-10",
                    "clavien_dindo": "I",
                    "treatment": "Antihistamine cream",
                }
            ],
        ),
        simple_case(  # a draft ablation of a patient whose sex is not known, regional block
            "2025-05-20",
            patient={
                "mrn": "U-1",
                "family_name": "Doe",
                "given_name": "Alex Sam",
                "birth_date": "1990-01-01",
                "sex": "unknown",
            },
            procedure="radiofrequency_ablation",
            levels=[{"level": "T12-L1", "side": "left"}],
            start_time="2025-05-20T16:50",
            end_time="2025-05-20T17:35",
            duration_minutes=45,
            anesthesia={"type": "regional"},
            complications=[
                {"category": "numbness", "timing": "postoperative", "onset_date": "2025-05-21", "clavien_dindo": "I"}
            ],
            outcomes=[{"timepoint": "2w", "date": "2025-06-03", "relief_percent": 0}],
        ),
    ]


def sample_file() -> dict[str, Any]:
    return case_file(*sample_cases())
