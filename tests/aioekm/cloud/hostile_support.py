"""A server that answers every request with what the test tells it to, on purpose badly, over
real HTTP; a client of it with a key and token to look for in what comes back.

Bind the fixtures in a test module: `hostile = hostile_support.hostile`, `client = hostile_support.client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.ekm.aioekm.push.cloud import PushClient

from .cloud_support import FAST, V4

KEY = "Hostile+Key/0123456789"  # '+' and '/' travel escaped in URLs and may in JSON
TOKEN = "hostile-token-abcdef"
BIG_INT = "9" * 401
DAY = (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


@dataclass
class HostileServer:
    """Answers every request with `answer`, whatever was asked."""

    url: str
    answer: Answer
    requests: int = 0
    pages: Callable[[int], str] | None = None  # the body of request n (1, 2, ...) instead
    accept_encoding: str | None = None  # as the last request sent it

    def send(self, body: str | bytes, status: int = 200, **kw: Any) -> None:
        raw = body.encode() if isinstance(body, str) else body
        self.answer = Answer(status, raw, **kw)


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    server = HostileServer("", Answer())

    async def handle(request: web.Request) -> web.StreamResponse:
        server.requests += 1
        server.accept_encoding = request.headers.get("Accept-Encoding")
        answer = Answer(body=server.pages(server.requests).encode()) if server.pages else server.answer
        if not answer.chunked:
            return web.Response(
                status=answer.status,
                body=answer.body,
                headers=answer.headers,
                content_type="application/json",
            )
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(answer.body), 4096):
            await response.write(answer.body[start : start + 4096])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(hostile: HostileServer) -> AsyncIterator[PushClient]:
    async with aiohttp.ClientSession() as session:
        yield PushClient(
            session,
            KEY,
            api_url=hostile.url,
            summary_url=hostile.url,
            api_token=TOKEN,
            retry=FAST,
            timeout=10,
        )


def readmeter(meter: str, **read: Any) -> str:
    return json.dumps({"readMeter": {"ReadSet": [{"Meter": meter, "ReadData": [{"Good": 1, **read}]}]}})


def summary_row(start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "Start_Time_Stamp_UTC_ms": int(start.timestamp() * 1000),
        "End_Time_Stamp_UTC_ms": int((start + timedelta(hours=1)).timestamp() * 1000),
        "Meter": V4,
        "Count": 60,
        "kWh_Tot_Diff": 0.5,
        **extra,
    }
