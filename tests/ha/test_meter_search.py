"""Cloud and Push3 entries look for freed meters: as the entry's own task, never against EKM's
Retry-After; a failed setup shrinks no claim; entries stored without a pick take every free meter."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import diagnostics
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.faults import Fault
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import push_support
from .conftest import V3, V4
from .ownership_support import bus_then_push3, reauth, start, take_out
from .push_support import GATEWAY, add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry


OTHER = "000300000099"  # a meter none of these entries has seen


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at WARNING or above, but asyncio's wall-time reports of slow steps (a
    busy machine makes those; conftest judges the loop by CPU time)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and not (r.name == "asyncio" and r.msg.startswith("Executing"))
    ]


@pytest.mark.parametrize("then", ["unload", "remove"])
async def test_a_search_in_flight_ends_with_its_entry(  # noqa: PLR0917  (parametrized)
    hass: HomeAssistant,
    push_server: PushServer,
    push3_gateway: Push3Gateway,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    then: str,
) -> None:
    """The bus is deleted, so the Push3 entry looks for its meters; the gateway answers late, and
    the Push3 entry is unloaded (or deleted) meanwhile: nothing is written for it, nothing logged."""
    _, push3 = await bus_then_push3(hass, entry, push3_entry)
    await start(hass)
    assert push3.runtime_data.coordinator.meters == {}  # the bus (made first) reads V3 and V4
    asked = len(push3_gateway.log)
    push3_gateway.faults.append(Fault(delay=1.0, times=1))
    caplog.clear()
    assert await hass.config_entries.async_remove(
        next(iter(hass.config_entries.async_entries(DOMAIN))).entry_id
    )
    for _ in range(500):
        if len(push3_gateway.log) > asked:
            break
        await asyncio.sleep(0.01)
    assert len(push3_gateway.log) > asked  # the search is on its way
    if then == "unload":
        assert await hass.config_entries.async_unload(push3.entry_id)
    else:
        assert await hass.config_entries.async_remove(push3.entry_id)
    stored = dict(push3.data[CONF_METERS])
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), push3.entry_id)
    await asyncio.sleep(1.5)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _warnings(caplog) == []
    assert push3.data[CONF_METERS] == stored == {}
    assert dr.async_entries_for_config_entry(dr.async_get(hass), push3.entry_id) == devices
    asked = len(push3_gateway.log)
    await poll(hass)
    assert len(push3_gateway.log) == asked


async def test_no_search_while_ekm_asks_to_wait(
    hass: HomeAssistant, push_server: PushServer, push3_entry: MockConfigEntry
) -> None:
    """A 429 with Retry-After: a deleted entry's meters are looked for at the next poll, not now."""
    push3 = await take_out(hass, push3_entry)
    push3.add_to_hass(hass)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V3]})
    await start(hass)
    push_server.inject(Fault(status=429, retry_after="3600", times=1))
    await poll(hass)
    asked = len(push_server.log)
    assert await hass.config_entries.async_remove(push3.entry_id)
    await hass.async_block_till_done()
    assert push_server.log[asked:] == []
    assert cloud.state is ConfigEntryState.LOADED


class _AfterFirstRead(Fault):
    """Answers with `status` every request but the gateway's first one (the setup's read)."""

    def __init__(self, gateway: Push3Gateway, status: int) -> None:
        super().__init__(status=status, times=None)
        self.gateway = gateway
        self.first = len(gateway.log) + 1

    def matches(self, request: web.Request) -> bool:
        return len(self.gateway.log) > self.first and super().matches(request)


@pytest.mark.parametrize("status", [503, 500])
async def test_a_failed_setup_keeps_the_claim(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_gateway: Push3Gateway,
    push3_entry: MockConfigEntry,
    status: int,
) -> None:
    """The Push3 entry stored V3 and V4; V4 does not answer the setup's read and the first poll
    fails (503: retried, 500: a refused key): V4 stays claimed, no cloud entry takes it."""
    push3 = await take_out(hass, push3_entry, data={**push3_entry.data, CONF_METERS: {V3: "v3", V4: "v4"}})
    push3.add_to_hass(hass)
    push_server.hidden.add(V4)
    push3_gateway.faults.append(_AfterFirstRead(push3_gateway, status))
    await start(hass)
    assert push3.state is not ConfigEntryState.LOADED
    assert push3.data[CONF_METERS] == {V3: "v3", V4: "v4"}
    push_server.hidden.discard(V4)
    cloud = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud)
    assert cloud.runtime_data.coordinator.meters == {}


async def test_a_cloud_entry_without_a_pick_takes_meters_freed_later(
    hass: HomeAssistant, push_server: PushServer, entry: MockConfigEntry
) -> None:
    """Every meter of the key, now and later: the bus (first) reads V3 at the start; once it is
    deleted, the cloud entry reads V3 too, without a reload, and still stores no pick."""
    bus = await take_out(hass, entry, data={**entry.data, CONF_METERS: {V3: "v3"}})
    bus.add_to_hass(hass)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: []})
    await start(hass)
    assert sorted(cloud.runtime_data.coordinator.meters) == [V4]
    assert await hass.config_entries.async_remove(bus.entry_id)
    await hass.async_block_till_done()
    await poll(hass)
    assert sorted(cloud.runtime_data.coordinator.meters) == [V3, V4]
    assert cloud.data[CONF_METERS] == []


async def test_a_cloud_entry_without_a_pick_knows_its_account_by_its_devices(
    hass: HomeAssistant, push_server: PushServer, live_clock: object
) -> None:
    """Its key is refused at start; a reauth with a key that sees none of its meter devices is
    another account."""
    cloud = add_cloud_entry(
        hass, push_server, **{CONF_METERS: [], "api_key": "REFUSED0000000000000000000000000"}
    )
    registry = dr.async_get(hass)
    for address in (V3, V4):
        registry.async_get_or_create(config_entry_id=cloud.entry_id, identifiers={(DOMAIN, address)})
    await start(hass)
    assert cloud.state is ConfigEntryState.SETUP_ERROR
    push_server.add_meter(make_meter(OTHER, "v4", gateway=GATEWAY))
    push_server.hidden.update({V3, V4})  # the new key sees another meter, none of these
    result = await reauth(hass, cloud, push_server.keys.account)
    assert result.get("reason") == "wrong_account"


async def test_diagnostics_of_an_entry_that_did_not_set_up(
    hass: HomeAssistant, push3_gateway: Push3Gateway, push3_entry: MockConfigEntry
) -> None:
    push3_gateway.faults.append(Fault(status=503, times=None))
    await hass.config_entries.async_setup(push3_entry.entry_id)
    await hass.async_block_till_done()
    assert push3_entry.state is ConfigEntryState.SETUP_RETRY
    found = await diagnostics.async_get_config_entry_diagnostics(hass, push3_entry)
    assert found["entry"]["state"] == "setup_retry"
    assert found["entry"]["data"][CONF_API_KEY] == "**REDACTED**"
    assert push3_gateway.key not in str(found)
