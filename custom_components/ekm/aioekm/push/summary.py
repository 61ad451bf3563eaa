"""Summary API rows (legacy and V2), typed, and the report lengths of the legacy Summary.

A row holds per-field statistics under EKM's suffixes: `kWh_Tot_Diff`,
`RMS_Volts_Ln_1_Average`, `Pulse_Cnt_1_First` ... Suffixes we do not know and
other keys are kept in `extra`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import math
from types import MappingProxyType
from typing import Any

from ..errors import MalformedResponseError
from .dates import datetime_of_ms
from .mapping import meter_address


class Report(StrEnum):
    """Legacy Summary period lengths."""

    MIN_15 = "15"
    HOUR = "hr"
    DAY = "dy"
    WEEK = "wk"
    MONTH = "mo"


# Shortest length of each period, in seconds (a day can have 23 hours, a month 28 days).
_SHORTEST = {
    Report.MIN_15: 900,
    Report.HOUR: 3600,
    Report.DAY: 23 * 3600,
    Report.WEEK: 7 * 86400 - 3600,
    Report.MONTH: 28 * 86400 - 3600,
}


def most_periods(report: Report, start: datetime, end: datetime) -> int:
    """How many `report` periods of one meter can touch [start, end): more rows are not real."""
    seconds = max(0.0, (end - start).total_seconds())
    return int(seconds // _SHORTEST[report]) + 2


# Suffix -> FieldStats attribute; longest suffixes first so `_DeltaMax` wins over `_Max`.
STAT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_DeltaMax", "delta_max"),
    ("_Average", "average"),
    ("_StdDev", "std_dev"),
    ("_First", "first"),
    ("_Last", "last"),
    ("_Diff", "diff"),
    ("_Min", "min"),
    ("_Max", "max"),
)
_MAX_COUNT = 2**31  # reads in one period; a larger Count is not one
ROW_KEYS = frozenset(
    {
        "Start_Time_Stamp_UTC_ms",
        "End_Time_Stamp_UTC_ms",
        "Start_Date",
        "End_Date",
        "Meter",
        "Count",
        "Protocol",
    }
)


@dataclass(frozen=True, slots=True)
class FieldStats:
    """Statistics of one field over one period; None where the row lacks them."""

    min: float | None = None
    max: float | None = None
    diff: float | None = None
    average: float | None = None
    std_dev: float | None = None
    first: float | None = None
    last: float | None = None
    delta_max: float | None = None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One period of one meter (legacy Summary and Summary V2 share it)."""

    meter: str  # 12 digits; "" if the row does not say
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    stats: Mapping[str, FieldStats]
    count: int | None = None  # reads summarised
    protocol: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def diff(self, name: str) -> float | None:
        """`<name>_Diff`, the usual thing to want from a counter."""
        stats = self.stats.get(name)
        return stats.diff if stats else None


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """Summary V2 GStat: what the API says about a gateway (tolerant: the spec is unknown)."""

    mac: str
    online: bool | None
    last_seen: datetime | None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def connected(self) -> bool | None:
        """The gateway reaches EKM's cloud (HA's per-gateway Connected); None when not said."""
        return self.online


@dataclass(frozen=True, slots=True)
class IoStackRow:
    """Summary V2 ioStack: one row, its values kept as sent (field names not published)."""

    device: str
    start: datetime | None
    end: datetime | None
    values: Mapping[str, Any]


def finite_number(raw: Any) -> float | None:
    """A finite number from a number or its text; None otherwise."""
    kind = type(raw)
    if kind is float:  # the usual case first: JSON numbers
        return raw if math.isfinite(raw) else None
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def split_stat(key: str) -> tuple[str, str] | None:
    """'kWh_Tot_Diff' -> ('kWh_Tot', 'diff'); None for keys without a known suffix."""
    for suffix, attr in STAT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], attr
    return None


# Parsing the rows is most of a history import's work: every row repeats the same keys, so
# what each key means is worked out once. A key maps to (field, position in FieldStats),
# _HEAD for the row's own keys, or None (kept in `extra`).
_POSITION = {name: i for i, name in enumerate(FieldStats.__slots__)}
_HEAD = ("", -1)
_UNSEEN = ("", -2)
_KEYS: dict[str, tuple[str, int] | None] = dict.fromkeys(ROW_KEYS, _HEAD)
_MAX_KEYS = 10_000  # a server inventing keys cannot grow the cache without end


def _key(key: str) -> tuple[str, int] | None:
    split = split_stat(key)
    meaning = None if split is None else (split[0], _POSITION[split[1]])
    if len(_KEYS) < _MAX_KEYS:
        _KEYS[key] = meaning
    return meaning


def parse_row(raw: Any, what: str) -> SummaryRow:
    """One JSON period object into a SummaryRow; MalformedResponseError without its times."""
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: a row is not an object")
    start = datetime_of_ms(raw.get("Start_Time_Stamp_UTC_ms"))
    end = datetime_of_ms(raw.get("End_Time_Stamp_UTC_ms"))
    if start is None or end is None:
        raise MalformedResponseError(f"{what}: a row has no start/end time stamp")
    collected: dict[str, list[float | None]] = {}
    extra: dict[str, Any] = {}
    keys = _KEYS
    for key, value in raw.items():
        meaning = keys.get(key, _UNSEEN)
        if meaning is _HEAD:
            continue
        if meaning is _UNSEEN:
            meaning = _key(key)
        # A finite float (x - x is NaN for inf and NaN) needs no conversion: most values are.
        number = value if type(value) is float and value - value == 0.0 else finite_number(value)
        if meaning is None or (number is None and value is not None):
            extra[key] = value
            continue
        name, position = meaning
        stats = collected.get(name)
        if stats is None:
            stats = collected[name] = [None] * len(_POSITION)
        stats[position] = number
    meter = raw.get("Meter")
    address = meter_address(meter, what) if meter not in (None, "") else ""
    count = finite_number(raw.get("Count"))
    protocol = raw.get("Protocol")
    return SummaryRow(
        meter=address,
        start=start,
        end=end,
        stats=MappingProxyType({name: FieldStats(*stats) for name, stats in collected.items()}),
        count=int(count) if count is not None and 0 <= count <= _MAX_COUNT else None,
        protocol=str(protocol) if protocol is not None else None,
        extra=MappingProxyType(extra),
    )


def parse_rows(payload: Any, what: str) -> list[SummaryRow]:
    """A JSON array of periods (an object wrapping one list is tolerated)."""
    if isinstance(payload, Mapping):
        lists = [v for v in payload.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise MalformedResponseError(f"{what}: expected a list of periods")
        payload = lists[0]
    return _parse_list(payload, what, "periods", parse_row)


def parse_gateway_statuses(payload: Any, what: str) -> list[GatewayStatus]:
    """Summary V2 GStat: a JSON array of gateway statuses."""
    return _parse_list(payload, what, "gateways", parse_gateway_status)


def parse_iostack_rows(payload: Any, what: str) -> list[IoStackRow]:
    """Summary V2 ioStack: a JSON array of rows."""
    return _parse_list(payload, what, "rows", parse_iostack_row)


def _parse_list[T](payload: Any, what: str, items: str, parse: Callable[[Any, str], T]) -> list[T]:
    """Each element of a JSON array parsed; MalformedResponseError if `payload` is no array."""
    if not isinstance(payload, list):
        raise MalformedResponseError(f"{what}: expected a list of {items}")
    return [parse(item, what) for item in payload]


def parse_gateway_status(raw: Any, what: str) -> GatewayStatus:
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: a gateway status is not an object")
    mac = next((str(raw[k]) for k in ("MAC_Addr", "mac_address", "Gateway", "gateway") if raw.get(k)), "")
    online: bool | None = None
    status = raw.get("Status", raw.get("status", raw.get("Online")))
    if isinstance(status, bool):
        online = status
    elif isinstance(status, str):
        online = {"online": True, "up": True, "1": True, "offline": False, "down": False, "0": False}.get(
            status.strip().lower()
        )
    last_seen = None
    for key in ("Last_Report_UTC_ms", "Last_Seen_UTC_ms", "End_Time_Stamp_UTC_ms"):
        last_seen = datetime_of_ms(raw.get(key))
        if last_seen:
            break
    return GatewayStatus(mac.lower(), online, last_seen, MappingProxyType(dict(raw)))


def parse_iostack_row(raw: Any, what: str) -> IoStackRow:
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: an ioStack row is not an object")
    device = next((str(raw[k]) for k in ("IOStack", "Device", "Meter", "device") if raw.get(k)), "")
    return IoStackRow(
        device,
        datetime_of_ms(raw.get("Start_Time_Stamp_UTC_ms")),
        datetime_of_ms(raw.get("End_Time_Stamp_UTC_ms")),
        MappingProxyType(dict(raw)),
    )
