"""Settings: defaults, round trip, bad files, and the server URL with its password kept out of the file."""

from __future__ import annotations

import json
from pathlib import Path

from caselog.settings import Settings, load_settings, postgresql_url, save_settings, settings_path


def test_missing_or_broken_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.json") == Settings()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert load_settings(broken) == Settings()


def test_round_trip_and_owner_only(tmp_path: Path) -> None:
    settings = Settings(facility_name="Riverside Spine Center", pg_port=6543, templates={"L4-L5": {"levels": []}})
    save_settings(settings, tmp_path / "s.json")
    assert load_settings(tmp_path / "s.json") == settings
    assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o600


def test_wrongly_typed_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"facility_name": 42, "pg_port": "5432", "default_surgeon": "Dr. Raman"}))
    loaded = load_settings(path)
    assert loaded.facility_name == "" and loaded.pg_port == 5432 and loaded.default_surgeon == "Dr. Raman"


def test_default_location_is_the_data_folder(tmp_path: Path) -> None:
    save_settings(Settings(facility_name="X"))
    assert settings_path().parent == tmp_path / "home"
    assert load_settings().facility_name == "X"


def test_postgresql_url_and_no_password_in_file(tmp_path: Path) -> None:
    settings = Settings(pg_host="db.clinic.local", pg_user="caselog", pg_database="caselog")
    assert (
        postgresql_url(settings, "s3cr3t/!") == "postgresql+psycopg://caselog:s3cr3t%2F%21@db.clinic.local:5432/caselog"
    )
    save_settings(settings, tmp_path / "s.json")
    assert "s3cr3t" not in (tmp_path / "s.json").read_text()
