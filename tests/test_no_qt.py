"""The core never needs Qt: importing caselog and running the command line leave PySide6 unloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, pkgutil, importlib
import caselog
for mod in pkgutil.walk_packages(caselog.__path__, "caselog."):
    if ".migrations" in mod.name:
        continue
    importlib.import_module(mod.name)
from caselog.cli import main
code = main(["--db", sys.argv[1], "demo", "--cases", "5"])
code |= main(["--db", sys.argv[1], "list"])
code |= main(["--db", sys.argv[1], "export", "--format", "xlsx", "--output", sys.argv[1] + ".xlsx"])
loaded = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6", "ui")))
print("LOADED", loaded)
sys.exit(code or (1 if loaded else 0))
"""


def test_core_and_cli_never_load_qt(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "c.sqlite3")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "LOADED []" in result.stdout
