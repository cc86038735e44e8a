"""Make the database a first-release CaseLog (schema revision 0001) wrote, with edge-case data, and its export.

Run it with the code of that release, never the current one (the files must stay what 0001 produced). The
editable install's import hook outranks PYTHONPATH, so the release's copy is put first by hand:

    mkdir /tmp/caselog-0001 && git archive a1d46fe caselog | tar -x -C /tmp/caselog-0001
    .venv/bin/python -c "import sys, runpy; sys.meta_path[:] = [f for f in sys.meta_path
        if 'editable' not in repr(f).lower()]; sys.path.insert(0, '/tmp/caselog-0001');
        sys.argv[1:] = ['tests/helpers/release_0001']; runpy.run_path(sys.argv[0] or
        'tests/helpers/make_release_0001.py', run_name='__main__')"

Writes `caselog.sqlite3` (checkpointed, rollback journal, as `caselog backup` leaves a file) and `export.json`
(what `caselog export` printed from it). Only `caselog` is imported, so the release's code is what runs.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

import caselog
from caselog.db.schema import copy_sqlite, head_revision, open_database
from caselog.exchange import write_json
from caselog.service import CaseService

TODAY = dt.date(2025, 6, 30)
LEVELS = [
    "C1-C2", "C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7", "C7-T1", "T1-T2", "T2-T3", "T3-T4", "T4-T5", "T5-T6",
    "T6-T7", "T7-T8", "T8-T9", "T9-T10", "T10-T11", "T11-T12", "T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1",
]  # fmt: skip

#: One name per script (and the tricky bits of Unicode: combining marks kept as given, joiners, astral planes).
SCRIPTS = {
    "latin": ("Nguyễn-Łukasik Ørsted Çelik Þórsdóttir", "Zoë Æsa"),
    "decomposed": ("Nguye\u0302\u0303n", "Jose\u0301"),  # NFD: must not come back composed
    "greek": ("Παπαδοπούλου", "Ελένη"),
    "cyrillic": ("Иванова-Щукина", "Ёлка"),
    "armenian": ("Հովհաննիսյան", "Անի"),
    "georgian": ("ბერიძე", "ნინო"),
    "hebrew": ("כהן־לוי", "שָׁרָה"),
    "arabic": ("عبد الرحمن", "فاطمة\u200f"),
    "devanagari": ("शर्मा", "प्रिया"),
    "bengali": ("চট্টোপাধ্যায়", "অনন্যা"),
    "tamil": ("சுப்பிரமணியம்", "லட்சுமி"),
    "thai": ("ศรีสุวรรณ", "สมศรี"),
    "ethiopic": ("ተስፋዬ", "ሄለን"),
    "cjk": ("欧阳", "娜娜"),
    "japanese": ("やまだ・ヤマダ", "𠮷野"),  # a name outside the Basic Multilingual Plane
    "hangul": ("김", "서연"),
    "emoji": ("Family 👩\u200d👩\u200d👧\u200d👦", "🙂 x"),
}


def patient(mrn: str, family: str, given: str, birth: str = "1961-04-12", sex: str = "female") -> dict[str, Any]:
    return {"mrn": mrn, "family_name": family, "given_name": given, "birth_date": birth, "sex": sex}


def fill(prefix: str, length: int) -> str:
    """Text of exactly `length` characters, mixing scripts, with newlines and tabs inside."""
    body = prefix + " Ωμέγα Щ 日本 عربى 🦴\tL4-L5\n"
    text = (body * (length // len(body) + 1))[:length]
    return text[:-1] + "." if text[-1].isspace() else text


def longest_case() -> dict[str, Any]:
    """Every field at its longest or fullest, and the last case number of its year (alone in that year)."""
    return {
        "case_number": "2025-99999",
        "status": "final",
        "patient": patient("ABCDEFGHIJ-123456789", fill("Ñ", 100), fill("Ž", 100), "1905-06-30", "other"),
        "procedure_date": "2025-06-30",
        "facility": fill("Facility", 100),
        "surgeon": fill("Dr. Ōkafor", 100),
        "assistants": [fill(f"Assistant {i}", 100) for i in range(5)],
        "procedure": "laminectomy",
        "procedure_detail": fill("Detail", 200),
        "cpt_codes": ["63047", "63048", "6304A", "99999"],
        "diagnosis_codes": ["M47.816", "M48.061", "M51.16", "S33.5XXA", "G89.29", "M54"],
        "indication": fill("Indication", 2000),
        "injury_related": True,
        "prior_block_relief_percent": 100,
        "levels": [{"level": level, "side": ("left", "right", "bilateral")[i % 3]} for i, level in enumerate(LEVELS)],
        "start_time": "2025-06-30T00:00",
        "end_time": "2025-07-01T00:00",
        "duration_minutes": 1440,
        "anesthesia": {"type": "general", "asa_class": "VI", "emergency": True, "provider": fill("CRNA", 100)},
        "estimated_blood_loss_ml": 10000,
        "disposition": "transferred",
        "complications": [
            {
                "category": "other",
                "description": fill("Described", 2000),
                "timing": "intraoperative",
                "onset_date": "2025-06-30",
                "clavien_dindo": clavien,
                "treatment": fill("Treated", 2000),
                "resolved_date": "2025-06-30",
                "review_status": review,
            }
            for clavien, review in (("V", "closed"), ("IVb", "under_review"), ("I", "open"))
        ],
        "outcomes": [
            {
                "timepoint": "baseline",
                "date": "2025-06-30",
                "nrs_back": 10,
                "nrs_leg": 10,
                "odi": 100,
                "relief_percent": 100,
            }
        ],
        "notes": fill("Notes", 10000),
    }


def emptiest_case() -> dict[str, Any]:
    """Only what is required: every optional field absent, lists empty, a mononym."""
    return {
        "patient": patient("M", "X", ""),
        "procedure_date": "2024-02-29",
        "surgeon": "S",
        "procedure": "other",
        "procedure_detail": "D",
        "levels": [{"level": "C1-C2", "side": "left"}],
        "duration_minutes": 1,
        "anesthesia": {"type": "local"},
        "disposition": "same_day_discharge",
    }


def smallest_values_case() -> dict[str, Any]:
    """Zeros and lower bounds, every outcome timepoint, each complication timing."""
    return {
        "patient": patient("ZERO-0", "Zéro", "Nul", "2024-01-01", "unknown"),
        "procedure_date": "2024-01-01",
        "surgeon": "Dr. Amara Okafor",
        "procedure": "medial_branch_block",
        "levels": [{"level": "C2-C3", "side": "bilateral"}, {"level": "L5-S1", "side": "right"}],
        "duration_minutes": 1,
        "prior_block_relief_percent": 0,
        "anesthesia": {"type": "local_sedation", "sedation": "deep", "asa_class": "I", "emergency": False},
        "estimated_blood_loss_ml": 0,
        "disposition": "admitted",
        "complications": [
            {"category": "hematoma", "timing": "postoperative", "onset_date": "2024-01-31", "clavien_dindo": "IIIa"},
            {
                "category": "deep_infection",
                "timing": "late",
                "onset_date": "2024-02-01",
                "clavien_dindo": "IIIb",
                "resolved_date": "2024-03-01",
                "review_status": "closed",
            },
        ],
        "outcomes": [
            {"timepoint": tp, "date": day, "nrs_back": 0, "nrs_leg": 0, "odi": 0, "relief_percent": 0}
            for tp, day in (
                ("baseline", "2024-01-01"),
                ("2w", "2024-01-15"),
                ("6w", "2024-02-12"),
                ("3m", "2024-04-01"),
                ("6m", "2024-07-01"),
                ("12m", "2025-01-01"),
            )
        ],
    }


def script_case(n: int, script: str, family: str, given: str) -> dict[str, Any]:
    return {
        "patient": patient(f"U-{n}", family, given, "1990-01-01", ("female", "male")[n % 2]),
        "procedure_date": "2023-05-01",
        "facility": f"{family} Klinik",
        "surgeon": f"Dr. {given} {family}",
        "assistants": [given, family],
        "procedure": ("endoscopic_rhizotomy", "radiofrequency_ablation", "laminotomy")[n % 3],
        "levels": [{"level": "L4-L5", "side": "bilateral"}],
        "duration_minutes": 45,
        "indication": f"{script}: {family}, {given}",
        "anesthesia": {"type": ("spinal", "epidural", "regional")[n % 3], "provider": given},
        "disposition": "overnight_observation",
        "notes": f"  {family}\n\t{given}\n{script}  ",  # blanks around are trimmed, inside kept
    }


def main() -> int:
    out = Path(sys.argv[1])
    assert head_revision() == "0001", f"run with the 0001 release's code, not {caselog.__file__}"
    out.mkdir(parents=True, exist_ok=True)
    cases = [longest_case(), emptiest_case(), smallest_values_case()]
    cases += [script_case(n, name, *names) for n, (name, names) in enumerate(SCRIPTS.items())]
    with tempfile.TemporaryDirectory() as folder:
        live = Path(folder) / "live.sqlite3"
        db = open_database(live)
        service = CaseService(db, today=lambda: TODAY)
        numbers = service.import_cases({"format": "caselog-cases", "version": 1, "cases": cases})
        with (out / "export.json").open("w", encoding="utf-8") as handle:
            write_json(service.iter_cases(), handle)
        db.close()
        copy_sqlite(live, out / "caselog.sqlite3")
    print(f"{len(numbers)} cases at schema 0001 in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
