"""Reading a FHIR R4 Bundle as caselog.fhir writes it back into CASE objects (`caselog import --format fhir`).

Each Procedure is one case; what it refers to (Patient, Practitioner, Location, Encounter, Condition) and the
Observations about it give the rest. The result is an interchange file's content, so the import applies every
rule of the contract exactly as a JSON import does. Anything a case needs that the bundle lacks is a problem named
by its resource and field (`Procedure/<id>.performer: missing: the surgeon ...`); the service then imports all
cases or none.
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
#: The observations of a medial branch block (fhir.BundleWriter.observations).
BLOCK_OBSERVATIONS = frozenset({"block_pain_before", "block_diary", "block_activities_possible"})


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
    if not isinstance(data.get("entry", []), list):
        raise InvalidInput([Problem("Bundle.entry", "must be a list of entries")])
    for i, entry in enumerate(_list(data.get("entry"))):
        resource = _dict(entry).get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(Problem(f"Bundle.entry[{i}]", "holds no resource"))
            continue
        full_url = entry.get("fullUrl")
        addresses = [a for a in (full_url, _Bundle.address(resource) if isinstance(resource.get("id"), str) else None)
                     if isinstance(a, str)]  # fmt: skip
        twice = [a for a in addresses if a in bundle.resources]
        if twice:
            # Two resources at one address: which patient or case a reference means would be a guess.
            problems.append(Problem(f"Bundle.entry[{i}]", f"{twice[0]} appears twice in the bundle"))
            continue
        for address in addresses:
            bundle.resources[address] = resource
        if resource["resourceType"] == "Procedure":
            bundle.procedures.append(resource)
        elif resource["resourceType"] == "Observation":
            observations.append(resource)
    if problems:
        raise InvalidInput(problems)
    if not bundle.procedures and bundle.resources:
        raise InvalidInput([Problem(where, "holds no Procedure: CaseLog makes one case of each")])
    for observation in observations:
        procedures = {
            _Bundle.address(target)
            for link in ("focus", "partOf")
            for ref in _dicts(observation.get(link))
            if (target := bundle.resources.get(str(ref.get("reference")))) is not None
            and target.get("resourceType") == "Procedure"
        }
        if len(procedures) > 1:  # one measurement belongs to one case; read into each, it would count twice
            problems.append(Problem(_Bundle.address(observation), f"refers to {len(procedures)} Procedures "
                                    "(focus and partOf): whose case it belongs to is unknown"))  # fmt: skip
            continue
        for address in procedures:
            bundle.about.setdefault(address, []).append(observation)
        if not procedures and _is_caselog_observation(observation):
            problems.append(Problem(_Bundle.address(observation), "refers to no Procedure of this bundle "
                                    "(focus or partOf): whose case it belongs to is unknown"))  # fmt: skip
    if problems:
        raise InvalidInput(problems)
    return bundle


def _is_caselog_observation(observation: Resource) -> bool:
    system = fhir.code_system("observation")
    return any(c.get("system") == system for c in _dicts(_dict(observation.get("code")).get("coding")))


class _Case:
    """One Procedure read into a CASE object. Problems are named by resource and field; an element CaseLog reads
    that holds the wrong kind of value is a problem, never passed over (a damaged file must not lose data
    silently)."""

    def __init__(self, bundle: _Bundle, procedure: Resource, mrn_system: str, problems: dict[Problem, None]) -> None:
        self.bundle = bundle
        self.procedure = procedure
        self.mrn_system = mrn_system
        self.problems = problems

    def fail(self, owner: Resource, path: str, message: str) -> None:
        # A dict keeps the order and names a resource shared by several cases once.
        self.problems[Problem(f"{_Bundle.address(owner)}.{path}", message)] = None

    def objects(self, owner: Resource, path: str, value: Any) -> list[dict[str, Any]]:
        """The list of objects at `path` (absent: none); anything else there is a problem."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(owner, path, "must be a list of objects")
            return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
        return value

    def obj(self, owner: Resource, path: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(owner, path, "must be an object")
            return {}
        return value

    def resolve(self, source: Resource, path: str, ref: Any, kind: str, *, required: bool = True) -> Resource | None:
        if ref is None and not required:
            return None
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            self.fail(source, path, f"missing: a reference to the {kind}")
            return None
        target = self.bundle.resources.get(ref["reference"])
        if target is None or target.get("resourceType") != kind:
            self.fail(source, path, f"{ref['reference']} is not a {kind} in this bundle")
            return None
        return target

    def extension(self, owner: Resource, at: str, holder: dict[str, Any], name: str) -> list[dict[str, Any]]:
        url = fhir.extension_url(name)
        return [e for e in self.objects(owner, f"{at}extension", holder.get("extension")) if e.get("url") == url]

    def value(
        self, owner: Resource, name: str, kind: str, *, at: str = "", holder: dict[str, Any] | None = None
    ) -> Any:
        """The value of extension `name` (absent: None); one without its `value<kind>` is a problem."""
        found = self.extension(owner, at, owner if holder is None else holder, name)
        if not found:
            return None
        if f"value{kind}" not in found[0]:
            self.fail(owner, f"{at}extension({name})", f"needs a value{kind}")
        return found[0].get(f"value{kind}")

    def amount(self, owner: Resource, path: str, value: Any) -> Any:
        """The number of a Quantity (or Duration); one without a number is a problem."""
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("value") is None:
            self.fail(owner, path, "must be a quantity with a value")
            return None
        return value["value"]

    def quantity(self, owner: Resource, name: str, *, at: str = "", holder: dict[str, Any] | None = None) -> Any:
        value = self.value(owner, name, "Quantity", at=at, holder=holder)
        return self.amount(owner, f"{at}extension({name}).valueQuantity", value)

    def key(self, owner: Resource, path: str, concept: Any, system: str, *, required: bool = True) -> str | None:
        codings = self.objects(owner, f"{path}.coding", self.obj(owner, path, concept).get("coding"))
        codes = [c.get("code") for c in codings if c.get("system") == system]
        if not codes or not isinstance(codes[0], str):
            if required or codes:
                self.fail(owner, path, f"missing: a code of {system}")
            return None
        return codes[0]

    def keyed_text(self, owner: Resource, path: str, concept: Any, name: str,
                   labels: dict[str, str]) -> tuple[str | None, Any]:  # fmt: skip
        """A CaseLog key and the detail written after its label in the text (fhir.coded_text)."""
        key = self.key(owner, path, concept, fhir.code_system(name))
        text = concept.get("text") if isinstance(concept, dict) else None
        return key, detail_of(text, vocab.label(labels, key) if key else None)

    def first_text(self, owner: Resource, path: str) -> Any:
        items = self.objects(owner, path, owner.get(path))
        if items and items[0].get("text") is None:
            self.fail(owner, f"{path}[0].text", "missing: the text")
        return items[0].get("text") if items else None

    def read(self) -> dict[str, Any]:
        p = self.procedure
        patient = self.resolve(p, "subject", p.get("subject"), "Patient")
        encounter = self.resolve(p, "encounter", p.get("encounter"), "Encounter")
        procedure, detail = self.keyed_text(p, "code", p.get("code"), "procedure", vocab.PROCEDURES)
        codings = self.objects(p, "code.coding", self.obj(p, "code", p.get("code")).get("coding"))
        case: dict[str, Any] = {
            "case_number": self.case_number(p),
            "status": self.value(p, "case-status", "Code") or "draft",
            "patient": self.patient(patient) if patient else {},
            "procedure": procedure,
            "procedure_detail": detail,
            "cpt_codes": [c.get("code") for c in codings if c.get("system") == fhir.CPT],
            "levels": [self.level(p, i, site) for i, site in enumerate(self.objects(p, "bodySite", p.get("bodySite")))],
            "notes": self.first_text(p, "note"),
            "indication": self.first_text(p, "reasonCode"),
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
        for identifier in self.objects(p, "identifier", p.get("identifier")):
            if identifier.get("system") == fhir.CASE_NUMBER_SYSTEM:
                return identifier.get("value")
        return None

    def patient(self, patient: Resource) -> dict[str, Any]:
        identifiers = self.objects(patient, "identifier", patient.get("identifier"))
        mrns = [i.get("value") for i in identifiers if i.get("system") == self.mrn_system]
        if not mrns:
            self.fail(patient, "identifier", f"missing: an MRN of this clinic's system {self.mrn_system}")
        elif len(set(map(repr, mrns))) > 1:  # one patient, two of this clinic's MRNs: which one is theirs?
            listed = ", ".join(dict.fromkeys(map(repr, mrns)))
            self.fail(patient, "identifier", f"holds two MRNs of this clinic's system {self.mrn_system} ({listed})")
        names = self.objects(patient, "name", patient.get("name"))
        officials = [n for n in names if n.get("use") == "official"]
        if len({(repr(n.get("family")), repr(n.get("given"))) for n in officials}) > 1:
            self.fail(patient, "name", "holds two different official names: which one is the patient's is unknown")
        official = officials[0] if officials else names[0] if names else None
        if official is None or not official.get("family"):
            self.fail(patient, "name.family", "missing: the patient's family name")
            official = {}
        for element, what in (("gender", "the patient's sex"), ("birthDate", "the patient's birth date")):
            if patient.get(element) is None:
                self.fail(patient, element, f"missing: {what}")
        given = official.get("given") or []
        if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
            self.fail(patient, "name.given", "must be a list of names")
            given = []
        return {"mrn": mrns[0] if mrns else None, "family_name": official.get("family"),
                "given_name": " ".join(given), "birth_date": patient.get("birthDate"),
                "sex": patient.get("gender")}  # fmt: skip

    def people(self, p: Resource, case: dict[str, Any]) -> None:
        found: dict[str, list[Any]] = {}
        for i, performer in enumerate(self.objects(p, "performer", p.get("performer"))):
            path = f"performer[{i}]"
            function = self.key(p, f"{path}.function", performer.get("function"),
                                fhir.code_system("performer-function"))  # fmt: skip
            if function is not None and function not in fhir.PERFORMER_FUNCTIONS:
                self.fail(p, f"{path}.function", f"{function!r} is not a role CaseLog records")
            practitioner = self.resolve(p, f"{path}.actor", performer.get("actor"), "Practitioner")
            if practitioner is not None and function is not None:
                names = self.objects(practitioner, "name", practitioner.get("name"))
                name = next((n.get("text") for n in names if n.get("text")), None)
                if name is None:
                    self.fail(practitioner, "name.text", "missing: the name as the case records it")
                found.setdefault(function, []).append(name)
        surgeons = found.get("surgeon", [])
        if not surgeons:
            self.fail(p, "performer", "missing: the surgeon (a performer whose function is surgeon)")
        for function, one in (("surgeon", "surgeon"), ("anesthesia_provider", "anesthesia provider")):
            if len(found.get(function, [])) > 1:
                self.fail(p, "performer", f"names more than one {one}; a case has one")
        case["surgeon"] = surgeons[0] if surgeons else None
        case["assistants"] = found.get("assistant", [])
        case["anesthesia"] = {"provider": (found.get("anesthesia_provider") or [None])[0]}

    def times(self, p: Resource, case: dict[str, Any]) -> None:
        if "performedPeriod" in p:
            period = self.obj(p, "performedPeriod", p["performedPeriod"])
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
        minutes = self.amount(p, "extension(duration).valueDuration", self.value(p, "duration", "Duration"))
        if minutes is None:
            self.fail(p, "extension(duration)", "missing: the duration, needed without start and end times")
        case["duration_minutes"] = minutes

    def anesthesia(self, p: Resource, case: dict[str, Any]) -> None:
        found = self.extension(p, "", p, "anesthesia")
        parts: dict[str, dict[str, Any]] = {}
        for part in self.objects(p, "extension(anesthesia).extension", found[0].get("extension")) if found else []:
            parts.setdefault(str(part.get("url")), part)
        if "type" not in parts:
            self.fail(p, "extension(anesthesia).type", "missing: the anesthesia type")
        anesthesia = case["anesthesia"]
        anesthesia["type"] = parts.get("type", {}).get("valueCode")
        anesthesia["sedation"] = parts.get("sedation", {}).get("valueCode")
        anesthesia["asa_class"] = parts.get("asa-class", {}).get("valueCode")
        anesthesia["emergency"] = parts.get("emergency", {}).get("valueBoolean", False)

    def extensions(self, p: Resource, case: dict[str, Any]) -> None:
        injury = self.value(p, "injury-related", "Boolean")
        case["injury_related"] = False if injury is None else injury
        case["prior_block_relief_percent"] = self.quantity(p, "prior-block-relief")
        case["estimated_blood_loss_ml"] = self.quantity(p, "blood-loss")
        case["fluoroscopy_time_s"] = self.quantity(p, "fluoroscopy-time")
        case["referring_physician"] = self.value(p, "referring-physician", "String")
        case["copy_to"] = [e.get("valueString") for e in self.extension(p, "", p, "copy-to")]
        case["outside_policy_reason"] = self.value(p, "outside-policy-reason", "String")

    def level(self, p: Resource, i: int, site: dict[str, Any]) -> dict[str, Any]:
        path = f"bodySite[{i}]"
        level = self.key(p, path, site, fhir.code_system("spine-level"))
        laterality = self.value(p, "laterality", "CodeableConcept", at=f"{path}.", holder=site)
        side = self.key(p, f"{path}.extension(laterality)", laterality, fhir.code_system("side"))
        found: dict[str, Any] = {"level": level, "side": side}
        volume = self.quantity(p, "injected-volume", at=f"{path}.", holder=site)
        if volume is not None:
            found["volume_ml"] = volume
        return found

    def disposition(self, encounter: Resource) -> str | None:
        stay = self.obj(encounter, "hospitalization", encounter.get("hospitalization"))
        return self.key(encounter, "hospitalization.dischargeDisposition", stay.get("dischargeDisposition"),
                        fhir.code_system("disposition"))  # fmt: skip

    def diagnoses(self, p: Resource) -> list[Any]:
        codes = []
        for i, ref in enumerate(self.objects(p, "reasonReference", p.get("reasonReference"))):
            condition = self.resolve(p, f"reasonReference[{i}]", ref, "Condition")
            if condition is not None:
                codes.append(self.key(condition, "code", condition.get("code"), fhir.ICD10CM))
        return codes

    def complications(self, p: Resource) -> list[dict[str, Any]]:
        found = []
        for i, ref in enumerate(self.objects(p, "complicationDetail", p.get("complicationDetail"))):
            c = self.resolve(p, f"complicationDetail[{i}]", ref, "Condition")
            if c is None:
                continue
            category, description = self.keyed_text(c, "code", c.get("code"), "complication-category",
                                                     vocab.COMPLICATION_CATEGORIES)  # fmt: skip
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
        return self.key(o, "code", o.get("code"), fhir.code_system("observation"))

    def score(self, o: Resource) -> Any:
        if "valueQuantity" in o:
            return self.amount(o, "valueQuantity", o["valueQuantity"])
        if "valueInteger" not in o:
            self.fail(o, "value[x]", "missing: the score")
        return o.get("valueInteger")

    def outcomes(self, observations: list[Resource]) -> list[dict[str, Any]]:
        by_timepoint: dict[str, dict[str, Any]] = {}
        for o in observations:
            measure = self.observation_key(o)
            if measure not in vocab.OUTCOME_MEASURES:
                if measure is not None and measure not in BLOCK_OBSERVATIONS:
                    self.fail(o, "code", f"{measure!r} is not an observation CaseLog records")
                continue
            concept = self.value(o, "outcome-timepoint", "CodeableConcept")
            timepoint = self.key(o, "extension(outcome-timepoint)", concept, fhir.code_system("outcome-timepoint"))
            if timepoint is None:
                continue
            outcome = by_timepoint.setdefault(timepoint, {"timepoint": timepoint, "date": o.get("effectiveDateTime")})
            if outcome["date"] != o.get("effectiveDateTime"):
                self.fail(o, "effectiveDateTime", f"differs from the other scores of the {timepoint} outcome")
            outcome[measure] = self.score(o)
        order = list(vocab.TIMEPOINTS)
        return sorted(by_timepoint.values(), key=lambda o: order.index(o["timepoint"])
                      if o["timepoint"] in order else len(order))  # fmt: skip

    def block(self, p: Resource, observations: list[Resource]) -> dict[str, Any] | None:
        used = self.objects(p, "usedCode", p.get("usedCode"))
        if not used:
            if any(self.observation_key(o) in BLOCK_OBSERVATIONS for o in observations):
                self.fail(p, "usedCode", "missing: the block's anesthetic (the bundle has the block's observations)")
            return None
        anesthetic, detail = self.keyed_text(p, "usedCode[0]", used[0], "block-anesthetic", vocab.BLOCK_ANESTHETICS)
        block: dict[str, Any] = {"anesthetic": anesthetic, "anesthetic_detail": detail, "pain_before": None,
                                 "diary": [], "activities_possible": None}  # fmt: skip
        diary: list[tuple[int, dict[str, Any]]] = []
        order = list(vocab.DIARY_TIMES)
        for o in observations:
            kind = self.observation_key(o)
            if kind == "block_pain_before":
                block["pain_before"] = self.score(o)
            elif kind == "block_activities_possible":
                block["activities_possible"] = o.get("valueBoolean")
            elif kind == "block_diary":
                concept = self.value(o, "diary-time", "CodeableConcept")
                time = self.key(o, "extension(diary-time)", concept, fhir.code_system("diary-time"))
                rank = order.index(time) if time in order else len(order)
                diary.append((rank, {"time": time, "pain": self.score(o)}))
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
        if moment.tzinfo is not None:
            moment = moment.astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError):  # not a time, or one the local zone cannot hold (year 1 at +14:00)
        return None
    return moment.strftime("%Y-%m-%dT%H:%M")


def bundle_to_cases(data: object, *, mrn_system: str, where: str) -> tuple[dict[str, Any], list[str]]:
    """The interchange file a FHIR bundle holds, and each case's Procedure address (to name it in problems)."""
    bundle = _read_bundle(data, where)
    problems: dict[Problem, None] = {}
    cases = [_Case(bundle, p, mrn_system, problems).read() for p in bundle.procedures]
    if problems:
        raise InvalidInput(list(problems))
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
