"""TLS to the clinic's PostgreSQL server: the settings put libpq's options in the URL, the app can tell whether
the live connection is encrypted, and a TLS failure reads as what it is."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from caselog.db.engine import Database, database_url
from caselog.db.health import connection_encrypted
from caselog.db.schema import open_database
from caselog.db.tls import describe_tls_error
from caselog.errors import StorageError
from caselog.settings import Settings, postgresql_url
from tests.conftest import PG_URL
from tests.helpers.tls import server_without_tls, with_query


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


def test_requiring_tls_from_a_server_without_it_fails_with_a_clear_message() -> None:
    with server_without_tls(PG_URL) as server:
        target = with_query(server, sslmode="require")
        with pytest.raises(StorageError) as raised:
            open_database(target)
        cli = subprocess.run([sys.executable, "-m", "caselog", "--db", target, "list"], capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert isinstance(raised.value.__cause__, OperationalError)
    friendly = describe_tls_error(raised.value.__cause__, make_url(target))
    assert friendly is not None and friendly.message == raised.value.message
    assert "does not accept encrypted (TLS) connections" in friendly.message and "sslmode=require" in friendly.message
    assert "password" not in friendly.message.lower()
    assert cli.returncode == 1 and "does not accept encrypted (TLS) connections" in cli.stderr, cli.stderr
    assert "unexpected error" not in cli.stderr and "Traceback" not in cli.stderr


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


#: The test server's CA when it speaks TLS (`.ci/start-postgres` makes one with openssl; `.ci/run` exports it).
PG_CA = os.environ.get("CASELOG_TEST_PG_CA")
needs_tls_server = pytest.mark.skipif(
    not PG_CA, reason="needs a TLS test server and its CA in CASELOG_TEST_PG_CA (.ci/start-postgres makes one)"
)


@needs_tls_server
@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_verify_full_with_the_servers_ca_connects_encrypted_from_the_app_and_the_command_line(db_target: str) -> None:
    assert PG_CA is not None
    target = with_query(db_target, sslmode="verify-full", sslrootcert=PG_CA)
    db = open_database(target)
    try:
        assert connection_encrypted(db) is True
    finally:
        db.close()
    listed = subprocess.run(
        [sys.executable, "-m", "caselog", "--db", target, "list"], capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr
    assert "No cases yet" in listed.stdout


def _another_ca(path: Path) -> None:
    """A self-signed CA certificate that signed nothing the test server holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Someone else's CA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@needs_tls_server
@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_server_certificate_from_another_ca_is_refused_by_name(db_target: str, tmp_path: Path) -> None:
    """verify-full with the wrong CA: perhaps not the clinic's server at all. No connection, a plain reason."""
    other = tmp_path / "other-ca.crt"
    _another_ca(other)
    target = with_query(db_target, sslmode="verify-full", sslrootcert=str(other))
    with pytest.raises(StorageError) as raised:
        open_database(target)
    assert "not signed by the CA file" in raised.value.message
    assert isinstance(raised.value.__cause__, OperationalError)
    friendly = describe_tls_error(raised.value.__cause__, make_url(target))
    assert friendly is not None and friendly.message == raised.value.message
