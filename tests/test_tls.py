"""TLS to the clinic's PostgreSQL server: the settings put libpq's options in the URL, the app can tell whether
the live connection is encrypted, and a TLS failure reads as what it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from caselog.db.engine import Database, database_url
from caselog.db.schema import open_database
from caselog.db.tls import connection_encrypted, describe_tls_error
from caselog.settings import Settings, postgresql_url
from tests.helpers.tls import server_offers_tls, with_query


def test_the_settings_tls_options_reach_the_url_as_libpq_names_them() -> None:
    settings = Settings(
        pg_host="db.clinic.local", pg_user="caselog", pg_sslmode="verify-full",
        pg_sslrootcert="/etc/caselog/clinic-ca.crt", pg_sslcert="/etc/caselog/me.crt", pg_sslkey="/etc/caselog/me.key",
    )  # fmt: skip
    url = database_url(postgresql_url(settings, "pw"))
    assert url.drivername == "postgresql+psycopg" and url.host == "db.clinic.local"
    assert dict(url.query) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/caselog/clinic-ca.crt",
        "sslcert": "/etc/caselog/me.crt",
        "sslkey": "/etc/caselog/me.key",
    }


def test_libpqs_default_mode_and_empty_files_are_left_out() -> None:
    url = make_url(postgresql_url(Settings(pg_host="db", pg_user="u", pg_sslmode="prefer"), None))
    assert dict(url.query) == {}
    url = make_url(postgresql_url(Settings(pg_host="db", pg_user="u", pg_sslmode="disable"), None))
    assert dict(url.query) == {"sslmode": "disable"}


def test_a_file_has_no_network_connection_to_judge(sqlite_template: Path) -> None:
    db = open_database(sqlite_template)
    try:
        assert connection_encrypted(db) is None
    finally:
        db.close()


@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_clear_text_connection_is_reported_unencrypted(db_target: str) -> None:
    """`sslmode=disable` never encrypts, whatever the server offers: the app must be able to say so."""
    db: Database = open_database(with_query(db_target, sslmode="disable"))
    try:
        assert connection_encrypted(db) is False
    finally:
        db.close()


@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_requiring_tls_from_a_server_without_it_fails_with_a_clear_message(db_target: str) -> None:
    if server_offers_tls(db_target):
        pytest.skip("this test server offers TLS")
    target = with_query(db_target, sslmode="require")
    with pytest.raises(OperationalError) as raised:
        open_database(target)
    friendly = describe_tls_error(raised.value, make_url(target))
    assert friendly is not None
    assert "does not accept encrypted (TLS) connections" in friendly.message and "sslmode=require" in friendly.message
    assert "password" not in friendly.message.lower()


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ('root certificate file "/x/ca.crt" does not exist', "CA file (sslrootcert)"),
        ("SSL error: certificate verify failed", "not signed by the CA file"),
        ('server certificate for "db.other" does not match host name "db.clinic.local"', "names another host"),
        ('invalid sslmode value: "bogus"', "is not a TLS mode"),
        ('could not open certificate file "/x/me.crt": No such file', "client certificate (sslcert)"),
        ('could not load private key file "/x/me.key"', "certificate's key (sslkey)"),
    ],
)
def test_each_tls_failure_is_named(said: str, expected: str) -> None:
    friendly = describe_tls_error(Exception(said), make_url("postgresql+psycopg://u@db.clinic.local/caselog"))
    assert friendly is not None and expected in friendly.message and "db.clinic.local:5432" in friendly.message


def test_other_failures_are_left_to_the_usual_messages() -> None:
    url = make_url("postgresql+psycopg://u@db.clinic.local/caselog")
    assert describe_tls_error(Exception('password authentication failed for user "u"'), url) is None
