"""Moving a workstation's SQLite file into the clinic-wide database, and the network-share warning."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import text

from caselog import dashboard_tallies as tallies
from caselog.dashboard import DashboardService
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.db.transfer import copy_database, filesystem_of, storage_warnings
from caselog.demo import generate_cases
from caselog.errors import InvalidInput
from caselog.exchange import write_json
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case


def _export(db: Database) -> str:
    out = io.StringIO()
    write_json(CaseService(db).iter_cases(), out)
    return out.getvalue()


def test_copy_everything_history_included(tmp_path: Path, db: Database) -> None:
    source = open_database(tmp_path / "workstation.sqlite3")
    service = CaseService(source, today=lambda: TODAY)
    service.import_cases(case_file(make_case(status="final"), make_case()))
    service.update_case("2025-00001", make_case(notes="corrected"), reason="Wrong note")
    service.delete_case("2025-00002", reason="duplicate")
    copied = copy_database(source, db)
    assert copied["cases"] == 1 and copied["case_amendments"] == 1
    assert _export(db) == _export(source)
    # New cases in the target continue the numbering and get fresh ids.
    target = CaseService(db, today=lambda: TODAY)
    assert target.create_case(make_case()).case_number == "2025-00003"
    assert target.get_case("2025-00001").status == "amended"
    source.close()


def _counted_again(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the copy's dashboard counted its sides again")


@pytest.mark.parametrize("dashboard", ["opened", "opened, then a case deleted", "never opened"])
def test_copy_of_a_database_whose_dashboard_was_opened(
    tmp_path: Path, db: Database, dashboard: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workstation whose dashboard stored its tallies copies whole: the target's triggers marked every patient
    as the cases came in, and the source's marks (a deleted case's patient and the slice it left) and tallies stand
    instead (the same cases), so the target's dashboard counts only what the source would and shows its figures."""
    source = open_database(tmp_path / "workstation.sqlite3")
    service = CaseService(source, today=lambda: TODAY)
    numbers = service.add_records(generate_cases(120, seed=3, until=TODAY, years=2))
    if dashboard.startswith("opened"):
        DashboardService(service).build()
    if dashboard.endswith("deleted"):
        draft = next(n for n in numbers if service.get_case(n).status == "draft")
        service.delete_case(draft, reason="duplicate")
    with source.read() as session:
        marked = session.execute(text("SELECT count(*) FROM dashboard_stale")).scalar_one()
        left = session.execute(text("SELECT count(*) FROM dashboard_stale_slices")).scalar_one()
    if dashboard == "never opened":
        assert marked > 0 and left == 0
    else:
        assert (marked, left) == ((1, 1) if dashboard.endswith("deleted") else (0, 0))
    copied = copy_database(source, db)
    assert (copied["dashboard_stale"], copied["dashboard_stale_slices"]) == (marked, left)
    expected = DashboardService(service).build()
    if dashboard == "opened":
        monkeypatch.setattr(tallies, "count_sides", _counted_again)
    target = CaseService(db, today=lambda: TODAY)
    assert DashboardService(target).build() == expected
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM dashboard_stale")).scalar_one() == 0
        slices = session.execute(text("SELECT count(*) FROM dashboard_slices")).scalar_one()
    assert slices > 0
    source.close()


def test_copy_refuses_a_database_that_holds_cases(tmp_path: Path, db: Database) -> None:
    source = open_database(tmp_path / "workstation.sqlite3")
    CaseService(db, today=lambda: TODAY).create_case(make_case())
    with pytest.raises(InvalidInput, match="already holds 1 cases"):
        copy_database(source, db)
    source.close()


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/clinic rw,relatime shared:20 - nfs4 fileserver:/export rw,vers=4.2
41 22 0:36 / /mnt/clinic/local rw,relatime shared:21 - ext4 /dev/sdb1 rw
42 22 0:37 / /media/share\\040drive rw,relatime shared:22 - cifs //nas/share rw
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/home/ana/caselog.sqlite3", "ext4"),
        ("/mnt/clinic/caselog.sqlite3", "nfs4"),
        ("/mnt/clinic/local/caselog.sqlite3", "ext4"),
        ("/mnt/clinicx/caselog.sqlite3", "ext4"),
        ("/media/share drive/caselog.sqlite3", "cifs"),
    ],
)
def test_filesystem_of(path: str, expected: str) -> None:
    assert filesystem_of(Path(path), MOUNTINFO) == expected


def test_network_share_gets_a_warning_pointing_to_postgresql(tmp_path: Path) -> None:
    db = open_database(tmp_path / "c.sqlite3")
    here = str(tmp_path)
    nfs = f"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 0:35 / {here} rw - nfs4 server:/x rw\n"
    [warning] = storage_warnings(db, nfs)
    assert "network file system (nfs4)" in warning and "PostgreSQL" in warning
    assert storage_warnings(db, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n") == []
    db.close()
