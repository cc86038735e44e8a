"""TLS options on a test server's URL, whether that server offers TLS, and a server that has none."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from sqlalchemy import create_engine, make_url, text

from caselog.db.health import connection_encrypted
from caselog.db.schema import open_database

#: PostgreSQL's startup requests for TLS and for GSSAPI encryption (protocol codes 1234/5679 and 1234/5680).
_ENCRYPTION_REQUESTS = (80877103, 80877104)


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


def _server_speaks_tls(url: str) -> bool:
    """The same question for a server URL whose database must not be touched (no migration)."""
    engine = create_engine(with_query(url, sslmode="prefer"))
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar())
    finally:
        engine.dispose()


@contextlib.contextmanager
def _answering_no_to_encryption() -> Iterator[str]:
    """A listener that answers as a PostgreSQL server without TLS does: "N" to each encryption request."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    while (request := conn.recv(8)) and len(request) == 8:
                        if int.from_bytes(request[4:8], "big") not in _ENCRYPTION_REQUESTS:
                            break
                        conn.sendall(b"N")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"postgresql+psycopg://caselog@127.0.0.1:{port}/caselog"
    finally:
        stop.set()
        thread.join()
        listener.close()


@contextlib.contextmanager
def server_without_tls(pg_url: str | None) -> Iterator[str]:
    """A server URL without TLS: the test server when it has none, else a stand-in that answers as one does."""
    if pg_url and not _server_speaks_tls(pg_url):
        yield pg_url
        return
    with _answering_no_to_encryption() as url:
        yield url
