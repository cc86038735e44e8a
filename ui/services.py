"""What the windows are given instead of globals: the case service (as the signed-in account), tasks, settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.service import CaseService
from caselog.settings import Settings, load_settings, save_settings
from ui.tasks import TaskRunner

if TYPE_CHECKING:
    from caselog.reports import ReportSettings


class AppSettings(QObject):
    """The settings file, held in memory; `update` writes it and tells every window."""

    changed = Signal()

    def __init__(self, value: Settings | None = None, *, path: Path | None = None) -> None:
        super().__init__()
        self._path = path
        self.value = value if value is not None else load_settings(path)

    def update(self, **changes: Any) -> None:
        self.value = self.value.replace(**changes)
        save_settings(self.value, self._path)
        self.changed.emit()

    def save_template(self, name: str, data: dict[str, Any]) -> None:
        templates = dict(self.value.templates)
        templates[name] = data
        self.update(templates=templates)

    def delete_template(self, name: str) -> None:
        templates = {k: v for k, v in self.value.templates.items() if k != name}
        self.update(templates=templates)

    def report_settings(self) -> ReportSettings:
        from caselog.reports import ReportSettings  # reportlab is loaded for the first report, not at start

        return ReportSettings.from_settings(self.value)


@dataclass
class Services:
    """Everything a window needs to reach the data: one database's case service and the background runner.

    After a sign-in, `cases` is replaced by a service bound to the signed-in account; windows read
    `services.cases` at each use, so they all act as the new account from then on.
    """

    cases: CaseService
    tasks: TaskRunner
    database_name: str

    def __post_init__(self) -> None:
        self._today = self.cases.today  # the clock the first service was given, kept across sign-ins

    @property
    def db(self) -> Database:
        return self.cases.db

    @property
    def actor(self) -> Actor | None:
        """Who is signed in; None in a database without accounts (single-user) or after signing out."""
        return self.cases.actor

    def accounts(self) -> AccountService:
        return AccountService(self.db, self.actor)

    def start_session(self, actor: Actor | None) -> None:
        """Every later service call acts as `actor` (and is allowed or refused as the roles table says)."""
        self.cases = CaseService(self.db, actor=actor, today=self._today)
