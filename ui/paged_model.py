"""The paging both big tables share: the first page and its count load off the GUI thread, and so does each
further page when the view scrolls to the end (`fetchMore`): the GUI thread never waits for the database.

Subclasses say how to count and how to fetch a page (`_count`, `_fetch`), and what a row shows (`columns`,
`_display`, `_sort_value`, `_key`, `_decorate`); columns, headers, sorting and the row roles are shared.

A list that may grow to a million rows (`window_pages`) keeps only a window of pages: the list still counts every
row it has scrolled through, but pages far from the last one shown are dropped, and read again (off the GUI
thread, at the same place) when the view comes back to them. The rows selected and the current row are kept
whatever is dropped, so what the actions work on never depends on how far the list was scrolled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    #: How many pages of rows stay in memory (0: every page loaded stays; a short list never needs more).
    window_pages: ClassVar[int] = 0

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._filter: Q = self.no_filter
        self._rows: list[R] = []  # the rows kept: rows `_first` to `_first + len(_rows) - 1` of the list
        self._first = 0
        self._loaded = 0  # the rows the list has grown to (what the view counts), kept or not
        self._kept: dict[int, R] = {}  # the selected rows and the current one, by row, wherever the window is
        self._wanted: set[int] = set()  # rows to keep that were not in memory when they were selected
        self._reading: set[int] = set()  # the offsets of the pages being read again
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
        self._forget()
        self._rows, self._loaded = page.rows, len(page.rows)
        self.matching = page.matching
        self.total = page.total
        self.endResetModel()
        self.loading = False
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.failed.emit(exc)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._loaded < self.matching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Ask for the next page off the GUI thread; the view may ask again meanwhile, one page is on its way."""
        if parent.isValid() or self.loading or self.fetching:  # a refresh brings its own first page
            return
        generation, offset = self._generation, self._loaded
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
        if more.generation != self._generation or more.offset != self._loaded:
            return  # a refresh since: these rows belong to another list
        if more.rows:
            self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + len(more.rows) - 1)
            self._store(more.offset, more.rows)
            self._loaded += len(more.rows)
            self.endInsertRows()
        else:
            self.matching = self._loaded  # the data shrank under us; stop asking
        self.fetched.emit()

    def _fetch_failed(self, exc: BaseException) -> None:
        self._fetching = None
        self.failed.emit(exc)

    def _row_count(self) -> int:
        return self._loaded

    def row_at(self, row: int) -> R | None:
        """The row at `row`; None past the end, or (a moment) while its page, dropped, is read again."""
        kept = self._kept.get(row)  # first: a selected row stays the case that was selected
        if kept is not None:
            return kept
        if self._first <= row < self._first + len(self._rows):
            return self._rows[row - self._first]
        if 0 <= row < self._loaded:
            self._read_again(row)
        return None

    def row_of(self, key: Any) -> int:
        """The row named `key` among those in memory, else -1."""
        kept = next((i for i, row in self._kept.items() if self._key(row) == key), -1)
        if kept >= 0:
            return kept
        found = next((i for i, row in enumerate(self._rows) if self._key(row) == key), -1)
        return self._first + found if found >= 0 else -1

    def clear(self) -> None:
        """No rows at all (nothing of them stays in memory) until the next refresh."""
        self.beginResetModel()
        self._forget()
        self.matching = self.total = 0
        self.endResetModel()

    def keep(self, rows: Iterable[int]) -> None:
        """Keep these rows (the selection and the current row) in memory, however far the list scrolls; those not
        in memory now are read again and kept when they arrive."""
        kept: dict[int, R] = {}
        self._wanted = set()
        for row in rows:
            found = self._kept.get(row)
            if found is None:
                found = self._in_window(row)
            if found is not None:
                kept[row] = found
            elif 0 <= row < self._loaded:
                self._wanted.add(row)
                self._read_again(row)
        self._kept = kept

    @property
    def rows_in_memory(self) -> int:
        """How many rows the model holds now (the window and the kept rows), for the tests and the benchmark."""
        return len(self._rows) + sum(1 for row in self._kept if not self._first <= row < self._first + len(self._rows))

    # ---- the window of pages kept -----------------------------------------------------------------------

    def _forget(self) -> None:
        self._rows, self._first, self._loaded = [], 0, 0
        self._kept, self._wanted, self._reading = {}, set(), set()

    def _in_window(self, row: int) -> R | None:
        return self._rows[row - self._first] if self._first <= row < self._first + len(self._rows) else None

    def _store(self, offset: int, rows: list[R]) -> None:
        """Put a page read at `offset` into the window: beside it, the window grows and its far end is dropped;
        elsewhere (the view jumped), it starts a new window."""
        end = self._first + len(self._rows)
        if offset == end:
            self._rows.extend(rows)
            excess = len(self._rows) - self.window_pages * PAGE_SIZE
            if self.window_pages and excess > 0:
                drop = -(-excess // PAGE_SIZE) * PAGE_SIZE  # whole pages, so the window stays page-aligned
                del self._rows[:drop]
                self._first += drop
        elif offset + len(rows) == self._first:
            self._rows[:0] = rows
            self._first = offset
            if self.window_pages and len(self._rows) > self.window_pages * PAGE_SIZE:
                del self._rows[self.window_pages * PAGE_SIZE :]
        else:
            self._rows, self._first = list(rows), offset
        for row in self._wanted & set(range(offset, offset + len(rows))):
            self._kept[row] = rows[row - offset]
            self._wanted.discard(row)

    def _read_again(self, row: int) -> None:
        """Read the page holding `row` again off the GUI thread (once, however often it is asked for)."""
        offset = row // PAGE_SIZE * PAGE_SIZE
        if offset in self._reading:
            return
        self._reading.add(offset)
        generation, query, sort, descending = self._generation, self._query(), self.sort_key, self.descending
        service = self._services.cases

        def work(_progress: Any) -> More[R]:
            return More(generation, offset, self._fetch(service, query, sort, descending, offset))

        # A page that cannot be read stays unasked until the next refresh: no retry on every repaint.
        self._services.tasks.run(work, on_result=self._read, on_error=self.failed.emit, owner=self)

    def _read(self, more: More[R]) -> None:
        if more.generation != self._generation:
            return  # a refresh since: another list
        self._reading.discard(more.offset)
        expected = min(PAGE_SIZE, self._loaded - more.offset)
        if len(more.rows) < expected:
            self.refresh()  # cases went away under the list: read it again from the top, not a list with holes
            return
        rows = more.rows[:expected]
        self._store(more.offset, rows)
        last = more.offset + len(rows) - 1
        self.dataChanged.emit(self.index(more.offset, 0), self.index(last, len(self.columns) - 1))

    # ---- the table --------------------------------------------------------------------------------------

    def _headings(self) -> list[str]:
        return [c.title for c in self.columns]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            tip = self._header_tip(section)
            return tip if tip or self.columns[section].sort_key else "This column cannot be sorted"
        return super().headerData(section, orientation, role)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
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
