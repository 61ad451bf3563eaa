"""Smaller things a server may answer (issue #18, "Smaller"): each named for what it is."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    ServerError,
)
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.push3 import Push3Client

from . import hostile_support
from .cloud_support import FAST, V4
from .hostile_support import KEY, HostileServer, readmeter

client = hostile_support.client
hostile = hostile_support.hostile


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Internal Server Error", AuthenticationError),
        ("invalid key", AuthenticationError),
        ("key_mismatch", AuthenticationError),
        ("the monkey ate the database", ServerError),
        ("keyboard not found", ServerError),
    ],
)
async def test_a_push3_500_means_a_wrong_key_only_when_it_says_key(
    hostile: HostileServer, body: str, error: type[Exception]
) -> None:
    hostile.send(body, 500)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(error):
            await Push3Client(session, "gw", KEY, base_url=hostile.url, retry=FAST).read_meters()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_says_where_to_and_is_not_followed(
    client: PushClient, hostile: HostileServer, status: int
) -> None:
    hostile.send("", status, headers={"Location": f"https://elsewhere.example/readMeter?key={KEY}"})
    with pytest.raises(InvalidRequestError) as caught:
        await client.read_meters([V4])
    message = str(caught.value)
    assert (
        f"redirected (HTTP {status}) to https://elsewhere.example/readMeter?key=***, not followed" in message
    )
    assert "invalid request" not in message
    assert KEY not in message
    assert hostile.requests == 1


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode())


async def test_gzip_members_are_all_read(client: PushClient, hostile: HostileServer) -> None:
    body = readmeter(V4, kWh_Tot="12.5")
    half = len(body) // 2
    hostile.send(gzipped(body[:half]) + gzipped(body[half:]), headers={"Content-Encoding": "gzip"})
    assert (await client.read_meters([V4])).readings[V4].values["kWh_Tot"] == 12.5


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzipped(readmeter(V4, kWh_Tot="1")) + b"trailing"),
        ("gzip", gzipped(readmeter(V4, kWh_Tot="1")) + b"\x00"),
        ("deflate", zlib.compress(readmeter(V4, kWh_Tot="1").encode()) + zlib.compress(b"{}")),
    ],
    ids=["gzip and text", "gzip and a zero", "deflate twice"],
)
async def test_data_after_the_compressed_answer_is_malformed(
    client: PushClient, hostile: HostileServer, encoding: str, body: bytes
) -> None:
    hostile.send(body, headers={"Content-Encoding": encoding})
    with pytest.raises(MalformedResponseError, match="compressed answer has data after its end"):
        await client.read_meters([V4])


@pytest.mark.parametrize(("header", "said"), [("inf", "forever"), ("7200", "7200 s")])
async def test_a_long_retry_after_is_told_in_words(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture, header: str, said: str
) -> None:
    caplog.set_level(logging.WARNING)
    hostile.send(json.dumps({"error": "slow down"}), 429, headers={"Retry-After": header})
    with pytest.raises(RateLimitedError):
        await client.read_meters([V4])
    assert f"the server asks to wait {said} (Retry-After" in caplog.text
    assert "forever s" not in caplog.text
