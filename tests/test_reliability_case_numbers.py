"""Case numbers keep the contract's form YYYY-NNNNN whatever numbers an import gave before."""

from __future__ import annotations

from caselog.errors import InvalidInput
from caselog.service import CaseService
from caselog.validation import CASE_NUMBER_RE
from tests.factories import case_file, simple_case


def test_a_given_last_number_of_the_year_never_yields_a_six_digit_number(service: CaseService) -> None:
    service.import_cases(case_file(simple_case("2025-01-02", case_number="2025-99999")))
    try:
        numbers = service.import_cases(case_file(simple_case("2025-01-03", patient={**simple_case("x")["patient"]})))
    except InvalidInput as refused:
        print(f"\ncase numbers: the 100,000th number of 2025 is refused: {refused.message}")
        return
    print(f"\ncase numbers: after 2025-99999 the next case got {numbers}")
    assert all(CASE_NUMBER_RE.fullmatch(n) for n in numbers), numbers
