"""FHIR R4 export and import: the bundle validates with fhir.resources, its references resolve inside it, its
ids are stable, and exporting then importing into an empty database gives the same cases."""

from __future__ import annotations

import copy
import io
import json
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from caselog import exports, fhir
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import InvalidInput
from caselog.fhir_import import bundle_to_cases, import_bundle
from caselog.records import CaseFilter, case_to_contract
from caselog.service import CaseService
from caselog.validation import validate_file
from tests.conftest import drop_pg_database, new_pg_database
from tests.factories import TODAY, case_file, make_case
from tests.helpers.sample_cases import sample_cases, sample_file

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7777.1"


def export_bundle(service: CaseService, case_filter: CaseFilter | None = None) -> dict[str, Any]:
    out = io.StringIO()
    exports.stream_cases(service, case_filter or CaseFilter(), "fhir", out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if kind is None or e["resource"]["resourceType"] == kind]


def references(value: Any) -> Iterator[str]:
    """Every `reference` anywhere inside a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def contract_cases(service: CaseService) -> list[dict[str, Any]]:
    return [case_to_contract(v.record) for v in service.iter_cases(CaseFilter())]


@pytest.fixture
def sample(service: CaseService) -> CaseService:
    service.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, MRN_SYSTEM)
    service.import_cases(sample_file())
    return service


@pytest.fixture
def empty_twin(db_target: str, tmp_path: Path, sqlite_template: Path) -> Iterator[CaseService]:
    """A second, empty database on the same backend, to import into."""
    if db_target.startswith("postgresql"):
        url = new_pg_database()
        database = open_database(url)
        try:
            yield CaseService(database, today=lambda: TODAY)
        finally:
            database.close()
            drop_pg_database(url)
        return
    path = tmp_path / "twin.sqlite3"
    shutil.copy(sqlite_template, path)
    database = open_database(path)
    yield CaseService(database, today=lambda: TODAY)
    database.close()


def test_the_sample_exports_as_a_bundle_that_validates_as_fhir_r4(sample: CaseService) -> None:
    """The 8-case sample's bundle passes fhir.resources' R4 models, resource by resource."""
    data = export_bundle(sample)
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection" and len(bundle.entry) == len(data["entry"])
    kinds = Counter(r["resourceType"] for r in resources(data))
    assert kinds["Procedure"] == kinds["Encounter"] == 8
    assert kinds["Patient"] == len({c["patient"]["mrn"] for c in sample_cases()}) == 5
    names = {c["surgeon"] for c in sample_cases()}
    names |= {a for c in sample_cases() for a in c.get("assistants") or []}
    names |= {c["anesthesia"].get("provider") for c in sample_cases()} - {None}
    assert kinds["Practitioner"] == len(names)
    assert kinds["Location"] == 2
    complications = sum(len(c.get("complications") or []) for c in sample_cases())
    diagnoses = sum(len(c.get("diagnosis_codes") or []) for c in sample_cases())
    assert kinds["Condition"] == complications + diagnoses
    ids = [r["id"] for r in resources(data)]
    assert len(ids) == len(set(ids)), "each resource once"


def test_every_reference_resolves_inside_the_bundle(sample: CaseService) -> None:
    data = export_bundle(sample)
    full_urls = {e["fullUrl"]: e["resource"] for e in data["entry"]}
    assert all(url == f"urn:uuid:{r['id']}" for url, r in full_urls.items())
    found = [ref for r in resources(data) for ref in references(r)]
    assert len(found) > 100
    assert [ref for ref in found if ref not in full_urls] == []
    for procedure in resources(data, "Procedure"):
        assert full_urls[procedure["subject"]["reference"]]["resourceType"] == "Patient"
        assert full_urls[procedure["encounter"]["reference"]]["resourceType"] == "Encounter"
        for ref in procedure.get("complicationDetail", []):
            assert full_urls[ref["reference"]]["resourceType"] == "Condition"


def test_the_resources_say_what_the_case_says(sample: CaseService) -> None:
    """Codes and systems as docs/format.md states them, on the full rhizotomy (2025-00001)."""
    data = export_bundle(sample, CaseFilter(search="2025-00001"))
    [procedure] = resources(data, "Procedure")
    [patient] = resources(data, "Patient")
    assert patient["identifier"][0]["system"] == MRN_SYSTEM and patient["identifier"][0]["value"] == "MRN-1001"
    assert patient["name"] == [{"use": "official", "family": "Nguyễn", "given": ["Thị Hồng"]}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1961-04-12")
    assert procedure["status"] == "completed"
    cpt = [c["code"] for c in procedure["code"]["coding"] if c["system"] == "http://www.ama-assn.org/go/cpt"]
    assert cpt == ["64635", "64636"]
    assert procedure["code"]["text"] == "Endoscopic rhizotomy (facet medial branch)"
    assert procedure["performedPeriod"]["start"].startswith("2025-03-14T08:30:00")
    assert [s["text"] for s in procedure["bodySite"]] == ["L4-L5 bilateral", "L5-S1 left"]
    laterality = [s["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] for s in procedure["bodySite"]]
    assert laterality == ["51440002", "7771000"]  # SNOMED CT: right and left; left
    functions = [p["function"]["coding"][0]["code"] for p in procedure["performer"]]
    assert functions == ["surgeon", "assistant", "anesthesia_provider"]
    assert procedure["note"] == [{"text": "Tolerated well.\nDischarged with a diary."}]
    assert [f["text"] for f in procedure["followUp"]] == ["6 weeks"]
    [diagnosis, complication] = resources(data, "Condition")
    assert diagnosis["code"]["coding"] == [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M47.816"}]
    assert complication["severity"]["coding"][0]["code"] == "I" and complication["onsetDateTime"] == "2025-03-16"
    assert procedure["complicationDetail"] == [{"reference": f"urn:uuid:{complication['id']}"}]
    pain = [o for o in resources(data, "Observation") if o["code"]["coding"][0]["code"] == "72514-3"]
    assert sorted((o["valueInteger"], o["bodySite"]["text"], o["effectiveDateTime"]) for o in pain) == [
        (2, "Back", "2025-04-25"), (3, "Leg", "2025-03-01"), (8, "Back", "2025-03-01")]  # fmt: skip
    odi = [o for o in resources(data, "Observation") if o["code"]["coding"][0]["code"] == "odi"]
    assert [o["valueInteger"] for o in odi] == [46]
    [encounter] = resources(data, "Encounter")
    assert encounter["class"]["code"] == "AMB" and encounter["status"] == "finished"


def test_a_resolved_complication_is_abated_and_a_block_diary_is_observed(sample: CaseService) -> None:
    data = export_bundle(sample, CaseFilter(procedure="laminectomy"))
    tear, hematoma = (r for r in resources(data, "Condition") if "severity" in r)
    assert tear["abatementDateTime"] == "2025-02-03" and tear["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert hematoma["severity"]["coding"][0]["code"] == "II"
    blocks = export_bundle(sample, CaseFilter(procedure="medial_branch_block"))
    diary = [o for o in resources(blocks, "Observation") if o["code"]["coding"][-1]["code"] == "block_diary"]
    assert sorted(o["valueInteger"] for o in diary) == [1, 1, 2, 4, 5]
    assert all(o["partOf"][0]["reference"].startswith("urn:uuid:") for o in diary)


def test_ids_are_stable_so_a_re_export_updates_instead_of_duplicating(sample: CaseService) -> None:
    first, second = export_bundle(sample), export_bundle(sample)
    assert first["id"] != second["id"]  # two bundles, the same resources
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]
    alone = export_bundle(sample, CaseFilter(search="2025-00001"))
    assert {e["fullUrl"] for e in alone["entry"]} <= {e["fullUrl"] for e in first["entry"]}
    # Another clinic's case 2025-00001 of its own MRN-1001 is another resource.
    sample.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, "urn:oid:1.2.3.4")
    elsewhere = export_bundle(sample, CaseFilter(search="2025-00001"))
    assert not {e["fullUrl"] for e in elsewhere["entry"]} & {e["fullUrl"] for e in alone["entry"]}


def test_export_then_import_into_an_empty_database_gives_the_same_cases(
    sample: CaseService, empty_twin: CaseService
) -> None:
    """Everything the sample holds travels through FHIR: the cases read back equal, and export again as the same
    resources."""
    data = export_bundle(sample)
    empty_twin.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, MRN_SYSTEM)
    numbers = import_bundle(empty_twin, json.loads(json.dumps(data)), where="bundle.json")
    assert sorted(numbers) == sorted(v.case_number for v in sample.iter_cases(CaseFilter()))
    assert contract_cases(empty_twin) == contract_cases(sample)
    again = export_bundle(empty_twin)
    assert [e["resource"] for e in again["entry"]] == [e["resource"] for e in data["entry"]]


def test_a_bundle_missing_what_a_case_needs_is_refused_naming_the_resource(
    sample: CaseService, empty_twin: CaseService
) -> None:
    data = export_bundle(sample, CaseFilter(search="2025-00001"))
    [procedure] = resources(data, "Procedure")
    [patient] = resources(data, "Patient")
    del procedure["performer"]
    del patient["birthDate"]
    procedure["extension"] = [e for e in procedure["extension"] if not e["url"].endswith("anesthesia")]
    empty_twin.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, MRN_SYSTEM)
    with pytest.raises(InvalidInput) as refused:
        import_bundle(empty_twin, data, where="bundle.json")
    lines = refused.value.lines()
    surgeon = "missing: the surgeon (a performer whose function is surgeon)"
    assert f"Procedure/{procedure['id']}.performer: {surgeon}" in lines
    assert f"Patient/{patient['id']}.birthDate: missing: the patient's birth date" in lines
    assert f"Procedure/{procedure['id']}.extension(anesthesia).type: missing: the anesthesia type" in lines
    assert empty_twin.count() == 0


def test_a_rule_of_the_contract_is_named_by_the_case_s_procedure(sample: CaseService, empty_twin: CaseService) -> None:
    """All or nothing: one case breaking a rule keeps every case of the bundle out."""
    data = export_bundle(sample)
    procedure = resources(data, "Procedure")[3]
    procedure["bodySite"][0]["coding"][0]["code"] = "L6-L7"
    empty_twin.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, MRN_SYSTEM)
    with pytest.raises(InvalidInput) as refused:
        import_bundle(empty_twin, data, where="bundle.json")
    assert refused.value.lines() == [f"Procedure/{procedure['id']}: levels[0].level: unknown level 'L6-L7'"]
    assert empty_twin.count() == 0


def test_mrns_of_another_system_are_not_taken_for_the_clinic_s(sample: CaseService, empty_twin: CaseService) -> None:
    """Another hospital's MRN 1001 is not this clinic's patient 1001: the import refuses rather than mix them."""
    data = export_bundle(sample, CaseFilter(search="2025-00001"))
    empty_twin.set_clinic_setting(fhir.MRN_SYSTEM_SETTING, "urn:oid:9.9.9")
    [patient] = resources(data, "Patient")
    with pytest.raises(InvalidInput) as refused:
        import_bundle(empty_twin, data, where="bundle.json")
    assert refused.value.lines() == [
        f"Patient/{patient['id']}.identifier: missing: an MRN of this clinic's system urn:oid:9.9.9"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "caselog-cases", "version": 2, "cases": []}, 'in.json: is not a FHIR Bundle'),
        ({"resourceType": "Bundle", "type": "history", "entry": []}, "Bundle.type: 'history' is not a bundle"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]},
         "Bundle.entry[0]: holds no resource"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient",
          "id": "p"}}]}, "in.json: holds no Procedure"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Procedure",
          "id": "p", "subject": "Patient/1", "bodySite": "L4", "performer": [7], "extension": {}}}]},
         "Procedure/p.subject: missing: a reference to the Patient"),
    ],
)  # fmt: skip
def test_what_is_not_a_caselog_bundle_is_refused_without_a_crash(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        bundle_to_cases(data, mrn_system=MRN_SYSTEM, where="in.json")
    assert any(line.startswith(message) for line in refused.value.lines()), refused.value.lines()


def test_the_mrn_system_must_be_an_absolute_uri() -> None:
    assert fhir.check_mrn_system(" urn:oid:1.2.3 ") == "urn:oid:1.2.3"
    assert fhir.check_mrn_system("https://hospital.example/mrn") == "https://hospital.example/mrn"
    for bad in ("", "hospital mrn", "1.2.3", "urn:oid:1 2", "urn:oid:1\x002", "urn:oid:1.2.é", "x:" + "a" * 300):
        with pytest.raises(InvalidInput):
            fhir.check_mrn_system(bad)


def test_an_unset_mrn_system_exports_under_the_documented_default(service: CaseService) -> None:
    service.import_cases(case_file(make_case()))
    [patient] = resources(export_bundle(service), "Patient")
    assert patient["identifier"][0]["system"] == fhir.DEFAULT_MRN_SYSTEM == "urn:caselog:mrn"


def test_the_export_is_audited_and_written_whole(sample: CaseService, db: Database, tmp_path: Path) -> None:
    target = tmp_path / "cases.fhir.json"
    assert exports.export_cases(sample, CaseFilter(status="final"), "fhir", target) == 2
    Bundle.model_validate_json(target.read_text(encoding="utf-8"))
    [entry] = [e for e in sample.audit_trail() if e.action == "export"]
    assert entry.details == {"format": "fhir", "cases": 2, "filters": {"status": "final"}, "file": str(target)}


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _nodes(item, (*path, key))


ODD_VALUES: list[Any] = [None, 7, -1, 1.5, True, "", "x", "0001-01-01T00:00:00+14:00", "2025-13-40", [], {}, [7],
                         {"reference": 7}, {"coding": "x"}, [{"url": 7}]]  # fmt: skip


def test_a_damaged_bundle_is_refused_with_messages_never_a_crash(sample: CaseService) -> None:
    """Any element of a real bundle replaced by a value of the wrong kind: read and validated, the outcome is
    cases or named problems (exit 2), never an exception a user would see as a crash."""
    data = export_bundle(sample)
    paths = list(_nodes(data))[1:]
    rng = random.Random(16)
    refused = 0
    for _ in range(600):
        damaged = copy.deepcopy(data)
        *parents, last = rng.choice(paths)
        holder: Any = damaged
        for key in parents:
            holder = holder[key]
        holder[last] = rng.choice(ODD_VALUES)
        try:
            content, _ = bundle_to_cases(damaged, mrn_system=MRN_SYSTEM, where="in.json")
        except InvalidInput as exc:
            assert exc.lines() and all(": " in line for line in exc.lines())
            refused += 1
            continue
        _, problems = validate_file(content, today=TODAY)
        refused += bool(problems)
    assert refused > 300  # most damage is noticed; the rest hit elements CaseLog does not read (displays, ids)


def test_damage_that_would_lose_data_silently_is_named(sample: CaseService) -> None:
    """An orphaned outcome, a second surgeon, an unknown role, a volume without a number: each refused by name
    rather than dropped (a damaged bundle must not import as a case with less in it)."""
    data = export_bundle(sample, CaseFilter(procedure="medial_branch_block"))
    first, second = resources(data, "Procedure")
    observation = next(o for o in resources(data, "Observation") if o.get("partOf") == [reference_to(second)])
    observation["partOf"] = [{"reference": "urn:uuid:nobody"}]
    first["performer"].append(dict(first["performer"][0]))
    second["performer"][0]["function"]["coding"][0]["code"] = "scrub_nurse"
    first["bodySite"][0]["extension"][1]["valueQuantity"]["value"] = None
    with pytest.raises(InvalidInput) as refused:
        bundle_to_cases(data, mrn_system=MRN_SYSTEM, where="in.json")
    assert refused.value.lines() == [
        f"Observation/{observation['id']}: refers to no Procedure of this bundle (focus or partOf): whose case it "
        "belongs to is unknown"
    ]
    observation["partOf"] = [reference_to(second)]
    with pytest.raises(InvalidInput) as refused:
        bundle_to_cases(data, mrn_system=MRN_SYSTEM, where="in.json")
    assert refused.value.lines() == [
        f"Procedure/{first['id']}.bodySite[0].extension(injected-volume).valueQuantity: must be a quantity with a "
        "value",
        f"Procedure/{first['id']}.performer: names more than one surgeon; a case has one",
        f"Procedure/{second['id']}.performer[0].function: 'scrub_nurse' is not a role CaseLog records",
        f"Procedure/{second['id']}.performer: missing: the surgeon (a performer whose function is surgeon)",
    ]


def reference_to(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def test_an_empty_bundle_imports_no_case(service: CaseService) -> None:
    """An export that selected nothing reads back as nothing, as an empty JSON file does."""
    assert import_bundle(service, export_bundle(service), where="empty.fhir.json") == []
