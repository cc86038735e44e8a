"""benchmarks/bench_encryption.py on a tiny database: the JSON the issue's speed figures are read from, the twin
databases it compares (one plain, one encrypted, the same cases), and nothing left readable by others."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from caselog.db import cipher

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_encryption.py"
CASES = 50
FIGURES = ("import_cases", "filtered_list_query", "app_start_to_first_page")


def run_bench(workdir: Path) -> dict[str, Any]:
    # A key in the caller's environment must not turn the plain half encrypted (the comparison would be void).
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", cipher.KEY_ENV: "a passphrase the bench must ignore"}
    args = ["--cases", str(CASES), "--import-cases", "20", "--runs", "2", "--starts", "1", "--imports", "1"]
    done = subprocess.run([sys.executable, str(SCRIPT), *args, "--workdir", str(workdir)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def check_figure(figure: dict[str, Any], unit: str) -> None:
    plain, encrypted = figure[f"plain_{unit}"], figure[f"encrypted_{unit}"]
    for key in ("median", "p95"):
        assert plain[key] > 0 and encrypted[key] > 0
        assert figure["ratio"][key] == round(encrypted[key] / plain[key], 2)
    assert figure["target"] == "encrypted <= 1.3x plain"
    assert figure["meets_target"] == (figure["ratio"]["median"] <= 1.3 and figure["ratio"]["p95"] <= 1.3)


@pytest.mark.slow
def test_encrypted_and_plain_figures_side_by_side_on_twin_databases(tmp_path: Path) -> None:
    """One run gives the three figures for both kinds of database, with their ratios, on the same cases."""
    workdir = tmp_path / "bench"
    report = run_bench(workdir)

    assert [figure["name"] for figure in report["results"]] == list(FIGURES)
    imported, listed, started = report["results"]
    check_figure(imported, "s")
    assert imported["cases"] == 20 and imported["runs"] == 1
    check_figure(listed, "ms")
    assert listed["cases"] == CASES and listed["runs_per_filter"] == 2
    assert listed["filters"]["none"]["matched"] == CASES
    for figure in listed["filters"].values():
        assert set(figure) == {"matched", "plain_ms", "encrypted_ms", "ratio"}
    check_figure(started, "s")
    assert report["all_meet_target"] == all(figure["meets_target"] for figure in report["results"])
    assert report["databases"]["built"] == ["plain", "encrypted"]
    assert report["databases"]["sqlcipher"]["kdf_iter"] == "256000"
    assert set(report["databases"]["sqlite_versions"]) == {"plain", "encrypted"}

    plain, encrypted = workdir / f"plain-{CASES}.sqlite3", workdir / f"encrypted-{CASES}.sqlite3"
    assert cipher.file_state(plain) == "plain"
    assert cipher.file_state(encrypted) == "encrypted"
    assert cipher.SQLITE_HEADER not in encrypted.read_bytes()
    for entry in [workdir, *workdir.rglob("*")]:
        assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0, entry
    assert not (Path(os.environ["CASELOG_HOME"]) / "audit-keys").exists(), "the caller's profile is left alone"

    again = run_bench(workdir)
    assert again["databases"]["built"] == [], "the cached twins are reused by the next run"
    assert again["results"][1]["filters"]["none"]["matched"] == CASES
