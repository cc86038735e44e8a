"""`python -m caselog`: the same command line as the `caselog` script."""

from __future__ import annotations

import sys

from caselog.cli import main

if __name__ == "__main__":
    sys.exit(main())
