"""Where CaseLog keeps its files: one place, on platformdirs, overridable so tests never touch a real profile."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "CaseLog"
DATABASE_FILE = "caselog.sqlite3"


def data_dir() -> Path:
    """The per-user data folder, or `CASELOG_HOME` when set (tests, portable installs)."""
    home = os.environ.get("CASELOG_HOME")
    if home:
        return Path(home)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database() -> Path:
    return data_dir() / DATABASE_FILE


def log_dir() -> Path:
    return data_dir() / "logs"
