"""Starts the CaseLog desktop app (`make run`); the command line is `caselog` (or `python -m caselog`)."""

from __future__ import annotations

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
