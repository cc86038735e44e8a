"""Where the files that ship beside the code (fonts, icons, drawings) live, for the reports and the desktop app.

Looked up in order: the `CASELOG_RESOURCES` environment variable (portable installs, tests), the
`resources/` folder beside the `caselog` package (a source checkout or an editable install), and
`<prefix>/share/caselog/resources` (an installed copy with data files). A missing folder or file is
reported with every place that was searched, never as a bare FileNotFoundError from deep in reportlab.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from caselog.errors import CaselogError

ENV_VAR = "CASELOG_RESOURCES"
_PACKAGE_DIR = Path(__file__).resolve().parent


class ResourceMissing(CaselogError):
    """A file CaseLog ships with cannot be found: the installation is incomplete (exit status 1)."""


def candidate_dirs() -> list[Path]:
    """The folders searched when `CASELOG_RESOURCES` is not set, in order."""
    return [_PACKAGE_DIR.parent / "resources", Path(sys.prefix) / "share" / "caselog" / "resources"]


def resources_dir() -> Path:
    """The resources folder; raises ResourceMissing naming every place searched.

    A `CASELOG_RESOURCES` that names no folder is an error, not a silent fall back to another copy.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        if Path(override).is_dir():
            return Path(override)
        raise ResourceMissing(f"{ENV_VAR}={override}: no such folder")
    candidates = candidate_dirs()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise ResourceMissing(f"CaseLog's resources folder is missing (searched: {searched}); reinstall CaseLog")


def resource_path(*parts: str) -> Path:
    """A file inside the resources folder, e.g. `resource_path("fonts", "DejaVuSans.ttf")`."""
    base = resources_dir()
    path = base.joinpath(*parts)
    if not path.is_file():
        raise ResourceMissing(f"{path}: file missing from CaseLog's resources folder; reinstall CaseLog")
    return path
