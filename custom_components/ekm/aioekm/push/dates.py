"""Time zones and dates as the Push API writes them (docs/push-api.md).

Time zones travel as IANA names with `/` written `~` ('America~New_York');
Summary dates as 'YYYYMMDDhhmm' on the wall clock of the request's time zone.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

API_TIME_FORMAT = "%Y%m%d%H%M"


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


def format_api_time(when: datetime, zone: tzinfo) -> str:
    """An aware datetime as 'YYYYMMDDhhmm' on the wall clock of `zone`."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("summary start/end must be timezone-aware datetimes")
    return when.astimezone(zone).strftime(API_TIME_FORMAT)


def parse_api_time(text: str, zone: tzinfo) -> datetime:
    """'YYYYMMDDhhmm' on the wall clock of `zone` to an aware datetime (ValueError if bad)."""
    if len(text) != 12 or not (text.isascii() and text.isdigit()):
        raise ValueError(f"date must be YYYYMMDDhhmm, got {text[:20]!r}")
    return datetime.strptime(text, API_TIME_FORMAT).replace(tzinfo=zone)
