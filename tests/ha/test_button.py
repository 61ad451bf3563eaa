"""Meter commands: clock sync in Home Assistant's time zone, max-demand reset, zeroing the
resettable registers (v4 only, disabled until enabled on purpose)."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from . import settings_support
from .conftest import FROZEN_T, METER_CLOCK, PASSWORD, V3, V4
from .settings_support import LoadedBus, meter_keeps_its_settings, refused, unique_ids

bus = settings_support.bus


async def press(bus: LoadedBus, unique_id: str) -> None:
    target = bus.entity_id(BUTTON_DOMAIN, unique_id)
    await bus.hass.services.async_call(BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: target}, blocking=True)


async def test_buttons_per_meter(bus: LoadedBus) -> None:
    buttons = bus.registered(BUTTON_DOMAIN)
    assert set(buttons) == unique_ids(
        {
            V4: ("Sync_Clock", "Reset_Max_Demand", "Zero_Resettable_kWh"),
            V3: ("Sync_Clock", "Reset_Max_Demand"),
        }
    )
    assert all(e.entity_category is EntityCategory.CONFIG for e in buttons.values())
    disabled = {unique_id for unique_id, e in buttons.items() if e.disabled_by is not None}
    assert disabled == {f"{V4}_Zero_Resettable_kWh"}
    assert buttons[f"{V4}_Zero_Resettable_kWh"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert buttons[f"{V4}_Zero_Resettable_kWh"].entity_id == (
        f"button.omnimeter_{V4}_reset_resettable_energy_registers"
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("address", [V4, V3])
async def test_sync_clock_in_home_assistant_time_zone(bus: LoadedBus, address: str) -> None:
    """The meter's wall clock becomes HA's local time (US/Pacific in tests), not UTC or the host's."""
    meter = bus.fleet.meters[address]
    meter.password = PASSWORD
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    before = dt_util.now().replace(tzinfo=None, microsecond=0)
    await press(bus, f"{address}_Sync_Clock")
    after = dt_util.now().replace(tzinfo=None)
    meter_time = meter.reading(FROZEN_T).meter_time  # the simulated time stands still
    assert meter_time is not None
    assert before <= meter_time <= after
    assert len(bus.writes()) == 1
    shown = dt_util.parse_datetime(bus.state(bus.entity_id("sensor", f"{address}_Meter_Time")))
    assert shown is not None
    assert shown == meter_time.replace(tzinfo=dt_util.get_default_time_zone())


async def test_reset_max_demand(bus: LoadedBus) -> None:
    """Max demand starts again from the present load; the sensor shows the meter's new value."""
    meter = bus.fleet.meters[V4]
    meter.max_demand_w = 99_999.0
    sensor = bus.entity_id("sensor", f"{V4}_RMS_Watts_Max_Demand")
    await bus.read_options()
    assert float(bus.state(sensor)) == 99_999.0
    await press(bus, f"{V4}_Reset_Max_Demand")
    assert meter.max_demand_w < 99_999.0
    assert float(bus.state(sensor)) == round(meter.max_demand_w, 1)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_zero_resettable_energy(bus: LoadedBus) -> None:
    """The registers drop to 0 at once: a drop the user asked for is not held back as a bad read."""
    sensor = bus.entity_id("sensor", f"{V4}_kWh_Rst")
    assert float(bus.state(sensor)) > 0
    await press(bus, f"{V4}_Zero_Resettable_kWh")
    assert bus.fleet.meters[V4].values(FROZEN_T)["kWh_Rst"] == 0.0
    assert bus.writes() == [""]
    assert float(bus.state(sensor)) == 0.0
    assert float(bus.state(bus.entity_id("sensor", f"{V4}_Rev_kWh_Rst"))) == 0.0


async def test_wrong_password(bus: LoadedBus) -> None:
    """The v3 meter keeps the factory password; the entry's is refused and the clock stays."""
    err = await refused(press(bus, f"{V3}_Sync_Clock"), "command_rejected")
    assert err.translation_placeholders == {"address": V3, "port": bus.entry.data["port"]}
    assert bus.fleet.meters[V3].reading(FROZEN_T).meter_time == METER_CLOCK
    assert bus.writes() == []


async def test_clock_not_taken(bus: LoadedBus, monkeypatch: pytest.MonkeyPatch) -> None:
    """A meter that ACKs the write but keeps its clock: the read-back says so, and so do we."""
    meter_keeps_its_settings(monkeypatch, ack=True)
    err = await refused(press(bus, f"{V4}_Sync_Clock"), "setting_not_applied")
    assert str(err) == f"Meter {V4} accepted the command, but reading it back does not show the new setting"
    assert bus.fleet.meters[V4].reading(FROZEN_T).meter_time == METER_CLOCK
    assert len(bus.writes()) == 1  # never repeated


async def test_meter_ignores_the_write(bus: LoadedBus, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ACK and the read-back shows the old clock: unconfirmed, written once."""
    meter_keeps_its_settings(monkeypatch, ack=False)
    await refused(press(bus, f"{V4}_Sync_Clock"), "write_unconfirmed")
    assert len(bus.writes()) == 1
    assert bus.fleet.meters[V4].reading(FROZEN_T).meter_time == METER_CLOCK
    assert abs(METER_CLOCK - dt_util.now().replace(tzinfo=None)) > timedelta(minutes=1)
