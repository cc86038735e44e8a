"""The paging both big tables share: the first page and its count load off the GUI thread, and so does each
further page when the view scrolls to the end (`fetchMore`): the GUI thread never waits for the database.

Subclasses say how to count and how to fetch a page (`_count`, `_fetch`), and what a row shows (`columns`,
`_display`, `_sort_value`, `_key`, `_decorate`); columns, headers, sorting and the row roles are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QTableView

from ui.services import Services
from ui.tables import HeadedTableModel, Selection, list_table

PAGE_SIZE = 200
R = TypeVar("R")
Q = TypeVar("Q")  # the frozen filter a list is loaded with

#: A role that returns the row itself, and one that returns the real value for sorting.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a paged list: its heading, its SQL sort key (None: not sortable), its width, its text and,
    where the text does not sort right (dates, numbers, grades), the value to sort a copy of the rows by."""

    title: str
    sort_key: str | None
    width: int
    text: Callable[[Any], str]
    value: Callable[[Any], Any] | None = None


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


class PagedTableModel(HeadedTableModel, Generic[R, Q]):
    """Holds frozen rows only; `refresh()` reloads in the background and emits `loaded`; `fetchMore()` adds the
    next page in the background and emits `fetched` when its rows are in."""

    loaded = Signal()
    fetched = Signal()
    failed = Signal(object)

    columns: ClassVar[tuple[Column, ...]] = ()
    no_filter: ClassVar[Any]  # the (frozen) filter that selects everything, which a new list starts with

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._filter: Q = self.no_filter
        self._rows: list[R] = []
        self.sort_key = "procedure_date"
        self.descending = True
        self.matching = 0
        self.total = 0
        self._generation = 0
        self._fetching: int | None = None  # the generation whose next page is on its way
        self.loading = False

    # ---- what a subclass says ---------------------------------------------------------------------------

    def _count(self, service: Any, query: Q) -> tuple[int, int]:
        """(matching, total) for this filter."""
        raise NotImplementedError

    def _fetch(self, service: Any, query: Q, sort: str, descending: bool, offset: int) -> list[R]:
        raise NotImplementedError

    def _display(self, row: R, column: int) -> str:
        return self.columns[column].text(row)

    def _sort_value(self, row: R, column: int) -> Any:
        """The real value behind a cell (a date, a number), for sorting a copy of the rows."""
        value = self.columns[column].value
        return value(row) if value is not None else self._display(row, column)

    def _key(self, row: R) -> Any:
        """What names a row across reloads (a case number)."""
        raise NotImplementedError

    def _decorate(self, row: R, column: int, role: int) -> Any:
        """Tooltips, colours, fonts and alignment of a cell; None for the default."""
        return None

    def _header_tip(self, section: int) -> str | None:
        return None

    # ---- the filter -------------------------------------------------------------------------------------

    @property
    def filter(self) -> Q:
        """What the list shows now."""
        return self._filter

    def set_filter(self, query: Q) -> None:
        self._filter = query
        self.refresh()

    def _query(self) -> Q:
        return self._filter

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

        self._services.tasks.run(work, on_result=self._apply, on_error=self._failed, owner=self)

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
        if parent.isValid() or self.loading or self.fetching:  # a refresh brings its own first page
            return
        generation, offset = self._generation, len(self._rows)
        query, sort, descending = self._query(), self.sort_key, self.descending
        service = self._services.cases
        self._fetching = generation

        def work(_progress: Any) -> More[R]:
            return More(generation, offset, self._fetch(service, query, sort, descending, offset))

        self._services.tasks.run(work, on_result=self._append, on_error=self._fetch_failed, owner=self)

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

    def _row_count(self) -> int:
        return len(self._rows)

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, key: Any) -> int:
        """The row named `key` among those loaded, else -1."""
        return next((i for i, row in enumerate(self._rows) if self._key(row) == key), -1)

    # ---- the table --------------------------------------------------------------------------------------

    def _headings(self) -> list[str]:
        return [c.title for c in self.columns]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            tip = self._header_tip(section)
            return tip if tip or self.columns[section].sort_key else "This column cannot be sorted"
        return super().headerData(section, orientation, role)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return self._sort_value(row, column)
        return self._decorate(row, column, role)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is SQL: a new sort reloads from the first page."""
        key = self.columns[column].sort_key
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) == (self.sort_key, self.descending):
            return
        self.sort_key, self.descending = key, descending
        self.refresh()

    def sort_column(self) -> int:
        return next(i for i, c in enumerate(self.columns) if c.sort_key == self.sort_key)


def paged_table(model: PagedTableModel[Any, Any], name: str, *, selection: Selection) -> QTableView:
    """A list loaded a page at a time and sorted in SQL: a header click asks the model, newest first."""
    table = list_table(model, name, widths=[c.width for c in model.columns], selection=selection)
    table.horizontalHeader().setSortIndicator(model.sort_column(), Qt.SortOrder.DescendingOrder)
    table.setSortingEnabled(True)  # after the indicator, or Qt sorts by the first column at once
    return table
