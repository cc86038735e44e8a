"""`caselog ARGS...` run inside the test process, as a separate process would see it, without its start-up cost.

Each run gets its own standard streams (stdin from `stdin`, never a terminal), its own environment (the test's
plus `env`, put back afterwards), and none of the passphrases or draft seal this process was told: what a fresh
process would start from. The result is a `subprocess.CompletedProcess`, so a test reads it as it would a real
process's. A handful of tests keep a real subprocess for the entry point itself, its exit status, signals and the
environment (tests/test_cli.py, tests/test_restore.py, tests/test_private_files.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping

import caselog.drafts
from caselog.cli import main
from caselog.db import cipher


def _text(stream: io.TextIOWrapper) -> str:
    """What `subprocess.run(text=True)` reads: UTF-8 with universal newlines."""
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="strict", newline=None).read()


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_process_state() -> Iterator[None]:
    """A new process knows no passphrase it was told and no draft seal; the test's own come back afterwards."""
    with cipher._lock:
        told = dict(cipher._told)
        cipher._told.clear()
    protection = caselog.drafts._protection
    caselog.drafts._protection = None
    try:
        yield
    finally:
        with cipher._lock:
            cipher._told.clear()
            cipher._told.update(told)
        caselog.drafts._protection = protection


def run_cli(
    *args: str, db: str | None = None, stdin: str | None = None, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """`caselog [--db DB] ARGS...` in this process; `env` adds to (or overrides) the test's environment, a None
    value leaves that variable out."""
    argv = [*(["--db", db] if db else []), *args]
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    given = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    streams = (sys.stdin, sys.stdout, sys.stderr)
    with _environment(env), _fresh_process_state():
        sys.stdin, sys.stdout, sys.stderr = given, out, err
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's --help, as the real process would exit
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin, sys.stdout, sys.stderr = streams
    return subprocess.CompletedProcess(["caselog", *argv], status, _text(out), _text(err))
