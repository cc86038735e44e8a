"""Reading a FHIR R4 Bundle as caselog.fhir writes it back into CASE objects (`caselog import --format fhir`).

Each Procedure is one case; what it refers to (Patient, Practitioner, Location, Encounter, Condition) and the
Observations about it give the rest. The result is an interchange file's content, so the import applies every
rule of the contract exactly as a JSON import does. Anything a case needs that the bundle lacks is a problem named
by its resource and field (`Procedure/<id>.performer: no surgeon`); the service then imports all cases or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from caselog import fhir, vocab
from caselog.errors import InvalidInput
from caselog.service import CaseService
from caselog.validation import FORMAT_NAME, FORMAT_VERSION, Problem

Resource = dict[str, Any]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    return (item for item in _list(value) if isinstance(item, dict))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class _Bundle:
    """The bundle's resources by the address a reference uses (its fullUrl, and "Type/id")."""

    resources: dict[str, Resource] = field(default_factory=dict)
    procedures: list[Resource] = field(default_factory=list)
    about: dict[str, list[Resource]] = field(default_factory=dict)  # Procedure address -> its Observations

    @staticmethod
    def address(resource: Resource) -> str:
        return f"{resource.get('resourceType')}/{resource.get('id')}"


def _read_bundle(data: object, where: str) -> _Bundle:
    bundle = _Bundle()
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InvalidInput([Problem(where, 'is not a FHIR Bundle (no "resourceType": "Bundle")')])
    if data.get("type") not in ("collection", "transaction", "batch", "document", "searchset"):
        raise InvalidInput([Problem("Bundle.type", f"{data.get('type')!r} is not a bundle of resources to import")])
    problems: list[Problem] = []
    observations: list[Resource] = []
    for i, entry in enumerate(_list(data.get("entry"))):
        resource = _dict(entry).get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(Problem(f"Bundle.entry[{i}]", "holds no resource"))
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            bundle.resources[full_url] = resource
        if isinstance(resource.get("id"), str):
            bundle.resources[_Bundle.address(resource)] = resource
        if resource["resourceType"] == "Procedure":
            bundle.procedures.append(resource)
        elif resource["resourceType"] == "Observation":
            observations.append(resource)
    if problems:
        raise InvalidInput(problems)
    if not bundle.procedures:
        raise InvalidInput([Problem(where, "holds no Procedure: CaseLog makes one case of each")])
    for observation in observations:
        for link in ("focus", "partOf"):
            for ref in _dicts(observation.get(link)):
                target = bundle.resources.get(str(ref.get("reference")))
                if target is not None and target.get("resourceType") == "Procedure":
                    bundle.about.setdefault(_Bundle.address(target), []).append(observation)
    return bundle


class _Case:
    """One Procedure read into a CASE object; problems are named by resource and field."""

    def __init__(self, bundle: _Bundle, procedure: Resource, mrn_system: str, problems: list[Problem]) -> None:
        self.bundle = bundle
        self.procedure = procedure
        self.mrn_system = mrn_system
        self.problems = problems

    def fail(self, resource: Resource, path: str, message: str) -> None:
        self.problems.append(Problem(f"{_Bundle.address(resource)}.{path}", message))

    def resolve(self, source: Resource, path: str, ref: Any, kind: str, *, required: bool = True) -> Resource | None:
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            if required:
                self.fail(source, path, f"missing: a reference to the {kind}")
            return None
        target = self.bundle.resources.get(ref["reference"])
        if target is None or target.get("resourceType") != kind:
            self.fail(source, path, f"{ref['reference']} is not a {kind} in this bundle")
            return None
        return target

    def extension(self, resource: Resource, name: str) -> list[dict[str, Any]]:
        url = fhir.extension_url(name)
        return [e for e in _dicts(resource.get("extension")) if e.get("url") == url]

    def value(self, resource: Resource, name: str, kind: str) -> Any:
        found = self.extension(resource, name)
        return found[0].get(f"value{kind}") if found else None

    def quantity(self, resource: Resource, name: str) -> Any:
        value = self.value(resource, name, "Quantity")
        return _dict(value).get("value") if value is not None else None

    def key(self, resource: Resource, path: str, concept: Any, system: str, *, required: bool = True) -> str | None:
        codes = [c.get("code") for c in _dicts(_dict(concept).get("coding")) if c.get("system") == system]
        if not codes or not isinstance(codes[0], str):
            if required:
                self.fail(resource, path, f"missing: a code of {system}")
            return None
        return codes[0]

    def keyed_text(self, resource: Resource, path: str, name: str, labels: dict[str, str]) -> tuple[str | None, Any]:
        """A CaseLog key and the detail written after its label in the text (fhir.coded_text)."""
        concept = _dict(resource.get(path))
        key = self.key(resource, path, concept, fhir.code_system(name))
        return key, detail_of(concept.get("text"), vocab.label(labels, key) if key else None)

    def read(self) -> dict[str, Any]:
        p = self.procedure
        patient = self.resolve(p, "subject", p.get("subject"), "Patient")
        encounter = self.resolve(p, "encounter", p.get("encounter"), "Encounter")
        procedure, detail = self.keyed_text(p, "code", "procedure", vocab.PROCEDURES)
        case: dict[str, Any] = {
            "case_number": self.case_number(p),
            "status": self.value(p, "case-status", "Code") or "draft",
            "patient": self.patient(patient) if patient else {},
            "procedure": procedure,
            "procedure_detail": detail,
            "cpt_codes": [c.get("code") for c in _dicts(_dict(p.get("code")).get("coding"))
                          if c.get("system") == fhir.CPT],
            "levels": [self.level(p, i, site) for i, site in enumerate(_list(p.get("bodySite")))],
            "notes": next((n.get("text") for n in _dicts(p.get("note"))), None),
            "indication": next((n.get("text") for n in _dicts(p.get("reasonCode"))), None),
        }  # fmt: skip
        self.people(p, case)
        self.times(p, case)
        self.anesthesia(p, case)
        self.extensions(p, case)
        case["disposition"] = self.disposition(encounter) if encounter else None
        case["diagnosis_codes"] = self.diagnoses(p)
        case["complications"] = self.complications(p)
        observations = self.bundle.about.get(_Bundle.address(p), [])
        case["outcomes"] = self.outcomes(observations)
        block = self.block(p, observations)
        if block is not None:
            case["block"] = block
        location = self.resolve(p, "location", p.get("location"), "Location", required=False)
        case["facility"] = location.get("name") if location else None
        return case

    def case_number(self, p: Resource) -> Any:
        for identifier in _dicts(p.get("identifier")):
            if identifier.get("system") == fhir.CASE_NUMBER_SYSTEM:
                return identifier.get("value")
        return None

    def patient(self, patient: Resource) -> dict[str, Any]:
        mrns = [i.get("value") for i in _dicts(patient.get("identifier")) if i.get("system") == self.mrn_system]
        if not mrns:
            self.fail(patient, "identifier", f"missing: an MRN of this clinic's system {self.mrn_system}")
        names = list(_dicts(patient.get("name")))
        official = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
        if official is None or not official.get("family"):
            self.fail(patient, "name.family", "missing: the patient's family name")
            official = {}
        for element, what in (("gender", "the patient's sex"), ("birthDate", "the patient's birth date")):
            if patient.get(element) is None:
                self.fail(patient, element, f"missing: {what}")
        given = [g for g in _list(official.get("given")) if isinstance(g, str)]
        return {"mrn": mrns[0] if mrns else None, "family_name": official.get("family"),
                "given_name": " ".join(given), "birth_date": patient.get("birthDate"),
                "sex": patient.get("gender")}  # fmt: skip

    def people(self, p: Resource, case: dict[str, Any]) -> None:
        found: dict[str, list[Any]] = {}
        for i, performer in enumerate(_dicts(p.get("performer"))):
            path = f"performer[{i}]"
            function = self.key(p, f"{path}.function", performer.get("function"),
                                fhir.code_system("performer-function"), required=False) or "surgeon"  # fmt: skip
            practitioner = self.resolve(p, f"{path}.actor", performer.get("actor"), "Practitioner")
            if practitioner is not None:
                name = next((n.get("text") for n in _dicts(practitioner.get("name")) if n.get("text")), None)
                if name is None:
                    self.fail(practitioner, "name.text", "missing: the name as the case records it")
                found.setdefault(function, []).append(name)
        surgeons = found.get("surgeon", [])
        if not surgeons:
            self.fail(p, "performer", "missing: the surgeon (a performer whose function is surgeon)")
        case["surgeon"] = surgeons[0] if surgeons else None
        case["assistants"] = found.get("assistant", [])
        case["anesthesia"] = {"provider": (found.get("anesthesia_provider") or [None])[0]}

    def times(self, p: Resource, case: dict[str, Any]) -> None:
        period = p.get("performedPeriod")
        if isinstance(period, dict):
            start, end = local_time(period.get("start")), local_time(period.get("end"))
            if start is None or end is None:
                self.fail(p, "performedPeriod", "needs a start and an end, each a date and time with its offset")
                return
            case["procedure_date"] = start[:10]
            case["start_time"], case["end_time"] = start, end
            return
        performed = p.get("performedDateTime")
        if not isinstance(performed, str) or len(performed) < 10:
            self.fail(p, "performed[x]", "missing: the procedure date (performedDateTime or performedPeriod)")
        else:
            case["procedure_date"] = performed[:10]
        minutes = self.value(p, "duration", "Duration")
        if minutes is None:
            self.fail(p, "extension(duration)", "missing: the duration, needed without start and end times")
        else:
            case["duration_minutes"] = _dict(minutes).get("value")

    def anesthesia(self, p: Resource, case: dict[str, Any]) -> None:
        found = self.extension(p, "anesthesia")
        parts = {e.get("url"): e for e in _dicts(found[0].get("extension"))} if found else {}
        if "type" not in parts:
            self.fail(p, "extension(anesthesia).type", "missing: the anesthesia type")
        anesthesia = case["anesthesia"]
        anesthesia["type"] = _dict(parts.get("type")).get("valueCode")
        anesthesia["sedation"] = _dict(parts.get("sedation")).get("valueCode")
        anesthesia["asa_class"] = _dict(parts.get("asa-class")).get("valueCode")
        anesthesia["emergency"] = bool(_dict(parts.get("emergency")).get("valueBoolean", False))

    def extensions(self, p: Resource, case: dict[str, Any]) -> None:
        case["injury_related"] = bool(self.value(p, "injury-related", "Boolean"))
        case["prior_block_relief_percent"] = self.quantity(p, "prior-block-relief")
        case["estimated_blood_loss_ml"] = self.quantity(p, "blood-loss")
        case["fluoroscopy_time_s"] = self.quantity(p, "fluoroscopy-time")
        case["referring_physician"] = self.value(p, "referring-physician", "String")
        case["copy_to"] = [e.get("valueString") for e in self.extension(p, "copy-to")]
        case["outside_policy_reason"] = self.value(p, "outside-policy-reason", "String")

    def level(self, p: Resource, i: int, site: Any) -> dict[str, Any]:
        site = _dict(site)
        path = f"bodySite[{i}]"
        level = self.key(p, path, site, fhir.code_system("spine-level"))
        laterality = self.value(site, "laterality", "CodeableConcept")
        side = self.key(p, f"{path}.extension(laterality)", laterality, fhir.code_system("side"))
        found: dict[str, Any] = {"level": level, "side": side}
        volume = self.quantity(site, "injected-volume")
        if volume is not None:
            found["volume_ml"] = volume
        return found

    def disposition(self, encounter: Resource) -> str | None:
        concept = _dict(encounter.get("hospitalization")).get("dischargeDisposition")
        return self.key(encounter, "hospitalization.dischargeDisposition", concept, fhir.code_system("disposition"))

    def diagnoses(self, p: Resource) -> list[Any]:
        codes = []
        for i, ref in enumerate(_list(p.get("reasonReference"))):
            condition = self.resolve(p, f"reasonReference[{i}]", ref, "Condition")
            if condition is not None:
                codes.append(self.key(condition, "code", condition.get("code"), fhir.ICD10CM))
        return codes

    def complications(self, p: Resource) -> list[dict[str, Any]]:
        found = []
        for i, ref in enumerate(_list(p.get("complicationDetail"))):
            c = self.resolve(p, f"complicationDetail[{i}]", ref, "Condition")
            if c is None:
                continue
            category, description = self.keyed_text(c, "code", "complication-category", vocab.COMPLICATION_CATEGORIES)
            grade = self.key(c, "severity", c.get("severity"), fhir.code_system("clavien-dindo"))
            if c.get("onsetDateTime") is None:
                self.fail(c, "onsetDateTime", "missing: the complication's onset date")
            found.append({
                "category": category, "description": description,
                "timing": self.value(c, "complication-timing", "Code"), "onset_date": c.get("onsetDateTime"),
                "clavien_dindo": grade, "treatment": self.value(c, "complication-treatment", "String"),
                "resolved_date": c.get("abatementDateTime"),
                "review_status": self.value(c, "complication-review-status", "Code") or "open",
            })  # fmt: skip
        return found

    def observation_key(self, o: Resource) -> str | None:
        return self.key(o, "code", o.get("code"), fhir.code_system("observation"), required=False)

    def outcomes(self, observations: list[Resource]) -> list[dict[str, Any]]:
        by_timepoint: dict[str, dict[str, Any]] = {}
        for o in observations:
            measure = self.observation_key(o)
            if measure not in vocab.OUTCOME_MEASURES:
                continue
            concept = self.value(o, "outcome-timepoint", "CodeableConcept")
            timepoint = self.key(o, "extension(outcome-timepoint)", concept, fhir.code_system("outcome-timepoint"))
            if timepoint is None:
                continue
            outcome = by_timepoint.setdefault(timepoint, {"timepoint": timepoint, "date": o.get("effectiveDateTime")})
            score = o.get("valueInteger") if "valueInteger" in o else _dict(o.get("valueQuantity")).get("value")
            outcome[measure] = score
        return sorted(by_timepoint.values(), key=lambda o: list(vocab.TIMEPOINTS).index(o["timepoint"])
                      if o["timepoint"] in vocab.TIMEPOINTS else len(vocab.TIMEPOINTS))  # fmt: skip

    def block(self, p: Resource, observations: list[Resource]) -> dict[str, Any] | None:
        used = _list(p.get("usedCode"))
        if not used:
            return None
        concept = _dict(used[0])
        anesthetic = self.key(p, "usedCode[0]", concept, fhir.code_system("block-anesthetic"))
        label = vocab.label(vocab.BLOCK_ANESTHETICS, anesthetic) if anesthetic else None
        block: dict[str, Any] = {"anesthetic": anesthetic, "anesthetic_detail": detail_of(concept.get("text"), label),
                                 "pain_before": None, "diary": [], "activities_possible": None}  # fmt: skip
        diary: list[tuple[int, dict[str, Any]]] = []
        order = list(vocab.DIARY_TIMES)
        for o in observations:
            kind = self.observation_key(o)
            if kind == "block_pain_before":
                block["pain_before"] = o.get("valueInteger")
            elif kind == "block_activities_possible":
                block["activities_possible"] = o.get("valueBoolean")
            elif kind == "block_diary":
                time = self.key(o, "extension(diary-time)", self.value(o, "diary-time", "CodeableConcept"),
                                fhir.code_system("diary-time"))  # fmt: skip
                rank = order.index(time) if time in order else len(order)
                diary.append((rank, {"time": time, "pain": o.get("valueInteger")}))
        block["diary"] = [entry for _, entry in sorted(diary, key=lambda item: item[0])]
        return block


def detail_of(text: Any, label: str | None) -> Any:
    """The detail fhir.coded_text wrote after the label ("Other procedure: Facet cyst excision"), else None;
    a text that is not the label's at all is the detail itself."""
    if not isinstance(text, str) or label is None or text == label:
        return None
    prefix = f"{label}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def local_time(value: Any) -> str | None:
    """A FHIR dateTime with a time, as CaseLog's local `YYYY-MM-DDTHH:MM` on this workstation."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M")


def bundle_to_cases(data: object, *, mrn_system: str, where: str) -> tuple[dict[str, Any], list[str]]:
    """The interchange file a FHIR bundle holds, and each case's Procedure address (to name it in problems)."""
    bundle = _read_bundle(data, where)
    problems: list[Problem] = []
    cases = [_Case(bundle, p, mrn_system, problems).read() for p in bundle.procedures]
    if problems:
        raise InvalidInput(problems)
    content = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "cases": cases}
    return content, [_Bundle.address(p) for p in bundle.procedures]


def named_by_resource(problems: list[Problem], addresses: list[str]) -> list[Problem]:
    """The contract's problems (`cases[2].levels[0].level`) named by the case's Procedure instead."""
    named = []
    for problem in problems:
        path = problem.path
        if path.startswith("cases[") and "]" in path:
            index = path[len("cases[") : path.index("]")]
            if index.isdigit() and int(index) < len(addresses):
                rest = path[path.index("]") + 1 :].lstrip(".")
                named.append(Problem(addresses[int(index)], f"{rest}: {problem.message}" if rest else problem.message))
                continue
        named.append(problem)
    return named


def import_bundle(service: CaseService, data: object, *, where: str) -> list[str]:
    """Import the cases a FHIR bundle holds, all or none, under the contract's rules; returns the case numbers."""
    mrn_system = service.clinic_setting(fhir.MRN_SYSTEM_SETTING) or fhir.DEFAULT_MRN_SYSTEM
    content, addresses = bundle_to_cases(data, mrn_system=mrn_system, where=where)
    try:
        return service.import_cases(content)
    except InvalidInput as exc:
        raise InvalidInput(named_by_resource(list(exc.problems), addresses)) from None
