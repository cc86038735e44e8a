"""Encryption at rest against plain SQLite, side by side in one run, printed as JSON (issue 12's Speed bullet).

    python benchmarks/bench_encryption.py [--cases 100000] [--import-cases 10000] [--workdir DIR]

Three figures, each measured on a plain database and on its SQLCipher twin (the same rows: the encrypted file
is `cipher.export_copy` of the plain one), with the ratio encrypted / plain and the target (at most 1.3x):

- importing 10,000 cases from a JSON file into a new database (as bench_cases.py measures it);
- the case list's query over 100,000 cases: the count, the total and the first page, as the app's list runs
  them, for each contract filter (median and 95th percentile over several runs);
- the app's start (`python main.py`) until the first page of 100,000 cases is on screen (as bench_ui.py).

Plain and encrypted runs alternate, so a busy machine slows both alike. The two large databases take a few
minutes to build: with --workdir they are kept there (owner-only) and reused by the next run with the same
--cases; without it they live in a private temporary folder inside CaseLog's data folder and go at the end.
The data is synthetic (the demo's), encrypted with a fixed benchmark passphrase.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlcipher3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(1, str(ROOT))  # the caselog beside this script, also when another copy is installed

from bench_cases import list_filters, timed_import, write_import_file  # noqa: E402
from bench_ui import seconds_to_first_page, startup_environment  # noqa: E402

from caselog.db import cipher  # noqa: E402
from caselog.db.schema import open_database  # noqa: E402
from caselog.errors import CaselogError  # noqa: E402
from caselog.files import FILE_MODE, FOLDER_MODE, private_process  # noqa: E402
from caselog.records import CaseFilter  # noqa: E402
from caselog.service import CaseService  # noqa: E402

#: Synthetic demo data only: a fixed passphrase lets a cached encrypted twin open on the next run.
BENCH_PASSPHRASE = "caselog-benchmark-passphrase"
MAX_RATIO = 1.3
TARGET = f"encrypted <= {MAX_RATIO}x plain"
KINDS = ("plain", "encrypted")
#: The case list's page (ui.paged_model.PAGE_SIZE): the app's first page is this many rows.
LIST_PAGE = 200


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _passphrase(kind: str) -> str | None:
    return BENCH_PASSPHRASE if kind == "encrypted" else None


def _open(path: Path, kind: str) -> Any:
    """The database `path`, opened (and migrated) as the app opens it; an encrypted one with its passphrase."""
    if kind == "encrypted":
        cipher.remember(path, BENCH_PASSPHRASE)
    return open_database(path)


def _remove_database(path: Path) -> None:
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        file.unlink(missing_ok=True)


def _owner_only(folder: Path) -> None:
    """Every file and folder the benchmark leaves is its owner's alone (synthetic patients are still patients)."""
    if os.name != "posix":
        return
    os.chmod(folder, FOLDER_MODE)
    for entry in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(entry, FOLDER_MODE if entry.is_dir() else FILE_MODE)


def _holds(path: Path, kind: str, cases: int) -> bool:
    """Whether `path` is a usable cached database of this kind with exactly `cases` cases."""
    if cipher.file_state(path) != kind:
        return False
    try:
        db = _open(path, kind)
    except (CaselogError, OSError):
        return False
    try:
        return CaseService(db).count() == cases
    except CaselogError:
        return False
    finally:
        db.close()


def twin_databases(root: Path, cases: int) -> tuple[dict[str, Path], dict[str, Any]]:
    """The plain database of `cases` demo cases and its encrypted twin in `root`, built unless cached there."""
    paths = {kind: root / f"{kind}-{cases}.sqlite3" for kind in KINDS}
    began = time.perf_counter()
    built = []
    if not _holds(paths["plain"], "plain", cases):
        _remove_database(paths["plain"])
        _log(f"building {cases} demo cases in {paths['plain']} ...")
        env = {key: value for key, value in os.environ.items() if key != cipher.KEY_ENV}  # a plain one
        env["CASELOG_HOME"] = str(root / "home")
        command = [sys.executable, "-m", "caselog", "--db", str(paths["plain"]), "demo", "--cases", str(cases)]
        subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
        built.append("plain")
    if built or not _holds(paths["encrypted"], "encrypted", cases):
        _remove_database(paths["encrypted"])
        _log(f"encrypting a copy into {paths['encrypted']} ...")
        cipher.export_copy(paths["plain"], None, paths["encrypted"], BENCH_PASSPHRASE)
        built.append("encrypted")
    for kind, path in paths.items():
        if kind in built and not _holds(path, kind, cases):
            raise SystemExit(f"bench_encryption: {path} is not a {kind} database of {cases} cases after building")
    _owner_only(root)
    return paths, {"built": built, "build_s": round(time.perf_counter() - began, 1)}


def _in_turns(runs: int) -> Iterator[str]:
    """plain, encrypted, encrypted, plain, ...: each goes first as often, so neither gets the warmer caches."""
    for run in range(runs):
        yield from KINDS if run % 2 == 0 else reversed(KINDS)


def _stats(values: list[float], scale: float) -> dict[str, float]:
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 else ordered[0]
    return {"median": round(statistics.median(ordered) * scale, 3), "p95": round(p95 * scale, 3)}


def _ratio(encrypted: float, plain: float) -> float:
    return round(encrypted / plain, 2) if plain > 0 else float("inf")


def _side_by_side(name: str, times: dict[str, list[float]], unit: str, **extra: Any) -> dict[str, Any]:
    """One figure: median and 95th percentile of each kind, the ratios, and whether they meet the target."""
    scale = 1000.0 if unit == "ms" else 1.0
    plain, encrypted = _stats(times["plain"], scale), _stats(times["encrypted"], scale)
    ratio = {key: _ratio(encrypted[key], plain[key]) for key in ("median", "p95")}
    return {
        "name": name,
        **extra,
        "runs": len(times["plain"]),
        f"plain_{unit}": plain,
        f"encrypted_{unit}": encrypted,
        "ratio": ratio,
        "target": TARGET,
        "meets_target": ratio["median"] <= MAX_RATIO and ratio["p95"] <= MAX_RATIO,
    }


def bench_import(root: Path, cases: int, runs: int) -> dict[str, Any]:
    """Import the same JSON file of `cases` cases into a new plain and a new encrypted database, in turns."""
    source = write_import_file(root, cases)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        for run, kind in enumerate(_in_turns(runs)):
            target = source.parent / f"import-{kind}-{run}.sqlite3"
            if kind == "encrypted":
                cipher.remember(target, BENCH_PASSPHRASE)  # a new file with a passphrase known: made encrypted
            seconds, imported = timed_import(source, target)
            if imported != cases or cipher.file_state(target) != kind:
                raise SystemExit(f"bench_encryption: import into a {kind} database went wrong ({imported} cases)")
            times[kind].append(seconds)
            _remove_database(target)
    finally:
        shutil.rmtree(source.parent, ignore_errors=True)
    return _side_by_side("import_cases", times, "s", cases=cases)


def list_first_page(service: CaseService, case_filter: CaseFilter, sort: str) -> int:
    """What the app's case list asks for on a filter change: the matching count, the total, the first page."""
    matching = service.count(case_filter)
    if case_filter != CaseFilter():
        service.count(CaseFilter())
    service.query(case_filter, sort=sort, descending=True, offset=0, limit=LIST_PAGE)
    return matching


def bench_list_query(paths: dict[str, Path], runs: int) -> dict[str, Any]:
    """The list's query for each contract filter, `runs` times on each database in turns (after a warm-up)."""
    databases = {kind: _open(path, kind) for kind, path in paths.items()}
    try:
        services = {kind: CaseService(db) for kind, db in databases.items()}
        total = services["plain"].count()
        filters = list_filters(services["plain"])
        per_filter: dict[str, Any] = {}
        pooled: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for name, (case_filter, sort) in filters.items():
            matched = {kind: list_first_page(service, case_filter, sort) for kind, service in services.items()}
            if matched["plain"] != matched["encrypted"]:
                raise SystemExit(f"bench_encryption: filter {name} matches {matched}: the twins differ")
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for kind in _in_turns(runs):
                began = time.perf_counter()
                list_first_page(services[kind], case_filter, sort)
                times[kind].append(time.perf_counter() - began)
            figure = _side_by_side(name, times, "ms", matched=matched["plain"])
            per_filter[name] = {key: figure[key] for key in ("matched", "plain_ms", "encrypted_ms", "ratio")}
            if case_filter != CaseFilter():
                for kind in KINDS:
                    pooled[kind] += times[kind]
    finally:
        for db in databases.values():
            db.close()
    over = [name for name, figure in per_filter.items() if figure["ratio"]["median"] > MAX_RATIO]
    summary = _side_by_side("filtered_list_query", pooled, "ms", cases=total, page=LIST_PAGE)
    summary["runs_per_filter"] = runs
    summary["pooled_over"] = "every filtered query below (each run of each filter)"
    summary["filters_over_target"] = over
    summary["filters"] = per_filter
    return summary


def bench_start(paths: dict[str, Path], root: Path, cases: int, runs: int) -> dict[str, Any]:
    """`python main.py` until the first page is on screen; the encrypted one gets its passphrase from the
    environment, as a workstation without a keyring would (after one untimed start of each)."""
    envs: dict[str, dict[str, str]] = {}
    for kind, path in paths.items():
        env = startup_environment(str(path), root)
        env.pop(cipher.KEY_ENV, None)
        if kind == "encrypted":
            env[cipher.KEY_ENV] = BENCH_PASSPHRASE
        envs[kind] = env
    for env in envs.values():
        seconds_to_first_page(env)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind in _in_turns(runs):
        times[kind].append(seconds_to_first_page(envs[kind]))
    return _side_by_side("app_start_to_first_page", times, "s", cases=cases)


def cipher_settings(path: Path) -> dict[str, Any]:
    """SQLCipher's own settings on the encrypted twin, for reading the figures."""
    with cipher.opened(path, readonly=True, passphrase=BENCH_PASSPHRASE) as conn:
        found = {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("cipher_version", "cipher_page_size", "kdf_iter", "cipher_hmac_algorithm", "cache_size")
        }
    return found


@contextlib.contextmanager
def working_folder(workdir: str | None) -> Iterator[Path]:
    """--workdir (kept, made owner-only), or a private temporary folder in CaseLog's data folder (removed)."""
    if workdir:
        root = Path(workdir).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        _owner_only(root)
        try:
            yield root
        finally:
            _owner_only(root)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-encryption-"))  # inside private_process's own folder
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, *, cases: int, import_cases: int, runs: int, starts: int, imports: int) -> dict[str, Any]:
    # The audit keys and checkpoints of the benchmark's databases stay beside them, out of the user's profile.
    os.environ["CASELOG_HOME"] = str(root / "home")
    paths, build = twin_databases(root, cases)
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("import", lambda: bench_import(root, import_cases, imports)),
        ("list query", lambda: bench_list_query(paths, runs)),
        ("app start", lambda: bench_start(paths, root, cases, starts)),
    ]
    results = []
    for name, step in steps:
        _log(f"measuring {name} ...")
        results.append(step())
    return {
        "name": "encryption_at_rest_vs_plain",
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load": os.getloadavg()},
        "databases": {
            "cases": cases,
            **build,
            **{f"{kind}_mb": round(path.stat().st_size / 1e6, 1) for kind, path in paths.items()},
            "sqlcipher": cipher_settings(paths["encrypted"]),
            # Not one engine: plain files go through Python's sqlite3, encrypted ones through SQLCipher's own.
            "sqlite_versions": {"plain": sqlite3.sqlite_version, "encrypted": sqlcipher3.sqlite_version},
        },
        "target": TARGET,
        "all_meet_target": all(result["meets_target"] for result in results),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the two large databases")
    parser.add_argument("--import-cases", type=int, help="cases imported (default: 10,000, or --cases if fewer)")
    parser.add_argument("--runs", type=int, default=20, help="runs of each list query on each database")
    parser.add_argument("--starts", type=int, default=5, help="timed app starts on each database")
    parser.add_argument("--imports", type=int, default=5, help="timed imports into each kind of database")
    parser.add_argument("--workdir", help="keep the large databases here and reuse them (default: rebuild)")
    args = parser.parse_args()
    for name in ("cases", "runs", "starts", "imports"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: needs at least 1")
    import_cases = args.import_cases or min(10_000, args.cases)
    os.environ.pop(cipher.KEY_ENV, None)  # the plain databases stay plain; the encrypted ones get BENCH_PASSPHRASE
    with private_process(), working_folder(args.workdir) as root:
        report = run(root, cases=args.cases, import_cases=import_cases, runs=args.runs, starts=args.starts,
                     imports=args.imports)  # fmt: skip
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
