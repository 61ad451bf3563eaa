"""Time zones and dates as the Push API writes them (docs/push-api.md).

Time zones travel as IANA names with `/` written `~` ('America~New_York');
Summary dates as 'YYYYMMDDhhmm' on the wall clock of the request's time zone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, tzinfo
import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

API_TIME_FORMAT = "%Y%m%d%H%M"
# Epoch milliseconds a datetime can hold: 1970-01-01 up to the end of year 9999.
MAX_EPOCH_MS = 253_402_300_799_999

# A time zone as callers give one: a tzinfo, or an IANA name ('America/New_York' or 'America~New_York').
type Zone = tzinfo | str


def zone_param(zone: tzinfo | str) -> str:
    """A timezone as the API writes it: 'America~New_York' ('/' becomes '~')."""
    return str(zone).replace("/", "~")


async def load_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name ('America/New_York' or 'America~New_York'), loaded off the loop.

    ValueError for an unknown name.
    """
    name = name.replace("~", "/")
    try:
        return await asyncio.to_thread(ZoneInfo, name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name[:60]!r}") from None


async def as_tzinfo(zone: Zone) -> tzinfo:
    """`zone` as a tzinfo: a name is loaded off the loop (ValueError if unknown)."""
    if isinstance(zone, str):
        return await load_zone(zone)
    return zone


def format_api_time(when: datetime, zone: tzinfo) -> str:
    """An aware datetime as 'YYYYMMDDhhmm' on the wall clock of `zone`."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("summary start/end must be timezone-aware datetimes")
    return when.astimezone(zone).strftime(API_TIME_FORMAT)


def span_params(zone: tzinfo, start: datetime, end: datetime) -> dict[str, str]:
    """The `timezone`, `start_date` and `end_date` of a Summary request, dates on the zone's wall clock.

    The dates cover [start, end) whichever way the server reads them: a wall-clock time
    that happens twice (the hour a DST change repeats) is moved out by the repeat, an
    end with seconds up to the next minute. The caller drops the rows outside the range.
    """
    return {
        "timezone": zone_param(zone),
        "start_date": _covering(start, zone, later=False),
        "end_date": _covering(end, zone, later=True),
    }


def _covering(when: datetime, zone: tzinfo, *, later: bool) -> str:
    """'YYYYMMDDhhmm' on `zone`'s wall clock that means no earlier (`later`) or no later than `when`."""
    candidate = when
    for _ in range(3):  # one step for a repeated hour, one for the minute; one to spare
        text = format_api_time(candidate, zone)
        wall = datetime.strptime(text, API_TIME_FORMAT)
        meanings = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
        miss = when - min(meanings) if later else max(meanings) - when
        if miss <= timedelta(0):
            return text
        candidate = candidate + miss if later else candidate - miss
    return text


def parse_api_time(text: str, zone: tzinfo) -> datetime:
    """'YYYYMMDDhhmm' on the wall clock of `zone` to an aware datetime (ValueError if bad)."""
    if len(text) != 12 or not (text.isascii() and text.isdigit()):
        raise ValueError(f"date must be YYYYMMDDhhmm, got {text[:20]!r}")
    return datetime.strptime(text, API_TIME_FORMAT).replace(tzinfo=zone)


def epoch_ms(raw: object) -> int | None:
    """Epoch milliseconds (a number or its text) as an int; None if absent, unreadable or out of range."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_EPOCH_MS:
        return None
    return int(value)


def datetime_of_ms(raw: object) -> datetime | None:
    """Epoch milliseconds (number or text) as an aware UTC datetime; None if unusable."""
    ms = epoch_ms(raw)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
