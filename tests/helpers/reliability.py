"""What the reliability tests share: running `caselog` and the helpers as processes, and reading a file raw."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.raw import raw_connect

ROOT = Path(__file__).resolve().parents[2]
CASELOG = [sys.executable, "-m", "caselog"]

#: Rows that must never exist: children without their case, cases without their patient or search row.
ORPHAN_QUERIES = {
    "treated levels without a case": "SELECT count(*) FROM treated_levels t "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)",
    "complications without a case": "SELECT count(*) FROM complications t "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)",
    "outcome scores without a case": "SELECT count(*) FROM outcome_scores t "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)",
    "search rows without a case": "SELECT count(*) FROM case_search t "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)",
    "amendments without a case": "SELECT count(*) FROM case_amendments t "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)",
    "cases without a patient": "SELECT count(*) FROM cases c "
    "WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = c.patient_id)",
    "cases without a search row": "SELECT count(*) FROM cases c "
    "WHERE NOT EXISTS (SELECT 1 FROM case_search s WHERE s.case_id = c.id)",
    "cases without levels": "SELECT count(*) FROM cases c "
    "WHERE NOT EXISTS (SELECT 1 FROM treated_levels t WHERE t.case_id = c.id)",
    "patients without a case": "SELECT count(*) FROM patients p "
    "WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.patient_id = p.id)",
}


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def caselog(*args: str, db: str, module: str = "caselog", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`caselog --db DB ARGS...` as a user runs it: in this process (tests.helpers.cli), or a wrapper module that
    calls the same main as a real process (the writers, killers and full disks these tests put beside it are
    real processes either way)."""
    if module == "caselog":
        return run_cli(*args, db=db)
    cmd = [sys.executable, "-m", module, "--db", db, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=timeout)


def helper(name: str, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start `python -m tests.helpers.NAME ARGS...` with its output piped."""
    cmd = [sys.executable, "-m", f"tests.helpers.{name}", *args]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT, **popen
    )


def exported_cases(db: str) -> list[dict[str, Any]]:
    result = caselog("export", db=db)
    assert result.returncode == 0, result.stderr
    cases: list[dict[str, Any]] = json.loads(result.stdout)["cases"]
    return cases


def sqlite_facts(path: Path) -> dict[str, Any]:
    """integrity_check, foreign_key_check, orphan counts and case numbers, straight from the file."""
    conn = raw_connect(path)
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        foreign_keys = conn.execute("PRAGMA foreign_key_check").fetchall()
        orphans = {what: conn.execute(sql).fetchone()[0] for what, sql in ORPHAN_QUERIES.items()}
        numbers = [r[0] for r in conn.execute("SELECT case_number FROM cases ORDER BY case_number")]
        counters = dict(conn.execute("SELECT year, last_number FROM case_counters").fetchall())
    finally:
        conn.close()
    return {
        "integrity": integrity,
        "foreign_keys": foreign_keys,
        "orphans": {k: v for k, v in orphans.items() if v},
        "numbers": numbers,
        "counters": counters,
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def small_file_system(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (e.g. "2m") mounted at `folder`, as full disks happen; skips without the right."""
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
