"""Synthetic cases a spine clinic would recognise, for trying CaseLog out and for load tests. Never real people.

Patients follow the usual pathway: diagnostic medial branch blocks with the anesthetic, the volume per level
and the patient's pain diary (often a comparative pair, lidocaine then bupivacaine; some blocks negative), then
a radiofrequency ablation or an endoscopic rhizotomy at the joints that responded, with follow-up relief that
fades as the nerve regrows, and a repeat when the pain returns (months after an ablation, years after a
rhizotomy). A few ablations are done outside the clinic's usual policy (one block only, a negative block,
blocks done elsewhere, a repeat after short relief), some with the reason recorded. A few patients have open
decompressions. The same seed and the same end date give the same cases.
"""

from __future__ import annotations

import datetime as dt
import random

from caselog import vocab
from caselog.pathway import add_months
from caselog.records import (
    Anesthesia,
    BlockDetails,
    CaseRecord,
    Complication,
    DiaryEntry,
    OutcomeScore,
    Patient,
    TreatedLevel,
)

# (family name, given name, sex): Latin with diacritics, Greek and Cyrillic scripts, mononyms.
NAMES: list[tuple[str, str, str]] = [
    ("Nguyễn", "Thị Hồng", "female"), ("Trần", "Văn Minh", "male"), ("Łukasik-O'Brien", "Zoë", "female"),
    ("Kowalczyk", "Grzegorz", "male"), ("Иванова", "Мария", "female"), ("Смирнов", "Алексей", "male"),
    ("Παπαδόπουλος", "Γιώργος", "male"), ("Παπαδοπούλου", "Ελένη", "female"), ("García Márquez", "José Luis", "male"),
    ("Fernández", "Lucía", "female"), ("Müller", "Jürgen", "male"), ("Schäfer", "Anneliese", "female"),
    ("Yılmaz", "Ayşe", "female"), ("Öztürk", "Mehmet", "male"), ("Dubois", "Hélène", "female"),
    ("Lefèvre", "François", "male"), ("Nørgaard", "Søren", "male"), ("Håkansson", "Åsa", "female"),
    ("Novák", "Jiří", "male"), ("Dvořáková", "Kateřina", "female"), ("O'Connor", "Siobhán", "female"),
    ("MacLeod", "Ruairidh", "male"), ("Okafor", "Chinwe", "female"), ("Adeyemi", "Oluwaseun", "male"),
    ("Haddad", "Yusuf", "male"), ("Mansour", "Layla", "female"), ("Kim", "Min-jun", "male"),
    ("Tanaka", "Yui", "female"),
    ("Sigurðsson", "Þór", "male"), ("Jónsdóttir", "Guðrún", "female"), ("Ferreira", "João", "male"),
    ("Conceição", "Inês", "female"), ("Kovačević", "Dragana", "female"), ("Petrović", "Miloš", "male"),
    ("Шевченко", "Олена", "female"), ("Коваленко", "Андрій", "male"), ("Rossi", "Giulia", "female"),
    ("Esposito", "Salvatore", "male"), ("Smith", "Margaret", "female"), ("Johnson", "Robert", "male"),
    ("Begay", "Tsosie", "male"), ("Suharto", "", "male"), ("Teller", "", "unknown"), ("Nakamura", "Hiro", "other"),
]  # fmt: skip

SURGEONS = ["Dr. Amara Okafor", "Dr. Henrik Lindqvist", "Dr. Priya Raman", "Dr. Mateo Alvarez", "Dr. Elena Vasquez"]
ASSISTANTS = ["Sam Whitfield, PA-C", "Rita Gomes, RN", "Tomás Ibarra, RNFA", "Lena Novak, PA-C", "Kwame Mensah, RN"]
PROVIDERS = ["Dr. Ingrid Holm (anesthesia)", "Grace Liu, CRNA", "Paul Mercer, CRNA", None]
FACILITIES = ["Riverside Spine Center", "Northgate Ambulatory Surgery"]

LUMBAR_SETS = [
    ["L4-L5", "L5-S1"],
    ["L3-L4", "L4-L5", "L5-S1"],
    ["L4-L5"],
    ["L5-S1"],
    ["L3-L4", "L4-L5"],
    ["L2-L3", "L3-L4"],
]
CERVICAL_SETS = [["C4-C5", "C5-C6"], ["C5-C6", "C6-C7"], ["C3-C4", "C4-C5"], ["C2-C3"], ["C5-C6"]]
THORACIC_SETS = [["T11-T12", "T12-L1"], ["T7-T8", "T8-T9"]]

DIAGNOSES = {"lumbar": ["M47.816", "M54.50", "M47.817"], "cervical": ["M47.812", "M54.2"], "thoracic": ["M47.814"]}
OPEN_DIAGNOSES = {"lumbar": ["M48.061", "M51.16"], "cervical": ["M48.02", "M50.120"], "thoracic": ["M48.04"]}

DURATION = {  # minutes: typical low, high
    "medial_branch_block": (15, 35),
    "radiofrequency_ablation": (30, 70),
    "endoscopic_rhizotomy": (45, 120),
    "laminectomy": (90, 200),
    "laminotomy": (60, 140),
    "other": (30, 120),
}
MINOR_COMPLICATIONS = ["incision_site_pain", "nerve_irritation", "numbness", "hematoma"]
OPEN_COMPLICATIONS = ["dural_tear", "superficial_infection", "urinary_retention", "hematoma", "motor_weakness"]
FOLLOW_UP_DAYS = {"2w": 14, "6w": 42, "3m": 91, "6m": 182, "12m": 365, "24m": 730, "5y": 1826}


class _Clinic:
    """Random choices for one run; everything comes from one seeded generator."""

    def __init__(self, seed: int, until: dt.date, years: int) -> None:
        self.rnd = random.Random(seed)
        self.until = until
        self.start = until - dt.timedelta(days=365 * years)

    def day(self, earliest: dt.date) -> dt.date:
        span = (self.until - earliest).days
        return earliest + dt.timedelta(days=self.rnd.randint(0, max(span, 0)))

    def patient(self, seed: int, number: int) -> Patient:
        # A patient's identity depends on the seed and their number only, so adding demo data again on
        # another day meets the same people under the same MRNs instead of clashing with them.
        own = random.Random(f"{seed}-{number}")
        family, given, sex = own.choice(NAMES)
        born = dt.date(own.randint(1935, 1990), own.randint(1, 12), own.randint(1, 28))
        mrn = f"D{seed % 100_000:05d}-{number:06d}"
        return Patient(mrn=mrn, family_name=family, given_name=given, birth_date=born, sex=sex)

    def levels(self, procedure: str) -> tuple[list[str], str]:
        roll = self.rnd.random()
        if roll < 0.82:
            chosen, region = self.rnd.choice(LUMBAR_SETS), "lumbar"
        elif roll < 0.96:
            chosen, region = self.rnd.choice(CERVICAL_SETS), "cervical"
        else:
            chosen, region = self.rnd.choice(THORACIC_SETS), "thoracic"
        if procedure in ("laminectomy", "laminotomy"):
            chosen = chosen[-2:] if region != "cervical" else chosen
        return list(chosen), region

    def anesthesia(self, procedure: str) -> Anesthesia:
        r = self.rnd
        asa = r.choices(["I", "II", "III", "IV"], weights=[15, 55, 27, 3])[0]
        provider = r.choice(PROVIDERS)
        if procedure == "medial_branch_block":
            if r.random() < 0.8:
                return Anesthesia("local", asa_class=asa)
            return Anesthesia("local_sedation", sedation="minimal", asa_class=asa, provider=provider)
        if procedure in ("radiofrequency_ablation", "endoscopic_rhizotomy"):
            if procedure == "endoscopic_rhizotomy" and r.random() < 0.15:
                return Anesthesia("general", asa_class=asa, provider=provider or "Grace Liu, CRNA")
            sedation = r.choices(["minimal", "moderate", "deep"], weights=[20, 65, 15])[0]
            return Anesthesia("local_sedation", sedation=sedation, asa_class=asa, provider=provider)
        kind = "general" if procedure == "laminectomy" or r.random() < 0.75 else "spinal"
        emergency = r.random() < 0.03
        return Anesthesia(kind, asa_class=asa, emergency=emergency, provider=provider or "Dr. Ingrid Holm (anesthesia)")


def _outcomes(c: _Clinic, procedure: str, day: dt.date) -> tuple[OutcomeScore, ...]:
    r = c.rnd
    back0, leg0 = r.randint(5, 9), r.randint(2, 8)
    odi0 = r.randint(30, 60)
    found = [OutcomeScore("baseline", day - dt.timedelta(days=r.randint(0, 21)), back0, leg0, odi0, None)]
    lasting = {"endoscopic_rhizotomy": 900, "radiofrequency_ablation": 270, "medial_branch_block": 2}.get(
        procedure, 700
    )
    for timepoint in ("2w", "6w", "3m", "6m", "12m", "24m"):
        when = day + dt.timedelta(days=FOLLOW_UP_DAYS[timepoint] + r.randint(-3, 10))
        if when > c.until or r.random() < 0.25:
            continue
        days = FOLLOW_UP_DAYS[timepoint]
        effect = 0.65 if days <= lasting else 0.25  # relief fades once the nerve regrows
        back = max(0, min(10, round(back0 * (1 - effect) + r.gauss(0, 1))))
        leg = max(0, min(10, round(leg0 * (1 - effect * 0.8) + r.gauss(0, 1))))
        odi = max(0, min(100, round(odi0 * (1 - effect * 0.7) + r.gauss(0, 5))))
        relief = max(0, min(100, round(100 * (back0 - back) / max(back0, 1))))
        found.append(OutcomeScore(timepoint, when, back, leg, odi, relief))
    return tuple(found)


def _complications(c: _Clinic, procedure: str, day: dt.date) -> tuple[Complication, ...]:
    r = c.rnd
    open_surgery = procedure in ("laminectomy", "laminotomy")
    if r.random() > (0.07 if open_surgery else 0.025):
        return ()
    category = r.choice(OPEN_COMPLICATIONS if open_surgery else MINOR_COMPLICATIONS)
    if category == "dural_tear":
        timing, onset = "intraoperative", day
        grade = r.choices(["I", "IIIb"], weights=[80, 20])[0]
        treatment = "Primary repair with sealant; bed rest 24 h" if grade == "I" else "Return to OR for repair"
    else:
        timing = "postoperative"
        onset = min(day + dt.timedelta(days=r.randint(0, 14)), c.until)
        grade = r.choices(["I", "II", "IIIa"], weights=[82, 14, 4])[0]
        treatment = {"I": "Reassurance, ice and oral analgesics", "II": "Oral antibiotics / gabapentin course",
                     "IIIa": "Bedside drainage under local anesthesia"}[grade]  # fmt: skip
    resolved = onset + dt.timedelta(days=r.randint(3, 40))
    done = resolved <= c.until
    review = r.choice(["open", "under_review", "closed"]) if done else "open"
    return (
        Complication(
            category=category,
            timing=timing,
            onset_date=onset,
            clavien_dindo=grade,
            treatment=treatment,
            resolved_date=resolved if done else None,
            review_status=review,
        ),
    )


def _sides(c: _Clinic) -> str:
    return "bilateral" if c.rnd.random() < 0.6 else c.rnd.choice(["left", "right"])


NOTES = {
    "any": ["Tolerated well. Discharged ambulating."],
    "medial_branch_block": ["Fluoroscopic confirmation of needle placement at each level; no vascular uptake."],
    "radiofrequency_ablation": ["Fluoroscopic confirmation of needle placement at each level.\n"
                                "Sensory and motor testing before lesioning."],
    "endoscopic_rhizotomy": ["Endoscopic visualisation of the medial branch; ablated under direct vision."],
}  # fmt: skip
REPEAT_NOTE = "Patient reports return of axial pain; repeat treatment at the same levels."


def _case(c: _Clinic, patient: Patient, procedure: str, day: dt.date, levels: list[str], region: str,
          relief: int | None, sides: str, *, block: BlockDetails | None = None, reason: str | None = None,
          follow_up: tuple[OutcomeScore, ...] | None = None, repeat: bool = False,
          may_sign: bool = True) -> CaseRecord:  # fmt: skip
    r = c.rnd
    volume = r.choice(BLOCK_VOLUMES_ML[region]) if block is not None else None
    treated = tuple(TreatedLevel(level, sides, volume) for level in levels)
    low, high = DURATION[procedure]
    minutes = r.randint(low, high) + 10 * max(0, len(levels) - 1)
    timed = r.random() < 0.8
    start = dt.datetime.combine(day, dt.time(r.randint(7, 15), r.choice([0, 15, 30, 45])))
    open_surgery = procedure in ("laminectomy", "laminotomy")
    diagnoses = OPEN_DIAGNOSES[region] if open_surgery else DIAGNOSES[region]
    notes = None
    if repeat and r.random() < 0.5:
        notes = REPEAT_NOTE
    elif r.random() < 0.3:
        notes = r.choice(NOTES["any"] + NOTES.get(procedure, []))
    if follow_up is None:
        follow_up = _outcomes(c, procedure, day) if procedure != "medial_branch_block" else ()
    # Surgeons sign within days; the last week still holds a few drafts.
    signed = (c.until - day).days > 7 or r.random() < 0.3
    # A case outside the policy is signed only with its reason, as the service requires: without one it waits.
    signed = signed and may_sign
    return CaseRecord(
        status="final" if signed else "draft",
        patient=patient,
        procedure_date=day,
        facility=r.choice(FACILITIES),
        surgeon=r.choice(SURGEONS),
        assistants=tuple(r.sample(ASSISTANTS, r.randint(0, 2))),
        procedure=procedure,
        procedure_detail="Sacroiliac joint lateral branch ablation" if procedure == "other" else None,
        cpt_codes=tuple(vocab.suggested_cpt_codes(procedure, levels)) if procedure != "other" else ("64625",),
        diagnosis_codes=tuple(r.sample(diagnoses, r.randint(1, min(2, len(diagnoses))))),
        indication="Axial facet-mediated pain refractory to 3 months of conservative care"
        if not open_surgery
        else "Neurogenic claudication with stenosis on MRI",
        injury_related=r.random() < 0.08,
        prior_block_relief_percent=relief,
        levels=treated,
        start_time=start if timed else None,
        end_time=start + dt.timedelta(minutes=minutes) if timed else None,
        duration_minutes=minutes,
        anesthesia=c.anesthesia(procedure),
        estimated_blood_loss_ml=r.randint(20, 400) if open_surgery else r.choice([None, 0, 5]),
        disposition=(
            r.choice(["overnight_observation", "admitted", "same_day_discharge"])
            if open_surgery
            else "same_day_discharge"
        ),
        complications=_complications(c, procedure, day),
        outcomes=follow_up,
        notes=notes,
        block=block,
        outside_policy_reason=reason,
    )


# ---- diagnostic blocks ---------------------------------------------------------------------------------------

#: Injected volume per level (mL): lumbar medial branches take 0.5 mL, cervical ones less.
BLOCK_VOLUMES_ML = {"lumbar": [0.5, 0.5, 0.3, 1.0], "cervical": [0.25, 0.3, 0.5], "thoracic": [0.5]}
#: The last diary time of relief that matches each anesthetic's usual duration (vocab.ANESTHETIC_HOURS):
#: lidocaine ends by 2 h and bupivacaine lasts 4 h or more, so a comparative pair reads concordant.
CONCORDANT_ENDS = {"lidocaine": ["1h", "2h"], "bupivacaine": ["4h", "6h", "8h"], "ropivacaine": ["2h", "4h", "6h"]}
#: How a block reads: "positive" (>= 80% for as long as the anesthetic lasts), "partial" (50-79% relief),
#: "none" (under 40%) and "short" (>= 80% that wears off before the anesthetic does: discordant).
Response = str


def _pick(r: random.Random, low: int, high: int) -> int:
    """randint's number, at a third of its cost (blocks and follow-ups draw many)."""
    return low + int(r.random() * (high - low + 1))


def _diary(c: _Clinic, anesthetic: str, before: int, response: Response) -> tuple[DiaryEntry, ...]:
    """The patient's diary after a block, read at every usual time (some skip the next morning)."""
    r = c.rnd
    times = list(vocab.DIARY_TIMES)
    if r.random() < 0.15:
        times.remove("next_morning")
    full = before // 5  # the most pain left at >= 80% relief: 1 from a pain of 5 to 9
    if response == "none":
        return tuple(DiaryEntry(t, max(0, before - r.choice([0, 0, 1]) - (before >= 8 and r.random() < 0.3)))
                     for t in times)  # fmt: skip
    end = {"positive": r.choice(CONCORDANT_ENDS.get(anesthetic, ["4h"])), "short": "30min"}.get(response)
    if end is None:  # partial: a half relief for an hour or two
        end = r.choice(["1h", "2h"])
        best = [before - max(full + 1, round(before * (1 - r.uniform(0.5, 0.7)))) for _ in times]
    else:
        lowest = r.choice([0, 0, full])  # some patients never write down a 0
        best = [before - _pick(r, lowest, full) for _ in times]
    entries = []
    relieved, returning = True, False
    pain = 0
    for i, t in enumerate(times):
        if relieved:
            pain = before - best[i]
            if i == 0 and response == "positive" and r.random() < 0.25:
                pain = min(before, full + _pick(r, 1, 2))  # still taking effect at 15 minutes
        elif returning:
            pain = min(before, max(pain + 1, round(before * r.uniform(0.35, 0.7))))
            returning = False
        else:
            pain = min(before, pain + _pick(r, 0, 2))
        entries.append(DiaryEntry(t, pain))
        if t == end:
            relieved = False
            returning = True
    return tuple(entries)


def _block(c: _Clinic, anesthetic: str, response: Response) -> BlockDetails:
    before = c.rnd.randint(5, 9)
    return BlockDetails(
        anesthetic=anesthetic,
        pain_before=before,
        diary=_diary(c, anesthetic, before, response),
        activities_possible=response in ("positive", "short") if c.rnd.random() < 0.85 else None,
    )


def block_peak(block: BlockDetails) -> int:
    """The block's best relief in whole percent (what a later case records as the prior block's relief)."""
    before = block.pain_before or 1
    return max(round(100 * (before - e.pain) / before) for e in block.diary)


# ---- ablations and their follow-up -----------------------------------------------------------------------------

#: Nominal months of each follow-up visit; the 6-month visit is the one payers ask for before a repeat.
VISIT_MONTHS = {"2w": 0.5, "6w": 1.5, "3m": 3, "6m": 6, "12m": 12, "24m": 24, "5y": 60}


def _visit_date(day: dt.date, timepoint: str, jitter: int) -> dt.date:
    months = VISIT_MONTHS[timepoint]
    if months < 3:
        return day + dt.timedelta(days=int(months * 28) + jitter)
    return add_months(day, int(months)) + dt.timedelta(days=jitter)


def _ablation_outcomes(c: _Clinic, day: dt.date, lasting: int, ends: dt.date) -> tuple[OutcomeScore, ...]:
    """Follow-up of an ablation whose relief lasts `lasting` months, seen until `ends` (the next treatment at
    these joints, or today): relief near its best at first, fading as the nerve regrows, then gone."""
    r = c.rnd
    back0, leg0, odi0 = r.randint(5, 9), r.randint(2, 8), r.randint(30, 60)
    found = [OutcomeScore("baseline", day - dt.timedelta(days=r.randint(0, 21)), back0, leg0, odi0, None)]
    best = r.randint(60, 95)
    for timepoint, months in VISIT_MONTHS.items():
        when = _visit_date(day, timepoint, _pick(r, 0, 10))
        if when >= ends or when > c.until:
            break
        if timepoint != "6m" and r.random() < 0.2:
            continue  # a missed visit; the 6-month one is kept, as payers ask for it
        if months < lasting:
            relief = round(best - (best - 55) * (months / lasting) ** 2 + (r.random() - 0.5) * 12)
            relief = max(50, min(100, relief))
        else:
            relief = _pick(r, 5, 40)
        back = max(0, min(10, round(back0 * (100 - relief) / 100)))
        leg = max(0, min(10, round(leg0 * (100 - relief * 0.8) / 100 + (r.random() - 0.5) * 3)))
        odi = max(0, min(100, round(odi0 * (100 - relief * 0.7) / 100 + (r.random() - 0.5) * 15)))
        found.append(OutcomeScore(timepoint, when, back, leg, odi, relief))
    return tuple(found)


#: Departures from the clinic's usual policy (the default preset: two positive blocks at >= 80%, a repeat after
#: >= 50% relief lasting >= 6 months), with the reasons a surgeon might record. Some are left without one.
DEPARTURES: dict[str, list[str]] = {
    "one_block": ["The patient's payer accepts one block with >= 80% relief; second block not done.",
                  "Patient travels 300 km; ablation after one clearly positive block, agreed with the patient."],
    "negative_block": ["Partial relief with a clear gain in function; ablation agreed after discussion.",
                       "Second opinion supports facet origin despite the partial block response."],
    "blocks_elsewhere": ["Two blocks done at the referring clinic; their diaries are scanned into the chart."],
    "early_repeat": ["Pain returned within months; repeat at the patient's request after discussing the evidence.",
                     "Early repeat: the first lesion was incomplete at one level (see operative note)."],
}  # fmt: skip


def _departure_reason(c: _Clinic, kind: str) -> str | None:
    return c.rnd.choice(DEPARTURES[kind]) if c.rnd.random() < 0.6 else None


def generate_cases(count: int, *, seed: int = 1, until: dt.date | None = None, years: int = 6) -> list[CaseRecord]:
    """`count` cases ending on `until` (today by default), in date order."""
    return [record for record, _ in generate_marked(count, seed=seed, until=until, years=years)]


def generate_marked(
    count: int, *, seed: int = 1, until: dt.date | None = None, years: int = 6
) -> list[tuple[CaseRecord, str | None]]:
    """As generate_cases, each case with the DEPARTURES key it was made to break the default policy by (None
    for a case made within it), so tests can check the demo's pathways keep what they claim."""
    c = _Clinic(seed, until or dt.date.today(), years)
    cases: list[tuple[CaseRecord, str | None]] = []
    patient_number = 0
    while len(cases) < count:
        patient_number += 1
        cases.extend(_pathway(c, c.patient(seed, patient_number)))
    cases = cases[:count]
    cases.sort(key=lambda pair: (pair[0].procedure_date, pair[0].start_time or dt.datetime.min))
    return cases


def _pathway(c: _Clinic, patient: Patient) -> list[tuple[CaseRecord, str | None]]:
    """One patient's cases: blocks, then treatment at the joints that responded, then repeats as pain returns."""
    r = c.rnd
    earliest = max(c.start, dt.date(patient.birth_date.year + 25, 1, 1))
    day = c.day(earliest)
    if r.random() < 0.12:
        procedure = r.choices(["laminectomy", "laminotomy", "other"], weights=[45, 45, 10])[0]
        levels, region = c.levels(procedure)
        return [(_case(c, patient, procedure, day, levels, region, None, _sides(c)), None)]
    levels, region = c.levels("medial_branch_block")
    sides = _sides(c)
    cases: list[tuple[CaseRecord, str | None]] = []
    departure: str | None = None

    def block(anesthetic: str, response: Response) -> BlockDetails:
        details = _block(c, anesthetic, response)
        cases.append((_case(c, patient, "medial_branch_block", day, levels, region, None, sides, block=details), None))
        return details

    if r.random() < 0.03:
        departure = "blocks_elsewhere"  # referred after blocks at another clinic: none held here
        relief = r.choice([80, 85, 90, 100])
    else:
        # A comparative pair (lidocaine, then bupivacaine) most often; else the same long-acting one twice.
        comparative = r.random() < 0.6
        first = "lidocaine" if comparative else r.choice(["bupivacaine", "bupivacaine", "ropivacaine"])
        facet = r.random() < 0.72  # the pain comes from these facet joints
        response = "positive" if facet else r.choices(["none", "partial", "short"], weights=[55, 35, 10])[0]
        details = block(first, response)
        if response != "positive":
            if response != "partial" or r.random() > 0.08:
                return cases  # negative: no ablation
            departure = "negative_block"
        elif r.random() < 0.04:
            departure = "one_block"
        else:
            day = day + dt.timedelta(days=r.randint(14, 42))
            if day > c.until:
                return cases  # the confirming block is still to come
            if len(levels) > 1 and r.random() < 0.2:
                levels = levels[1:] if r.random() < 0.5 else levels[:-1]  # the confirming block narrows down
            if sides == "bilateral" and r.random() < 0.15:
                sides = r.choice(["left", "right"])
            second = "bupivacaine" if comparative else first
            response = "positive" if r.random() < 0.9 else r.choice(["partial", "short"])
            details = block(second, response)
            if response != "positive":
                return cases  # the confirming block was negative
        relief = block_peak(details)
    return cases + _treatments(c, patient, day, levels, region, sides, relief, departure)


def _treatments(c: _Clinic, patient: Patient, day: dt.date, levels: list[str], region: str, sides: str,
                relief: int, departure: str | None) -> list[tuple[CaseRecord, str | None]]:  # fmt: skip
    """The first ablation or rhizotomy weeks after the last block, and its repeats once its relief fades."""
    r = c.rnd
    treatment = "endoscopic_rhizotomy" if r.random() < 0.4 else "radiofrequency_ablation"
    day = day + dt.timedelta(days=r.randint(14, 60))
    cases: list[tuple[CaseRecord, str | None]] = []
    sessions: list[dt.date] = []
    first = True
    while day <= c.until:
        # Relief lasts months after an ablation, years after a rhizotomy (the nerve regrows more slowly).
        mean, spread = (10, 3) if treatment == "radiofrequency_ablation" else (36, 10)
        lasting = max(3, round(r.gauss(mean, spread)))
        next_day: dt.date | None = add_months(day, lasting + r.randint(1, 4)) + dt.timedelta(days=r.randint(0, 20))
        next_departure = None
        if r.random() < 0.25:
            next_day = None  # no repeat: the patient moved, or lives with the pain
        elif lasting <= 6:
            # Relief too short for the policy's repeat rule: most are not repeated; a few are, outside it.
            next_departure = "early_repeat" if r.random() < 0.35 else None
            next_day = next_day if next_departure else None
        if next_day is not None and next_departure is None:
            while sum(1 for s in [*sessions, day] if s > add_months(next_day, -12)) >= 2:
                next_day = add_months(next_day, 1)  # at most two sessions per region in twelve months
        follow_up = _ablation_outcomes(c, day, lasting, next_day or dt.date.max)
        reason = _departure_reason(c, departure) if departure else None
        record = _case(c, patient, treatment, day, levels, region, relief if first else None, sides,
                       reason=reason, follow_up=follow_up, repeat=not first,
                       may_sign=departure is None or reason is not None)  # fmt: skip
        cases.append((record, departure))
        sessions.append(day)
        if next_day is None:
            break
        first, departure, day = False, next_departure, next_day
        if treatment == "radiofrequency_ablation" and r.random() < 0.15:
            treatment = "endoscopic_rhizotomy"  # after ablations wear off, a rhizotomy for longer relief
    return cases
