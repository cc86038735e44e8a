"""The `caselog` command as a user runs it: its output and its exit status.

Most tests run it in this process (tests.helpers.cli.run_cli, as a fresh process would see it); the entry point,
the environment and two processes at once keep a real subprocess (`process`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.factories import case_file, make_case, simple_case
from tests.helpers.cli import run_cli as run

EXE = [sys.executable, "-m", "caselog"]


def process(*args: str, db: str | None = None, stdin: str | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`python -m caselog` as a real process: the entry point, its exit status and its environment."""
    full_env = {**os.environ, **(env or {})}
    cmd = [*EXE, *(["--db", db] if db else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin, env=full_env, timeout=300)


def write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_help_and_usage_errors_exit_2() -> None:
    assert process("--help").returncode == 0
    result = process("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr and "Traceback" not in result.stderr
    result = process("list", "--from", "2025-13-01")
    assert result.returncode == 2 and "'2025-13-01' is not a date" in result.stderr


def test_import_list_show_export(db_target: str, tmp_path: Path) -> None:
    source = write(tmp_path / "in.json", case_file(make_case(), simple_case("2024-05-02", procedure="laminotomy")))
    result = run("import", source, db=db_target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2025-00001", "2024-00001"]

    listing = run("list", "--procedure", "laminotomy", db=db_target)
    assert listing.returncode == 0
    assert "2024-00001" in listing.stdout and "2025-00001" not in listing.stdout and "1 case" in listing.stdout

    shown = run("show", "2025-00001", db=db_target)
    assert "Nguyễn, Thị Hồng" in shown.stdout and "L4-L5: L3 medial branch, L4 medial branch" in shown.stdout
    as_json = json.loads(run("show", "2025-00001", "--json", db=db_target).stdout)
    assert as_json["case_number"] == "2025-00001" and as_json["levels"] == make_case()["levels"]

    exported = json.loads(run("export", "--to", "2024-12-31", db=db_target).stdout)
    assert exported["format"] == "caselog-cases" and [c["case_number"] for c in exported["cases"]] == ["2024-00001"]


def test_round_trip_through_an_empty_database(tmp_path: Path) -> None:
    first, second = str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")
    assert run("demo", "--cases", "120", "--seed", "5", db=first).returncode == 0
    exported = run("export", db=first).stdout
    assert run("import", write(tmp_path / "x.json", json.loads(exported)), db=second).returncode == 0
    again = run("export", db=second).stdout
    assert json.loads(exported)["cases"] == json.loads(again)["cases"]
    assert len(json.loads(again)["cases"]) == 120


def test_demo_is_repeatable(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")
    run("demo", "--cases", "40", "--seed", "9", db=a)
    run("demo", "--cases", "40", "--seed", "9", db=b)
    assert run("export", db=a).stdout == run("export", db=b).stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (b'{"format": "caselog-cases", "version": 5, "cases": []}', "version: must be 1, 2, 3 or 4, not 5"),
        (b'{"format": "caselog-cases", "version": 1, "cases": [], "cases": []}', "appears twice"),
        (b'{"format": "caselog-cases", "version": 1, "cases": [{"surgeon": 1}]}', "cases[0].surgeon: must be text"),
        (b"[]", "bad.json: must be an object, not a list"),
    ],
)
def test_bad_import_files_exit_2_and_write_nothing(
    db_target: str, tmp_path: Path, content: bytes, expected: str
) -> None:
    db = db_target
    source = tmp_path / "bad.json"
    source.write_bytes(content)
    result = run("import", str(source), db=db)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert json.loads(run("export", db=db).stdout)["cases"] == []


def test_missing_and_unreadable_import_files(db_target: str, tmp_path: Path) -> None:
    db = db_target
    result = run("import", str(tmp_path / "nope.json"), db=db)
    assert result.returncode == 2 and "nope.json: file not found" in result.stderr
    result = run("import", str(tmp_path), db=db)
    assert result.returncode == 2 and "is a folder" in result.stderr
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        result = run("import", str(locked), db=db)
        assert result.returncode == 2 and "permission denied" in result.stderr


def test_invalid_case_reports_paths_on_stderr(db_target: str, tmp_path: Path) -> None:
    bad = make_case()
    bad["levels"][0]["level"] = "L6-L7"
    source = write(tmp_path / "bad.json", case_file(make_case(), make_case(), make_case(), bad))
    result = run("import", source, db=db_target)
    assert result.returncode == 2
    assert "cases[3].levels[0].level: unknown level 'L6-L7'" in result.stderr.splitlines()
    assert result.stdout == ""


def test_exit_codes_not_found_conflict_and_not_permitted(db_target: str, tmp_path: Path) -> None:
    db = db_target
    run("import", write(tmp_path / "in.json", case_file(make_case(), make_case(status="final"))), db=db)
    assert run("show", "2025-00099", db=db).returncode == 3
    one = write(tmp_path / "one.json", case_file(make_case(notes="edited")))
    assert run("update", "2025-00001", one, "--expect-version", "1", db=db).returncode == 0
    stale = run("update", "2025-00001", one, "--expect-version", "1", db=db)
    assert stale.returncode == 5 and "changed by someone else" in stale.stderr
    no_reason = run("update", "2025-00002", one, db=db)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    amended = run("update", "2025-00002", one, "--reason", "typo in notes", db=db)
    assert amended.returncode == 0 and "Amended" in amended.stdout
    refused = run("delete", "2025-00002", "--reason", "x", db=db)
    assert refused.returncode == 4 and "cannot be deleted" in refused.stderr
    assert run("delete", "2025-00001", "--reason", "duplicate entry", db=db).returncode == 0
    assert run("show", "2025-00001", db=db).returncode == 3


def test_update_accepts_a_bare_case_object_as_show_prints_it(db_target: str, tmp_path: Path) -> None:
    db = db_target
    run("import", write(tmp_path / "in.json", case_file(make_case())), db=db)
    case = json.loads(run("show", "2025-00001", "--json", db=db).stdout)
    case["notes"] = "Added detail"
    assert run("update", "2025-00001", write(tmp_path / "c.json", case), db=db).returncode == 0
    assert json.loads(run("show", "2025-00001", "--json", db=db).stdout)["notes"] == "Added detail"


def test_csv_and_xlsx_need_an_output_and_a_real_folder(db_target: str, tmp_path: Path) -> None:
    db = db_target
    assert run("export", "--format", "csv", db=db).returncode == 2
    result = run("export", "--format", "xlsx", "--output", str(tmp_path / "no" / "x.xlsx"), db=db)
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_environment_selects_the_database(tmp_path: Path) -> None:
    db = str(tmp_path / "env.sqlite3")
    process("import", write(tmp_path / "in.json", case_file(make_case())), env={"CASELOG_DB": db})
    assert "2025-00001" in process("list", db=db).stdout


def test_default_database_lives_in_the_data_folder(tmp_path: Path) -> None:
    home = tmp_path / "profile"
    result = process("init", env={"CASELOG_HOME": str(home)})
    assert result.returncode == 0 and (home / "caselog.sqlite3").exists()


def test_init_is_safe_to_repeat(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    assert "Created" in run("init", db=db).stdout
    assert "up to date" in run("init", db=db).stdout


def test_check_backup_and_restore(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    run("demo", "--cases", "30", db=db)
    assert run("check", db=db).stdout.startswith("ok:")
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=db).returncode == 0
    run("delete", "2026-00001", "--reason", "x", db=db)
    run("import", write(tmp_path / "in.json", case_file(make_case())), db=db)
    restored = run("restore", str(backup), db=db)
    assert restored.returncode == 0, restored.stderr
    assert "Restored 30 cases" in restored.stdout
    assert len(json.loads(run("export", db=db).stdout)["cases"]) == 30
    assert list(tmp_path.glob("c.sqlite3.before-restore-*"))


def test_restore_refuses_a_file_that_is_not_a_caselog_database(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    run("demo", "--cases", "5", db=db)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    result = run("restore", str(junk), db=db)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert run("check", db=db).returncode == 0


def test_two_processes_importing_at_once_lose_nothing(db_target: str, tmp_path: Path) -> None:
    db = db_target
    sources = [
        write(tmp_path / f"in{i}.json", case_file(*[make_case(notes=f"batch {i} case {n}") for n in range(150)]))
        for i in range(2)
    ]
    procs = [
        subprocess.Popen([*EXE, "--db", db, "import", src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for src in sources
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    numbers = [n for out, _ in outputs for n in out.split()]
    assert len(numbers) == 300 and len(set(numbers)) == 300
    exported = json.loads(run("export", db=db).stdout)["cases"]
    assert sorted(c["case_number"] for c in exported) == sorted(numbers)


def test_no_traceback_for_an_unwritable_database_folder(tmp_path: Path) -> None:
    result = run("list", db=str(tmp_path / "missing" / "c.sqlite3"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def _nothing_imported(db: str) -> bool:
    return json.loads(run("export", db=db).stdout)["cases"] == []


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")
def test_a_fifo_or_a_device_is_refused_at_once(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    fifo = tmp_path / "cases.json"
    os.mkfifo(fifo)
    for source, kind in ((str(fifo), "a pipe"), ("/dev/zero", "a device")):
        result = run("import", source, db=db)  # before: waited for a writer, or read zeros until memory ran out
        assert result.returncode == 2, result.stderr
        assert f"{source}: is not a regular file ({kind})" in result.stderr and "Traceback" not in result.stderr
    assert _nothing_imported(db)


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ('{"format": "caselog-cases", "format": "x", "version": 1, "cases": []}', "-: is not valid: the key 'format'"),
        ("[" * 100_000 + "]" * 100_000, "-: is nested more than 32 levels deep"),
        ("{" + '"a": {' * 40 + "}" * 41, "-: is nested more than 32 levels deep"),
        ('{"format": "caselog-cases", "version": 1, "cases": [{"notes": "\\ud800"}]}', "cases[0].notes: contains a"),
    ],
    ids=["duplicate key", "100,000 deep", "41 deep", "lone surrogate"],
)
def test_standard_input_gets_the_same_checks_as_a_file(tmp_path: Path, stdin: str, expected: str) -> None:
    db = str(tmp_path / "c.sqlite3")
    result = run("import", "-", db=db, stdin=stdin)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert _nothing_imported(db)
    source = tmp_path / "same.json"
    source.write_text(stdin, encoding="utf-8", errors="surrogatepass")
    from_file = run("import", str(source), db=db)
    assert from_file.returncode == 2 and expected.replace("-:", f"{source}:") in from_file.stderr


def test_a_file_or_input_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from caselog import exchange
    from caselog.errors import InvalidInput

    assert exchange.MAX_FILE_BYTES == 200 * 1024 * 1024  # as docs/format.md states
    monkeypatch.setattr(exchange, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(case_file(make_case(), make_case())), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        exchange.read_interchange(big)
    assert str(refused.value) == f"{big}: is larger than the limit of 1000 bytes; split it into smaller files"
    with pytest.raises(InvalidInput) as refused:
        exchange.parse_interchange(big.read_bytes(), "-")
    assert str(refused.value).startswith("-: is larger than the limit")


def test_a_lone_surrogate_or_override_in_an_imported_name_exits_2(db_target: str, tmp_path: Path) -> None:
    raw = json.dumps(case_file(make_case(patient={**make_case()["patient"], "family_name": "Smith\u202egnaJ"}),
                               make_case(surgeon="Dr.\u200b Okafor")))  # fmt: skip
    raw = raw.replace("Okafor", "Oka\\ud83dfor")
    source = tmp_path / "in.json"
    source.write_text(raw, encoding="utf-8")
    result = run("import", str(source), db=db_target)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cases[0].patient.family_name: contains a text-direction control (U+202E)" in result.stderr
    assert "cases[1].surgeon: contains a broken character (lone surrogate U+D83D)" in result.stderr
    assert _nothing_imported(db_target)
