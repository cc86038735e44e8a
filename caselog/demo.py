"""Synthetic cases a spine clinic would recognise, for trying CaseLog out and for load tests. Never real people.

Patients follow the usual pathway: a diagnostic medial branch block, then an ablation or an endoscopic
rhizotomy at the same levels, repeated when pain returns (ablations after months, rhizotomies after years);
a few have open decompressions. The same seed and the same end date give the same cases.
"""

from __future__ import annotations

import datetime as dt
import random

from caselog import vocab
from caselog.records import Anesthesia, CaseRecord, Complication, OutcomeScore, Patient, TreatedLevel

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


def _case(c: _Clinic, patient: Patient, procedure: str, day: dt.date, levels: list[str], region: str,
          relief: int | None, sides: str) -> CaseRecord:  # fmt: skip
    r = c.rnd
    treated = tuple(TreatedLevel(level, sides) for level in levels)
    low, high = DURATION[procedure]
    minutes = r.randint(low, high) + 10 * max(0, len(levels) - 1)
    timed = r.random() < 0.8
    start = dt.datetime.combine(day, dt.time(r.randint(7, 15), r.choice([0, 15, 30, 45])))
    open_surgery = procedure in ("laminectomy", "laminotomy")
    diagnoses = OPEN_DIAGNOSES[region] if open_surgery else DIAGNOSES[region]
    notes = None
    if r.random() < 0.3:
        notes = r.choice(
            [
                "Tolerated well. Discharged ambulating.",
                "Fluoroscopic confirmation of needle placement at each level.\n"
                "Sensory and motor testing before lesioning.",
                "Patient reports return of axial pain; repeat treatment at the same levels.",
                "Endoscopic visualisation of the medial branch; ablated under direct vision.",
            ]
        )
    # Surgeons sign within days; the last week still holds a few drafts.
    signed = (c.until - day).days > 7 or r.random() < 0.3
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
        outcomes=_outcomes(c, procedure, day) if procedure != "medial_branch_block" else (),
        notes=notes,
    )


def generate_cases(count: int, *, seed: int = 1, until: dt.date | None = None, years: int = 6) -> list[CaseRecord]:
    """`count` cases ending on `until` (today by default), in date order."""
    c = _Clinic(seed, until or dt.date.today(), years)
    cases: list[CaseRecord] = []
    patient_number = 0
    while len(cases) < count:
        patient_number += 1
        cases.extend(_pathway(c, c.patient(seed, patient_number)))
    cases = cases[:count]
    cases.sort(key=lambda rec: (rec.procedure_date, rec.start_time or dt.datetime.min))
    return cases


def _pathway(c: _Clinic, patient: Patient) -> list[CaseRecord]:
    """One patient's cases: block, then treatment, then repeats when the pain returns."""
    r = c.rnd
    earliest = max(c.start, dt.date(patient.birth_date.year + 25, 1, 1))
    day = c.day(earliest)
    if r.random() < 0.12:
        procedure = r.choices(["laminectomy", "laminotomy", "other"], weights=[45, 45, 10])[0]
        levels, region = c.levels(procedure)
        return [_case(c, patient, procedure, day, levels, region, None, _sides(c))]
    levels, region = c.levels("medial_branch_block")
    # The block, the treatment and its repeats are at the same joints on the same side: the painful ones.
    sides = _sides(c)
    cases = [_case(c, patient, "medial_branch_block", day, levels, region, None, sides)]
    relief = r.choice([40, 60, 70, 80, 80, 90, 100])
    if relief < 50 or r.random() < 0.15:
        return cases
    treatment = "endoscopic_rhizotomy" if r.random() < 0.4 else "radiofrequency_ablation"
    day = day + dt.timedelta(days=r.randint(14, 60))
    while day <= c.until:
        cases.append(_case(c, patient, treatment, day, levels, region, relief, sides))
        # Pain returns as the medial branch regrows: months after an ablation, years after a rhizotomy.
        months = r.gauss(9, 3) if treatment == "radiofrequency_ablation" else r.gauss(40, 12)
        day = day + dt.timedelta(days=max(120, int(months * 30.4)))
        if r.random() < 0.25:
            break
    return cases
