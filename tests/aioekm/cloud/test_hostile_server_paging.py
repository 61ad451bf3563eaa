"""The Push clients against servers that answer badly on purpose: paging ends, and a body is
read only up to its cap, compressed or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import tracemalloc
import zlib

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import MalformedResponseError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.http import MAX_BODY_BYTES
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.simulator.push import PushServer

from . import hostile_support
from .cloud_support import FAST, V3, V4, make_client
from .hostile_support import DAY, KEY, HostileServer, readmeter, summary_row

client = hostile_support.client
hostile = hostile_support.hostile


async def test_full_pages_of_the_same_rows_stop_paging(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    page = [summary_row(DAY[0] + timedelta(hours=h)) for h in range(5)]
    hostile.send(json.dumps(page))
    rows = await client.summary([V4], "hr", *DAY, page_size=5)
    assert [r.start for r in rows] == [DAY[0] + timedelta(hours=h) for h in range(5)]
    assert hostile.requests == 2  # the second page brought nothing new
    assert "stopped paging at page 2 (no new rows)" in caplog.text


async def test_rows_outside_the_request_stop_paging(client: PushClient, hostile: HostileServer) -> None:
    inside = [summary_row(DAY[0] + timedelta(hours=h)) for h in range(3)]
    later = [summary_row(DAY[1] + timedelta(days=30))]
    other_meter = [summary_row(DAY[0], Meter=V3)]
    hostile.send(json.dumps(inside + later + other_meter))
    rows = await client.summary([V4], "hr", *DAY, page_size=5)
    assert [(r.meter, r.start) for r in rows] == [(V4, DAY[0] + timedelta(hours=h)) for h in range(3)]
    assert hostile.requests == 1


async def test_paging_ends_at_the_periods_the_range_holds(client: PushClient, hostile: HostileServer) -> None:
    """Fresh in-range rows on every page (a minute apart): a day holds at most 26 hour rows, so
    paging stops at the third page, and more rows than the range has hours are refused."""

    def page(n: int) -> str:
        first = DAY[0] + timedelta(minutes=10 * (n - 1))
        return json.dumps([summary_row(first + timedelta(minutes=m)) for m in range(10)])

    hostile.pages = page
    with pytest.raises(MalformedResponseError, match="more than 26 rows"):
        await client.summary([V4], "hr", *DAY, page_size=10)
    assert hostile.requests == 3


@pytest.mark.parametrize("chunked", [False, True], ids=["with length", "chunked"])
async def test_body_larger_than_the_cap_is_refused(hostile: HostileServer, chunked: bool) -> None:
    big = readmeter(V4, kWh_Tot="1", Padding="x" * 60_000)
    hostile.send(big, chunked=chunked)
    async with aiohttp.ClientSession() as session:
        small = PushClient(session, KEY, api_url=hostile.url, retry=FAST, max_body_bytes=50_000)
        with pytest.raises(MalformedResponseError, match="larger than 50000 bytes"):
            await small.read_meters([V4])
        roomy = PushClient(session, KEY, api_url=hostile.url, retry=FAST, max_body_bytes=100_000)
        assert V4 in (await roomy.read_meters([V4])).readings
        push3 = Push3Client(session, "gw", KEY, base_url=hostile.url, retry=FAST, max_body_bytes=50_000)
        with pytest.raises(MalformedResponseError, match="larger than"):
            await push3.read_meters()
    assert hostile.requests == 3  # a refused body is not asked for again


def gzip_bomb(expanded: int) -> bytes:
    """`expanded` zero bytes, gzipped (about 1000 times smaller)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([*(packer.compress(block) for _ in range(expanded >> 20)), packer.flush()])


async def test_a_compressed_bomb_is_refused_before_it_is_expanded(hostile: HostileServer) -> None:
    """256 MB packed in about 250 kB: no more than the cap (1 MB here) of it is ever expanded."""
    hostile.send(gzip_bomb(256 << 20), headers={"Content-Encoding": "gzip"})
    async with aiohttp.ClientSession() as session:
        small = PushClient(session, KEY, api_url=hostile.url, retry=FAST, max_body_bytes=1 << 20)
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponseError, match=f"larger than {1 << 20} bytes"):
                await small.read_meters([V4])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # aiohttp's own decompression expands each network read whole: tens of MB before the cap.
    assert peak < 16 << 20
    assert hostile.accept_encoding == "gzip, deflate"


def deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [
        ("gzip", 16 + zlib.MAX_WBITS),
        ("x-gzip", 16 + zlib.MAX_WBITS),
        ("deflate", zlib.MAX_WBITS),
        ("deflate", -15),
    ],
    ids=["gzip", "x-gzip", "zlib deflate", "raw deflate"],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["with length", "chunked"])
async def test_compressed_answers_are_read(
    client: PushClient, hostile: HostileServer, encoding: str, wbits: int, chunked: bool
) -> None:
    body = readmeter(V4, kWh_Tot="12.5", Padding="x" * 100_000).encode()
    hostile.send(deflated(body, wbits), headers={"Content-Encoding": encoding}, chunked=chunked)
    reading = (await client.read_meters([V4])).readings[V4]
    assert reading.values["kWh_Tot"] == 12.5


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        ("br", b"\x0b\x02\x80{}\x03", "encoded as 'br', which was not asked for"),
        ("gzip", b"not gzip at all", "compressed answer is corrupt"),
        ("gzip", gzip_bomb(1 << 20)[:500], "compressed answer ends before its end"),
        ("gzip, gzip", gzip_bomb(1 << 20), "which was not asked for"),
    ],
    ids=["brotli", "corrupt", "cut short", "twice"],
)
async def test_bad_compressed_answers_are_malformed(
    client: PushClient, hostile: HostileServer, encoding: str, body: bytes, message: str
) -> None:
    hostile.send(body, headers={"Content-Encoding": encoding})
    with pytest.raises(MalformedResponseError, match=message):
        await client.read_meters([V4])


async def test_a_full_summary_page_fits_the_default_cap(
    session: aiohttp.ClientSession, server: PushServer
) -> None:
    """A page of 1000 rows with every field the fake server has (about 5 MB) is read whole."""
    client = make_client(session, server, timeout=60.0)
    start = datetime(2026, 11, 10, tzinfo=UTC)
    rows = await client.summary([V4], "15", start, start + timedelta(hours=250), fields=["*"])
    assert len(rows) == 1000
    assert len(rows[0].stats) > 40
    assert MAX_BODY_BYTES > 5_000_000
