"""Starts the CaseLog desktop app (`make run`); the command line is `caselog` (or `python -m caselog`)."""

from __future__ import annotations

import gc
import sys

# The app collects garbage on its GUI thread only (ui.tasks.GuiThreadGarbageCollector); switched off from here,
# the start's imports (a few hundred thousand long-lived objects) are not scanned again and again on the way.
gc.disable()

from ui.app import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
