"""The real `caselog` command, stopped for good just before an XLSX export is zipped, so a test can kill it then.

    python -m tests.helpers.stalled_export --db FILE export --format xlsx --output FILE

Prints `saving` when every sheet's rows sit in openpyxl's temporary files and the file beside the output is
open; then waits to be killed.
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

from caselog import exchange
from caselog.cli import main


def _stall(_book: Any, _handle: IO[bytes]) -> None:
    print("saving", flush=True)
    threading.Event().wait()


exchange._save_book = _stall

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
