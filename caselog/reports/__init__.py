"""CaseLog's PDF reports for the command line and the desktop app: case summaries, complication log, surgeon log.

Pure functions from case views to a PDF file; no database, no Qt.
"""

from __future__ import annotations

from caselog.reports.common import ReportSettings
from caselog.reports.complications import write_complication_log
from caselog.reports.summary import write_case_summaries
from caselog.reports.surgeon_log import write_surgeon_log

__all__ = ["ReportSettings", "write_case_summaries", "write_complication_log", "write_surgeon_log"]
