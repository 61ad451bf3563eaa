"""Setup, unload, setup failures, devices and diagnostics of a bus entry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ekm import async_migrate_entry, async_remove_config_entry_device, compat
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import CONF_METERS, CONF_PASSWORD, DOMAIN

from .conftest import BUS_UNIQUE_ID, FROZEN_T, OPTIONS, PASSWORD, V3, V4, entry_data


async def test_setup_and_unload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The entry loads with the port open and unloads with it closed."""
    assert loaded_entry.state is ConfigEntryState.LOADED
    coordinator = loaded_entry.runtime_data.coordinator
    assert coordinator.bus.connected
    assert set(coordinator.data) == {V4, V3}

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert not coordinator.bus.connected


async def test_port_missing_is_not_ready(hass: HomeAssistant) -> None:
    """A port that cannot be opened: setup is retried later, with a translated reason."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="/dev/ekm-missing", data=entry_data("/dev/ekm-missing"))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert entry.reason.rstrip(".") == "The RS-485 port /dev/ekm-missing cannot be opened"


async def test_no_meter_answering_is_not_ready(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """The port opens but no meter answers: not ready (adapter or wiring?), and the port is closed again."""
    simulator.faults.silent_meters.update({V4, V3})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert entry.reason.rstrip(".") == f"No meter answers on the RS-485 bus {entry.data['port']}"
    # The port was released: another client can lock it.
    async with EkmBus(entry.data["port"]) as bus:
        assert bus.connected


async def test_devices(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """One device per meter, behind a device for the bus."""
    bus = get_device(device_registry, (DOMAIN, f"hub_{loaded_entry.entry_id}"), loaded_entry.entry_id)
    assert bus is not None
    assert bus.name == loaded_entry.title
    v4 = get_device(device_registry, (DOMAIN, V4), loaded_entry.entry_id)
    v3 = get_device(device_registry, (DOMAIN, V3), loaded_entry.entry_id)
    assert v4 is not None and v3 is not None
    assert (v4.model, v4.model_id, v4.sw_version, v4.serial_number) == (
        "Omnimeter Pulse v.4",
        "1024",
        "15",
        V4,
    )
    assert (v3.model, v3.model_id, v3.sw_version, v3.serial_number) == ("Omnimeter I v.3", "1017", "15", V3)
    assert v4.via_device_id == bus.id
    assert v3.via_device_id == bus.id
    assert v4.manufacturer == "EKM Metering"
    assert len(dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)) == 3


async def test_silent_meter_at_setup_gets_its_model_later(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: Rs485Simulator, device_registry: dr.DeviceRegistry
) -> None:
    """A meter that is silent at setup still gets a device; its model arrives with its first reading."""
    simulator.faults.silent_meters.add(V3)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    device = get_device(device_registry, (DOMAIN, V3), entry.entry_id)
    assert device is not None
    assert device.model is None
    simulator.faults.silent_meters.clear()
    await entry.runtime_data.coordinator.async_refresh()
    device = get_device(device_registry, (DOMAIN, V3), entry.entry_id)
    assert device is not None
    assert (device.model, device.sw_version) == ("Omnimeter I v.3", "15")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_stale_meter_devices_are_removed(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A meter dropped from the entry loses its device (and entities) at the next setup."""
    stale = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "000000000042")}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert device_registry.async_get(stale.id) is None
    assert get_device(device_registry, (DOMAIN, V4), entry.entry_id) is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_remove_config_entry_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """Configured meters and the bus cannot be deleted by hand; anything else can."""
    v4 = get_device(device_registry, (DOMAIN, V4), loaded_entry.entry_id)
    bus = get_device(device_registry, (DOMAIN, f"hub_{loaded_entry.entry_id}"), loaded_entry.entry_id)
    other = device_registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id, identifiers={(DOMAIN, "000000000042")}
    )
    assert v4 is not None and bus is not None
    assert not await async_remove_config_entry_device(hass, loaded_entry, v4)
    assert not await async_remove_config_entry_device(hass, loaded_entry, bus)
    assert await async_remove_config_entry_device(hass, loaded_entry, other)


async def test_reload_only_on_options_change(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A new title keeps the running coordinator; new options rebuild it.

    Newer HA reloads through OptionsFlowWithReload (see test_options_flow); older HA through
    an update listener, which reacts to options only (a reconfigure reloads by itself).
    """
    coordinator = loaded_entry.runtime_data.coordinator
    hass.config_entries.async_update_entry(loaded_entry, title="renamed")
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.coordinator is coordinator
    assert bool(loaded_entry.update_listeners) is not compat.HAS_OPTIONS_FLOW_WITH_RELOAD
    if not compat.HAS_OPTIONS_FLOW_WITH_RELOAD:
        hass.config_entries.async_update_entry(loaded_entry, options={**OPTIONS, "timeout": 0.3})
        await hass.async_block_till_done()
        assert loaded_entry.runtime_data.coordinator is not coordinator
        assert loaded_entry.runtime_data.coordinator.bus.first_byte_timeout == 0.3


async def test_migrate_unique_id_from_port(hass: HomeAssistant, port: str) -> None:
    """1.1 entries were known by the port as typed; 1.2 by a meter of the bus."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=port, data=entry_data(port), options=OPTIONS)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.unique_id == BUS_UNIQUE_ID
    await hass.config_entries.async_unload(entry.entry_id)


async def test_migrate_duplicate_entries(hass: HomeAssistant) -> None:
    """Two old entries of the same meter: the second cannot take its name and keeps its old id."""
    first = MockConfigEntry(
        domain=DOMAIN, unique_id=f"rs485_{V3}", minor_version=2, data=entry_data("/dev/a")
    )
    first.add_to_hass(hass)
    second = MockConfigEntry(
        domain=DOMAIN, unique_id="/dev/b", data={**entry_data("/dev/b"), CONF_METERS: {V3: "v3"}}
    )
    third = MockConfigEntry(domain=DOMAIN, unique_id="/dev/c", data=entry_data("/dev/c"))
    for entry in (second, third):
        entry.add_to_hass(hass)
        await async_migrate_entry(hass, entry)
    assert second.unique_id == "/dev/b"
    assert third.unique_id == f"rs485_{V4}"
    assert second.minor_version == third.minor_version == 2


@pytest.mark.usefixtures("socket_enabled")
async def test_meter_in_two_entries_is_read_by_the_first_only(
    hass: HomeAssistant,
    simulator: Rs485Simulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries made before duplicates were refused: no unique ID or device collides."""
    entity_registry, device_registry = er.async_get(hass), dr.async_get(hass)
    url = await simulator.start_tcp()
    meters = {"000000000042": "v4", V3: "v3"}
    simulator.fleet.add(make_meter("000000000042", "v4"))
    later = MockConfigEntry(
        domain=DOMAIN,
        unique_id="rs485_000000000042",
        minor_version=2,
        data={**entry_data(url), CONF_METERS: meters},
        options=OPTIONS,
    )
    later.add_to_hass(hass)
    # What the duplicate made before: its own claim on the meter's device.
    device_registry.async_get_or_create(config_entry_id=later.entry_id, identifiers={(DOMAIN, V3)})
    assert await hass.config_entries.async_setup(later.entry_id)
    await hass.async_block_till_done()
    assert later.state is ConfigEntryState.LOADED
    assert set(later.runtime_data.coordinator.meters) == {"000000000042"}
    assert f"Meter {V3} is also set up in {loaded_entry.title}" in caplog.text
    assert "does not generate unique IDs" not in caplog.text
    v3_entities = [e for e in entity_registry.entities.values() if e.unique_id.startswith(V3)]
    assert v3_entities and {e.config_entry_id for e in v3_entities} == {loaded_entry.entry_id}
    v3_devices = [
        device
        for owner in (loaded_entry, later)
        for device in dr.async_entries_for_config_entry(device_registry, owner.entry_id)
        if (DOMAIN, V3) in device.identifiers
    ]
    assert [compat.device_entry_ids(d) for d in v3_devices] == [{loaded_entry.entry_id}]
    await hass.config_entries.async_unload(later.entry_id)


@pytest.mark.usefixtures("socket_enabled")
async def test_entry_with_only_meters_of_another_entry_fails(
    hass: HomeAssistant, simulator: Rs485Simulator, loaded_entry: MockConfigEntry
) -> None:
    url = await simulator.start_tcp()
    later = MockConfigEntry(domain=DOMAIN, unique_id="/dev/x", data=entry_data(url), options=OPTIONS)
    later.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(later.entry_id)
    assert later.state is ConfigEntryState.SETUP_ERROR
    assert later.reason is not None and loaded_entry.title in later.reason


async def test_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry, fleet: Fleet
) -> None:
    """Entry, counters and last readings, with the password redacted everywhere."""
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert PASSWORD not in str(diagnostics)
    assert diagnostics["entry"]["options"] == OPTIONS
    connection = diagnostics["connection"]
    assert connection["connected"] is True
    assert connection["meters"] == {V4: "v4", V3: "v3"}
    assert connection["failures"] == {}
    assert connection["stats"][V4]["good_reads"] == 1
    assert connection["stats"][V3]["timeouts"] == 0
    expected = fleet.meters[V3].values(FROZEN_T)["kWh_Tot"]
    assert connection["readings"][V3]["kWh_Tot"] == expected
    assert connection["readings"][V4]["Meter"] == V4
