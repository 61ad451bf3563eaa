"""The fake Push server itself: keys, the simulation entry point, wire shapes, fault knobs, the log."""

from __future__ import annotations

import re

import aiohttp
import pytest

from custom_components.ekm.aioekm.cli.push import start_http_simulation
from custom_components.ekm.aioekm.simulator.fleet import Fleet
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer, SimKeys

from .cloud_support import GW1, GW2, V3, V4, make_fleet


@pytest.fixture
def fleet() -> Fleet:
    return make_fleet()


def test_keys_are_deterministic_per_fleet() -> None:
    a = SimKeys.for_fleet(Fleet.parse("300000001:v4,17507:v3"))
    b = SimKeys.for_fleet(Fleet.parse("300000001:v4,17507:v3"))
    other = SimKeys.for_fleet(Fleet.parse("300000001:v4,17508:v3"))
    assert a == b
    assert a.account != other.account
    all_keys = [a.account, *a.gateways.values(), *a.meters.values()]
    assert len(set(all_keys)) == len(all_keys) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9]{20}", k) for k in all_keys)  # URL-safe as is


async def test_start_http_simulation_lines(fleet: Fleet) -> None:
    handle, lines = await start_http_simulation(fleet, 0)
    try:
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", lines[0])
        assert match
        keys = SimKeys.for_fleet(fleet)
        assert lines[1] == f"account key: {keys.account}"
        assert lines[2:4] == [
            f"gateway key: {GW1} {keys.gateways[GW1]}",
            f"gateway key: {GW2} {keys.gateways[GW2]}",
        ]
        assert lines[4:] == [f"meter key: {a} {k}" for a, k in keys.meters.items()]
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{match.group(1)}/readMeter"
            async with session.get(
                url, params={"key": keys.account, "meters": "17507", "cnt": "1"}
            ) as response:
                assert response.status == 200
                body = await response.json()
    finally:
        await handle.close()
    [readset] = body["readMeter"]["ReadSet"]
    assert readset["Meter"] == V3
    assert readset["Protocol"] == "v3"
    [read] = readset["ReadData"]
    assert read["Good"] == 1
    # Values travel as strings, as the real API sends them.
    assert isinstance(read["kWh_Tot"], str)
    assert float(read["kWh_Tot"]) == fleet.meters[V3].values(fleet.clock())["kWh_Tot"]


async def test_invalid_key_shape(server: PushServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/readMeter", params={"key": "nope"}) as response:
            assert response.status == 401
            assert await response.json() == {"error": "Invalid key", "status_code": "401"}
        async with session.get(f"{server.url}/push3/{GW1}/readMeter", params={"key": "nope"}) as response:
            assert response.status == 500


async def test_fault_knobs_and_log(server: PushServer) -> None:
    server.inject(Fault(status=429, retry_after="3", times=2, path="/readMeter"))
    server.inject(Fault(body="<html>oops</html>", content_type="text/html", path="/summary"))
    async with aiohttp.ClientSession() as session:
        params = {"key": server.keys.account, "meters": "300000001"}
        statuses = []
        for _ in range(3):
            async with session.get(f"{server.url}/readMeter", params=params) as response:
                statuses.append((response.status, response.headers.get("Retry-After")))
        async with session.get(f"{server.url}/summary", params=params) as response:
            assert await response.text() == "<html>oops</html>"
    assert statuses == [(429, "3"), (429, "3"), (200, None)]
    assert [(r.method, r.path, r.status) for r in server.log] == [
        ("GET", "/readMeter", 429),
        ("GET", "/readMeter", 429),
        ("GET", "/readMeter", 200),
        ("GET", "/summary", 200),
    ]
    assert server.log[0].param("meters") == "300000001"


async def test_post_body_is_logged(server: PushServer, fleet: Fleet) -> None:
    body = {
        "target": "meter",
        "target_id": V4,
        "command": "SetRelay",
        "params": {"relay": "relay_2", "status": "close"},
    }
    async with aiohttp.ClientSession() as session:
        url = f"{server.url}/sendCommand"
        async with session.post(
            url, params={"key": server.keys.account, "gateway": GW1}, json=body
        ) as response:
            assert response.status == 200
            answer = await response.json()
    assert set(answer) == {"msg_id", "response_channel_id", "response_channel_host"}
    assert server.log[0].body == body
    assert server.commands[0]["msg_id"] == answer["msg_id"]
    assert fleet.meters[V4].relays == [False, True]
