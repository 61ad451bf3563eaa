"""The Push3 gateway local API: the third-party fixture and the fake server's gateways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.ekm.aioekm.errors import AuthenticationError, MalformedResponseError
from custom_components.ekm.aioekm.fields import FIELDS
from custom_components.ekm.aioekm.push.http import RetryPolicy
from custom_components.ekm.aioekm.push.mapping import map_read, parse_value, push3_result
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer

from .cloud_support import EXAMPLES, GW1, GW2, V3, V4, V4_B, V4_GW2

FIXTURE = EXAMPLES / "push3_local_readMeter.third_party_fixture.json"
FAST = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0)


def load_fixture() -> Any:
    return json.loads(FIXTURE.read_text())


def check_fixture_readings(readings: dict[str, Any]) -> None:
    v3, v4 = readings["000000000002"], readings["000300000001"]
    assert (v3.protocol, v3.model, v3.firmware) == (Protocol.V3, "1017", "1c")
    assert (v4.protocol, v4.model, v4.firmware) == (Protocol.V4, "1024", "28")
    assert v3["kWh_Tot"] == 62889.4
    assert v3["RMS_Volts_Ln_1"] == 123.4
    assert v3["Meter_Status_Code"] == "00"
    assert v3["Cos_Theta_Ln_1"] == "0.00 C"
    assert v4["Line_Freq"] == 60.05
    assert v4["RMS_Watts_Tot"] == 12105
    assert isinstance(v4["RMS_Watts_Tot"], int)
    assert v4["Cos_Theta_Ln_1"] == "0.83 C"
    assert v4["Power_Factor_Ln_1"] == 0.83
    assert v4["State_Out"] == 1
    assert v4.relay_closed(1) is False
    assert v4["Net_Calc_Watts_Tot"] == 4320 + 7770  # State_Watts_Dir 1: all forward
    assert v4.meter_time == datetime(2026, 9, 29, 9, 53, 34)
    assert v4.timestamp == datetime.fromtimestamp(1790697213.797, UTC)
    assert dict(v4.extra) == {"Reliability_Ratio": 100, "Request_Type": 0}  # not table fields
    # Every key of the fixture is either a field, a read key or kept in extra.
    raw = load_fixture()["000300000001"][0]
    known = {"Model", "Firmware", "Meter_Address", "Time_Stamp_UTC_ms"}
    assert {k for k in raw if k not in known} == {k for k in v4.values if k in raw} | set(v4.extra)


def test_fixture_parses() -> None:
    result = push3_result(load_fixture(), ["2", "300000001"])
    assert set(result.readings) == {"000000000002", "000300000001"}
    assert result.missing == ()
    assert result.bad_values == 0
    check_fixture_readings(result.readings)


@pytest.fixture
async def fixture_gateway() -> AsyncIterator[tuple[str, list[str]]]:
    """A bare HTTP server answering /readMeter with the fixture (a wrong key gets HTTP 500)."""
    keys: list[str] = []

    async def read_meter(request: web.Request) -> web.Response:
        keys.append(request.query.get("key", ""))
        if request.query.get("key") != "gw-key":
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response(load_fixture())

    app = web.Application()
    app.router.add_get("/readMeter", read_meter)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}", keys
    finally:
        await runner.cleanup()


async def test_fixture_over_http(fixture_gateway: tuple[str, list[str]]) -> None:
    host, keys = fixture_gateway
    async with aiohttp.ClientSession() as session:
        client = Push3Client(session, host, "gw-key", retry=FAST)
        result = await client.read_meters()
        check_fixture_readings(result.readings)
        assert result.requests == 1
        with pytest.raises(AuthenticationError) as caught:
            await Push3Client(session, host, "bad-key-000", retry=FAST).read_meters()
        assert "bad-key-000" not in str(caught.value)
        assert keys == ["gw-key", "bad-key-000"]  # the 500 of a wrong key is not retried
        assert "bad-key-000" not in repr(client) and "gw-key" not in repr(client)


async def test_fake_gateway_local_api(server: PushServer, fleet: Fleet, clock: ManualClock) -> None:
    async with aiohttp.ClientSession() as session:
        client = Push3Client(
            session, "ignored", server.keys.gateways[GW1], base_url=f"{server.url}/push3/{GW1}", retry=FAST
        )
        result = await client.read_meters(cnt=3)
        assert set(result.readings) == {V4, V4_B, V3}
        for address, reading in result.readings.items():
            assert reading.as_dict() == fleet.meters[address].reading(clock.t).as_dict()
            assert dict(reading.extra) == {"Reliability_Ratio": 100}
        [logged] = server.requests_to(f"/push3/{GW1}/readMeter")
        assert logged.param("cnt") == "3"
        wanted = await client.read_meters([V4, V4_GW2])
        assert set(wanted.readings) == {V4}
        assert wanted.missing == (V4_GW2,)


async def test_fake_gateway_refuses_other_keys(server: PushServer) -> None:
    async with aiohttp.ClientSession() as session:
        for key in (server.keys.account, server.keys.gateways[GW2], "nonsense"):
            client = Push3Client(session, "x", key, base_url=f"{server.url}/push3/{GW1}", retry=FAST)
            with pytest.raises(AuthenticationError):
                await client.read_meters()
    assert len(server.log) == 3


def test_mapping_is_defensive() -> None:
    read = {
        "Good": "1",
        "Model": "1024",
        "Firmware": 21,
        "Time_Stamp_UTC_ms": "1790697213797",
        "kWh_Tot": "123.45",
        "RMS_Watts_Tot": "1500.0",  # a whole number written as a float
        "RMS_Watts_Ln_1": "12.5",  # not whole: kept aside, not guessed
        "Cos_Theta_Ln_1": " 0.97 L",
        "Cos_Theta_Ln_2": "junk",
        "Meter_Time": 26092903095334,
        "Meter_Status_Code_A": 0,
        "Power_Factor_Ln_1": 97,  # encoding undocumented: kept, recomputed from Cos_Theta
        "Brand_New_Field": {"x": 1},
        "Line_Freq": None,
    }
    reading, bad = map_read("300000001", read, declared_protocol="v5")
    assert reading.protocol is Protocol.V4
    assert (reading.model, reading.firmware) == ("1024", "21")
    assert reading["kWh_Tot"] == 123.45
    assert reading["RMS_Watts_Tot"] == 1500
    assert isinstance(reading["RMS_Watts_Tot"], int)
    assert reading["Cos_Theta_Ln_1"] == "0.97 L"
    assert reading["Power_Factor_Ln_1"] == 0.97
    assert reading["Meter_Time"] == "26092903095334"
    assert reading["Meter_Status_Code_A"] == "0"
    assert bad == 2
    assert dict(reading.extra) == {
        "RMS_Watts_Ln_1": "12.5",
        "Cos_Theta_Ln_2": "junk",
        "Power_Factor_Ln_1": 97,
        "Brand_New_Field": {"x": 1},
        "Line_Freq": None,
    }
    assert "RMS_Watts_Ln_1" not in reading
    with pytest.raises(ValueError, match="finite"):
        parse_value(FIELDS["kWh_Tot"], "nan")
    with pytest.raises(ValueError, match="not a number"):
        parse_value(FIELDS["kWh_Tot"], True)


def test_push3_shape_errors() -> None:
    with pytest.raises(MalformedResponseError):
        push3_result([1, 2, 3])
    with pytest.raises(MalformedResponseError):
        push3_result({"not-an-address": []})
    with pytest.raises(MalformedResponseError):
        push3_result({"000300000001": "nope"})
    bad_only = push3_result({"000300000001": [{"Good": 0}, "garbage"]}, ["300000001"])
    assert bad_only.readings == {}
    assert bad_only.bad_reads == 2
    assert bad_only.missing == ("000300000001",)
