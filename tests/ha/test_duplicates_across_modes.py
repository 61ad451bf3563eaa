"""A meter or gateway seen by entries of two modes (Push3 and cloud, Push3 and RS-485) is set up once."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import cloud_coordinator, flow_cloud as config_flow  # reads the URL defaults
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import ownership_support, push_support
from .conftest import V3, V4, unique_ids
from .ownership_support import (
    bus_then_push3,
    has_device,
    refused_bus,
    start,
    take_out,
    v4_taken_by_a_later_cloud_entry,
)
from .push_support import GATEWAY, add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry
no_collisions = ownership_support.no_collisions  # checked after every test here


def assert_entities_of(
    hass: HomeAssistant, owner: MockConfigEntry, other: MockConfigEntry, *meters: str
) -> None:
    """`owner` has each meter's kWh_Tot sensor; `other` has no entity of any of them."""
    assert {f"{address}_kWh_Tot" for address in meters} <= unique_ids(hass, owner)
    assert not any(uid.startswith(meters) for uid in unique_ids(hass, other))


async def test_push3_entry_records_its_meters(hass: HomeAssistant, push3_entry: MockConfigEntry) -> None:
    """The Push3 entry keeps its gateway's meters in its data, where flows and other entries look."""
    await set_up(hass, push3_entry)
    assert push3_entry.data[CONF_METERS] == {V3: "v3", V4: "v4"}


async def test_cloud_entry_after_push3(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """A cloud entry added after the Push3 entry of the same gateway leaves its meters (and the
    gateway's Connected sensor) to the Push3 entry: no unique ID collides."""
    await set_up(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud)
    await poll(hass)
    assert cloud.state is ConfigEntryState.LOADED
    assert not any(uid.startswith((V3, V4, GATEWAY)) for uid in unique_ids(hass, cloud))
    assert f"{V4}_kWh_Tot" in unique_ids(hass, push3_entry)
    assert f"{GATEWAY}_connected" in unique_ids(hass, push3_entry)


async def test_push3_entry_after_cloud(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """The other way round: the gateway's Connected sensor stays the cloud entry's."""
    push3 = await take_out(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud)
    push3.add_to_hass(hass)
    await set_up(hass, push3)
    await poll(hass)
    assert f"{GATEWAY}_connected" in unique_ids(hass, cloud)
    assert not any(uid.startswith((V3, V4, GATEWAY)) for uid in unique_ids(hass, push3))


async def test_bus_entry_after_push3(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """An RS-485 entry whose meters the Push3 entry reads sets up nothing, and says where they are."""
    bus = await refused_bus(hass, entry, push3_entry)
    assert unique_ids(hass, bus) == set()


async def test_cloud_flow_refuses_meters_of_a_push3_entry(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cloud flow does not list the meters the Push3 entry reads, and names that entry."""
    await set_up(hass, push3_entry)
    monkeypatch.setattr(config_flow, "DEFAULT_API_URL", push_server.url)
    monkeypatch.setattr(config_flow, "DEFAULT_SUMMARY_URL", push_server.url)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "cloud"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.account}
    )
    # The Push3 entry reads both meters of the key: nothing is left to pick.
    assert result["step_id"] == "cloud"
    assert result["errors"] == {"base": "key_meters_configured"}
    assert result["description_placeholders"]["entry"] == push3_entry.title
    assert set(result["description_placeholders"]["meters"].split(", ")) == {V3, V4}


async def test_the_first_entry_keeps_its_meters_when_a_migration_moves_it(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
) -> None:
    """A bus entry made first, at minor version 1, and a Push3 entry of a gateway that serves the
    same meters, set up together as Home Assistant starts: the bus keeps its meters.

    The migration changes the bus entry's unique_id, and HA then moves it to the end of the
    domain's entries: ownership must follow the order the entries were made in.
    """
    # 1.1 named the bus after its port.
    old_bus, push3 = await bus_then_push3(
        hass, entry, push3_entry, unique_id=entry.data["port"], minor_version=1
    )
    await start(hass)
    await poll(hass)
    assert old_bus.minor_version == 2
    assert [e.entry_id for e in hass.config_entries.async_entries(DOMAIN)][-1] == old_bus.entry_id
    assert old_bus.state is ConfigEntryState.LOADED
    assert push3.state is ConfigEntryState.LOADED
    assert_entities_of(hass, old_bus, push3, V3, V4)
    assert push3.data[CONF_METERS] == {}
    registry = dr.async_get(hass)
    for address in (V3, V4):  # one device, of the bus only (older HA lets two entries share it)
        assert has_device(registry, old_bus, address)
        assert not has_device(registry, push3, address)


async def test_a_meter_that_starts_answering_joins_no_second_entry(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """A meter the Push3 gateway starts to answer for while a later entry already reads it stays
    with that entry; one that nobody reads joins the gateway's entry."""
    cloud = await v4_taken_by_a_later_cloud_entry(hass, push_server, push3_entry)
    assert push3_entry.data[CONF_METERS] == {V3: "v3"}
    assert f"{V3}_kWh_Tot" in unique_ids(hass, push3_entry)
    assert_entities_of(hass, cloud, push3_entry, V4)


async def test_a_meter_new_to_the_account_joins_no_second_entry(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meter that appears on the cloud entry's account while a later Push3 entry already reads
    it stays with the Push3 entry."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    push3 = await take_out(hass, push3_entry)
    meter = push_server.fleet.meters[V4]
    push_server.remove_meter(V4)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V3]})
    await set_up(hass, cloud)
    push_server.add_meter(meter)
    push3.add_to_hass(hass)
    await set_up(hass, push3)
    assert f"{V4}_kWh_Tot" in unique_ids(hass, push3)
    await poll(hass)
    await poll(hass)
    assert V4 not in cloud.runtime_data.coordinator.meters
    assert_entities_of(hass, push3, cloud, V4)


async def test_push3_and_cloud_entries_started_together(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
) -> None:
    """A Push3 entry as its flow makes it (its meters in its data) and a cloud entry made after it
    for the same meters, both set up as Home Assistant starts: the meters stay with the Push3 entry,
    whichever setup gets further first."""
    push3 = await take_out(hass, push3_entry, data={**push3_entry.data, CONF_METERS: {V3: "v3", V4: "v4"}})
    push3.add_to_hass(hass)
    cloud = add_cloud_entry(hass, push_server)
    await start(hass)
    await poll(hass)
    assert_entities_of(hass, push3, cloud, V3, V4)
