"""The connection to the clinic's PostgreSQL server: whether it is encrypted (TLS), and what a TLS failure means.

Patient data crossing the clinic's network in clear text is as exposed as a plain file on a lost laptop. The
TLS options are libpq's own (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) in the URL's query, so
`--db 'postgresql://…?sslmode=verify-full&sslrootcert=ca.crt'` and the settings reach psycopg the same way.
"""

from __future__ import annotations

from sqlalchemy import URL

from caselog.errors import StorageError

#: libpq's modes, weakest first; `verify-full` checks the CA and the server's name (what a clinic should use).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: libpq's default: TLS when the server offers it, clear text otherwise (the app warns in that case).
DEFAULT_SSLMODE = "prefer"
#: Modes that check the server's certificate against a CA, so they need the server's CA file.
VERIFYING_MODES = ("verify-ca", "verify-full")
#: The URL query keys that carry TLS options (file paths for the last three).
TLS_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey")


#: libpq's words for each TLS failure, and what a person should do about it.
_TLS_FAILURES = (
    (
        "server does not support ssl",
        "The server {where} does not accept encrypted (TLS) connections, but the settings require one "
        "(sslmode={mode}). Ask the clinic's IT to turn on TLS on the server; nothing was sent unencrypted.",
    ),
    (
        "root certificate file",
        "The server's CA file (sslrootcert) for {where} cannot be found or read. Check the path in the "
        "settings (or in --db); the connection was not made.",
    ),
    (
        "certificate verify failed",
        "The certificate of the server {where} is not signed by the CA file given (sslrootcert): this may "
        "not be the clinic's server. Check the CA file with IT; the connection was not made.",
    ),
    (
        "does not match host name",
        "The certificate of the server {where} names another host: this may not be the clinic's server. "
        "Use the host name the certificate names, or ask IT; the connection was not made.",
    ),
    (
        "invalid sslmode value",
        "sslmode={mode} (for {where}) is not a TLS mode; use one of " + ", ".join(SSLMODES) + ".",
    ),
    (
        "certificate file",
        "The client certificate (sslcert) for {where} cannot be read. Check the path; the connection was not made.",
    ),
    (
        "private key file",
        "The client certificate's key (sslkey) for {where} cannot be read, or is readable by other users "
        "(it must be owner-only). Check the file; the connection was not made.",
    ),
)


def describe_tls_error(exc: BaseException, url: URL) -> StorageError | None:
    """A TLS failure connecting to `url` in a person's words (None when it has nothing to do with TLS)."""
    said = str(getattr(exc, "orig", exc)).lower()
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    mode = str(url.query.get("sslmode") or DEFAULT_SSLMODE)
    for needle, message in _TLS_FAILURES:
        if needle in said:
            return StorageError(message.format(where=where, mode=mode))
    return None
