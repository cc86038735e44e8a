"""`caselog --help` and a usage error answer without loading the database and PDF libraries (issue: a million
cases asks `--help` under 0.25 s)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "reportlab", "PySide6", "openpyxl", "argon2")

PROBE = """
import sys
from caselog.cli import main
try:
    status = main({argv!r})
except SystemExit as exc:
    status = exc.code
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print(status, heavy)
"""


@pytest.mark.parametrize(("argv", "status"), [(["--help"], 0), (["followups", "--help"], 0), (["frobnicate"], 2),
                                              (["list", "--from", "2025-13-01"], 2)])  # fmt: skip
def test_help_and_usage_errors_load_no_database_or_pdf_library(argv: list[str], status: int) -> None:
    probe = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == f"{status} []"
