"""Paging the legacy Summary: every page fetched, and a server that pages forever stopped.

The legacy Summary answers at most `limit` rows a request; the next page is asked
with `offset`. A server that ignores offset or range would send full pages
forever: paging stops when rows fall outside the request or stop being new, or
when the range can hold no more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
import logging
from typing import Any

from ..errors import MalformedResponseError
from .summary import Report, SummaryRow, most_periods, parse_rows

_LOGGER = logging.getLogger(__package__)


async def fetch_pages(
    fetch: Callable[[int], Awaitable[Any]],
    wanted: Collection[str],
    report: Report,
    start: datetime,
    end: datetime,
    *,
    page_size: int,
    max_pages: int,
) -> list[SummaryRow]:
    """The rows of every page `fetch(offset)` answers, sorted by meter and start time.

    `wanted` are the 12-digit addresses asked for; rows of other meters or outside
    [start, end) are dropped. MalformedResponseError after `max_pages` full pages.
    """
    most = len(wanted) * most_periods(report, start, end)
    rows: dict[tuple[str, datetime], SummaryRow] = {}
    for page in range(max_pages):
        batch = parse_rows(await fetch(page * page_size), "GET /summary")
        before, stray = len(rows), 0
        for row in batch:
            # A row's times may be its first and last read: it belongs if it touches the range.
            if (row.meter and row.meter not in wanted) or row.end < start or row.start >= end:
                stray += 1  # not what was asked for: a server that ignores offset or range
                continue
            rows[(row.meter, row.start)] = row
        if len(batch) < page_size:
            break
        # A server that ignores offset or range would send full pages forever: stop when
        # rows fall outside the request or stop being new, or the range can hold no more.
        if stray or len(rows) == before:
            why = f"{stray} rows outside the request" if stray else "no new rows"
            _LOGGER.warning("GET /summary: stopped paging at page %d (%s)", page + 1, why)
            break
        if len(rows) >= most:
            break
    else:
        raise MalformedResponseError(f"GET /summary: still paging after {max_pages} pages")
    return [rows[k] for k in sorted(rows)]
