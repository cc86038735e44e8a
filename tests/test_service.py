"""The service layer on a real database (SQLite, and PostgreSQL when a server is given)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from caselog.db.models import CaseAmendmentRow, PatientRow, TreatedLevelRow
from caselog.errors import Conflict, InvalidInput, NotFound, NotPermitted
from caselog.records import CaseFilter, case_to_contract
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case


def _patient(mrn: str, family: str = "Иванова", given: str = "Мария", born: str = "1955-05-05") -> dict[str, str]:
    return {"mrn": mrn, "family_name": family, "given_name": given, "birth_date": born, "sex": "female"}


def test_create_assigns_running_numbers_per_year(service: CaseService) -> None:
    first = service.create_case(make_case())
    second = service.create_case(make_case())
    older = service.create_case(simple_case("2024-12-31"))
    assert (first.case_number, second.case_number, older.case_number) == ("2025-00001", "2025-00002", "2024-00001")
    assert first.version == 1 and first.status == "draft"


def test_created_case_reads_back_exactly(service: CaseService) -> None:
    view = service.create_case(make_case())
    got = service.get_case(view.case_number)
    expected = make_case()
    exported = case_to_contract(got.record)
    assert exported["patient"] == expected["patient"]
    assert exported["levels"] == expected["levels"]
    assert exported["complications"][0]["review_status"] == "open"
    assert exported["outcomes"][1] == {
        "timepoint": "6w", "date": "2025-04-25", "nrs_back": 2, "nrs_leg": None, "odi": None, "relief_percent": 75,
    }  # fmt: skip


def test_import_keeps_given_numbers_and_automatic_numbers_skip_them(service: CaseService) -> None:
    numbers = service.import_cases(case_file(make_case(case_number="2025-00002"), make_case(), make_case()))
    assert numbers == ["2025-00002", "2025-00001", "2025-00003"]
    assert service.create_case(make_case()).case_number == "2025-00004"


def test_import_refuses_a_used_number_and_writes_nothing(service: CaseService) -> None:
    service.create_case(make_case())
    with pytest.raises(InvalidInput) as caught:
        service.import_cases(case_file(make_case(), make_case(case_number="2025-00001")))
    assert [str(p) for p in caught.value.problems] == ["cases[1].case_number: 2025-00001 is already in use"]
    assert service.count() == 1


def test_import_is_all_or_nothing(service: CaseService) -> None:
    bad = make_case()
    bad["levels"][0]["level"] = "L6-L7"
    with pytest.raises(InvalidInput) as caught:
        service.import_cases(case_file(make_case(), make_case(), bad))
    assert "cases[2].levels[0].level: unknown level 'L6-L7'" in caught.value.lines()
    assert service.count() == 0


def test_one_mrn_is_one_patient(service: CaseService) -> None:
    service.create_case(make_case(patient=_patient("P-1")))
    service.create_case(make_case(patient=_patient("P-1")))
    with service.db.read() as session:
        assert session.scalar(select(func.count()).select_from(PatientRow)) == 1
    with pytest.raises(InvalidInput) as caught:
        service.create_case(make_case(patient=_patient("P-1", given="Анна")))
    message = caught.value.lines()[0]
    assert message.startswith("patient: MRN P-1 is already registered to Иванова, Мария (born 1955-05-05, female)")
    assert "this case gives Иванова, Анна (born 1955-05-05, female)" in message
    assert service.count() == 2


def test_same_mrn_different_patient_within_one_file(service: CaseService) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.import_cases(
            case_file(make_case(patient=_patient("P-2")), make_case(patient=_patient("P-2", born="1956-01-01")))
        )
    assert caught.value.lines()[0].startswith("cases[1].patient: MRN P-2 is Иванова, Мария (born 1955-05-05, female)")
    assert service.count() == 0


def test_update_replaces_content_and_bumps_version(service: CaseService) -> None:
    view = service.create_case(make_case())
    changed = make_case(levels=[{"level": "L3-L4", "side": "right"}], notes="Revised note")
    updated = service.update_case(view.case_number, changed, expected_version=1)
    assert updated.version == 2 and updated.status == "draft"
    assert updated.record.levels_text == "L3-L4 right"
    with service.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TreatedLevelRow)) == 1


def test_stale_update_is_refused_and_nothing_changes(service: CaseService) -> None:
    view = service.create_case(make_case())
    service.update_case(view.case_number, make_case(notes="first editor"), expected_version=1)
    with pytest.raises(Conflict) as caught:
        service.update_case(view.case_number, make_case(notes="second editor"), expected_version=1)
    assert "changed by someone else" in caught.value.message
    assert service.get_case(view.case_number).record.notes == "first editor"


def test_update_of_signed_case_needs_reason_and_becomes_amended(service: CaseService) -> None:
    [number] = service.import_cases(case_file(make_case(status="final")))
    with pytest.raises(InvalidInput) as caught:
        service.update_case(number, make_case(notes="changed"))
    assert caught.value.lines() == [f"reason: case {number} is signed: an amendment needs a reason"]
    amended = service.update_case(number, make_case(notes="changed"), reason="Wrong side recorded")
    assert amended.status == "amended" and amended.version == 2
    with service.db.read() as session:
        row = session.execute(select(CaseAmendmentRow)).scalar_one()
        assert row.reason == "Wrong side recorded"
        assert json.loads(row.previous_content)["notes"] == "Tolerated well."


def test_a_draft_cannot_be_signed_by_update(service: CaseService) -> None:
    view = service.create_case(make_case())
    with pytest.raises(InvalidInput):
        service.update_case(view.case_number, make_case(status="final"))


def test_update_unknown_case_is_not_found(service: CaseService) -> None:
    with pytest.raises(NotFound):
        service.update_case("2025-09999", make_case())


def test_correcting_a_patient_with_one_case_updates_the_patient(service: CaseService) -> None:
    view = service.create_case(make_case(patient=_patient("P-3")))
    service.update_case(view.case_number, make_case(patient=_patient("P-3", given="Мариа")))
    assert service.find_patient("P-3") is not None
    assert service.find_patient("P-3").given_name == "Мариа"  # type: ignore[union-attr]


def test_patient_with_other_cases_cannot_be_changed_through_one(service: CaseService) -> None:
    view = service.create_case(make_case(patient=_patient("P-4")))
    service.create_case(make_case(patient=_patient("P-4")))
    with pytest.raises(InvalidInput):
        service.update_case(view.case_number, make_case(patient=_patient("P-4", family="Ivanova")))


def test_delete_draft_only(service: CaseService) -> None:
    draft = service.create_case(make_case())
    [signed] = service.import_cases(case_file(make_case(status="final")))
    with pytest.raises(InvalidInput):
        service.delete_case(draft.case_number, reason="  ")
    service.delete_case(draft.case_number, reason="Entered twice")
    with pytest.raises(NotFound):
        service.get_case(draft.case_number)
    with pytest.raises(NotPermitted):
        service.delete_case(signed, reason="oops")
    assert service.count() == 1


def test_deleting_the_last_case_of_a_patient_removes_the_patient(service: CaseService) -> None:
    view = service.create_case(make_case(patient=_patient("P-5")))
    service.delete_case(view.case_number, reason="test entry")
    assert service.find_patient("P-5") is None


def _seed(service: CaseService) -> None:
    service.import_cases(
        case_file(
            make_case(patient=_patient("A-1", "Smith", "Ann")),
            simple_case("2025-01-10", procedure="radiofrequency_ablation", surgeon="Dr. Henrik Lindqvist",
                        levels=[{"level": "C4-C5", "side": "left"}], notes="Cervical ablation after good block",
                        patient=_patient("B-2", "Παπαδοπούλου", "Ελένη")),
            simple_case("2024-11-02", procedure="laminectomy", status="final",
                        levels=[{"level": "L3-L4", "side": "bilateral"}],
                        patient=_patient("C-3", "Dvořáková", "Kateřina")),
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case_filter", "expected"),
    [
        (CaseFilter(), ["2024-00001", "2025-00002", "2025-00001"]),
        (CaseFilter(date_from=dt.date(2025, 1, 10)), ["2025-00002", "2025-00001"]),
        (CaseFilter(date_to=dt.date(2025, 1, 10)), ["2024-00001", "2025-00002"]),
        (CaseFilter(date_from=dt.date(2025, 1, 10), date_to=dt.date(2025, 1, 10)), ["2025-00002"]),
        (CaseFilter(surgeon="Dr. Henrik Lindqvist"), ["2025-00002"]),
        (CaseFilter(procedure="laminectomy"), ["2024-00001"]),
        (CaseFilter(level="L4-L5"), ["2025-00001"]),
        (CaseFilter(level="C4-C5"), ["2025-00002"]),
        (CaseFilter(status="final"), ["2024-00001"]),
        (CaseFilter(with_complications=True), ["2025-00001"]),
        (CaseFilter(search="παπαδοπούλου"), ["2025-00002"]),
        (CaseFilter(search="DVOŘÁK"), ["2024-00001"]),
        (CaseFilter(search="c-3"), ["2024-00001"]),
        (CaseFilter(search="2025-00001"), ["2025-00001"]),
        (CaseFilter(search="good block"), ["2025-00002"]),
        (CaseFilter(search="%"), []),
        (CaseFilter(procedure="laminectomy", status="draft"), []),
    ],
)
def test_filters(service: CaseService, case_filter: CaseFilter, expected: list[str]) -> None:
    _seed(service)
    assert [r.case_number for r in service.query(case_filter)] == expected
    assert service.count(case_filter) == len(expected)
    assert [v.case_number for v in service.iter_cases(case_filter)] == expected


def test_list_rows_summarise_levels_and_complications(service: CaseService) -> None:
    _seed(service)
    [row] = service.query(CaseFilter(with_complications=True))
    assert row.case_number == "2025-00001"
    assert row.levels_text == "L4-L5 bilateral; L5-S1 left"
    assert (row.complication_count, row.worst_grade) == (1, "I")
    assert row.patient_name == "Smith, Ann"


def test_paging_and_sorting(service: CaseService) -> None:
    _seed(service)
    newest_first = service.query(sort="procedure_date", descending=True)
    assert [r.case_number for r in newest_first] == ["2025-00001", "2025-00002", "2024-00001"]
    # Dvořáková, Smith, Παπαδοπούλου: the second by family name
    assert [r.case_number for r in service.query(sort="patient", offset=1, limit=1)] == ["2025-00001"]


def test_iter_cases_streams_in_batches(service: CaseService) -> None:
    service.import_cases(case_file(*[make_case() for _ in range(1203)]))
    numbers = [v.case_number for v in service.iter_cases()]
    assert len(numbers) == 1203 and numbers == sorted(numbers)
