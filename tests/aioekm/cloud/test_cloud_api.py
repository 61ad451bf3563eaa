"""Account, Gateway Settings, Trigger and Widget through the Push client against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
import logging
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
    UnknownMeterError,
)
from custom_components.ekm.aioekm.push.account import KeyType, parse_account
from custom_components.ekm.aioekm.push.cloud import PushClient, widget_url
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .cloud_support import EXAMPLES, GW1, GW2, V3, V4, V4_B, V4_GW2, make_client, serving

TOKEN = "api-token-very-secret"


@pytest.fixture
async def server(fleet: Fleet) -> AsyncIterator[PushServer]:
    async with serving(fleet, api_token=TOKEN) as server:
        yield server


@pytest.fixture
def client(session: aiohttp.ClientSession, server: PushServer) -> PushClient:
    return make_client(session, server, api_token=TOKEN)


# --- Account ----------------------------------------------------------------------


async def test_account_tree(client: PushClient, server: PushServer) -> None:
    account = await client.account(deep=True, state=True)
    assert account.key_type is KeyType.ACCOUNT
    assert [g.mac for g in account.gateways] == [GW1, GW2]
    assert {m.address for m in account.gateway(GW1).meters} == {V4, V4_B, V3}  # type: ignore[union-attr]
    assert {m.address for m in account.meters} == {V4, V4_B, V3, V4_GW2}
    v3 = account.meter("17507")
    assert v3 is not None
    assert (v3.model, v3.protocol, v3.gateway) == ("1017", "v3", GW1)
    assert v3.state["kWh_Tot"] == server.fleet.meters[V3].values(server.fleet.clock())["kWh_Tot"]
    # The API echoes the key; the tree does not keep it.
    assert server.keys.account not in repr(account)
    logged = server.requests_to("/account/api/account")[0]
    assert (logged.param("deep"), logged.param("state")) == ("true", "false") or logged.param(
        "state"
    ) == "true"


async def test_account_shallow(client: PushClient) -> None:
    account = await client.account()
    assert [g.mac for g in account.gateways] == [GW1, GW2]
    assert account.gateways[0].meters == ()
    assert all(m.state == {} and m.model is None for m in account.meters)


@pytest.mark.parametrize(
    ("key_of", "key_type", "meters"),
    [
        (lambda s: s.keys.gateways[GW2], KeyType.GATEWAY, {V4_GW2}),
        (lambda s: s.keys.meters[V4_B], KeyType.METER, {V4_B}),
    ],
)
async def test_account_per_key_type(
    session: aiohttp.ClientSession, server: PushServer, key_of: object, key_type: KeyType, meters: set[str]
) -> None:
    client = make_client(session, server, key_of(server))  # type: ignore[operator]
    account = await client.account(deep=True)
    assert account.key_type is key_type
    assert {m.address for m in account.meters} == meters


async def test_account_gateway_and_meter_targets(client: PushClient, server: PushServer) -> None:
    gateway = await client.account("gateway", [GW2], deep=True)
    assert [g.mac for g in gateway.gateways] == [GW2]
    assert [m.address for m in gateway.gateways[0].meters] == [V4_GW2]
    assert server.requests_to("/account/api/gateway")[0].query["id"] == [GW2]
    meter = await client.account("meter", [V4, V3])
    assert {m.address for m in meter.meters} == {V4, V3}
    with pytest.raises(InvalidRequestError):
        await client.account("gateway", ["001122334455"])
    with pytest.raises(ValueError, match="target"):
        await client.account("planet")


async def test_account_meter_outside_the_key(session: aiohttp.ClientSession, server: PushServer) -> None:
    key = server.keys.gateways[GW2]
    client = make_client(session, server, key)
    with pytest.raises(UnknownMeterError) as caught:
        await client.account("meter", [V4])
    assert key not in str(caught.value)


def test_account_example_parses_as_far_as_it_goes() -> None:
    """EKM's own example is truncated by the index: parse the complete part of it."""
    text = (EXAMPLES / "account_api_account.response.PARTIAL.txt").read_text()
    complete = text[: text.rindex("}, {")] + "}]}"
    account = parse_account(json.loads(complete))
    assert account.key_type is KeyType.ACCOUNT
    assert account.host == "psrv1.ekmmetering.com"
    assert len(account.gateways) == 11
    assert account.gateways[-1].mac == "4016fa0500cd"
    assert [m.address for m in account.meters] == [
        "000000000099",
        "000000010388",
        "000000010389",
        "000000015635",
    ]
    assert "MTAxMDoyMDIw" not in repr(account)


def test_account_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        parse_account(["not", "an", "object"])
    with pytest.raises(MalformedResponseError):
        parse_account({"gateways": "nope"})
    with pytest.raises(MalformedResponseError):
        parse_account({"meters": [{"address": "12x"}]})


# --- Gateway Settings -----------------------------------------------------------------


async def test_set_relay_switches_the_virtual_meter(
    client: PushClient, server: PushServer, fleet: Fleet
) -> None:
    ack = await client.set_relay(GW1, V4, 1, True)
    assert ack.msg_id and ack.channel
    assert fleet.meters[V4].relays == [True, False]
    reading = (await client.read_meters([V4])).readings[V4]
    assert reading.relay_closed(1) is True
    assert reading.relay_closed(2) is False
    await client.set_relay(GW1, V4, 1, False)
    assert fleet.meters[V4].relays == [False, False]
    # The body has the documented shape.
    documented = json.loads((EXAMPLES / "sendCommand_SetRelay.request.json").read_text())
    sent = server.requests_to("/sendCommand")[0]
    assert set(sent.body) == set(documented)
    assert set(sent.body["params"]) == set(documented["params"])
    assert sent.body["params"] == {"relay": "relay_1", "status": "close", "duration": 0}
    assert sent.body["target_id"] == V4
    assert sent.param("gateway") == GW1


async def test_timed_relay_flips_back(client: PushClient, fleet: Fleet, clock: ManualClock) -> None:
    await client.set_relay(GW1, V4_B, 2, True, seconds=5)
    assert (await client.read_meters([V4_B])).readings[V4_B].relay_closed(2) is True
    clock.t += 6
    assert (await client.read_meters([V4_B])).readings[V4_B].relay_closed(2) is False


async def test_relay_shows_on_the_rs485_face(client: PushClient, fleet: Fleet) -> None:
    simulator = Rs485Simulator(fleet, turnaround=0.002)
    url = await simulator.start_tcp()
    bus = EkmBus(url, first_byte_timeout=0.3, inter_byte_timeout=0.3)
    try:
        await bus.open()
        assert (await bus.read(V4)).relay_closed(1) is False
        await client.set_relay(GW1, V4, 1, True)
        assert (await bus.read(V4)).relay_closed(1) is True
    finally:
        await bus.close()
        await simulator.stop()


@pytest.mark.parametrize(
    ("gateway", "meter", "message"),
    [
        (GW2, V4, "not connected"),  # meter behind another gateway
        (GW1, V3, "no controllable relays"),  # v3
        ("001122334455", V4, "Unknown gateway"),
    ],
)
async def test_relay_refused(
    client: PushClient, fleet: Fleet, gateway: str, meter: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await client.set_relay(gateway, meter, 1, True)
    assert all(m.relays == [False, False] for m in fleet.meters.values())


async def test_relay_argument_checks(client: PushClient, server: PushServer) -> None:
    with pytest.raises(ValueError, match="relay must be"):
        await client.set_relay(GW1, V4, 3, True)
    with pytest.raises(ValueError, match="seconds"):
        await client.set_relay(GW1, V4, 1, True, seconds=10_000)
    assert server.log == []


async def test_meter_key_cannot_send_commands(session: aiohttp.ClientSession, server: PushServer) -> None:
    client = make_client(session, server, server.keys.meters[V4])
    with pytest.raises(AuthenticationError):
        await client.set_relay(GW1, V4, 1, True)


async def test_gateway_key_commands_its_own_gateway(
    session: aiohttp.ClientSession, server: PushServer, fleet: Fleet
) -> None:
    client = make_client(session, server, server.keys.gateways[GW2])
    await client.set_relay(GW2, V4_GW2, 1, True)
    assert fleet.meters[V4_GW2].relays[0] is True
    with pytest.raises(InvalidRequestError):
        await client.set_relay(GW1, V4, 1, True)


async def test_unknown_command_and_raw_send(client: PushClient, server: PushServer) -> None:
    with pytest.raises(InvalidRequestError, match="Unknown command"):
        await client.send_command(GW1, "meter", V4, "SetWeather", {"sun": True})
    ack = await client.send_command(
        GW1,
        "meter",
        V4,
        "SetRelay",
        {"relay": "relay_2", "status": "close", "duration": 0},
        response_channel_id="ch-1",
    )
    assert ack.channel == "ch-1"
    assert server.fleet.meters[V4].relays == [False, True]


async def test_post_is_never_retried(client: PushClient, server: PushServer, fleet: Fleet) -> None:
    server.inject(Fault(status=503, times=None, path="/sendCommand"))
    with pytest.raises(ServerError):
        await client.set_relay(GW1, V4, 1, True)
    assert len(server.requests_to("/sendCommand")) == 1


async def test_send_command_answer_without_msg_id(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(body='{"ok": true}'))
    with pytest.raises(MalformedResponseError, match="msg_id"):
        await client.set_relay(GW1, V4, 1, True)


# --- Trigger ----------------------------------------------------------------------------


async def test_trigger_crud(client: PushClient, server: PushServer) -> None:
    assert await client.triggers(GW1) == []
    definition = {"trigger_name": "Too hot", "condition": {"field": "RMS_Watts_Tot", "gt": 5000}}
    created = await client.create_trigger(GW1, definition)
    assert len(created.uuid) == 32
    assert created.name == "Too hot"
    assert created.definition["condition"] == definition["condition"]
    assert [t.uuid for t in await client.triggers(GW1)] == [created.uuid]
    assert await client.triggers(GW2) == []
    fetched = await client.trigger(created.uuid)
    assert fetched.definition == created.definition
    updated = await client.update_trigger(created.uuid, {"trigger_name": "Very hot"})
    assert updated.name == "Very hot"
    assert updated.definition["condition"] == definition["condition"]
    await client.delete_trigger(created.uuid)
    with pytest.raises(NotFoundError):
        await client.trigger(created.uuid)
    for request in server.requests_to("/api/trigger"):
        assert request.param("key") == server.keys.account
    assert [r.method for r in server.requests_to("/api/trigger")] == [
        "GET",
        "POST",
        "GET",
        "GET",
        "GET",
        "PUT",
        "DELETE",
        "GET",
    ]


async def test_trigger_needs_the_token(
    session: aiohttp.ClientSession, server: PushServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for token in (None, "wrong-token-123"):
        client = make_client(session, server, api_token=token)
        with pytest.raises(AuthenticationError) as caught:
            await client.triggers(GW1)
        assert caught.value.status == 403
        assert "wrong-token-123" not in str(caught.value)
    assert "wrong-token-123" not in caplog.text
    assert "Bearer" not in caplog.text or "Bearer ***" in caplog.text


async def test_trigger_validation(client: PushClient, server: PushServer) -> None:
    with pytest.raises(ValueError, match="trigger_name"):
        await client.create_trigger(GW1, {"condition": {}})
    with pytest.raises(ValueError, match="trigger_name"):
        await client.create_trigger(GW1, {"trigger_name": ""})
    with pytest.raises(ValueError, match="own trigger_uuid"):
        await client.create_trigger(
            GW1, {"trigger_name": "x", "trigger_uuid": "1c27d0dcefc811eb90b27de8d650408c"}
        )
    with pytest.raises(ValueError, match="plain JSON"):
        await client.create_trigger(GW1, {"trigger_name": "x", "when": object()})
    with pytest.raises(ValueError, match="32 hex"):
        await client.trigger("not-a-uuid")
    assert server.log == []


async def test_trigger_writes_are_not_retried(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(status=500, times=None, path="/api/trigger", method="POST"))
    with pytest.raises(ServerError):
        await client.create_trigger(GW1, {"trigger_name": "x"})
    assert len(server.requests_to("/api/trigger")) == 1


async def test_trigger_list_malformed(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(body='{"triggers": [{"trigger_name": "no uuid"}]}'))
    with pytest.raises(MalformedResponseError):
        await client.triggers(GW1)


# --- Widget ---------------------------------------------------------------------------


def test_widget_url() -> None:
    url = widget_url("MTAxMDoyMDIw", "000000010068", timezone="America/Tegucigalpa", reads=6, scale="mo")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "widget.ekmmetering.com", "/EKM2/")
    query = parse_qs(parts.query)
    assert query == {
        "reads": ["6"],
        "key": ["MTAxMDoyMDIw"],
        "meter": ["10068"],
        "scale": ["mo"],
        "timezone": ["America~Tegucigalpa"],
    }
    assert "America~Tegucigalpa" in url


def test_client_repr_hides_key_and_token(client: PushClient, server: PushServer) -> None:
    text = repr(client)
    assert server.keys.account not in text
    assert TOKEN not in text
    assert server.url in text


def test_account_merges_gateway_and_top_level_meters() -> None:
    account = parse_account(
        {
            "key_type": "strange",
            "gateways": [{"mac_address": "AA11", "meters": [{"address": "5", "name": "Barn"}]}],
            "meters": [{"address": "000000000005", "state": {"kWh_Tot": 3}, "model": "1024"}, "7"],
            "iostacks": [{"id": 9, "name": "io"}],
        }
    )
    assert account.key_type is KeyType.UNKNOWN
    barn = account.meter("5")
    assert barn is not None
    assert (barn.name, barn.model, barn.gateway, dict(barn.state)) == ("Barn", "1024", "aa11", {"kWh_Tot": 3})
    assert account.meter("7") is not None
    assert account.iostacks[0].id == "9"
    assert account.gateway("AA11") is account.gateways[0]
