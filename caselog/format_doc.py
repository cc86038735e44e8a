"""The generated part of docs/format.md: `python -m caselog.format_doc` prints it (a test compares the two).

Kept apart from caselog.fields, which every other module reads: the export columns come from caselog.exchange,
which is itself built from the table of fields.
"""

from __future__ import annotations

import sys

from caselog.exchange import columns_markdown
from caselog.fields import markdown


def format_doc() -> str:
    """The fields, then the export columns built from them."""
    return f"{markdown()}\n### Export columns\n\n{columns_markdown()}"


if __name__ == "__main__":  # pragma: no cover - a developer's command
    sys.stdout.write(format_doc())
