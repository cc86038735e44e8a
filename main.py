"""Starts CaseLog. Until the desktop app lands, this shows what the command line can do."""

from __future__ import annotations

import sys

from caselog.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["--help"]))
