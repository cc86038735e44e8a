"""A refused reading command prints nothing of the data first: not even an export's JSON header."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run
from tests.test_cli_accounts import as_user, protected  # noqa: F401  (the fixture)

READS: dict[str, list[str]] = {
    "export json to stdout": ["export"],
    "export json to a file": ["export", "--output", "{out}.json"],
    "export csv": ["export", "--format", "csv", "--output", "{out}.csv"],
    "export xlsx": ["export", "--format", "xlsx", "--output", "{out}.xlsx"],
    "list": ["list"],
    "show": ["show", "2025-00001"],
    "show json": ["show", "2025-00001", "--json"],
    "summary": ["summary", "2025-00001", "--output", "{out}.pdf"],
    "summary of a day": ["summary", "--date", "2025-03-14", "--output", "{out}.pdf"],
    "complication log": ["report", "complications", "--output", "{out}.pdf"],
    "surgeon log": ["report", "surgeon-log", "--surgeon", "Dr. Amara Okafor", "--output", "{out}.pdf"],
}


@pytest.mark.parametrize("command", list(READS))
def test_an_administrator_refused_a_read_sees_nothing(protected: str, tmp_path: Path, command: str) -> None:  # noqa: F811
    """Administrators may not view cases (contract section 4): exit 4, empty output, no file written."""
    folder = tmp_path / "output"
    folder.mkdir()
    out = str(folder / "out")
    args = [a.format(out=out) for a in READS[command]]
    result = run(*args, db=protected, env=as_user("boss"))
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    assert "may not view cases" in result.stderr and "Traceback" not in result.stderr
    assert list(folder.iterdir()) == []
