"""Errors a user can cause, each with the sentence a person reads and the contract's exit status.

The command line prints them and exits with `exit_status`; the desktop app shows them in one helper.
Anything else that goes wrong is a defect, reported as exit status 1 without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from caselog.validation import Problem

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_INVALID = 2
EXIT_NOT_FOUND = 3
EXIT_NOT_PERMITTED = 4
EXIT_CONFLICT = 5
EXIT_AUDIT_ALTERED = 6


class CaselogError(Exception):
    """Base of every error meant for the user's eyes."""

    exit_status = EXIT_OTHER

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def lines(self) -> list[str]:
        """What to print, one line each (standard error for the CLI)."""
        return [self.message]


class InvalidInput(CaselogError):
    """The input breaks the contract; nothing was written. Carries every problem with its field path."""

    exit_status = EXIT_INVALID

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class NotFound(CaselogError):
    exit_status = EXIT_NOT_FOUND


class NotPermitted(CaselogError):
    exit_status = EXIT_NOT_PERMITTED


class Conflict(CaselogError):
    """Someone else changed the record first; the caller's copy is stale and nothing was written."""

    exit_status = EXIT_CONFLICT


class AuditAltered(CaselogError):
    exit_status = EXIT_AUDIT_ALTERED


class StorageError(CaselogError):
    """The database cannot be used (busy, damaged, read-only, disk full); the message says what to do."""

    exit_status = EXIT_OTHER
