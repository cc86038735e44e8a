"""CaseService.patients_like: the query behind the form's "Same person as MRN …?" question, on both databases."""

from __future__ import annotations

import datetime as dt

from caselog.service import CaseService
from tests.factories import make_case


def _patient(mrn: str, family: str, given: str, born: str) -> dict[str, str]:
    return {"mrn": mrn, "family_name": family, "given_name": given, "birth_date": born, "sex": "female"}


def test_patients_like_finds_the_same_name_and_birth_date_under_any_mrn(service: CaseService) -> None:
    service.create_case(make_case(patient=_patient("P-10", "Nguyễn", "Thị Hồng", "1961-04-12")))
    service.create_case(make_case(patient=_patient("P-11", "NGUYỄN", "thị  hồng", "1961-04-12")))
    service.create_case(make_case(patient=_patient("P-12", "Nguyễn", "Thị Hồng", "1961-04-13")))
    service.create_case(make_case(patient=_patient("P-13", "Nguyễn", "Lan", "1961-04-12")))
    found = service.patients_like(family_name="nguyễn ", given_name="Thị Hồng", birth_date=dt.date(1961, 4, 12))
    assert [p.mrn for p in found] == ["P-10", "P-11"]  # case and spacing aside; other birth dates and names not
    assert service.patients_like(family_name="Nguyễn", given_name="", birth_date=dt.date(1961, 4, 12)) == []
    assert service.patients_like(family_name="Smith", given_name="Thị Hồng", birth_date=dt.date(1961, 4, 12)) == []


def test_patients_like_matches_a_mononym_only_to_a_mononym(service: CaseService) -> None:
    service.create_case(make_case(patient=_patient("M-1", "Suharto", "", "1950-01-01")))
    assert [
        p.mrn for p in service.patients_like(family_name="Suharto", given_name="", birth_date=dt.date(1950, 1, 1))
    ] == ["M-1"]
    assert service.patients_like(family_name="Suharto", given_name="Budi", birth_date=dt.date(1950, 1, 1)) == []
