"""A ruled table of plain-text rows that pages through thousands of rows in linear time, for the logs.

reportlab's Table re-measures and re-styles every remaining row each time it splits at a page end,
which made a 3,000-row complication log take a minute. Here each row's height is known up front
(its cells are pre-wrapped strings), so a split only counts rows, and each page gets a small Table
of its own rows with the header row on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.platypus import Flowable, Table, TableStyle

LEADING = 10.0
TOP_PAD = 2.0
BOTTOM_PAD = 2.5

#: Row style commands for one row, written for row 0; they are moved to wherever the row lands.
RowStyle = Sequence[tuple[Any, ...]]


def row_height(cells: Sequence[Any]) -> float:
    """Height of a row of plain-text cells ("\\n" separates lines) or `RunLines` cells, as the table draws it."""
    lines = max((cell.count("\n") + 1 if isinstance(cell, str) else len(cell.lines) for cell in cells), default=1)
    return lines * LEADING + TOP_PAD + BOTTOM_PAD


class RowTable(Flowable):  # type: ignore[misc]
    """Header row plus plain-text rows; `style` applies to every page's table, `row_styles` to single rows."""

    def __init__(
        self,
        header: Sequence[Any],
        rows: Sequence[Sequence[Any]],
        col_widths: Sequence[float],
        *,
        style: Sequence[tuple[Any, ...]],
        row_styles: Mapping[int, RowStyle] | None = None,
        heights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.header = list(header)
        self.rows = rows
        self.col_widths = list(col_widths)
        self.style = list(style)
        self.row_styles = row_styles or {}
        self.heights = heights if heights is not None else [row_height(r) for r in rows]
        self.start = 0  # rows before `start` went onto earlier pages; the lists are shared, never copied
        self.width = sum(self.col_widths)
        self._header_height: float | None = None

    def _header_h(self, avail_width: float) -> float:
        if self._header_height is None:
            probe = Table([self.header], colWidths=self.col_widths)
            probe.setStyle(TableStyle(self.style))
            _, self._header_height = probe.wrap(avail_width, 10_000)
        return self._header_height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        # Only whether the rest fits matters to the frame; stop adding once past the available height.
        total = self._header_h(avail_width)
        for index in range(self.start, len(self.rows)):
            total += self.heights[index]
            if total > avail_height:
                break
        self.height = total
        return (self.width, self.height)

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        room = avail_height - self._header_h(avail_width)
        end, used = self.start, 0.0
        while end < len(self.rows) and used + self.heights[end] <= room:
            used += self.heights[end]
            end += 1
        if end == self.start:
            return []  # not even one row fits: the frame moves the whole table to the next page
        if end == len(self.rows):
            return [self._page(self.start, end)]
        rest = type(self)(
            self.header, self.rows, self.col_widths, style=self.style, row_styles=self.row_styles, heights=self.heights
        )
        rest.start = end
        rest._header_height = self._header_height
        return [self._page(self.start, end), rest]

    def draw(self) -> None:
        table = self._page(self.start, len(self.rows))
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)

    def _page(self, start: int, end: int) -> Table:
        """A plain Table of rows start..end with the header on top and each row's own style moved into place."""
        table = Table(
            [self.header, *self.rows[start:end]],
            colWidths=self.col_widths,
            rowHeights=[self._header_height, *self.heights[start:end]],
            hAlign="LEFT",
        )
        commands = list(self.style)
        for index in range(start, end):
            for command in self.row_styles.get(index, ()):
                name, (c0, _), (c1, _), *args = command
                row = index - start + 1
                commands.append((name, (c0, row), (c1, row), *args))
        table.setStyle(TableStyle(commands))
        return table
