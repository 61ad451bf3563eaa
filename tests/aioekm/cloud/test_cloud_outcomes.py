"""Per-meter outcomes of a Realtime poll and the fake account's knobs, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitedError,
    ServerError,
)
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.mapping import MeterProblem, Unavailable
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, make_meter
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from .cloud_support import GW1, GW2, V3, V4, V4_B, V4_GW2, make_client

ALL = [V4, V4_B, V3, V4_GW2]


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003])
async def test_no_data_for_one_meter_leaves_the_others(
    client: PushClient, server: PushServer, clock: ManualClock, code: int
) -> None:
    server.no_data[V4_B] = code
    result = await client.read_meters(ALL)
    assert set(result.readings) == {V4, V3, V4_GW2}
    assert result.missing == (V4_B,)
    problem = result.problems[V4_B]
    assert (problem.reason, problem.code) == (Unavailable.NO_DATA, code)
    assert problem.message is not None and problem.message.startswith("There is not data for: 300000002")
    if code == 1002:
        assert "first reported on: 2026-01-01 00:00" in problem.message
    # The refused request named the meter; it was set apart and the rest asked once more.
    sent = [r.param("meters") for r in server.requests_to("/readMeter")]
    assert sent == ["300000001~300000002~17507~300000009", "300000001~17507~300000009"]
    assert result.requests == 2


async def test_meter_taken_off_the_account_is_unknown_only_itself(
    client: PushClient, server: PushServer, fleet: Fleet, clock: ManualClock
) -> None:
    server.remove_meter(V4)
    result = await client.read_meters(ALL)
    assert set(result.readings) == {V4_B, V3, V4_GW2}
    assert result.problems[V4].reason is Unavailable.UNKNOWN_METER
    assert result.problems[V4].code == 1200
    assert server.keys.account not in (result.problems[V4].message or "")
    account = await client.account(deep=True)
    assert V4 not in {m.address for m in account.meters}
    assert V4 in fleet.meters  # the bus face keeps it
    # Back on the account, it reads again.
    server.add_meter(fleet.meters[V4])
    again = await client.read_meters(ALL)
    assert set(again.readings) == set(ALL)
    assert again.problems == {}


async def test_meter_added_while_serving(
    session: aiohttp.ClientSession, client: PushClient, server: PushServer, clock: ManualClock
) -> None:
    new = "000300000077"
    new_gateway = "4016fa1000aa"
    server.add_meter(make_meter(new, "v4", gateway=new_gateway, index=77))
    account = await client.account(deep=True)
    assert new in {m.address for m in account.meters}
    gateway = account.gateway(new_gateway)
    assert gateway is not None and [m.address for m in gateway.meters] == [new]
    result = await client.read_meters([V4, new])
    assert set(result.readings) == {V4, new}
    # The new gateway has a key of its own; the old keys did not change.
    own = make_client(session, server, server.keys.gateways[new_gateway])
    assert set((await own.read_meters()).readings) == {new}
    assert set((await client.read_meters()).readings) == {*ALL, new}


async def test_unnamed_refusals_are_found_by_halving(client: PushClient, server: PushServer) -> None:
    # EKM's text does not say which meter: the batch is halved until the culprit is alone.
    server.inject(Fault(status=400, code=1200, message="Found invalid meter", times=2))
    result = await client.read_meters([V4, V4_B])
    assert set(result.readings) == {V4}
    assert result.problems[V4_B] == MeterProblem(Unavailable.UNKNOWN_METER, 1200, "Found invalid meter")
    sent = [r.param("meters") for r in server.requests_to("/readMeter")]
    assert sent == ["300000001~300000002", "300000002", "300000001"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=401, message="Invalid key"), AuthenticationError),
        (Fault(status=403, message="Forbidden"), AuthenticationError),
        (Fault(status=400, code=1100, message="Invalid query"), InvalidRequestError),
        (Fault(status=500, code=1300, message="Oops! unexpected error", times=None), ServerError),
        (Fault(status=503, times=None), ServerError),
        (Fault(status=429, retry_after="30"), RateLimitedError),
    ],
)
async def test_whole_poll_errors_stay_exceptions(
    client: PushClient, server: PushServer, fault: Fault, error: type[Exception]
) -> None:
    server.inject(fault)
    with pytest.raises(error) as caught:
        await client.read_meters(ALL)
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == 30.0


async def test_stale_meter_keeps_its_old_reading_while_others_advance(
    client: PushClient, server: PushServer, clock: ManualClock
) -> None:
    silent_since = clock.t - 6 * 3600
    server.stale[V4_B] = silent_since
    first = await client.read_meters(ALL)
    clock.advance(120)
    second = await client.read_meters(ALL)
    assert first.readings[V4_B].timestamp == second.readings[V4_B].timestamp == at(silent_since)
    assert second.readings[V4].timestamp == at(clock.t)
    assert second.readings[V4].timestamp != first.readings[V4].timestamp


async def test_reading_all_meters_reports_no_data_meters(client: PushClient, server: PushServer) -> None:
    server.no_data[V3] = 1000
    result = await client.read_meters()
    assert set(result.readings) == {V4, V4_B, V4_GW2}
    assert result.problems[V3].reason is Unavailable.NO_DATA


async def test_gateway_model_and_legacy_gateway(client: PushClient, server: PushServer, fleet: Fleet) -> None:
    server.make_legacy(GW2)
    account = await client.account(deep=True)
    push3, legacy = account.gateway(GW1), account.gateway(GW2)
    assert push3 is not None and legacy is not None
    assert (push3.model, push3.is_push3, push3.firmware) == ("Push3", True, "3.1.4")
    assert (legacy.model, legacy.is_push3) == ("Push2", False)
    assert push3.mac_colons == "40:16:fa:10:00:00"
    assert push3.name == "Push3 100000"
    # Without deep the API names no model: unknown, not guessed.
    shallow = await client.account()
    assert shallow.gateways[0].is_push3 is None
    with pytest.raises(InvalidRequestError, match="not a Push3"):
        await client.set_relay(GW2, V4_GW2, 1, True)
    assert fleet.meters[V4_GW2].reading(fleet.clock()).relay_closed(1) is False


async def test_set_relay_through_a_push3_shows_in_state_out(
    client: PushClient, server: PushServer, fleet: Fleet
) -> None:
    before = (await client.read_meters([V4])).readings[V4]
    assert before.relay_closed(1) is False
    await client.set_relay(GW1, V4, 1, True)
    after = (await client.read_meters([V4])).readings[V4]
    assert after.relay_closed(1) is True
    assert after["State_Out"] != before["State_Out"]


async def test_gateway_status_connected(client: PushClient, server: PushServer) -> None:
    server.offline_gateways.add(GW2)
    status = {s.mac: s for s in await client.gateway_status([GW1, GW2])}
    assert status[GW1].connected is True
    assert status[GW2].connected is False
    assert status[GW2].last_seen is not None


async def test_account_state_of_a_stale_meter_is_its_last_reading(
    client: PushClient, server: PushServer, clock: ManualClock
) -> None:
    server.stale[V4_B] = clock.t - 7200
    account = await client.account(deep=True, state=True)
    states = {m.address: m.state for m in account.meters}
    assert states[V4_B]["Time_Stamp_UTC_ms"] == round((clock.t - 7200) * 1000)
    assert states[V4]["Time_Stamp_UTC_ms"] == round(clock.t * 1000)
