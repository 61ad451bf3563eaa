"""A meter two entries could read stays with one of them through reloads, restarts, disabling,
deleting and entries stored without a pick; a deleted entry hands its meters over."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import SOURCE_USER, ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import async_remove_config_entry_device, cloud_coordinator
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import ownership_support, push_support
from .conftest import V3, V4
from .ownership_support import (
    bus_then_push3,
    has_device,
    readers,
    reauth,
    refused_bus,
    start,
    take_out,
    unloaded_after,
    v4_taken_by_a_later_cloud_entry,
    who_reads,
)
from .push_support import add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry
no_collisions = ownership_support.no_collisions  # checked after every test here


async def _restart(hass: HomeAssistant, first: MockConfigEntry, second: MockConfigEntry) -> None:
    """Unload both entries, set them up again in this order, and poll once."""
    for entry in (first, second):
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    for entry in (first, second):
        await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await poll(hass)


async def test_reload_of_the_earlier_entry_leaves_a_later_entrys_meter(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    cloud = await v4_taken_by_a_later_cloud_entry(hass, push_server, push3_entry)
    await hass.config_entries.async_reload(push3_entry.entry_id)
    await hass.async_block_till_done()
    assert readers(V4, push3_entry, cloud) == [cloud.title]
    assert not has_device(dr.async_get(hass), push3_entry, V4)


@pytest.mark.parametrize("order", ["push3 first", "cloud first", "together"])
async def test_a_restart_keeps_each_meter_where_it_was(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    order: str,
) -> None:
    cloud = await v4_taken_by_a_later_cloud_entry(hass, push_server, push3_entry)
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
    assert who_reads(push3_entry, cloud) == {V3: [push3_entry.title], V4: [cloud.title]}


async def test_a_disabled_entry_keeps_its_meters(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """The bus (made first) is disabled at start: the Push3 entry leaves its meters alone, and the
    bus reads them once enabled. Disabled and enabled again while running: the same."""
    bus, push3 = await bus_then_push3(hass, entry, push3_entry, disabled_by=ConfigEntryDisabler.USER)
    await start(hass)
    assert push3.runtime_data.coordinator.meters == {}
    async with unloaded_after(hass, bus):
        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, None)
        await hass.async_block_till_done()
        await poll(hass)
        assert readers(V3, bus, push3) == [bus.title]

        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, ConfigEntryDisabler.USER)
        await hass.async_block_till_done()
        await poll(hass)
        assert readers(V3, bus, push3) == []
        assert await hass.config_entries.async_set_disabled_by(bus.entry_id, None)
        await hass.async_block_till_done()
        await poll(hass)
        assert who_reads(bus, push3) == {V3: [bus.title], V4: [bus.title]}
        registry = er.async_get(hass)
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{V3}_kWh_Tot")
        assert entity_id is not None
        kwh = registry.async_get(entity_id)
        assert kwh is not None
        assert (kwh.config_entry_id, kwh.disabled_by) == (bus.entry_id, None)


@pytest.mark.parametrize("first", ["push3", "cloud"])
async def test_a_deleted_entry_hands_its_meters_over(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
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
    assert later.runtime_data.coordinator.meters == {}
    assert await hass.config_entries.async_remove(owner.entry_id)
    await hass.async_block_till_done()
    assert later.state is ConfigEntryState.LOADED
    assert later.runtime_data.coordinator.meters.keys() == {V3, V4}
    await poll(hass)
    assert has_device(dr.async_get(hass), later, V3)


async def test_a_bus_refused_for_its_meters_sets_up_once_their_entry_is_deleted(
    hass: HomeAssistant, push_server: PushServer, push3_entry: MockConfigEntry, entry: MockConfigEntry
) -> None:
    bus = await refused_bus(hass, entry, push3_entry)
    assert await hass.config_entries.async_remove(push3_entry.entry_id)
    await hass.async_block_till_done()
    async with unloaded_after(hass, bus):
        assert bus.state is ConfigEntryState.LOADED
        assert bus.runtime_data.coordinator.meters.keys() == {V3, V4}


async def test_a_cloud_entry_stored_without_a_pick_is_seen_by_flows(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """An entry stored without a pick (an empty list: every meter of its key) keeps no pick, but
    a Push3 flow for the meters it reads is refused, and a reauth with its key is the same account."""
    push3 = await take_out(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: []})
    await set_up(hass, cloud)
    assert cloud.runtime_data.coordinator.meters.keys() == {V3, V4}
    assert cloud.data[CONF_METERS] == []
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "push3"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: push3.data[CONF_HOST], CONF_API_KEY: push3.data[CONF_API_KEY]}
    )
    assert result.get("errors") == {"base": "gateway_meters_configured"}
    result = await reauth(hass, cloud, push_server.keys.account)
    assert result.get("reason") == "reauth_successful"


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
    assert who_reads(push3_entry, cloud) == {V3: [push3_entry.title], V4: [push3_entry.title]}


async def test_a_deleted_owners_meters_go_to_one_entry(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """The bus (first) reads V3 and V4; a Push3 entry and a cloud entry stored without a pick
    found nothing. Once the bus is deleted each meter is read by one of them, not both."""
    bus, push3 = await bus_then_push3(hass, entry, push3_entry)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: []})
    await start(hass)
    assert readers(V3, bus, push3, cloud) == [bus.title]
    assert push3.data[CONF_METERS] == {}
    assert cloud.data[CONF_METERS] == []
    assert await hass.config_entries.async_remove(bus.entry_id)
    await hass.async_block_till_done()
    await poll(hass)
    assert len(readers(V3, push3, cloud)) == 1
    assert len(readers(V4, push3, cloud)) == 1


async def test_reauth_of_a_cloud_entry_stored_without_a_pick(
    hass: HomeAssistant, push_server: PushServer
) -> None:
    """A cloud entry stored without a pick whose key EKM refuses at start has no meters to
    compare a new key with: the account's key is accepted."""
    cloud = add_cloud_entry(
        hass, push_server, **{CONF_METERS: [], "api_key": "MUSTBEREFUSED0000000000000000000"}
    )
    await start(hass)
    assert cloud.state is ConfigEntryState.SETUP_ERROR
    result = await reauth(hass, cloud, push_server.keys.account)
    assert result.get("reason") == "reauth_successful", result


async def test_a_bus_setting_up_as_the_owner_is_deleted_gets_the_meters(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """The Push3 entry (first) reads V3; the bus lists V3 and V4. The Push3 entry is deleted while
    the bus sets up (having left V3 out): the bus is set up again and reads both."""
    bus = await take_out(hass, entry)
    push_server.hidden.add(V4)
    await set_up(hass, push3_entry)
    assert push3_entry.data[CONF_METERS] == {V3: "v3"}
    bus.add_to_hass(hass)
    setup = hass.async_create_task(hass.config_entries.async_setup(bus.entry_id))
    for _ in range(200):
        await asyncio.sleep(0)
        if bus.state is ConfigEntryState.SETUP_IN_PROGRESS:
            break
    assert await hass.config_entries.async_remove(push3_entry.entry_id)
    assert await setup
    await hass.async_block_till_done()
    async with unloaded_after(hass, bus):
        assert bus.runtime_data.coordinator.meters.keys() == {V3, V4}


async def test_reauth_of_a_push3_entry_whose_meters_another_entry_reads(
    hass: HomeAssistant,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """The bus (first) reads V3 and V4; the Push3 entry (later) reads none of them. A reauth
    with the right key succeeds: who reads the meters is no reason to refuse a key."""
    bus, push3 = await bus_then_push3(hass, entry, push3_entry)
    await start(hass)
    async with unloaded_after(hass, bus):
        assert push3.state is ConfigEntryState.LOADED
        assert push3.runtime_data.coordinator.meters == {}
        result = await reauth(hass, push3, push3.data["api_key"])
        assert result.get("reason") == "reauth_successful", result


async def test_a_new_account_meter_freed_by_a_deleted_bus(
    hass: HomeAssistant,
    push_server: PushServer,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bus (first) reads V4. The cloud entry picked V3 before V4 was on the account; V4
    appears there (left to the bus). Once the bus is deleted, the cloud entry reads V4."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    bus = await take_out(hass, entry, data={**entry.data, CONF_METERS: {V4: "v4"}})
    bus.add_to_hass(hass)
    meter = push_server.fleet.meters[V4]
    push_server.remove_meter(V4)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V3]})
    await start(hass)
    push_server.add_meter(meter)
    await poll(hass)
    assert readers(V4, bus, cloud) == [bus.title]
    assert await hass.config_entries.async_remove(bus.entry_id)
    await hass.async_block_till_done()
    await poll(hass)
    await poll(hass)
    assert readers(V4, cloud) == [cloud.title]


async def test_push3_without_meters_and_a_legacy_cloud_entry_started_together(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """At Home Assistant's start, a Push3 entry whose data lists no meter and a cloud entry stored
    without a pick: each meter is read by one of them."""
    push3 = await take_out(hass, push3_entry, data={**push3_entry.data, CONF_METERS: {}})
    push3.add_to_hass(hass)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: []})
    await start(hass)
    assert len(readers(V3, push3, cloud)) == 1


@pytest.mark.parametrize("restart", [False, True])
async def test_meters_pass_down_a_chain_of_deleted_entries(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
    restart: bool,
) -> None:
    """The Push3 entry (first) reads both meters; the bus and a cloud entry come later. Deleting
    the Push3 entry hands them to the bus, deleting the bus to the cloud entry (with restarts
    between the steps, or without)."""
    push3 = await take_out(hass, push3_entry, data={**push3_entry.data, CONF_METERS: {V3: "v3", V4: "v4"}})
    bus = await take_out(hass, entry)
    push3.add_to_hass(hass)
    bus.add_to_hass(hass)
    cloud = add_cloud_entry(hass, push_server)
    await start(hass)
    assert bus.state is ConfigEntryState.SETUP_ERROR
    assert readers(V3, push3, bus, cloud) == [push3.title]

    async def restart_all() -> None:
        for e in (bus, cloud):
            if e.state is ConfigEntryState.LOADED and hass.config_entries.async_get_entry(e.entry_id):
                assert await hass.config_entries.async_unload(e.entry_id)
        await hass.async_block_till_done()
        for e in (cloud, bus):  # the later one first
            if e.state is ConfigEntryState.NOT_LOADED and hass.config_entries.async_get_entry(e.entry_id):
                hass.async_create_task(hass.config_entries.async_setup(e.entry_id))
        await hass.async_block_till_done()

    assert await hass.config_entries.async_remove(push3.entry_id)
    await hass.async_block_till_done()
    if restart:
        await restart_all()
    await poll(hass)
    assert who_reads(bus, cloud) == {V3: [bus.title], V4: [bus.title]}
    assert await hass.config_entries.async_remove(bus.entry_id)
    await hass.async_block_till_done()
    if restart:
        await restart_all()
    await poll(hass)
    assert who_reads(cloud) == {V3: [cloud.title], V4: [cloud.title]}


async def test_cloud_reconfigure_drops_a_meter_the_push3_entry_then_reads(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """The cloud entry (first) reads both meters; the Push3 entry (later) none, so it has no
    entity. The cloud entry's pick drops V4: the Push3 entry, still polling, reads it."""
    push3 = await take_out(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server)
    await start(hass)
    push3.add_to_hass(hass)
    assert await hass.config_entries.async_setup(push3.entry_id)
    await hass.async_block_till_done()
    assert push3.runtime_data.coordinator.meters == {}
    result = await cloud.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result.get("step_id") == "meters", result
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3]})
    assert result.get("reason") == "reconfigure_successful", result
    await hass.async_block_till_done()
    await poll(hass)
    await poll(hass, 200)
    assert push3.runtime_data.coordinator.polls > 1
    assert who_reads(push3, cloud) == {V3: [cloud.title], V4: [push3.title]}
    # and after a restart in either order
    for first, second in ((push3, cloud), (cloud, push3)):
        await _restart(hass, first, second)
        assert who_reads(push3, cloud) == {V3: [cloud.title], V4: [push3.title]}


async def test_bus_reconfigure_changes_its_unique_id_and_keeps_its_place(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """Bus (first) reads V3, V4; Push3 (later) none. The bus is reconfigured to V4 only (its
    unique_id moves to V4, HA moves it to the end of the domain's entries): V3 goes to the Push3
    entry, V4 stays with the bus through restarts in both orders."""
    bus, push3 = await bus_then_push3(hass, entry, push3_entry)
    await start(hass)
    async with unloaded_after(hass, bus):
        result = await bus.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"port": bus.data["port"], CONF_METERS: V4}
        )
        assert result.get("reason") == "reconfigure_successful", result
        await hass.async_block_till_done()
        assert bus.unique_id == f"rs485_{V4}"
        assert [e.entry_id for e in hass.config_entries.async_entries(DOMAIN)][-1] == bus.entry_id
        await poll(hass)
        assert who_reads(bus, push3) == {V3: [push3.title], V4: [bus.title]}
        for first, second in ((push3, bus), (bus, push3)):
            await _restart(hass, first, second)
            assert who_reads(bus, push3) == {V3: [push3.title], V4: [bus.title]}


async def test_removing_a_device_of_a_disabled_bus(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The bus is disabled (its devices stay); the user deletes one of its meter devices: allowed,
    and no error (the entry has no coordinator to ask)."""
    await set_up(hass, entry)
    assert await hass.config_entries.async_set_disabled_by(entry.entry_id, ConfigEntryDisabler.USER)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    device = get_device(dr.async_get(hass), (DOMAIN, V3), entry.entry_id)
    assert device is not None
    assert await async_remove_config_entry_device(hass, entry, device)
