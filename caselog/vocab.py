"""The contract's vocabularies (keys and labels), nerve targets and CPT suggestions, for every part of CaseLog."""

from __future__ import annotations

from collections.abc import Sequence

PROCEDURES: dict[str, str] = {
    "endoscopic_rhizotomy": "Endoscopic rhizotomy (facet medial branch)",
    "radiofrequency_ablation": "Radiofrequency ablation (facet medial branch)",
    "medial_branch_block": "Medial branch block (diagnostic)",
    "laminectomy": "Laminectomy (decompression)",
    "laminotomy": "Laminotomy / hemilaminectomy",
    "other": "Other procedure",
}

#: The one short label of each procedure, where the full one does not fit: the case list, charts' legends, the
#: command line's table, a validation message.
PROCEDURE_SHORT: dict[str, str] = {
    "endoscopic_rhizotomy": "Endoscopic rhizotomy",
    "radiofrequency_ablation": "RF ablation",
    "medial_branch_block": "Medial branch block",
    "laminectomy": "Laminectomy",
    "laminotomy": "Laminotomy",
    "other": "Other",
}

#: Procedures aimed at the facet joint's nerves: never at C1-C2, and their summaries list the nerves.
FACET_NERVE_PROCEDURES: frozenset[str] = frozenset(
    {"endoscopic_rhizotomy", "radiofrequency_ablation", "medial_branch_block"}
)

LEVELS: tuple[str, ...] = (
    "C1-C2", "C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7", "C7-T1",
    "T1-T2", "T2-T3", "T3-T4", "T4-T5", "T5-T6", "T6-T7", "T7-T8", "T8-T9", "T9-T10",
    "T10-T11", "T11-T12", "T12-L1",
    "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1",
)  # fmt: skip
LEVEL_INDEX: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}

SIDES: dict[str, str] = {"left": "Left", "right": "Right", "bilateral": "Bilateral"}

SEXES: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}

ANESTHESIA_TYPES: dict[str, str] = {
    "local": "Local anesthesia",
    "local_sedation": "Local anesthesia with sedation",
    "general": "General anesthesia",
    "spinal": "Spinal anesthesia",
    "epidural": "Epidural anesthesia",
    "regional": "Regional nerve block",
}

#: The one short label of each anesthesia type (the case list's column).
ANESTHESIA_SHORT: dict[str, str] = {
    "local": "Local",
    "local_sedation": "Local + sedation",
    "general": "General",
    "spinal": "Spinal",
    "epidural": "Epidural",
    "regional": "Regional block",
}

SEDATION_LEVELS: dict[str, str] = {"minimal": "Minimal", "moderate": "Moderate", "deep": "Deep"}

ASA_CLASSES: dict[str, str] = {
    "I": "Healthy",
    "II": "Mild systemic disease",
    "III": "Severe systemic disease",
    "IV": "Severe systemic disease that is a constant threat to life",
    "V": "Moribund",
    "VI": "Brain-dead organ donor",
}

DISPOSITIONS: dict[str, str] = {
    "same_day_discharge": "Same-day discharge",
    "overnight_observation": "Overnight observation",
    "admitted": "Admitted",
    "transferred": "Transferred",
}

COMPLICATION_CATEGORIES: dict[str, str] = {
    "incision_site_pain": "Incision-site soreness or bruising",
    "hematoma": "Hematoma",
    "superficial_infection": "Superficial surgical-site infection",
    "deep_infection": "Deep or organ-space surgical-site infection",
    "bleeding": "Bleeding requiring intervention or transfusion",
    "nerve_irritation": "Nerve irritation / dysesthesia",
    "numbness": "New numbness or sensory loss",
    "motor_weakness": "New motor weakness",
    "dural_tear": "Dural tear / CSF leak",
    "wrong_level": "Wrong-level or wrong-site procedure",
    "anesthesia_event": "Anesthesia or sedation adverse event",
    "urinary_retention": "Urinary retention",
    "thromboembolism": "Deep-vein thrombosis or pulmonary embolism",
    "readmission": "Unplanned readmission",
    "return_to_or": "Unplanned return to the operating room",
    "other": "Other complication",
}

COMPLICATION_TIMINGS: dict[str, str] = {
    "intraoperative": "Intraoperative",
    "postoperative": "Postoperative (within 30 days)",
    "late": "Late (after 30 days)",
}

#: Clavien-Dindo grades, mildest first; the order is what "worst grade" means.
CLAVIEN_DINDO_GRADES: dict[str, str] = {
    "I": "Deviation from the normal course without drugs or interventions beyond the basics",
    "II": "Needs other drugs, transfusion or parenteral nutrition",
    "IIIa": "Intervention not under general anesthesia",
    "IIIb": "Intervention under general anesthesia",
    "IVa": "Single-organ dysfunction needing intensive care",
    "IVb": "Multi-organ dysfunction",
    "V": "Death",
}
GRADE_RANK: dict[str, int] = {grade: i for i, grade in enumerate(CLAVIEN_DINDO_GRADES)}

REVIEW_STATUSES: dict[str, str] = {"open": "Open", "under_review": "Under review", "closed": "Closed"}

TIMEPOINTS: dict[str, str] = {
    "baseline": "Baseline",
    "2w": "2 weeks",
    "6w": "6 weeks",
    "3m": "3 months",
    "6m": "6 months",
    "12m": "12 months",
    "24m": "24 months",
    "36m": "36 months",
    "48m": "48 months",
    "5y": "5 years",
}
#: When each follow-up falls due after the procedure date: (days, whole calendar months), exactly one non-zero
#: (baseline: none). Months count as caselog.dates.add_months does (31 August + 6 months = 28/29 February).
TIMEPOINT_DUE: dict[str, tuple[int, int]] = {
    "baseline": (0, 0),
    "2w": (14, 0),
    "6w": (42, 0),
    "3m": (0, 3),
    "6m": (0, 6),
    "12m": (0, 12),
    "24m": (0, 24),
    "36m": (0, 36),
    "48m": (0, 48),
    "5y": (0, 60),
}
#: Timepoints format version 3 added: a version 1 or 2 file holding one is refused, not guessed at.
V3_TIMEPOINTS: frozenset[str] = frozenset({"36m", "48m"})

#: Outcome measures with their inclusive range, in the OUTCOME object's order. The first four are format
#: version 1's; the neck and arm pain scores, the Neck Disability Index (%) and the Patient Global Impression of
#: Change (1 very much improved .. 7 very much worse) are version 3's.
OUTCOME_MEASURES: dict[str, tuple[int, int]] = {
    "nrs_back": (0, 10),
    "nrs_leg": (0, 10),
    "odi": (0, 100),
    "relief_percent": (0, 100),
    "nrs_neck": (0, 10),
    "nrs_arm": (0, 10),
    "ndi": (0, 100),
    "pgic": (1, 7),
}
OUTCOME_MEASURE_LABELS: dict[str, str] = {
    "nrs_back": "NRS back",
    "nrs_leg": "NRS leg",
    "odi": "ODI",
    "relief_percent": "Relief %",
    "nrs_neck": "NRS neck",
    "nrs_arm": "NRS arm",
    "ndi": "NDI",
    "pgic": "PGIC",
}
#: Patient Global Impression of Change: the score (1..7) and the answer it stands for.
PGIC: dict[int, str] = {
    1: "Very much improved",
    2: "Much improved",
    3: "Minimally improved",
    4: "No change",
    5: "Minimally worse",
    6: "Much worse",
    7: "Very much worse",
}
WORK_STATUSES: dict[str, str] = {
    "working": "Working",
    "off_work_pain": "Off work because of pain",
    "not_working_other": "Not working for another reason",
    "retired": "Retired",
}
ANALGESIC_USE: dict[str, str] = {
    "none": "No pain medication",
    "non_opioid": "Non-opioid pain medication",
    "opioid": "Opioid pain medication",
}
#: What came of an attempt to reach a patient for a follow-up (format version 3's FOLLOW_UP_ATTEMPT).
FOLLOW_UP_RESULTS: dict[str, str] = {
    "could_not_reach": "Could not reach",
    "moved_away": "Moved away",
    "declined": "Declined follow-up",
    "died": "Died",
}
#: Results after which no further follow-up is owed.
FINAL_FOLLOW_UP_RESULTS: frozenset[str] = frozenset({"moved_away", "declined", "died"})
#: Follow-up timepoints in their order (baseline is before the procedure: never owed by a schedule).
FOLLOW_UP_TIMEPOINTS: tuple[str, ...] = tuple(tp for tp in TIMEPOINTS if tp != "baseline")
#: Longest look-ahead of the due list: ten years ahead is every follow-up a schedule can owe.
MAX_DUE_WITHIN_DAYS = 3660

#: Procedures that destroy the medial branch nerves: the clinic's selection and repeat rules apply to them.
ABLATIONS: frozenset[str] = frozenset({"endoscopic_rhizotomy", "radiofrequency_ablation"})

#: Local anesthetics of a diagnostic medial branch block.
BLOCK_ANESTHETICS: dict[str, str] = {
    "lidocaine": "Lidocaine",
    "bupivacaine": "Bupivacaine",
    "ropivacaine": "Ropivacaine",
    "other": "Other anesthetic",
}
#: Usual duration of relief after a small-volume medial branch block, in hours (shortest, longest): a relief
#: shorter than the shortest is not the anesthetic's (a placebo response is as likely), one far longer is
#: discordant. Textbook ranges for the comparative-block check (lidocaine 2%, bupivacaine 0.5%, ropivacaine
#: 0.5%); "other" has none, so its duration is not judged.
ANESTHETIC_HOURS: dict[str, tuple[float, float]] = {
    "lidocaine": (1.0, 2.0),
    "bupivacaine": (2.0, 8.0),
    "ropivacaine": (2.0, 6.0),
}
#: Short-acting and long-acting: two blocks at the same joint with one of each are a comparative pair.
LONG_ACTING: frozenset[str] = frozenset({"bupivacaine", "ropivacaine"})
SHORT_ACTING: frozenset[str] = frozenset({"lidocaine"})

#: The pain diary's times after a block, as the patient's sheet prints them, with minutes after the injection.
#: "Next morning" counts as 18 hours (an afternoon block, read at breakfast).
DIARY_TIMES: dict[str, str] = {
    "15min": "15 min",
    "30min": "30 min",
    "1h": "1 h",
    "2h": "2 h",
    "4h": "4 h",
    "6h": "6 h",
    "8h": "8 h",
    "next_morning": "Next morning",
}
DIARY_MINUTES: dict[str, int] = {
    "15min": 15, "30min": 30, "1h": 60, "2h": 120, "4h": 240, "6h": 360, "8h": 480, "next_morning": 1080,
}  # fmt: skip
#: Injected volume per level of a block, in mL (two nerves at most per joint; more is a typing error).
BLOCK_VOLUME_ML_MAX = 5.0

CASE_STATUSES: dict[str, str] = {"draft": "Draft", "final": "Signed", "amended": "Amended"}
IMPORTABLE_STATUSES: frozenset[str] = frozenset({"draft", "final"})


def region_of(level: str) -> str:
    """Region of a joint: that of its upper vertebra (C7-T1 is cervical, T12-L1 thoracic)."""
    return {"C": "cervical", "T": "thoracic", "L": "lumbar"}[level[0]]


def _vertebra_above(name: str) -> str:
    """The vertebra just above `name` (L1 -> T12, T1 -> C7; C8 is the nerve above T1)."""
    letter, number = name[0], int(name[1:])
    if number > 1:
        return f"{letter}{number - 1}"
    return {"L": "T12", "T": "C8"}[letter]


def nerves_targeted(level: str) -> tuple[str, ...]:
    """Nerves a block or ablation at this joint targets (contract section 1); empty for C1-C2."""
    if level == "C1-C2":
        return ()
    if level == "C2-C3":
        return ("Third occipital nerve",)
    if level == "L5-S1":
        return ("L4 medial branch", "L5 dorsal ramus")
    upper, lower = level.split("-")
    if upper.startswith("C"):
        return (f"{upper} medial branch", f"{lower} medial branch")
    return (f"{_vertebra_above(upper)} medial branch", f"{upper} medial branch")


def suggested_cpt_codes(procedure: str, levels: Sequence[str]) -> list[str]:
    """CPT codes a coder would start from (contract table); the user may change them, nothing enforces them."""
    if not levels or procedure == "other":
        return []
    ordered = sorted(levels, key=lambda lv: LEVEL_INDEX.get(lv, 0))
    spinal = "lumbar" if region_of(ordered[0]) == "lumbar" else "cervicothoracic"
    count = len(ordered)
    codes: list[str] = []
    if procedure in ("endoscopic_rhizotomy", "radiofrequency_ablation"):
        first, add_on = ("64635", "64636") if spinal == "lumbar" else ("64633", "64634")
        codes = [first] + ([add_on] if count > 1 else [])
    elif procedure == "medial_branch_block":
        first, second, third = ("64493", "64494", "64495") if spinal == "lumbar" else ("64490", "64491", "64492")
        codes = [first] + ([second] if count > 1 else []) + ([third] if count > 2 else [])
    elif procedure == "laminectomy":
        first = {"lumbar": "63047", "cervical": "63045", "thoracic": "63046"}[region_of(ordered[0])]
        codes = [first] + (["63048"] if count > 1 else [])
    elif procedure == "laminotomy":
        # The contract gives no thoracic laminotomy code: suggest nothing rather than a wrong one.
        first_code = {"lumbar": "63030", "cervical": "63020"}.get(region_of(ordered[0]))
        codes = [first_code] + (["63035"] if count > 1 else []) if first_code else []
    return codes


def in_sentence(text: str) -> str:
    """A label inside a sentence: "endoscopic rhizotomy", but "RF ablation" keeps its abbreviation."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def label(vocabulary: dict[str, str], key: str | None) -> str:
    """The readable label of a key, or the key itself when unknown (never raises on old data)."""
    if key is None:
        return ""
    return vocabulary.get(key, key)
