"""A history import's hourly rows, held by column.

A year of one meter is ~100,000 hourly sums and means. As NamedTuples they are objects
the garbage collector tracks (a tuple subclass is never untracked), and those of a window
live long enough to reach its oldest generation: every few windows a full collection of
Home Assistant's whole heap followed, ~150 ms with the GIL held, the event loop stopped.
A series keeps its hours in one tuple (of datetimes: untracked) and its numbers in float
arrays; HourlySum/HourlyMean rows are made when read, and die young.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Self, overload


class HourlySum(NamedTuple):
    start: datetime  # hour start, UTC
    state: float  # register at the hour's end
    sum: float  # counted since the series began


class HourlyMean(NamedTuple):
    start: datetime  # hour start, UTC
    mean: float  # time-weighted mean of the Summary rows' averages
    min: float
    max: float


class _Series[R: tuple[Any, ...]](Sequence[R]):
    """Rows of type `_row`, oldest first, held as a column of starts and columns of floats."""

    __slots__ = ("_columns",)
    _row: ClassVar[Any]

    def __init__(self, starts: Iterable[datetime], *numbers: Iterable[float]) -> None:
        self._columns: tuple[Sequence[Any], ...] = (tuple(starts), *(array("d", n) for n in numbers))
        if len({len(column) for column in self._columns}) > 1:
            raise ValueError("the columns of a series differ in length")

    @property
    def starts(self) -> Sequence[datetime]:
        return self._columns[0]

    def __len__(self) -> int:
        return len(self._columns[0])

    @overload
    def __getitem__(self, index: int) -> R: ...
    @overload
    def __getitem__(self, index: slice) -> Self: ...
    def __getitem__(self, index: int | slice) -> R | Self:
        if isinstance(index, slice):
            part = object.__new__(type(self))
            part._columns = tuple(column[index] for column in self._columns)
            return part
        row: R = self._row(*(column[index] for column in self._columns))
        return row

    def __iter__(self) -> Iterator[R]:
        rows: Iterator[R] = map(self._row, *self._columns)
        return rows

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same rows (a list or tuple of them too). Rows are made
        when read, so a NaN in one is never equal to itself (sums and means are finite)."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class HourlySums(_Series[HourlySum]):
    """A register's hourly sums: starts, states and sums."""

    __slots__ = ()
    _row = HourlySum

    @property
    def states(self) -> Sequence[float]:
        return self._columns[1]

    @property
    def sums(self) -> Sequence[float]:
        return self._columns[2]


class HourlyMeans(_Series[HourlyMean]):
    """A field's hourly means: starts, means, minima and maxima."""

    __slots__ = ()
    _row = HourlyMean
