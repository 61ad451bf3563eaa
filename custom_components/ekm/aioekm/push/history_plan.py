"""Which Summary windows a history import asks for, and the meter's first report.

A history import turns the Summary API's 15-minute rows into hourly statistics
(push/history.py). It asks one meter at a time, window by window, oldest first:
each window fits one page of the API (1000 rows), so the caller can write a
window's hours before fetching the next, and a stopped import resumes after the
last hour it wrote. Hours are on the UTC grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
import re

from ..errors import NoDataError

_LOGGER = logging.getLogger(__package__)

HOUR = timedelta(hours=1)
ROWS_PER_HOUR = 4  # 15-minute rows
PAGE_ROWS = 1000  # rows the API gives per page
# Rows of the newest quarter-hours may reach the API late: hours younger than this are left
# for the next run (a written hour is never fetched again).
SETTLE = timedelta(minutes=30)

# EKM 1002 says "... This meter first reported on: 2026-01-01 00:00" (docs/push-api.md,
# "Errors and status codes"); the time is taken as UTC, seconds and a 'T' are accepted.
_FIRST_REPORT = re.compile(
    r"first\s+reported\s+on:?\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, order=True)
class HistoryWindow:
    """[start, end) on whole UTC hours: one Summary request of one meter."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)


def floor_hour(when: datetime) -> datetime:
    """The start of the UTC hour holding `when` (aware)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("history times must be timezone-aware")
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def window_hours(page_rows: int = PAGE_ROWS, rows_per_hour: int = ROWS_PER_HOUR) -> int:
    """Hours per window: a meter's rows fit one page, with room for rows at the edges."""
    return max(1, (page_rows - 2 * rows_per_hour) // rows_per_hour)


def plan_windows(
    *,
    now: datetime,
    history: timedelta,
    first_report: datetime | None = None,
    last_imported: datetime | None = None,
    page_rows: int = PAGE_ROWS,
    rows_per_hour: int = ROWS_PER_HOUR,
    settle: timedelta = SETTLE,
) -> list[HistoryWindow]:
    """The windows to fetch, oldest first; [] when there is nothing to do.

    - history: how far back a first import goes (0 or less = import off).
    - first_report: the meter's first report (EKM 1002); nothing before its hour is asked
      (one after `now` cannot be: it is ignored, with a warning).
    - last_imported: start of the last hour already written. Only later hours are
      asked, however long ago it is (the statistics must stay continuous: the first
      new hour's sum carries the change since that hour).
    - the last window ends on the hour before now - settle: only whole hours are asked.
    - rows_per_hour: 4 for 15-minute rows, 1 for the Summary's hourly report.
    """
    if history <= timedelta(0):
        return []
    end = floor_hour(now - settle)
    start = floor_hour(now - history) if last_imported is None else floor_hour(last_imported) + HOUR
    if first_report is not None and first_report > now:
        _LOGGER.warning("A first report on %s is in the future; ignored", first_report.isoformat())
    elif first_report is not None:
        start = max(start, floor_hour(first_report))
    step = window_hours(page_rows, rows_per_hour) * HOUR
    windows: list[HistoryWindow] = []
    while start < end:
        stop = min(start + step, end)
        windows.append(HistoryWindow(start, stop))
        start = stop
    return windows


def first_report_of(error: NoDataError) -> datetime | None:
    """The first-report time an EKM 1002 answer names (UTC), None if it names none."""
    if error.code != 1002:
        return None
    match = _FIRST_REPORT.search(str(error))
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
