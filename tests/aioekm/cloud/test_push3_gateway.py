"""One Push3 gateway's local API at its real path (/readMeter), as `ekm simulate --push3` serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import AuthenticationError, NotFoundError, ServerError
from custom_components.ekm.aioekm.push.http import RetryPolicy
from custom_components.ekm.aioekm.push.mapping import Unavailable
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, Push3Gateway, PushServer

from ..cli_support import ekm_simulate
from .cloud_support import GW1, GW2, V3, V4, V4_B, V4_GW2

FAST = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0)


@pytest.fixture
async def gateway(server: PushServer) -> AsyncIterator[Push3Gateway]:
    gateway = Push3Gateway(server, GW1)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.close()


def host_of(gateway: Push3Gateway) -> str:
    return gateway.url.removeprefix("http://")


async def test_reads_at_the_real_path(
    session: aiohttp.ClientSession, gateway: Push3Gateway, fleet: Fleet, clock: ManualClock
) -> None:
    client = Push3Client(session, host_of(gateway), gateway.key, retry=FAST)
    result = await client.read_meters([V4, V4_B, V3, V4_GW2])
    assert set(result.readings) == {V4, V4_B, V3}
    for address, reading in result.readings.items():
        assert reading.as_dict() == fleet.meters[address].reading(clock.t).as_dict()
    assert result.problems[V4_GW2].reason is Unavailable.NOT_ANSWERED
    assert gateway.log == ["cnt,key"]


async def test_wrong_key_is_an_authentication_error_not_retried(
    session: aiohttp.ClientSession, gateway: Push3Gateway, server: PushServer
) -> None:
    for key in ("nonsense", server.keys.account, server.keys.gateways[GW2]):
        with pytest.raises(AuthenticationError) as caught:
            await Push3Client(session, host_of(gateway), key, retry=FAST).read_meters()
        assert key not in str(caught.value)
    assert len(gateway.log) == 3


@pytest.mark.parametrize("body", ["Internal Server Error", "", "invalid key"])
async def test_key_error_bodies(session: aiohttp.ClientSession, gateway: Push3Gateway, body: str) -> None:
    gateway.faults.append(Fault(status=500, body=body, content_type="text/plain"))
    with pytest.raises(AuthenticationError):
        await Push3Client(session, host_of(gateway), gateway.key, retry=FAST).read_meters()


async def test_a_500_saying_something_else_is_a_server_error_retried(
    session: aiohttp.ClientSession, gateway: Push3Gateway
) -> None:
    gateway.faults.append(Fault(status=500, body="meter bus busy, try later", content_type="text/plain"))
    client = Push3Client(session, host_of(gateway), gateway.key, retry=FAST)
    result = await client.read_meters()  # the retry gets the real answer
    assert set(result.readings) == {V4, V4_B, V3}
    assert result.requests == 2
    gateway.faults.append(Fault(status=500, body="meter bus busy", content_type="text/plain", times=None))
    with pytest.raises(ServerError):
        await client.read_meters()


async def test_stale_meter_keeps_its_last_reading(
    session: aiohttp.ClientSession, gateway: Push3Gateway, server: PushServer, clock: ManualClock
) -> None:
    server.stale[V4_B] = clock.t - 3600
    clock.advance(60)
    result = await Push3Client(session, host_of(gateway), gateway.key, retry=FAST).read_meters()
    assert result.readings[V4_B].timestamp == datetime.fromtimestamp(clock.t - 3660, UTC)
    assert result.readings[V4].timestamp == datetime.fromtimestamp(clock.t, UTC)


async def test_legacy_gateway_has_no_local_api(
    session: aiohttp.ClientSession, gateway: Push3Gateway, server: PushServer
) -> None:
    server.make_legacy(GW1)
    with pytest.raises(NotFoundError):
        await Push3Client(session, host_of(gateway), gateway.key, retry=FAST).read_meters()


async def test_simulate_push3_prints_its_gateway_and_serves_it() -> None:
    """`ekm simulate --push3 0` prints 'push3 gateway: MAC URL key: KEY'; Push3Client reads it."""
    async with ekm_simulate("--meters", "300000001:v4,17507:v3", "--push3", "0") as output:
        line = (await asyncio.wait_for(output.readline(), 30)).decode().strip()
        words = line.split()
        assert words[:2] == ["push3", "gateway:"]
        mac, url, key_label, key = words[2:]
        assert mac == GW1 and url.startswith("http://127.0.0.1:") and key_label == "key:"
        async with aiohttp.ClientSession() as session:
            result = await Push3Client(session, url.removeprefix("http://"), key, retry=FAST).read_meters()
            assert set(result.readings) == {V4, V3}
            with pytest.raises(AuthenticationError):
                await Push3Client(session, url.removeprefix("http://"), "wrong", retry=FAST).read_meters()
