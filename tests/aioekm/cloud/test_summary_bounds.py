"""The legacy Summary through the Push client: requests sized before they are sent, answers that cannot
be real refused, a range across a repeated wall-clock hour answered exactly (issue #18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.ekm.aioekm.errors import MalformedResponseError
from custom_components.ekm.aioekm.push import cloud
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from .cloud_support import V4

NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 11, 20, tzinfo=UTC)


async def test_a_range_of_more_pages_than_allowed_is_refused_before_sending(
    client: PushClient, server: PushServer
) -> None:
    """It used to fetch every page allowed (1,000: about 1 GB) before a typed error."""
    with pytest.raises(ValueError, match="more than 3: ask a shorter range"):
        await client.summary([V4], "15", DAY - timedelta(days=60), DAY, max_pages=3)
    with pytest.raises(ValueError, match="more than 1000: ask a shorter range"):
        await client.summary([V4], "15", DAY - timedelta(days=30 * 365), DAY)
    assert server.requests_to("/summary") == []
    rows = await client.summary([V4], "15", DAY - timedelta(days=10), DAY, max_pages=1)
    assert len(rows) == 960  # what fits is still fetched


async def test_more_rows_than_the_range_has_periods_is_malformed(
    client: PushClient, server: PushServer
) -> None:
    """A 1-day `dy` summary cannot have 1,000 rows."""
    minute = 60_000
    rows = [
        {
            "Start_Time_Stamp_UTC_ms": int(DAY.timestamp() * 1000) + i * minute,
            "End_Time_Stamp_UTC_ms": int(DAY.timestamp() * 1000) + (i + 1) * minute,
            "Meter": "300000001",
            "kWh_Tot_Diff": 0.01,
        }
        for i in range(1000)
    ]
    server.inject(Fault(body=json.dumps(rows), path="/summary"))
    with pytest.raises(MalformedResponseError, match="more than 3 rows of meter 000300000001 for dy periods"):
        await client.summary([V4], "dy", DAY, DAY + timedelta(days=1))


@pytest.mark.parametrize("report", ["hr", "15"])
@pytest.mark.parametrize("hour", [5, 6])  # 01:00 EDT, then 01:00 EST
async def test_the_repeated_hour_of_the_fall_back(client: PushClient, report: str, hour: int) -> None:
    """New York's wall clock shows 01:00-02:00 twice on 2026-11-01: each UTC hour still gets its rows,
    no error and no row of the other."""
    start = datetime(2026, 11, 1, hour, tzinfo=UTC)
    end = start + timedelta(hours=1)
    in_utc = await client.summary([V4], report, start, end, timezone="UTC")
    in_new_york = await client.summary([V4], report, start, end, timezone=NY)
    assert [(r.start, r.end) for r in in_new_york] == [(r.start, r.end) for r in in_utc]
    assert in_new_york[0].start == start
    assert in_new_york[-1].end == end
    assert [r.diff("kWh_Tot") for r in in_new_york] == [r.diff("kWh_Tot") for r in in_utc]


async def test_a_large_page_is_parsed_off_the_event_loop(
    client: PushClient, server: PushServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full page of rows is ~100 ms of parsing: done beside its decoding, in a worker thread."""
    threads: list[bool] = []
    parse = cloud.parse_rows

    def recorded(payload: Any, what: str) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return parse(payload, what)

    monkeypatch.setattr(cloud, "parse_rows", recorded)
    rows = await client.summary([V4], "15", DAY - timedelta(days=10), DAY)
    assert len(rows) == 960
    assert threads == [False]  # one page (over 64 KiB), parsed off the loop's thread
