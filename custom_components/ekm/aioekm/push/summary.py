"""Summary API rows (legacy and V2), typed, and the report lengths of the legacy Summary.

A row holds per-field statistics under EKM's suffixes: `kWh_Tot_Diff`,
`RMS_Volts_Ln_1_Average`, `Pulse_Cnt_1_First` ... Suffixes we do not know and
other keys are kept in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ..errors import MalformedResponseError
from ..readings import normalize_address


class Report(StrEnum):
    """Legacy Summary period lengths."""

    MIN_15 = "15"
    HOUR = "hr"
    DAY = "dy"
    WEEK = "wk"
    MONTH = "mo"


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
_ROW_KEYS = frozenset(
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


@dataclass(frozen=True, slots=True)
class IoStackRow:
    """Summary V2 ioStack: one row, its values kept as sent (field names not published)."""

    device: str
    start: datetime | None
    end: datetime | None
    values: Mapping[str, Any]


def _float(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def ms_to_datetime(raw: Any) -> datetime | None:
    """Epoch milliseconds (number or text) to an aware UTC datetime."""
    value = _float(raw)
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def split_stat(key: str) -> tuple[str, str] | None:
    """'kWh_Tot_Diff' -> ('kWh_Tot', 'diff'); None for keys without a known suffix."""
    for suffix, attr in STAT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], attr
    return None


def parse_row(raw: Any, what: str) -> SummaryRow:
    """One JSON period object into a SummaryRow; MalformedResponseError without its times."""
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: a row is not an object")
    start = ms_to_datetime(raw.get("Start_Time_Stamp_UTC_ms"))
    end = ms_to_datetime(raw.get("End_Time_Stamp_UTC_ms"))
    if start is None or end is None:
        raise MalformedResponseError(f"{what}: a row has no start/end time stamp")
    collected: dict[str, dict[str, float | None]] = {}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _ROW_KEYS:
            continue
        split = split_stat(key)
        number = _float(value)
        if split is None or (number is None and value is not None):
            extra[key] = value
            continue
        collected.setdefault(split[0], {})[split[1]] = number
    meter = raw.get("Meter")
    try:
        address = normalize_address(str(meter)) if meter not in (None, "") else ""
    except ValueError:
        raise MalformedResponseError(f"{what}: a row's Meter is not an address") from None
    count = _float(raw.get("Count"))
    protocol = raw.get("Protocol")
    return SummaryRow(
        meter=address,
        start=start,
        end=end,
        stats=MappingProxyType({name: FieldStats(**stats) for name, stats in collected.items()}),
        count=int(count) if count is not None else None,
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
    if not isinstance(payload, list):
        raise MalformedResponseError(f"{what}: expected a list of periods")
    return [parse_row(item, what) for item in payload]


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
        last_seen = ms_to_datetime(raw.get(key))
        if last_seen:
            break
    return GatewayStatus(mac.lower(), online, last_seen, MappingProxyType(dict(raw)))


def parse_iostack_row(raw: Any, what: str) -> IoStackRow:
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: an ioStack row is not an object")
    device = next((str(raw[k]) for k in ("IOStack", "Device", "Meter", "device") if raw.get(k)), "")
    return IoStackRow(
        device,
        ms_to_datetime(raw.get("Start_Time_Stamp_UTC_ms")),
        ms_to_datetime(raw.get("End_Time_Stamp_UTC_ms")),
        MappingProxyType(dict(raw)),
    )
