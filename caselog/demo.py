"""Synthetic cases a spine clinic would recognise, for trying CaseLog out and for load tests. Never real people.

Patients follow the usual pathway: diagnostic medial branch blocks with the anesthetic, the volume per level
and the patient's pain diary (often a comparative pair, lidocaine then bupivacaine; some blocks negative), then
a radiofrequency ablation or an endoscopic rhizotomy at the joints that responded, with follow-up relief that
fades as the nerve regrows, and a repeat when the pain returns (months after an ablation, years after a
rhizotomy). A few ablations are done outside the clinic's usual policy (one block only, a negative block,
blocks done elsewhere, a repeat after short relief), some with the reason recorded. A few patients have open
decompressions. The same seed and the same end date give the same cases.

How many years and sites: up to NETWORK_FROM cases (the tests', the app's offer, the 100,000-case benchmark) the
cases are one clinic's (five surgeons, two facilities) over the last six years. A larger count is a network's:
about CASES_PER_SITE_YEAR cases a year per site, over as many years as keep it under MAX_CASES_A_YEAR a year (at
most MAX_YEARS back), at as many sites as that takes, each with its own facility and five surgeons of its own.
1,000,000 cases are 25 years of four sites, 40,000 a year, so the demo never needs six-digit case numbers by
accident. A network's cases come as a stream (`stream_cases`), month by month: each month's new patients until
the month holds its share of the count, their later cases kept aside until their month comes, so memory holds
a few months of cases, not the whole count.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from caselog import vocab
from caselog.dates import add_months
from caselog.followup import DEFAULT_TIMEPOINTS, SETTING, due_date, schedule_from_setting
from caselog.records import (
    Anesthesia,
    BlockDetails,
    CaseRecord,
    Complication,
    DiaryEntry,
    FollowUpAttempt,
    OutcomeScore,
    Patient,
    TreatedLevel,
)
from caselog.service import CaseService

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

#: Above this many cases the demo is a network's (the module's docstring); up to it, one clinic's over six years.
NETWORK_FROM = 100_000
CASES_PER_SITE_YEAR = 10_000  # five surgeons, 2,000 cases a year each
MAX_CASES_A_YEAR = 40_000
MAX_YEARS = 25
#: A network's sites, each its own facility; their surgeons are made from the names below, five a site.
SITES = ["Riverside Spine Center", "Northgate Spine Institute", "Lakeshore Pain & Spine", "Hillcrest Spine Clinic",
         "Eastbrook Interventional Spine", "Westfield Spine Surgery", "Harbor View Spine Center",
         "Summit Spine & Pain"]  # fmt: skip
SURGEON_GIVEN = ["Amara", "Henrik", "Priya", "Mateo", "Elena", "Kofi", "Ingrid", "Rahul", "Sofia", "Tomasz", "Mei",
                 "Youssef", "Carmen", "Lars", "Aiko", "Dmitri", "Fatima", "Joaquín", "Noor", "Pieter"]  # fmt: skip
SURGEON_FAMILY = ["Okafor", "Lindqvist", "Raman", "Alvarez", "Vasquez", "Mensah", "Brandt", "Iyer", "Costa",
                  "Wiśniewski", "Zhang", "Haddad", "Ortega", "Berg", "Sato", "Volkov", "Rahman", "Pereira",
                  "Karimi", "de Vries"]  # fmt: skip

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
#: A clinic's follow-up schedule: procedure -> its timepoints after the baseline (caselog.followup's setting).
Schedule = Mapping[str, Sequence[str]]
#: A case's outcomes (baseline first) and its attempts to reach the patient.
FollowUp = tuple[tuple[OutcomeScore, ...], tuple[FollowUpAttempt, ...]]
MINOR_COMPLICATIONS = ["incision_site_pain", "nerve_irritation", "numbness", "hematoma"]
OPEN_COMPLICATIONS = ["dural_tear", "superficial_infection", "urinary_retention", "hematoma", "motor_weakness"]


class _Clinic:
    """Random choices for one run; everything comes from one seeded generator."""

    def __init__(self, seed: int, until: dt.date, years: int, schedule: Schedule) -> None:
        self.rnd = random.Random(seed)
        self.until = until
        self.schedule = schedule
        self.start = until - dt.timedelta(days=365 * years)
        # Where the patient at hand is treated, and by whom: the clinic's, or one network site's.
        self.facilities: Sequence[str] = FACILITIES
        self.surgeons: Sequence[str] = SURGEONS

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
          relief: int | None, sides: str, follow_up: FollowUp, *, block: BlockDetails | None = None,
          reason: str | None = None, repeat: bool = False, may_sign: bool = True) -> CaseRecord:  # fmt: skip
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
    # Surgeons sign within days; the last week still holds a few drafts.
    signed = (c.until - day).days > 7 or r.random() < 0.3
    # A case outside the policy is signed only with its reason, as the service requires: without one it waits.
    signed = signed and may_sign
    return CaseRecord(
        status="final" if signed else "draft",
        patient=patient,
        procedure_date=day,
        facility=r.choice(c.facilities),
        surgeon=r.choice(c.surgeons),
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
        outcomes=follow_up[0],
        follow_up_attempts=follow_up[1],
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


def clinic_schedule(service: CaseService) -> Schedule:
    """The clinic's follow-up schedule, which demo cases are followed up at (any signed-in role reads it)."""
    return schedule_from_setting(service.clinic_setting(SETTING)).as_dict()


def generate_cases(
    count: int, *, seed: int = 1, until: dt.date | None = None, years: int = 6, schedule: Schedule | None = None
) -> list[CaseRecord]:
    """`count` cases ending on `until` (today by default), in date order, followed up at `schedule`'s timepoints
    (the clinic's follow-up schedule; its default when None)."""
    return [record for record, _ in generate_marked(count, seed=seed, until=until, years=years, schedule=schedule)]


def generate_marked(
    count: int, *, seed: int = 1, until: dt.date | None = None, years: int = 6, schedule: Schedule | None = None
) -> list[tuple[CaseRecord, str | None]]:
    """As generate_cases, each case with the DEPARTURES key it was made to break the default policy by (None
    for a case made within it), so tests can check the demo's pathways keep what they claim."""
    c = _Clinic(seed, until or dt.date.today(), years, schedule or DEFAULT_TIMEPOINTS)
    cases: list[tuple[CaseRecord, str | None]] = []
    patient_number = 0
    while len(cases) < count:
        patient_number += 1
        cases.extend(_pathway(c, c.patient(seed, patient_number)))
    cases = cases[:count]
    cases.sort(key=lambda pair: (pair[0].procedure_date, pair[0].start_time or dt.datetime.min))
    return cases


def network_shape(count: int) -> tuple[int, int]:
    """(years, sites) of a network's `count` demo cases (the module's docstring)."""
    years = min(MAX_YEARS, max(6, math.ceil(count / MAX_CASES_A_YEAR)))
    sites = min(len(SITES), max(1, math.ceil(count / years / CASES_PER_SITE_YEAR)))
    return years, sites


def site_surgeons(site: int) -> list[str]:
    """The five surgeons of a network's site `site` (0-based): names of their own, none shared with another site."""
    given, family = SURGEON_GIVEN, SURGEON_FAMILY
    return [f"Dr. {given[(5 * site + i) % len(given)]} {family[(7 * site + 3 * i) % len(family)]}" for i in range(5)]


def stream_cases(
    count: int, *, seed: int = 1, until: dt.date | None = None, schedule: Schedule | None = None
) -> Iterator[CaseRecord]:
    """`count` demo cases in date order, as a stream: a clinic's (generate_cases) up to NETWORK_FROM, a network's
    above it, month by month so that memory holds a few months of cases whatever the count."""
    if count <= NETWORK_FROM:
        yield from generate_cases(count, seed=seed, until=until, schedule=schedule)
        return
    years, sites = network_shape(count)
    c = _Clinic(seed, until or dt.date.today(), years, schedule or DEFAULT_TIMEPOINTS)
    sites_staff = [([SITES[i]], site_surgeons(i)) for i in range(sites)]
    months: list[tuple[dt.date, dt.date]] = []
    first = c.start
    while first <= c.until:
        after = add_months(first.replace(day=1), 1)
        months.append((first, min(after - dt.timedelta(days=1), c.until)))
        first = after

    def month_of(day: dt.date) -> int:
        return (day.year - c.start.year) * 12 + day.month - c.start.month

    pending: list[tuple[dt.date, dt.datetime, int, CaseRecord]] = []  # later cases, kept for their month
    in_month: dict[int, int] = {}
    emitted = made = patient_number = 0
    for m, (first, last) in enumerate(months):
        share = (count - emitted) // (len(months) - m) if m < len(months) - 1 else count - emitted
        while in_month.get(m, 0) < share:
            patient_number += 1
            patient = c.patient(seed, patient_number)
            c.facilities, c.surgeons = sites_staff[c.rnd.randrange(sites)]
            day = first + dt.timedelta(days=c.rnd.randint(0, (last - first).days))
            if day.year - patient.birth_date.year < 25:
                continue  # too young for facet joint pain: the next patient
            for record, _ in _pathway(c, patient, day):
                made += 1
                heapq.heappush(pending, (record.procedure_date, record.start_time or dt.datetime.min, made, record))
                key = month_of(record.procedure_date)
                in_month[key] = in_month.get(key, 0) + 1
        while pending and pending[0][0] <= last:
            record = heapq.heappop(pending)[3]
            if emitted < count:
                emitted += 1
                yield record
        in_month.pop(m, None)


def _pathway(c: _Clinic, patient: Patient, first_day: dt.date | None = None) -> list[tuple[CaseRecord, str | None]]:
    """One patient's cases: blocks, then treatment at the joints that responded, then repeats as pain returns
    (from `first_day`, or a day of the clinic's years)."""
    r = c.rnd
    earliest = max(c.start, dt.date(patient.birth_date.year + 25, 1, 1))
    day = c.day(earliest) if first_day is None else first_day
    if r.random() < 0.12:
        procedure = r.choices(["laminectomy", "laminotomy", "other"], weights=[45, 45, 10])[0]
        levels, region = c.levels(procedure)
        course = _course(c, patient, region, day)
        relief_at = _relief_curve(c, procedure, max(3, round(r.gauss(9, 3))))
        follow_up = _follow_up(c, course, procedure, day, relief_at, c.schedule.get(procedure, ()))
        return [(_case(c, patient, procedure, day, levels, region, None, _sides(c), follow_up), None)]
    levels, region = c.levels("medial_branch_block")
    course = _course(c, patient, region, day)
    sides = _sides(c)
    cases: list[tuple[CaseRecord, str | None]] = []
    departure: str | None = None

    def block(anesthetic: str, response: Response) -> BlockDetails:
        details = _block(c, anesthetic, response)
        worn_off = _relief_curve(c, "medial_branch_block", 0)
        timepoints = c.schedule.get("medial_branch_block", ())
        follow_up = _follow_up(c, course, "medial_branch_block", day, worn_off, timepoints, pain=details.pain_before)
        cases.append(
            (_case(c, patient, "medial_branch_block", day, levels, region, None, sides, follow_up, block=details), None)
        )
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
            if day > c.until or day >= course.fate_day:
                return cases  # the confirming block is still to come, or the patient no longer comes
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
    return cases + _treatments(c, patient, course, day, levels, sides, relief, departure)


def _treatments(c: _Clinic, patient: Patient, course: _Course, day: dt.date, levels: list[str], sides: str,
                relief: int, departure: str | None) -> list[tuple[CaseRecord, str | None]]:  # fmt: skip
    """The first ablation or rhizotomy weeks after the last block, and its repeats once its relief fades."""
    r = c.rnd
    treatment = "endoscopic_rhizotomy" if r.random() < 0.4 else "radiofrequency_ablation"
    day = day + dt.timedelta(days=r.randint(14, 60))
    cases: list[tuple[CaseRecord, str | None]] = []
    sessions: list[dt.date] = []
    first = True
    while day <= c.until and day < course.fate_day:
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
        relief_at = _relief_curve(c, treatment, lasting)
        timepoints = c.schedule.get(treatment, ())
        follow_up = _follow_up(c, course, treatment, day, relief_at, timepoints, ends=next_day or dt.date.max)
        reason = _departure_reason(c, departure) if departure else None
        record = _case(c, patient, treatment, day, levels, course.region, relief if first else None, sides, follow_up,
                       reason=reason, repeat=not first,
                       may_sign=departure is None or reason is not None)  # fmt: skip
        cases.append((record, departure))
        sessions.append(day)
        if next_day is None:
            break
        first, departure, day = False, next_departure, next_day
        if treatment == "radiofrequency_ablation" and r.random() < 0.15:
            treatment = "endoscopic_rhizotomy"  # after ablations wear off, a rhizotomy for longer relief
    return cases


# ---- follow-up: the scores the coordinator collects, and the patients the clinic loses --------------------------


#: What may end a patient's follow-up early, and how often: they stop answering (a few calls nobody picks up,
#: then nothing), move away, decline further calls or die. An end that falls after today, or after the last
#: visit owed (a block's two-week check), shows in nothing: of treated patients, about one in ten is seen to stop
#: answering, 3% to move away or decline, 1% to die.
FATES: list[tuple[str, float]] = [("silent", 0.16), ("moved_away", 0.03), ("declined", 0.02), ("died", 0.02)]
FATE_NOTES: dict[str, list[str | None]] = {
    "moved_away": ["Moved abroad; no forwarding number.", "Moved to another state; sees a local physician.", None],
    "declined": ["Does not wish to be called again.", "Feels well; declines further follow-up.", None],
    "died": ["A relative answered the call.", "Death notice received from the family physician.", None],
}
#: Lumbar and thoracic levels are scored with the Oswestry Disability Index and back/leg pain, cervical ones
#: with the Neck Disability Index and neck/arm pain (caselog.outcomes' choice by region).
CERVICAL = "cervical"


@dataclass(slots=True)
class _Course:
    """One patient's answers that carry from case to case: how they live, and whether follow-up ends early."""

    region: str
    work: str
    analgesics: str
    fate: str | None = None
    fate_day: dt.date = dt.date.max  # from this day on the patient no longer answers (or has died)
    news_day: dt.date = dt.date.max  # the day the clinic hears of a death (the family, or the next call)


def _course(c: _Clinic, patient: Patient, region: str, first_day: dt.date) -> _Course:
    r = c.rnd
    age = first_day.year - patient.birth_date.year
    if age >= 66 and r.random() < 0.9:
        work = "retired"
    else:
        roll = r.random()
        work = "working" if roll < 0.5 else "off_work_pain" if roll < 0.85 else "not_working_other"
    roll = r.random()
    analgesics = "opioid" if roll < 0.3 else "non_opioid" if roll < 0.85 else "none"
    course = _Course(region, work, analgesics)
    roll = r.random()
    for fate, share in FATES:
        if roll < share:
            course.fate = fate
            course.fate_day = first_day + dt.timedelta(days=7 + int(r.expovariate(1 / 450)))
            course.news_day = course.fate_day + dt.timedelta(days=_pick(r, 0, 10))
            break
        roll -= share
    return course


def _months(timepoint: str) -> float:
    days, months = vocab.TIMEPOINT_DUE[timepoint]
    return days / 30.4 if days else months


def _pgic(r: random.Random, relief: int) -> int:
    """The patient's impression of change (1 very much improved .. 7 very much worse) as their relief reads."""
    roll = r.random()
    if relief >= 70:
        return 1 if roll < 0.55 else 2
    if relief >= 50:
        return 2 if roll < 0.6 else 3
    if relief >= 30:
        return 3 if roll < 0.6 else 4
    if relief >= 10:
        return 4 if roll < 0.7 else 3
    return 4 if roll < 0.7 else 5 if roll < 0.95 else 6


ANALGESIC_STEPS = ["none", "non_opioid", "opioid"]


def _analgesics(r: random.Random, before: str, relief: int) -> str:
    """Good relief lets most patients step down their pain medication; little relief, a few step up."""
    step = ANALGESIC_STEPS.index(before)
    if relief >= 60 and r.random() < 0.7:
        step -= 1 + (relief >= 80 and r.random() < 0.4)
    elif relief < 30 and r.random() < 0.15:
        step += 1
    return ANALGESIC_STEPS[max(0, min(2, step))]


def _work(r: random.Random, now: str, relief: int) -> str:
    if now == "off_work_pain" and relief >= 50 and r.random() < 0.6:
        return "working"
    if now == "working" and relief < 20 and r.random() < 0.1:
        return "off_work_pain"
    return now


def _clamp(value: float, high: int) -> int:
    """`value` rounded to a whole score from 0 to `high` (as min/max/round do, at a third of their cost)."""
    return 0 if value < 0.5 else high if value >= high else int(value + 0.5)


def _relief_curve(c: _Clinic, procedure: str, lasting: int) -> Callable[[float], int]:
    """Relief of the back's (or neck's) pain in percent, `months` after the procedure.

    An ablation's is near its best at first and fades as the nerve regrows, gone after `lasting` months; an
    open decompression's builds over three months as the wound heals and holds, slowly easing over the years; a
    diagnostic block's has worn off by its two-week check."""
    r = c.rnd
    if procedure == "medial_branch_block":
        return lambda months: max(0, _pick(r, 0, 25) - 5)
    if procedure in ("laminectomy", "laminotomy"):
        peak = 60 * max(0.2, min(1.4, r.gauss(1, 0.3)))

        def healing(months: float) -> int:
            gained = min(1.0, 0.3 + 0.7 * months / 3) * (1 - 0.01 * max(0.0, months - 12))
            return _clamp(peak * gained + (r.random() - 0.5) * 12, 100)

        return healing
    best = r.randint(60, 95)

    def fading(months: float) -> int:
        if months >= lasting:
            return _pick(r, 5, 40)
        relief = round(best - (best - 55) * (months / lasting) ** 2 + (r.random() - 0.5) * 12)
        return max(50, min(100, relief))

    return fading


def _follow_up(c: _Clinic, course: _Course, procedure: str, day: dt.date, relief_at: Callable[[float], int],
               timepoints: Sequence[str], *, ends: dt.date = dt.date.max, pain: int | None = None,
               ) -> FollowUp:  # fmt: skip
    """A baseline, then a visit at each of the schedule's `timepoints` due by today, near its due date (a few
    days late sometimes), until `ends` (the next treatment at these joints: its relief is not this one's).

    A visit due in the last days may still be owed (overdue); a patient whose course ends (`course.fate`)
    leaves a few unanswered calls, or the news that they moved away, declined or died, and nothing after."""
    r = c.rnd
    cervical = course.region == CERVICAL
    surgery = procedure in ("laminectomy", "laminotomy")
    pain0 = pain if pain is not None else _pick(r, 5, 9)
    radiating0 = _pick(r, 2, 8)
    disability0 = _pick(r, 25, 55) if cervical else _pick(r, 35, 70) if surgery else _pick(r, 30, 60)
    radiating_share = 1.3 if surgery else 0.8  # decompressions relieve the leg most, ablations the back

    def score(timepoint: str, when: dt.date, relief: int | None, pgic: int | None, work: str, analgesics: str,
              returned: dt.date | None, therapy: bool | None) -> OutcomeScore:  # fmt: skip
        gained = relief or 0
        now = _clamp(pain0 * (100 - gained) / 100, 10)
        radiating = _clamp(radiating0 * (100 - min(100, gained * radiating_share)) / 100 + (r.random() - 0.5) * 3, 10)
        disability = _clamp(disability0 * (100 - gained * 0.7) / 100 + (r.random() - 0.5) * 15, 100)
        if procedure != "medial_branch_block" and relief is not None:
            relief = _clamp(100 * (pain0 - now) / pain0, 100)
        back, leg, odi, neck, arm, ndi = (None, None, None, now, radiating, disability) if cervical else (
            now, radiating, disability, None, None, None)  # fmt: skip
        return OutcomeScore(timepoint, when, nrs_back=back, nrs_leg=leg, odi=odi, relief_percent=relief,
                            nrs_neck=neck, nrs_arm=arm, ndi=ndi, pgic=pgic, work_status=work, analgesics=analgesics,
                            returned_to_activities=returned, physical_therapy=therapy)  # fmt: skip

    baseline_day = day if procedure == "medial_branch_block" else day - dt.timedelta(days=_pick(r, 0, 21))
    found = [score("baseline", baseline_day, None, None, course.work, course.analgesics, None, None)]
    attempts: list[FollowUpAttempt] = []
    work, returned = course.work, None
    therapy = 0.75 if surgery else 0.1 if procedure == "medial_branch_block" else 0.35
    for i, timepoint in enumerate(timepoints):
        due = due_date(day, timepoint)
        if due >= ends:
            break
        late = _pick(r, 0, 3) if r.random() < 0.7 else _pick(r, 4, 14)
        when = min(due + dt.timedelta(days=late), ends - dt.timedelta(days=1))
        if when >= course.fate_day:
            attempts.extend(_fate_calls(c, course, timepoint, max(due, course.fate_day)))
            break
        if due > c.until:
            break
        if when > c.until:  # still owed: the coordinator may have tried once already
            if late > 5 and r.random() < 0.5 and (c.until - due).days >= 1:
                tried = due + dt.timedelta(days=_pick(r, 1, min(late - 1, (c.until - due).days)))
                attempts.append(FollowUpAttempt(timepoint, tried, "could_not_reach"))
            break
        later = timepoints[i + 1] if i + 1 < len(timepoints) else None
        if (later and timepoint != "6m" and r.random() < 0.04
                and due_date(day, later) < min(ends, c.until - dt.timedelta(days=15))):  # fmt: skip
            continue  # a visit missed; the 6-month one is kept, as payers ask for it before a repeat
        relief = relief_at(_months(timepoint))
        work = _work(r, work, relief)
        if returned is None and relief >= 50 and procedure != "medial_branch_block":
            span = (when - day).days
            returned = day + dt.timedelta(days=_pick(r, min(21, span), min(75, span)) if surgery else _pick(r, 1, 14))
        prescribed = (r.random() < therapy) if timepoint in ("2w", "6w") else None
        analgesics = _analgesics(r, course.analgesics, relief)
        found.append(score(timepoint, when, relief, _pgic(r, relief), work, analgesics, returned, prescribed))
    return tuple(found), tuple(attempts)


def _fate_calls(c: _Clinic, course: _Course, timepoint: str, start: dt.date) -> list[FollowUpAttempt]:
    """The calls for the first follow-up after the patient's course ended, as far as today: two or three that
    nobody answers, or the news itself (sometimes after one unanswered call). A death is recorded on the day the
    clinic hears of it, on every case still owed a follow-up."""
    r = c.rnd
    calls: list[FollowUpAttempt] = []
    if course.fate == "died":
        if course.news_day <= c.until:
            calls.append(FollowUpAttempt(timepoint, course.news_day, "died", r.choice(FATE_NOTES["died"])))
        return calls
    day = start + dt.timedelta(days=_pick(r, 0, 3))
    if course.fate == "silent":
        for _ in range(_pick(r, 2, 3)):
            if day > c.until:
                break
            calls.append(FollowUpAttempt(timepoint, day, "could_not_reach"))
            day += dt.timedelta(days=_pick(r, 3, 10))
        return calls
    news = course.fate
    if news is None:  # the course never ends early: never called here
        return calls
    if r.random() < 0.4 and day <= c.until:
        calls.append(FollowUpAttempt(timepoint, day, "could_not_reach"))
        day += dt.timedelta(days=_pick(r, 2, 10))
    if day <= c.until:
        calls.append(FollowUpAttempt(timepoint, day, news, r.choice(FATE_NOTES[news])))
    return calls
