"""The frozen `caselog` command's entry point (PyInstaller needs a script; the command itself is caselog.cli)."""

import sys

from caselog.cli import main

if __name__ == "__main__":
    sys.exit(main())
