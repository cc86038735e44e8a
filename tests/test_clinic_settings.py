"""Clinic-wide settings: kept in the database, changed by administrators only, each change audited."""

from __future__ import annotations

import pytest

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.errors import NotPermitted
from caselog.service import CaseService

PASSWORD = "correct horse battery"
ADMIN = Actor("boss", "Clinic Admin", "admin")
COORDINATOR = Actor("cole", "Cole Mendez", "coordinator")


def test_a_setting_is_absent_until_set_then_kept_and_audited(service: CaseService) -> None:
    assert service.clinic_setting("mrn_system") is None
    service.set_clinic_setting("mrn_system", "urn:oid:1.2.3")
    service.set_clinic_setting("mrn_system", {"system": "urn:oid:1.2.4", "note": "Ünïcode"})
    assert service.clinic_setting("mrn_system") == {"system": "urn:oid:1.2.4", "note": "Ünïcode"}
    entries = [e for e in service.audit_trail() if e.action == "clinic_setting"]
    assert [e.changes["mrn_system"] for e in entries] == [
        [None, "urn:oid:1.2.3"],
        ["urn:oid:1.2.3", {"system": "urn:oid:1.2.4", "note": "Ünïcode"}],
    ]


def test_only_an_administrator_changes_a_setting_and_anyone_signed_in_reads_it(db: Database) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, ADMIN).add_account("cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD)
    CaseService(db, actor=ADMIN).set_clinic_setting("mrn_system", "urn:oid:9")
    coordinator = CaseService(db, actor=COORDINATOR)
    assert coordinator.clinic_setting("mrn_system") == "urn:oid:9"
    with pytest.raises(NotPermitted):
        coordinator.set_clinic_setting("mrn_system", "urn:oid:evil")
    with pytest.raises(NotPermitted):
        CaseService(db).clinic_setting("mrn_system")  # nobody signed in
    assert CaseService(db, actor=ADMIN).clinic_setting("mrn_system") == "urn:oid:9"
