"""What the windows are given instead of globals: the case service, the task runner and the shared settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from caselog.reports import ReportSettings
from caselog.service import CaseService
from caselog.settings import Settings, load_settings, save_settings
from ui.tasks import TaskRunner


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
        s = self.value
        return ReportSettings(
            facility_name=s.facility_name or None,
            logo_path=Path(s.logo_path) if s.logo_path else None,
            paper=str(getattr(s, "paper", "letter") or "letter"),
        )


@dataclass
class Services:
    """Everything a window needs to reach the data: one database's case service and the background runner."""

    cases: CaseService
    tasks: TaskRunner
    database_name: str
