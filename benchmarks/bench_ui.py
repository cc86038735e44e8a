"""How the desktop app's case list behaves over a large database, printed as JSON.

    python benchmarks/bench_ui.py [--db FILE] [--cases 100000]

Measures, offscreen: the window until its first page is on screen, each further page while scrolling
(fetchMore runs on the GUI thread, so its time is the time the window is busy), a filter or sort change
until the new first page is shown, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent


BARE_WINDOW = (
    "from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication, QMainWindow; "
    "app = QApplication([]); w = QMainWindow(); w.resize(1366, 768); w.show(); "
    "QTimer.singleShot(0, app.quit); app.exec()"
)


def startup_environment(db_path: str, folder: Path) -> dict[str, str]:
    """The environment of `python main.py` that opens `db_path` and quits once the first page is shown."""
    return {**os.environ, "CASELOG_DB": db_path, "CASELOG_HOME": str(folder / "startup-home"),
            "CASELOG_QUIT_WHEN_READY": "1", "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip


def seconds_to_first_page(env: dict[str, str]) -> float:
    """Wall time of one `python main.py` in `env` (see `startup_environment`) until its first page is shown."""
    began = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - began


def measure_startup(db_path: str, folder: Path, repeats: int = 3) -> dict[str, float]:
    """Wall time of `python main.py` until the first page of cases is shown, against a bare PySide6 window."""
    env = startup_environment(db_path, folder)
    times: dict[str, list[float]] = {"app": [], "bare": []}
    for _ in range(repeats):
        times["app"].append(seconds_to_first_page(env))
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", BARE_WINDOW], env=env, check=True, capture_output=True, timeout=120)
        times["bare"].append(time.perf_counter() - began)
    return {name: round(statistics.median(values), 3) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="an existing database with many cases (default: make one)")
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caselog-bench-ui-"))
    os.environ["CASELOG_HOME"] = str(folder / "home")
    db_path = args.db or str(folder / "big.sqlite3")
    if not args.db:
        subprocess.run([sys.executable, "-m", "caselog", "--db", db_path, "demo", "--cases", str(args.cases)],
                       check=True, capture_output=True)  # fmt: skip

    startup = measure_startup(db_path, folder)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from caselog.db.schema import open_database
    from caselog.records import CaseFilter
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.main_window import MainWindow
    from ui.services import AppSettings, Services
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication(sys.argv)

    def wait_loaded(window: MainWindow) -> None:
        loop = QEventLoop()
        window.model.loaded.connect(loop.quit)
        QTimer.singleShot(60_000, loop.quit)
        loop.exec()
        window.model.loaded.disconnect(loop.quit)

    start = time.perf_counter()
    db = open_database(db_path)
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    window = MainWindow(services, AppSettings(Settings()))
    window.resize(1366, 768)
    window.show()
    wait_loaded(window)
    app.processEvents()
    first_page = time.perf_counter() - start
    total = window.model.total

    page_times = []
    for _ in range(50):
        if not window.model.canFetchMore():
            break
        before = window.model.rowCount()
        began = time.perf_counter()
        loop = QEventLoop()  # the next page is read in the background and arrives with `fetched`
        window.model.fetched.connect(loop.quit)
        QTimer.singleShot(60_000, loop.quit)
        window.model.fetchMore()
        loop.exec()
        window.model.fetched.disconnect(loop.quit)
        page_times.append(time.perf_counter() - began)
        if window.model.rowCount() <= before:
            print("page did not grow:", before, window.model.rowCount(), window.model.matching, file=sys.stderr)
    window.table.scrollToBottom()
    app.processEvents()
    rows_after_scrolling = window.model.rowCount()

    changes = {
        "procedure filter": lambda: window.model.set_filter(CaseFilter(procedure="endoscopic_rhizotomy")),
        "level filter": lambda: window.model.set_filter(CaseFilter(level="C5-C6")),
        "search": lambda: window.model.set_filter(CaseFilter(search="иванова")),
        "only complications": lambda: window.model.set_filter(CaseFilter(with_complications=True)),
        "all cases again": lambda: window.model.set_filter(CaseFilter()),
    }

    def settle() -> None:
        """Let the previous change's follow-up work (detail pane, selection) finish before timing the next."""
        loop = QEventLoop()
        QTimer.singleShot(300, loop.quit)
        loop.exec()

    change_ms = {}
    for name, change in changes.items():
        settle()
        began = time.perf_counter()
        change()
        wait_loaded(window)
        app.processEvents()
        change_ms[name] = round((time.perf_counter() - began) * 1000, 1)
    for key in ("patient", "duration", "procedure_date"):
        settle()
        began = time.perf_counter()
        window.model.sort_key = key
        window.model.refresh()
        wait_loaded(window)
        app.processEvents()
        change_ms[f"sort by {key}"] = round((time.perf_counter() - began) * 1000, 1)

    report = {
        "name": "desktop_case_list",
        "cases": total,
        "main_py_to_first_page_s": startup["app"],
        "bare_pyside6_window_s": startup["bare"],
        "startup_ratio_to_bare_window": round(startup["app"] / startup["bare"], 2),
        "startup_target": "< 2 s",
        "window_to_first_page_s": round(first_page, 3),
        "next_page_ms_median": round(statistics.median(page_times) * 1000, 1),
        "next_page_ms_max": round(max(page_times) * 1000, 1),
        "rows_loaded_after_scrolling": rows_after_scrolling,
        "filter_or_sort_to_first_page_ms": change_ms,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    window.services.tasks.wait()
    window.close()
    db.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
