"""Query parameters as the fake Push server reads them, and the time values it writes back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from ...fields import FIELDS
from ...push.dates import load_zone, parse_api_time
from ...push.http import split_list
from .access import ApiError

READ_INTERVAL_S = 60  # a virtual meter reports once a minute


def ms(t: float) -> int:
    """Epoch seconds as the API's epoch milliseconds."""
    return round(t * 1000)


def flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


async def zone(raw: str | None, code: int = 1102) -> tzinfo:
    """The `tz`/`timezone` parameter (UTC when absent); Summary answers an unknown one with 1004."""
    if not raw:
        return UTC
    try:
        return await load_zone(raw)
    except ValueError:
        if code == 1004:
            raise ApiError(400, "Timezone is not supported for this date range request", 1004) from None
        raise ApiError(400, f"Invalid value: timezone {raw[:40]}", 1102) from None


def fields(raw: str | None) -> list[str] | None:
    """The `fields` parameter (None = all); `Name*` picks every field starting with Name."""
    names = split_list(raw)
    if not names:
        return None
    unknown = [n for n in names if n.rstrip("*") not in FIELDS and not n.endswith("*")]
    if unknown:
        raise ApiError(400, f"Invalid parameter: unknown field {unknown[0][:40]}", 1103)
    return names


def date_range(query: Mapping[str, str], where: tzinfo) -> tuple[datetime, datetime]:
    """start_date/end_date (YYYYMMDDhhmm on the wall clock of `where`)."""
    raw_start, raw_end = query.get("start_date"), query.get("end_date")
    if not raw_start or not raw_end:
        raise ApiError(400, "Invalid parameter: start_date and end_date are required", 1103)
    try:
        start, end = parse_api_time(raw_start, where), parse_api_time(raw_end, where)
    except ValueError:
        raise ApiError(400, "Invalid format: dates are YYYYMMDDhhmm", 1101) from None
    if end <= start:
        raise ApiError(400, "Invalid value: end_date must be after start_date", 1102)
    return start, end
