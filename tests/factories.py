"""Valid CASE objects to start tests from; each test changes only what it is about."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from caselog.validation import FORMAT_VERSION

TODAY = dt.date(2025, 6, 30)
#: make_case's rhizotomy has no block on file, so it is outside the clinic's default policy: a test that signs it
#: gives the reason it was done (signing refuses such a case without one).
POLICY_REASON = "Diagnostic blocks were done elsewhere before the referral"


def make_case(**changes: Any) -> dict[str, Any]:
    """A valid CASE object (a lumbar rhizotomy); keyword arguments replace top-level fields."""
    case: dict[str, Any] = {
        "patient": {
            "mrn": "MRN-1001",
            "family_name": "Nguyễn",
            "given_name": "Thị Hồng",
            "birth_date": "1961-04-12",
            "sex": "female",
        },
        "procedure_date": "2025-03-14",
        "facility": "Riverside Spine Center",
        "surgeon": "Dr. Amara Okafor",
        "assistants": ["Sam Whitfield, PA-C"],
        "procedure": "endoscopic_rhizotomy",
        "cpt_codes": ["64635", "64636"],
        "diagnosis_codes": ["M47.816"],
        "indication": "Facet-mediated low back pain",
        "prior_block_relief_percent": 80,
        "levels": [{"level": "L4-L5", "side": "bilateral"}, {"level": "L5-S1", "side": "left"}],
        "start_time": "2025-03-14T08:30",
        "end_time": "2025-03-14T09:45",
        "duration_minutes": 75,
        "anesthesia": {"type": "local_sedation", "sedation": "moderate", "asa_class": "II"},
        "disposition": "same_day_discharge",
        "complications": [
            {
                "category": "incision_site_pain",
                "timing": "postoperative",
                "onset_date": "2025-03-16",
                "clavien_dindo": "I",
            }
        ],
        "outcomes": [
            {"timepoint": "baseline", "date": "2025-03-01", "nrs_back": 8, "nrs_leg": 3, "odi": 46},
            {"timepoint": "6w", "date": "2025-04-25", "nrs_back": 2, "relief_percent": 75},
        ],
        "notes": "Tolerated well.",
    }
    case.update(copy.deepcopy(changes))
    return case


def case_file(*cases: dict[str, Any]) -> dict[str, Any]:
    return {"format": "caselog-cases", "version": FORMAT_VERSION, "cases": list(cases)}


def simple_case(procedure_date: str, **changes: Any) -> dict[str, Any]:
    """A valid case on another date: no clock times, complications or outcomes tied to the default date."""
    base: dict[str, Any] = {
        "procedure_date": procedure_date,
        "start_time": None,
        "end_time": None,
        "complications": [],
        "outcomes": [],
    }
    base.update(changes)
    return make_case(**base)
