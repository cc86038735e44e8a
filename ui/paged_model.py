"""The paging both big tables share: the first page and its count load off the GUI thread, and so does each
further page when the view scrolls to the end (`fetchMore`): the GUI thread never waits for the database.

Subclasses say how to count and how to fetch a page (`_count`, `_fetch`), and what a row shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Signal

from ui.services import Services

PAGE_SIZE = 200
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class More(Generic[R]):
    """A further page from the worker, for the rows loaded from `offset` on under refresh `generation`."""

    generation: int
    offset: int
    rows: list[R]


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """What one refresh brings back from the worker: the first page and the counts."""

    generation: int
    rows: list[R]
    matching: int
    total: int


class PagedTableModel(QAbstractTableModel, Generic[R]):
    """Holds frozen rows only; `refresh()` reloads in the background and emits `loaded`; `fetchMore()` adds the
    next page in the background and emits `fetched` when its rows are in."""

    loaded = Signal()
    fetched = Signal()
    failed = Signal(object)

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._rows: list[R] = []
        self.sort_key = "procedure_date"
        self.descending = True
        self.matching = 0
        self.total = 0
        self._generation = 0
        self._fetching: int | None = None  # the generation whose next page is on its way
        self.loading = False

    # ---- what a subclass says ---------------------------------------------------------------------------

    def _query(self) -> Any:
        """The current filter (frozen), handed to the worker with the sort."""
        raise NotImplementedError

    def _count(self, service: Any, query: Any) -> tuple[int, int]:
        """(matching, total) for this filter."""
        raise NotImplementedError

    def _fetch(self, service: Any, query: Any, sort: str, descending: bool, offset: int) -> list[R]:
        raise NotImplementedError

    # ---- loading ----------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Count and load the first page off the GUI thread; a newer refresh makes an older result moot."""
        self._generation += 1
        generation, query, sort, descending = self._generation, self._query(), self.sort_key, self.descending
        service = self._services.cases
        self.loading = True

        def work(_progress: Any) -> Page[R]:
            matching, total = self._count(service, query)
            return Page(generation, self._fetch(service, query, sort, descending, 0), matching, total)

        self._services.tasks.run(work, on_result=self._apply, on_error=self._failed)

    def _apply(self, page: Page[R]) -> None:
        if page.generation != self._generation:
            return
        self.beginResetModel()
        self._rows = page.rows
        self.matching = page.matching
        self.total = page.total
        self.endResetModel()
        self.loading = False
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.failed.emit(exc)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self.matching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Ask for the next page off the GUI thread; the view may ask again meanwhile, one page is on its way."""
        if parent.isValid() or self._fetching == self._generation:
            return
        generation, offset = self._generation, len(self._rows)
        query, sort, descending = self._query(), self.sort_key, self.descending
        service = self._services.cases
        self._fetching = generation

        def work(_progress: Any) -> More[R]:
            return More(generation, offset, self._fetch(service, query, sort, descending, offset))

        self._services.tasks.run(work, on_result=self._append, on_error=self._fetch_failed)

    @property
    def fetching(self) -> bool:
        """Whether a further page is on its way for the rows shown now."""
        return self._fetching == self._generation

    def _append(self, more: More[R]) -> None:
        if more.generation == self._fetching:
            self._fetching = None
        if more.generation != self._generation or more.offset != len(self._rows):
            return  # a refresh since: these rows belong to another list
        if more.rows:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more.rows) - 1)
            self._rows.extend(more.rows)
            self.endInsertRows()
        else:
            self.matching = len(self._rows)  # the data shrank under us; stop asking
        self.fetched.emit()

    def _fetch_failed(self, exc: BaseException) -> None:
        self._fetching = None
        self.failed.emit(exc)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None
