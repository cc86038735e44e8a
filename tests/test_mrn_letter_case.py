"""An MRN typed in another letter case than the registered one is refused, not filed as a second patient."""

from __future__ import annotations

import pytest

from caselog.errors import InvalidInput
from caselog.service import CaseService
from tests.factories import case_file, make_case


def _patient(mrn: str) -> dict[str, object]:
    return {"mrn": mrn, "family_name": "Nguyễn", "given_name": "Thị Hồng", "birth_date": "1961-03-14",
            "sex": "female"}  # fmt: skip


def test_a_new_case_with_the_mrn_in_other_letters_is_refused(service: CaseService) -> None:
    service.create_case(make_case(patient=_patient("MRN-AB12")))
    with pytest.raises(InvalidInput) as refused:
        service.create_case(make_case(patient=_patient("mrn-ab12")))
    problem = refused.value.problems[0]
    assert problem.path == "patient.mrn"
    assert problem.message == ("MRN mrn-ab12 differs from the registered MRN MRN-AB12 only in letter case: type it "
                               "as MRN-AB12 (one patient, one MRN)")  # fmt: skip
    assert service.count() == 1
    service.create_case(make_case(patient=_patient("MRN-AB12")))  # typed the same way: the same patient
    assert service.count() == 2


def test_an_import_with_two_spellings_of_one_mrn_writes_nothing(service: CaseService) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.import_cases(case_file(make_case(patient=_patient("Mrn-7")), make_case(patient=_patient("MRN-7"))))
    assert [p.path for p in refused.value.problems] == ["cases[1].patient.mrn"]
    assert "differs from MRN Mrn-7 at cases[0].patient only in letter case" in refused.value.problems[0].message
    assert service.count() == 0
