"""The Clock offset sensor: how far a meter's clock is off, as a number the logbook leaves out.

Before it, watching a meter's clock meant enabling the Meter clock sensor, a timestamp that
changes with every read: the logbook records each change of a sensor without a unit or state
class, so it wrote an entry every poll.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.components.logbook.helpers import async_filter_entities
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import DOMAIN

from . import push_support
from .conftest import V3, V4
from .push_support import poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push3_entry = push_support.push3_entry
push3_gateway = push_support.push3_gateway
push_server = push_support.push_server


def entity_id(hass: HomeAssistant, address: str, key: str) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{address}_{key}")
    assert found is not None, key
    return found


def set_meter_clock(server: PushServer, clock: ManualClock, address: str, ahead: float) -> None:
    """Meter `address`'s clock `ahead` seconds ahead of the fleet's time, in HA's time zone."""
    local = dt_util.as_local(datetime.fromtimestamp(clock.t, UTC)).replace(tzinfo=None)
    server.fleet.meters[address].set_clock(local + timedelta(seconds=ahead), t=clock.t)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_clock_offset_of_push3_meters(
    hass: HomeAssistant, push3_entry: MockConfigEntry, push_server: PushServer, live_clock: ManualClock
) -> None:
    """Meter clock minus the time of the read, in whole seconds; diagnostic, with a unit and a
    state class, so the logbook leaves it out (the Meter clock sensor it keeps)."""
    live_clock.t = float(int(live_clock.t))  # the meter's clock has whole seconds
    set_meter_clock(push_server, live_clock, V4, 90)
    set_meter_clock(push_server, live_clock, V3, -4)
    await set_up(hass, push3_entry)
    offset = hass.states.get(entity_id(hass, V4, "Clock_Offset"))
    assert offset is not None
    assert offset.state == "90"
    assert offset.attributes["unit_of_measurement"] == "s"
    assert offset.attributes["state_class"] == "measurement"
    assert offset.attributes["device_class"] == "duration"
    assert offset.attributes["friendly_name"].endswith("Clock offset")
    assert hass.states.get(entity_id(hass, V3, "Clock_Offset")).state == "-4"
    entry = er.async_get(hass).async_get(offset.entity_id)
    assert entry is not None and entry.entity_category is EntityCategory.DIAGNOSTIC

    clock = entity_id(hass, V4, "Meter_Time")
    assert async_filter_entities(hass, [clock, offset.entity_id]) == [clock]

    # The next read, 60 s on: the clock sensor changes, the offset does not.
    shown = hass.states.get(clock)
    live_clock.t += 60
    await poll(hass)
    assert hass.states.get(clock) != shown
    assert hass.states.get(offset.entity_id).state == "90"


async def test_clock_offset_starts_disabled(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    registry = er.async_get(hass)
    for address in (V4, V3):
        entry = registry.async_get(entity_id(hass, address, "Clock_Offset"))
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_clock_offset_of_bus_meters(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """On a bus the time of the read is when the answer came: the simulated meters' clocks stand
    at the fleet's frozen time, far behind it."""
    coordinator = loaded_entry.runtime_data.coordinator
    for address in (V4, V3):
        reading = coordinator.data[address]
        assert reading.meter_time is not None and reading.timestamp is not None
        meter_time = reading.meter_time.replace(tzinfo=dt_util.get_default_time_zone())
        expected = round((meter_time - reading.timestamp).total_seconds())
        assert hass.states.get(entity_id(hass, address, "Clock_Offset")).state == str(expected)
