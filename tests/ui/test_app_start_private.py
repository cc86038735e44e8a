"""The desktop app starts as the command line does: owner-only files, CaseLog's own temporary folder, and
whatever a crashed copy left there removed before anything else happens."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import pytest

from caselog import files, paths
from ui import app as app_module


@pytest.mark.skipif(os.name != "posix", reason="owner-only modes exist on POSIX systems only")
def test_the_app_starts_with_private_files_and_cleans_a_crashs_leftovers(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = paths.data_dir() / files.TEMP_FOLDER / "4242-crashed"
    dead.mkdir(parents=True)
    (dead / "caselog-print-preview.pdf").write_bytes(b"%PDF MRN-1001")
    seen: dict[str, object] = {}

    def start(argv: Sequence[str] | None) -> int:
        umask = os.umask(0o077)
        seen.update(umask=umask, temp=tempfile.gettempdir(), leftover=dead.exists())
        return 0

    monkeypatch.setattr(app_module, "_start", start)
    assert app_module.main([]) == 0
    assert seen["umask"] == 0o077 and seen["leftover"] is False
    assert str(seen["temp"]).startswith(str(paths.data_dir() / files.TEMP_FOLDER))
    assert os.stat(paths.data_dir()).st_mode & 0o777 == 0o700
