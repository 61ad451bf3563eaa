"""Paging the legacy Summary: every page fetched, and a server that pages forever stopped.

The legacy Summary answers at most `limit` rows a request; the next page is asked
with `offset`. A server that ignores offset or range would send full pages
forever: paging stops when rows fall outside the request or stop being new, or
when the range can hold no more. A range that needs more pages than allowed is
refused before the first request, and a meter with more rows than its range has
periods is a malformed answer: rows that cannot be real are not handed on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta, tzinfo
import logging
from typing import Protocol

from ..errors import MalformedResponseError
from .dates import span_params
from .http import join_list, short_address
from .summary import Report, most_periods

_LOGGER = logging.getLogger(__package__)

EDGE = timedelta(hours=2)  # a DST shift, and the minute the end is rounded up to


class Period(Protocol):
    """What paging reads of a row (push/summary.SummaryRow, push/history_rows.HistoryRow)."""

    @property
    def meter(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


def summary_params(
    addresses: Sequence[str],
    report: Report,
    zone: tzinfo,
    start: datetime,
    end: datetime,
    *,
    fields: Sequence[str] | None,
    page_size: int,
) -> dict[str, str]:
    """The query of a legacy Summary request (its key and offset aside)."""
    params = {
        "meters": join_list(short_address(a) for a in addresses),
        "report": str(report),
        "format": "json",
        **span_params(zone, start, end),
        "limit": str(page_size),
    }
    if fields:
        params["fields"] = join_list(fields)
    return params


async def fetch_pages[R: Period](
    fetch: Callable[[int], Awaitable[list[R]]],
    wanted: Collection[str],
    report: Report,
    start: datetime,
    end: datetime,
    *,
    page_size: int,
    max_pages: int,
) -> list[R]:
    """The rows of every page `fetch(offset)` answers, sorted by meter and start time.

    `fetch` parses its page (push/summary.parse_rows), beside the decoding: off the event
    loop for a large page.

    `wanted` are the 12-digit addresses asked for; only their rows that touch
    [start, end) are kept (not one that ends where the range starts: it belongs
    to the period before). ValueError, before any request, when the range can
    hold more than `max_pages` pages; MalformedResponseError after `max_pages`
    full pages, or when a meter has more rows than periods fit in the range.
    """
    most = most_periods(report, start, end)  # of one meter
    pages = -(-len(wanted) * most // page_size)
    if pages > max_pages:
        raise ValueError(
            f"summary of {len(wanted)} meters, report {report}, {start:%Y-%m-%d} to {end:%Y-%m-%d}: "
            f"up to {pages} pages of {page_size} rows, more than {max_pages}: ask a shorter range"
        )
    # A wall-clock time the range was sent as may lie up to a DST shift outside it (push/dates.py):
    # rows within that much are edges, further ones were not asked for.
    near_start, near_end = start - EDGE, end + EDGE
    rows: dict[tuple[str, datetime], R] = {}
    per_meter: Counter[str] = Counter()
    for page in range(max_pages):
        batch = await fetch(page * page_size)
        before, stray = len(rows), 0
        for row in batch:
            if (row.meter and row.meter not in wanted) or row.end < near_start or row.start >= near_end:
                stray += 1  # not what was asked for: a server that ignores offset or range
                continue
            # A row's times may be those of its first and last read: it belongs if it touches the range.
            if row.start >= end or (row.end <= start and row.start < start):
                continue
            key = (row.meter, row.start)
            if key not in rows:
                per_meter[row.meter] += 1
                if per_meter[row.meter] > most:
                    raise MalformedResponseError(
                        f"GET /summary: more than {most} rows of meter {row.meter or '?'} "
                        f"for {report} periods from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
                    )
            rows[key] = row
        if len(batch) < page_size:
            break
        # A server that ignores offset or range would send full pages forever: stop when
        # rows fall outside the request or stop being new, or the range can hold no more.
        if stray or len(rows) == before:
            why = f"{stray} rows outside the request" if stray else "no new rows"
            _LOGGER.warning("GET /summary: stopped paging at page %d (%s)", page + 1, why)
            break
        if len(rows) >= len(wanted) * most:
            break
    else:
        raise MalformedResponseError(f"GET /summary: still paging after {max_pages} pages")
    return [rows[k] for k in sorted(rows)]
