"""FHIR R4: the cases as a Bundle of Patient, Practitioner, Location, Encounter, Procedure, Condition and
Observation resources, for the hospital's systems (`caselog export --format fhir`); caselog.fhir_import reads
such a bundle back.

Written as a stream (one case at a time), so a large selection needs little memory. Every resource's id is a
UUID derived from the clinic's MRN system and the case number or MRN (uuid5): exporting a case again gives its
resources the same ids, so a receiver that stores them by id updates them instead of adding copies.
The codes, systems and extensions are listed in docs/format.md ("FHIR R4").
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from caselog import vocab
from caselog.errors import InvalidInput
from caselog.records import CaseRecord, CaseView, Complication, OutcomeScore
from caselog.validation import Problem

#: The clinic setting (caselog.clinic) naming the system of the clinic's MRNs, e.g. the hospital's OID.
MRN_SYSTEM_SETTING = "fhir_mrn_system"
#: Used while the clinic has not set its own: it says "a CaseLog MRN" and nothing about whose.
DEFAULT_MRN_SYSTEM = "urn:caselog:mrn"

CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PAIN_NRS_LOINC = "72514-3"
PAIN_NRS_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"

#: CaseLog's own code systems and extensions: names, not web pages (docs/format.md lists each).
CASELOG_CODES = "urn:caselog:fhir:CodeSystem:"
CASELOG_EXTENSIONS = "urn:caselog:fhir:StructureDefinition:"
CASE_NUMBER_SYSTEM = "urn:caselog:case-number"

#: SNOMED CT laterality qualifiers (the values FHIR's laterality value sets use).
LATERALITY_SNOMED: dict[str, tuple[str, str]] = {
    "left": ("7771000", "Left"),
    "right": ("24028007", "Right"),
    "bilateral": ("51440002", "Right and left"),
}
#: The encounter's class from the disposition: a night in hospital is not an ambulatory visit.
ENCOUNTER_CLASS: dict[str, tuple[str, str]] = {
    "same_day_discharge": ("AMB", "ambulatory"),
    "overnight_observation": ("OBSENC", "observation encounter"),
    "admitted": ("IMP", "inpatient encounter"),
    "transferred": ("AMB", "ambulatory"),
}
#: Who took part in the procedure, as Procedure.performer.function says it (CaseLog `performer-function`).
PERFORMER_FUNCTIONS: dict[str, str] = {
    "surgeon": "Surgeon",
    "assistant": "Assistant",
    "anesthesia_provider": "Anesthesia provider",
}
#: Outcome measures: their LOINC code where one fits, and the body site the score is about.
OUTCOME_CODES: dict[str, tuple[str | None, str]] = {
    "nrs_back": (PAIN_NRS_LOINC, "Back"),
    "nrs_leg": (PAIN_NRS_LOINC, "Leg"),
    "odi": (None, ""),
    "relief_percent": (None, ""),
    # Format version 3's scores; its other answers (work, pain medication, return to activities, physical
    # therapy) and the follow-up attempts are not carried (docs/format.md).
    "nrs_neck": (PAIN_NRS_LOINC, "Neck"),
    "nrs_arm": (PAIN_NRS_LOINC, "Arm"),
    "ndi": (None, ""),
    "pgic": (None, ""),
}
OBSERVATION_LABELS: dict[str, str] = {
    "nrs_back": "Back pain, numeric rating scale 0-10",
    "nrs_leg": "Leg pain, numeric rating scale 0-10",
    "odi": "Oswestry Disability Index (0-100)",
    "relief_percent": "Pain relief (%)",
    "nrs_neck": "Neck pain, numeric rating scale 0-10",
    "nrs_arm": "Arm pain, numeric rating scale 0-10",
    "ndi": "Neck Disability Index (0-100)",
    "pgic": "Patient Global Impression of Change (1 very much improved .. 7 very much worse)",
    "block_pain_before": "Pain before the medial branch block, numeric rating scale 0-10",
    "block_diary": "Pain after the medial branch block (patient's diary), numeric rating scale 0-10",
    "block_activities_possible": "Usually painful activities possible while the block worked",
}
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:caselog:fhir")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]+")  # a scheme, then printable ASCII (RFC 3986)
MAX_SYSTEM_LENGTH = 255

Resource = dict[str, Any]


def code_system(name: str) -> str:
    return f"{CASELOG_CODES}{name}"


def extension_url(name: str) -> str:
    return f"{CASELOG_EXTENSIONS}{name}"


def check_mrn_system(value: str) -> str:
    """The MRN system as the clinic sets it: an absolute URI (`urn:oid:1.2.3`, `https://hospital.example/mrn`)."""
    text = value.strip()
    if not _URI.fullmatch(text) or len(text) > MAX_SYSTEM_LENGTH:
        example = "urn:oid:2.16.840.1.113883.3.1234"
        message = f"{value!r} is not an absolute URI such as {example} (at most {MAX_SYSTEM_LENGTH} characters)"
        raise InvalidInput([Problem("fhir-mrn-system", message)])
    return text


#: The clinic settings of FHIR exchange, as `caselog clinic set NAME VALUE` names them: (stored name, check).
SETTINGS: dict[str, tuple[str, Callable[[str], str]]] = {"fhir-mrn-system": (MRN_SYSTEM_SETTING, check_mrn_system)}


def resource_id(mrn_system: str, kind: str, *key: str) -> str:
    """A resource's stable id: the same clinic, kind and key always give the same UUID."""
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join((mrn_system, kind, *key))))


def reference(resource: Resource) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def coded_text(name: str, key: str, labels: dict[str, str], detail: str | None = None) -> dict[str, Any]:
    """A CaseLog key as a CodeableConcept; its text is the label, and "label: detail" where there is a detail."""
    label = vocab.label(labels, key)
    return {"coding": [coding(code_system(name), key, label)], "text": f"{label}: {detail}" if detail else label}


def quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def extension(name: str, value_type: str, value: Any) -> dict[str, Any]:
    return {"url": extension_url(name), f"value{value_type}": value}


def instant(local: dt.datetime) -> str:
    """A CaseLog local time as FHIR wants a dateTime with a time: with this workstation's UTC offset that day."""
    return local.astimezone().isoformat(timespec="seconds")


class BundleWriter:
    """The cases as Bundle entries, each shared resource (patient, practitioner, facility) written once."""

    def __init__(self, mrn_system: str) -> None:
        self.mrn_system = mrn_system
        self._written: set[str] = set()

    def _id(self, kind: str, *key: str) -> str:
        return resource_id(self.mrn_system, kind, *key)

    def _once(self, resource: Resource) -> Iterator[Resource]:
        if resource["id"] not in self._written:
            self._written.add(resource["id"])
            yield resource

    def patient(self, record: CaseRecord) -> Resource:
        p = record.patient
        name: dict[str, Any] = {"use": "official", "family": p.family_name}
        if p.given_name:
            name["given"] = [p.given_name]
        return {
            "resourceType": "Patient",
            "id": self._id("Patient", p.mrn),
            "identifier": [{"use": "usual", "type": {"coding": [coding(V2_0203, "MR", "Medical record number")]},
                            "system": self.mrn_system, "value": p.mrn}],
            "name": [name],
            "gender": p.sex,
            "birthDate": p.birth_date.isoformat(),
        }  # fmt: skip

    def practitioner(self, name: str) -> Resource:
        return {"resourceType": "Practitioner", "id": self._id("Practitioner", name), "name": [{"text": name}]}

    def location(self, facility: str) -> Resource:
        return {"resourceType": "Location", "id": self._id("Location", facility), "name": facility}

    def entries(self, view: CaseView) -> Iterator[Resource]:
        """Every resource of one case, those it refers to first."""
        r = view.record
        number = view.case_number
        patient = self.patient(r)
        yield from self._once(patient)
        people = [("surgeon", r.surgeon), *(("assistant", a) for a in r.assistants)]
        if r.anesthesia.provider:
            people.append(("anesthesia_provider", r.anesthesia.provider))
        performers = []
        for function, name in people:
            practitioner = self.practitioner(name)
            yield from self._once(practitioner)
            performers.append({"function": coded_text("performer-function", function, PERFORMER_FUNCTIONS),
                               "actor": reference(practitioner)})  # fmt: skip
        location = self.location(r.facility) if r.facility else None
        if location is not None:
            yield from self._once(location)
        encounter = self.encounter(number, r, patient, location)
        yield encounter
        context = {"subject": reference(patient), "encounter": reference(encounter)}
        diagnoses = [self.diagnosis(number, code, context) for code in r.diagnosis_codes]
        complications = [self.complication(number, i, c, context) for i, c in enumerate(r.complications)]
        yield from diagnoses
        yield from complications
        procedure = self.procedure(view, context, performers, location, diagnoses, complications)
        yield procedure
        yield from self.observations(number, r, procedure)

    def encounter(self, number: str, r: CaseRecord, patient: Resource, location: Resource | None) -> Resource:
        code, display = ENCOUNTER_CLASS[r.disposition]
        encounter: Resource = {
            "resourceType": "Encounter",
            "id": self._id("Encounter", number),
            "identifier": [{"system": CASE_NUMBER_SYSTEM, "value": number}],
            "status": "finished",
            "class": coding(V3_ACT_CODE, code, display),
            "subject": reference(patient),
            "period": self.period(r),
            "hospitalization": {"dischargeDisposition": coded_text("disposition", r.disposition, vocab.DISPOSITIONS)},
        }
        if location is not None:
            encounter["location"] = [{"location": reference(location)}]
        return encounter

    @staticmethod
    def period(r: CaseRecord) -> dict[str, str]:
        if r.start_time is not None and r.end_time is not None:
            return {"start": instant(r.start_time), "end": instant(r.end_time)}
        return {"start": r.procedure_date.isoformat()}

    def diagnosis(self, number: str, code: str, context: dict[str, Any]) -> Resource:
        return {
            "resourceType": "Condition",
            "id": self._id("Condition", number, "diagnosis", code),
            "category": [{"coding": [coding(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]}],
            "code": {"coding": [coding(ICD10CM, code)], "text": code},
            **context,
        }

    def complication(self, number: str, index: int, c: Complication, context: dict[str, Any]) -> Resource:
        status = "resolved" if c.resolved_date is not None else "active"
        condition: Resource = {
            "resourceType": "Condition",
            "id": self._id("Condition", number, "complication", str(index)),
            "extension": [extension("complication-timing", "Code", c.timing),
                          extension("complication-review-status", "Code", c.review_status)],
            "clinicalStatus": {"coding": [coding(CONDITION_CLINICAL, status)]},
            "category": [{"coding": [coding(code_system("condition-category"), "complication",
                                            "Complication of the procedure")]}],
            "severity": coded_text("clavien-dindo", c.clavien_dindo, vocab.CLAVIEN_DINDO_GRADES),
            "code": coded_text("complication-category", c.category, vocab.COMPLICATION_CATEGORIES, c.description),
            **context,
            "onsetDateTime": c.onset_date.isoformat(),
        }  # fmt: skip
        if c.treatment:
            condition["extension"].append(extension("complication-treatment", "String", c.treatment))
        if c.resolved_date is not None:
            condition["abatementDateTime"] = c.resolved_date.isoformat()
        return condition

    def procedure(
        self, view: CaseView, context: dict[str, Any], performers: list[dict[str, Any]], location: Resource | None,
        diagnoses: list[Resource], complications: list[Resource],
    ) -> Resource:  # fmt: skip
        r = view.record
        code = coded_text("procedure", r.procedure, vocab.PROCEDURES, r.procedure_detail)
        code["coding"] = [coding(CPT, cpt) for cpt in r.cpt_codes] + code["coding"]
        procedure: Resource = {
            "resourceType": "Procedure",
            "id": self._id("Procedure", view.case_number),
            "extension": self.procedure_extensions(r),
            "identifier": [{"system": CASE_NUMBER_SYSTEM, "value": view.case_number}],
            "status": "completed",
            "code": code,
            **context,
        }
        if r.start_time is not None and r.end_time is not None:
            procedure["performedPeriod"] = self.period(r)
        else:
            procedure["performedDateTime"] = r.procedure_date.isoformat()
        procedure["performer"] = performers
        if location is not None:
            procedure["location"] = reference(location)
        if r.indication:
            procedure["reasonCode"] = [{"text": r.indication}]
        if diagnoses:
            procedure["reasonReference"] = [reference(d) for d in diagnoses]
        procedure["bodySite"] = [self.body_site(lv.level, lv.side, lv.volume_ml) for lv in r.levels]
        if r.notes:
            procedure["note"] = [{"text": r.notes}]
        if complications:
            procedure["complicationDetail"] = [reference(c) for c in complications]
        follow_up = [o.timepoint for o in r.outcomes if o.timepoint != "baseline"]
        if follow_up:
            procedure["followUp"] = [coded_text("outcome-timepoint", t, vocab.TIMEPOINTS) for t in follow_up]
        if r.block is not None:
            procedure["usedCode"] = [coded_text("block-anesthetic", r.block.anesthetic, vocab.BLOCK_ANESTHETICS,
                                                r.block.anesthetic_detail)]  # fmt: skip
        return procedure

    @staticmethod
    def body_site(level: str, side: str, volume_ml: float | None) -> dict[str, Any]:
        snomed, display = LATERALITY_SNOMED[side]
        laterality = {"coding": [coding(SNOMED, snomed, display), coding(code_system("side"), side)]}
        site: dict[str, Any] = {
            "extension": [extension("laterality", "CodeableConcept", laterality)],
            "coding": [coding(code_system("spine-level"), level, f"Facet joint / segment {level}")],
            "text": f"{level} {side}",
        }
        if volume_ml is not None:
            site["extension"].append(extension("injected-volume", "Quantity", quantity(volume_ml, "mL", "mL")))
        return site

    @staticmethod
    def procedure_extensions(r: CaseRecord) -> list[dict[str, Any]]:
        a = r.anesthesia
        # Inside a complex extension, each part's url is its plain name.
        parts: list[dict[str, Any]] = [{"url": "type", "valueCode": a.type}]
        if a.sedation:
            parts.append({"url": "sedation", "valueCode": a.sedation})
        if a.asa_class:
            parts.append({"url": "asa-class", "valueCode": a.asa_class})
        if a.emergency:
            parts.append({"url": "emergency", "valueBoolean": True})
        found = [extension("case-status", "Code", r.status), {"url": extension_url("anesthesia"), "extension": parts}]
        if r.start_time is None or r.end_time is None:
            found.append(extension("duration", "Duration", quantity(r.duration_minutes, "min", "min")))
        if r.injury_related:
            found.append(extension("injury-related", "Boolean", True))
        optional: list[tuple[str, str, Any]] = [
            ("prior-block-relief", "Quantity", None if r.prior_block_relief_percent is None
             else quantity(r.prior_block_relief_percent, "%", "%")),
            ("blood-loss", "Quantity", None if r.estimated_blood_loss_ml is None
             else quantity(r.estimated_blood_loss_ml, "mL", "mL")),
            ("fluoroscopy-time", "Quantity", None if r.fluoroscopy_time_s is None
             else quantity(r.fluoroscopy_time_s, "s", "s")),
            ("referring-physician", "String", r.referring_physician),
            *(("copy-to", "String", name) for name in r.copy_to),
            ("outside-policy-reason", "String", r.outside_policy_reason),
        ]  # fmt: skip
        found.extend(extension(name, kind, value) for name, kind, value in optional if value is not None)
        return found

    def observations(self, number: str, r: CaseRecord, procedure: Resource) -> Iterator[Resource]:
        for o in r.outcomes:
            yield from self.outcome(number, o, procedure)
        b = r.block
        if b is None:
            return
        when = instant(r.start_time) if r.start_time else r.procedure_date.isoformat()
        if b.pain_before is not None:
            yield self.observation(number, "block_pain_before", procedure, effective=when,
                                   value=("Integer", b.pain_before), loinc=PAIN_NRS_LOINC, link="partOf")  # fmt: skip
        for entry in b.diary:
            diary = self.observation(number, f"block_diary|{entry.time}", procedure, value=("Integer", entry.pain),
                                     loinc=PAIN_NRS_LOINC, link="partOf")  # fmt: skip
            diary["extension"] = [extension("diary-time", "CodeableConcept",
                                            coded_text("diary-time", entry.time, vocab.DIARY_TIMES))]  # fmt: skip
            yield diary
        if b.activities_possible is not None:
            yield self.observation(number, "block_activities_possible", procedure, effective=when,
                                   value=("Boolean", b.activities_possible), link="partOf")  # fmt: skip

    def outcome(self, number: str, o: OutcomeScore, procedure: Resource) -> Iterator[Resource]:
        timepoint = coded_text("outcome-timepoint", o.timepoint, vocab.TIMEPOINTS)
        for measure, (loinc, site) in OUTCOME_CODES.items():
            score = getattr(o, measure)
            if score is None:
                continue
            value = ("Quantity", quantity(score, "%", "%")) if measure == "relief_percent" else ("Integer", score)
            found = self.observation(number, f"{measure}|{o.timepoint}", procedure, effective=o.date.isoformat(),
                                     value=value, loinc=loinc, link="focus")  # fmt: skip
            found["extension"] = [extension("outcome-timepoint", "CodeableConcept", timepoint)]
            if site:
                found["bodySite"] = {"text": site}
            yield found

    def observation(
        self, number: str, key: str, procedure: Resource, *, value: tuple[str, Any], link: str,
        effective: str | None = None, loinc: str | None = None,
    ) -> Resource:  # fmt: skip
        code = key.split("|", 1)[0]
        codings = [coding(LOINC, loinc, PAIN_NRS_DISPLAY)] if loinc else []
        codings.append(coding(code_system("observation"), code, OBSERVATION_LABELS[code]))
        found: Resource = {
            "resourceType": "Observation",
            "id": self._id("Observation", number, key),
            "status": "final",
            "category": [{"coding": [coding(OBSERVATION_CATEGORY, "survey", "Survey")]}],
            "code": {"coding": codings, "text": OBSERVATION_LABELS[code]},
            "subject": procedure["subject"],
            link: [reference(procedure)],
        }
        if effective is not None:
            found["effectiveDateTime"] = effective
        found[f"value{value[0]}"] = value[1]
        return found


#: No blanks between items: a bundle is verbose enough (one entry a line keeps it readable with `less`).
COMPACT = (",", ":")


def write_bundle(cases: Iterable[CaseView], out: IO[str], *, mrn_system: str = DEFAULT_MRN_SYSTEM,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> int:  # fmt: skip
    """The cases as one FHIR R4 Bundle of type collection, written entry by entry; returns how many cases."""
    writer = BundleWriter(mrn_system)
    head = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
            "timestamp": now().isoformat(timespec="seconds")}  # fmt: skip
    out.write(json.dumps(head, ensure_ascii=False, separators=COMPACT)[:-1] + ',"entry":[')
    count = 0
    first = True
    for view in cases:
        for resource in writer.entries(view):
            entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            out.write(("\n" if first else ",\n") + json.dumps(entry, ensure_ascii=False, separators=COMPACT))
            first = False
        count += 1
    out.write("\n]}\n")
    return count


def bundle_writer(mrn_system: str | None) -> Callable[[Iterable[CaseView], IO[str]], int]:
    """The writer for the export registry, under the clinic's MRN system (the default when unset)."""

    def write(cases: Iterable[CaseView], out: IO[str]) -> int:
        return write_bundle(cases, out, mrn_system=mrn_system or DEFAULT_MRN_SYSTEM)

    return write
