"""TLS options on a test server's URL, and whether that server offers TLS at all."""

from __future__ import annotations

from sqlalchemy import make_url

from caselog.db.schema import open_database
from caselog.db.tls import connection_encrypted


def with_query(url: str, **query: str) -> str:
    """`url` with these libpq options in its query."""
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


def server_offers_tls(url: str) -> bool:
    """Whether the server encrypts a connection that asks for TLS when offered (`sslmode=prefer`)."""
    db = open_database(with_query(url, sslmode="prefer"))
    try:
        return bool(connection_encrypted(db))
    finally:
        db.close()
