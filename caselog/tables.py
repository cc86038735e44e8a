"""The numbers behind a chart, as the dashboard, the durability figures and their exports hand them out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from caselog import vocab

Cell = str | int | float | dt.date | None


@dataclass(frozen=True, slots=True)
class Table:
    """The numbers behind a chart: headings and rows of plain values (numbers stay numbers, so they sort)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def ordered(procedures: Iterable[str]) -> tuple[str, ...]:
    """Procedures in the contract's order (the order of every legend), unknown keys last."""
    order = {key: i for i, key in enumerate(vocab.PROCEDURES)}
    return tuple(sorted(set(procedures), key=lambda p: (order.get(p, len(order)), p)))


def label(procedure: str) -> str:
    """A procedure's name as the clinic reads it."""
    return vocab.label(vocab.PROCEDURES, procedure)


def percent(value: float | None) -> float | None:
    """A fraction as a percentage to one decimal, None staying None (shown blank)."""
    return None if value is None else round(100 * value, 1)
