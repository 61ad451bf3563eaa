"""What the tests of meters seen by several entries share: copies of entries, who has what."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_METERS, DOMAIN

from .conftest import V3, V4, unique_ids
from .push_support import add_cloud_entry, poll, set_up


@pytest.fixture(autouse=True)
def no_collisions(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """After each test of a module that binds it (`no_collisions = ownership_support.no_collisions`):
    no entity of one entry took a unique ID an entity of another entry has (HA logs that, and
    drops the second entity)."""
    yield
    logged = [r.getMessage() for r in caplog.get_records("call")]
    assert [m for m in logged if "does not generate unique IDs" in m] == []


async def take_out(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> MockConfigEntry:
    """Remove a fixture's entry (not set up yet) and return a copy, with `changes`, to add later."""
    assert await hass.config_entries.async_remove(entry.entry_id)
    fields: dict[str, Any] = {
        "domain": DOMAIN,
        "title": entry.title,
        "unique_id": entry.unique_id,
        "minor_version": entry.minor_version,
        "data": dict(entry.data),
        "options": dict(entry.options),
    }
    return MockConfigEntry(**(fields | changes))


async def bus_then_push3(
    hass: HomeAssistant, bus_entry: MockConfigEntry, push3_entry: MockConfigEntry, **bus_changes: Any
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Copies of the fixtures' bus entry (with `bus_changes`) and Push3 entry, added in that order:
    the bus is the one made first. Neither is set up."""
    push3 = await take_out(hass, push3_entry)
    bus = await take_out(hass, bus_entry, **bus_changes)
    bus.add_to_hass(hass)
    push3.add_to_hass(hass)
    return bus, push3


async def start(hass: HomeAssistant) -> None:
    """Home Assistant starts: every entry added so far is set up, together."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


async def refused_bus(
    hass: HomeAssistant, bus_entry: MockConfigEntry, push3_entry: MockConfigEntry
) -> MockConfigEntry:
    """The Push3 entry set up first, then a copy of the bus entry, for the same meters: the bus
    does not set up (every meter is the Push3 entry's)."""
    bus = await take_out(hass, bus_entry)
    await set_up(hass, push3_entry)
    bus.add_to_hass(hass)
    await hass.config_entries.async_setup(bus.entry_id)
    await hass.async_block_till_done()
    assert bus.state is ConfigEntryState.SETUP_ERROR
    return bus


async def v4_taken_by_a_later_cloud_entry(
    hass: HomeAssistant, push_server: PushServer, push3: MockConfigEntry
) -> MockConfigEntry:
    """The Push3 entry (made first) reads V3; a cloud entry made later took V4 while the gateway
    did not answer for it yet. Returns the cloud entry, polled once since V3 answers."""
    push_server.hidden.update({V3, V4})  # the gateway does not answer for them yet
    await set_up(hass, push3)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4]})
    push_server.hidden.discard(V4)
    await set_up(hass, cloud)
    assert f"{V4}_kWh_Tot" in unique_ids(hass, cloud)
    push_server.hidden.discard(V3)
    await poll(hass)
    assert who_reads(push3, cloud) == {V3: [push3.title], V4: [cloud.title]}
    return cloud


async def reauth(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> Any:
    """`entry`'s reauth flow, given `key`: its result, once what it started has run."""
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: key})
    await hass.async_block_till_done()
    return result


@asynccontextmanager
async def unloaded_after(hass: HomeAssistant, entry: MockConfigEntry) -> AsyncIterator[None]:
    """Unload `entry` when the block ends, however it ends (a bus entry closes its port)."""
    try:
        yield
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def readers(address: str, *entries: MockConfigEntry) -> list[str]:
    """The titles of the loaded entries among `entries` that read `address`."""
    return [
        e.title
        for e in entries
        if e.state is ConfigEntryState.LOADED and address in e.runtime_data.coordinator.meters
    ]


def who_reads(*entries: MockConfigEntry) -> dict[str, list[str]]:
    """{V3: readers(V3, *entries), V4: readers(V4, *entries)}: who reads each meter of the fleet."""
    return {address: readers(address, *entries) for address in (V3, V4)}


def has_device(registry: dr.DeviceRegistry, entry: MockConfigEntry, address: str) -> bool:
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    return any((DOMAIN, address) in device.identifiers for device in devices)
