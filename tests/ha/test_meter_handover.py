"""A meter two entries could read stays with one of them through reloads, restarts, disabling,
deleting and entries stored without a pick; a deleted entry hands its meters over."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import SOURCE_USER, ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import cloud_coordinator
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import push_support
from .conftest import V3, V4
from .ownership_support import collisions, has_device, take_out
from .push_support import add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry


def _readers(address: str, *entries: MockConfigEntry) -> list[str]:
    """The titles of the loaded entries among `entries` that read `address`."""
    return [
        e.title for e in entries if e.state is ConfigEntryState.LOADED and address in e.runtime_data.meters
    ]


async def _v4_taken_by_a_later_cloud_entry(
    hass: HomeAssistant, push_server: PushServer, push3: MockConfigEntry
) -> MockConfigEntry:
    """The Push3 entry (made first) reads V3; a cloud entry made later took V4 while the gateway
    did not answer for it yet."""
    push_server.hidden.update({V3, V4})
    await set_up(hass, push3)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4]})
    push_server.hidden.discard(V4)
    await set_up(hass, cloud)
    push_server.hidden.discard(V3)
    await poll(hass)
    assert _readers(V4, push3, cloud) == [cloud.title]
    assert _readers(V3, push3, cloud) == [push3.title]
    return cloud


async def test_reload_of_the_earlier_entry_leaves_a_later_entrys_meter(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cloud = await _v4_taken_by_a_later_cloud_entry(hass, push_server, push3_entry)
    await hass.config_entries.async_reload(push3_entry.entry_id)
    await hass.async_block_till_done()
    assert collisions(caplog) == []
    assert _readers(V4, push3_entry, cloud) == [cloud.title]
    assert not has_device(dr.async_get(hass), push3_entry, V4)


@pytest.mark.parametrize("order", ["push3 first", "cloud first", "together"])
async def test_a_restart_keeps_each_meter_where_it_was(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    order: str,
) -> None:
    cloud = await _v4_taken_by_a_later_cloud_entry(hass, push_server, push3_entry)
    for entry in (push3_entry, cloud):
        assert await hass.config_entries.async_unload(entry.entry_id)
    setups = {
        "push3 first": [push3_entry, cloud],
        "cloud first": [cloud, push3_entry],
    }.get(order)
    if setups is None:
        await asyncio.gather(
            hass.config_entries.async_setup(push3_entry.entry_id),
            hass.config_entries.async_setup(cloud.entry_id),
        )
    else:
        for entry in setups:
            await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert collisions(caplog) == []
    assert _readers(V4, push3_entry, cloud) == [cloud.title]
    assert _readers(V3, push3_entry, cloud) == [push3_entry.title]


async def test_a_disabled_entry_keeps_its_meters(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The bus (made first) is disabled at start: the Push3 entry leaves its meters alone, and the
    bus reads them once enabled. Disabled and enabled again while running: the same."""
    push3 = await take_out(hass, push3_entry)
    bus = await take_out(hass, entry, disabled_by=ConfigEntryDisabler.USER)
    bus.add_to_hass(hass)
    push3.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert push3.runtime_data.meters == {}
    try:
        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, None)
        await hass.async_block_till_done()
        await poll(hass)
        assert _readers(V3, bus, push3) == [bus.title]

        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, ConfigEntryDisabler.USER)
        await hass.async_block_till_done()
        await poll(hass)
        assert _readers(V3, bus, push3) == []
        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, None)
        await hass.async_block_till_done()
        await poll(hass)
        assert _readers(V3, bus, push3) == [bus.title]
        assert _readers(V4, bus, push3) == [bus.title]
        registry = er.async_get(hass)
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{V3}_kWh_Tot")
        assert entity_id is not None
        kwh = registry.async_get(entity_id)
        assert kwh is not None
        assert (kwh.config_entry_id, kwh.disabled_by) == (bus.entry_id, None)
        assert collisions(caplog) == []
    finally:
        await hass.config_entries.async_unload(bus.entry_id)
        await hass.async_block_till_done()


@pytest.mark.parametrize("first", ["push3", "cloud"])
async def test_a_deleted_entry_hands_its_meters_over(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    first: str,
) -> None:
    """The later entry, left with no meter (so it never polls), reads them once the first is deleted."""
    push3 = await take_out(hass, push3_entry)

    def add(kind: str) -> MockConfigEntry:
        if kind == "cloud":
            return add_cloud_entry(hass, push_server)
        push3.add_to_hass(hass)
        return push3

    owner = add(first)
    await set_up(hass, owner)
    later = add("cloud" if first == "push3" else "push3")
    await set_up(hass, later)
    assert later.runtime_data.meters == {}
    assert await hass.config_entries.async_remove(owner.entry_id)
    await hass.async_block_till_done()
    assert later.state is ConfigEntryState.LOADED
    assert later.runtime_data.meters.keys() == {V3, V4}
    await poll(hass)
    assert collisions(caplog) == []
    assert has_device(dr.async_get(hass), later, V3)


async def test_a_bus_refused_for_its_meters_sets_up_once_their_entry_is_deleted(
    hass: HomeAssistant, push_server: PushServer, push3_entry: MockConfigEntry, entry: MockConfigEntry
) -> None:
    bus = await take_out(hass, entry)
    await set_up(hass, push3_entry)
    bus.add_to_hass(hass)
    await hass.config_entries.async_setup(bus.entry_id)
    await hass.async_block_till_done()
    assert bus.state is ConfigEntryState.SETUP_ERROR  # every meter is the Push3 entry's
    assert await hass.config_entries.async_remove(push3_entry.entry_id)
    await hass.async_block_till_done()
    try:
        assert bus.state is ConfigEntryState.LOADED
        assert bus.runtime_data.meters.keys() == {V3, V4}
    finally:
        await hass.config_entries.async_unload(bus.entry_id)
        await hass.async_block_till_done()


async def test_a_cloud_entry_stored_without_a_pick_records_what_it_reads(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry stored before picks were (an empty list): it stores the meters it reads, so a Push3
    flow for the same meters is refused and a reauth with the same key is the same account."""
    push3 = await take_out(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: []})
    await set_up(hass, cloud)
    assert cloud.runtime_data.meters.keys() == {V3, V4}
    assert sorted(cloud.data[CONF_METERS]) == [V3, V4]
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "push3"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: push3.data[CONF_HOST], CONF_API_KEY: push3.data[CONF_API_KEY]}
    )
    assert result.get("errors") == {"base": "gateway_meters_configured"}
    result = await cloud.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.account}
    )
    await hass.async_block_till_done()
    assert result.get("reason") == "reauth_successful"
    assert collisions(caplog) == []


async def test_a_new_account_meter_is_left_to_the_entry_that_reads_it(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ACCOUNT_EVERY=1: every cloud poll reads the account, and the Push3 entry's meters stay there."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    await set_up(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V3]})
    await set_up(hass, cloud)
    await poll(hass)
    await poll(hass)
    assert _readers(V4, push3_entry, cloud) == [push3_entry.title]
    assert _readers(V3, push3_entry, cloud) == [push3_entry.title]
