"""Summary rows as a history import needs them: a few numbers a row, in fixed places.

A 15-minute Summary row carries about 40 keys (Min, Max, Diff ... of each field asked).
The hourly statistics (push/history.py) need two numbers of a register's field (its value
at the row's end: Last, else Max; at its start: First, else Min) and three of a mean's
(Average; Min and Max, else Average). `Columns` says where each sits in a HistoryRow's
`values`. A page parsed straight into HistoryRows (`parse_history_rows`) costs about a fifth
of one parsed into SummaryRows, and a HistoryRow holds nothing the garbage collector has to
follow (a page of SummaryRows is some 12,000 objects it does). SummaryRows from elsewhere
convert with `history_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..errors import MalformedResponseError
from .dates import MAX_EPOCH_MS, datetime_of_ms
from .mapping import meter_address
from .summary import ROW_KEYS, STAT_SUFFIXES, SummaryRow, finite_number

_SUFFIX = {attr: suffix for suffix, attr in STAT_SUFFIXES}
# Where a register's value is read, in order of preference: at a row's end, at its start.
_AT_END = ("last", "max")
_AT_START = ("first", "min")
# A mean's average, low and high.
_MEAN = (("average",), ("min", "average"), ("max", "average"))


class HistoryRow(NamedTuple):
    """One Summary period reduced to the numbers a history import reads (Columns says where)."""

    meter: str  # 12 digits; "" if the row does not say
    start: datetime  # aware, UTC
    end: datetime
    values: tuple[float | None, ...]  # None where the row has no usable number


@dataclass(frozen=True, slots=True)
class Columns:
    """Which numbers of a Summary row a history import reads, and where they sit in a HistoryRow.

    `registers` are the fields of the sums, `means` those of the hourly means.
    """

    registers: tuple[str, ...]
    means: tuple[str, ...]
    # Per place: the (field, statistic) pairs it is read from, the first usable one wins.
    sources: tuple[tuple[tuple[str, str], ...], ...] = field(init=False)
    # Per place: the keys of `sources` in a Summary row, e.g. 'kWh_Tot_Max'.
    keys: tuple[tuple[str, ...], ...] = field(init=False)
    at_end: Mapping[str, int] = field(init=False)  # register field -> place
    at_start: Mapping[str, int] = field(init=False)
    mean_at: Mapping[str, int] = field(init=False)  # mean field -> place of its average (low, high follow)

    def __post_init__(self) -> None:
        # A row's own keys (Meter, Count ...) are no fields; "" would read the bare suffixes.
        if bad := [name for name in (*self.registers, *self.means) if not name or name in ROW_KEYS]:
            raise ValueError(f"not Summary fields: {bad}")
        sources: list[tuple[tuple[str, str], ...]] = []
        at_end: dict[str, int] = {}
        at_start: dict[str, int] = {}
        mean_at: dict[str, int] = {}

        def place(name: str, stats: Sequence[str]) -> int:
            sources.append(tuple((name, stat) for stat in stats))
            return len(sources) - 1

        for name in dict.fromkeys(self.registers):
            at_end[name] = place(name, _AT_END)
            at_start[name] = place(name, _AT_START)
        for name in dict.fromkeys(self.means):
            mean_at[name] = place(name, _MEAN[0])
            place(name, _MEAN[1])
            place(name, _MEAN[2])
        object.__setattr__(self, "sources", tuple(sources))
        object.__setattr__(self, "keys", tuple(tuple(f"{n}{_SUFFIX[s]}" for n, s in p) for p in sources))
        object.__setattr__(self, "at_end", at_end)
        object.__setattr__(self, "at_start", at_start)
        object.__setattr__(self, "mean_at", mean_at)

    @property
    def fields(self) -> tuple[str, ...]:
        """The Summary fields to ask for."""
        return tuple(dict.fromkeys(self.registers + self.means))


def parse_history_rows(payload: Any, what: str, columns: Columns) -> list[HistoryRow]:
    """A legacy Summary page (a JSON array of periods) as HistoryRows.

    The same checks as push/summary.parse_rows: MalformedResponseError for a payload that
    is no array (an object wrapping one list is tolerated), a row that is no object or lacks
    its time stamps, a meter that is not an address; a value that is no finite number is
    none. Only the keys `columns` reads are looked at.
    """
    if isinstance(payload, Mapping):
        lists = [v for v in payload.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise MalformedResponseError(f"{what}: expected a list of periods")
        payload = lists[0]
    if not isinstance(payload, list):
        raise MalformedResponseError(f"{what}: expected a list of periods")
    keys = columns.keys
    times: dict[Any, datetime | None] = {}  # a row's end is usually the next one's start
    meters: dict[Any, str] = {}
    out = []
    for raw in payload:
        if not isinstance(raw, Mapping):
            raise MalformedResponseError(f"{what}: a row is not an object")
        start = _time(raw.get("Start_Time_Stamp_UTC_ms"), times)
        end = _time(raw.get("End_Time_Stamp_UTC_ms"), times)
        if start is None or end is None:
            raise MalformedResponseError(f"{what}: a row has no start/end time stamp")
        meter = raw.get("Meter")
        address = meters.get(meter) if type(meter) is str else None
        if address is None:
            address = meter_address(meter, what) if meter not in (None, "") else ""
            if type(meter) is str:
                meters[meter] = address
        values: list[float | None] = []
        for candidates in keys:
            number = None
            for key in candidates:
                value = raw.get(key)
                if value is None:
                    continue
                # A finite float (x - x is NaN for inf and NaN) needs no conversion: most values are.
                number = value if type(value) is float and value - value == 0.0 else finite_number(value)
                if number is not None:
                    break
            values.append(number)
        out.append(HistoryRow(address, start, end, tuple(values)))
    return out


def _time(raw: Any, seen: dict[Any, datetime | None]) -> datetime | None:
    """Epoch milliseconds as a UTC datetime (push/dates.datetime_of_ms), each value converted once."""
    if type(raw) is not int:
        return datetime_of_ms(raw)
    when = seen.get(raw)
    if when is None and raw not in seen:
        when = seen[raw] = datetime.fromtimestamp(raw / 1000, UTC) if 0 <= raw <= MAX_EPOCH_MS else None
    return when


def history_rows(rows: Iterable[SummaryRow], columns: Columns) -> list[HistoryRow]:
    """SummaryRows as HistoryRows: the numbers `columns` reads, from each row's stats."""
    out = []
    for row in rows:
        values: list[float | None] = []
        for candidates in columns.sources:
            number = None
            for name, stat in candidates:
                stats = row.stats.get(name)
                number = None if stats is None else getattr(stats, stat)
                if number is not None:
                    break
            values.append(number)
        out.append(HistoryRow(row.meter, row.start, row.end, tuple(values)))
    return out
