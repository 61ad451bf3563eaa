"""Meter commands: clock sync in Home Assistant's time zone, max-demand reset, zeroing the
resettable registers (v4 only, disabled until enabled on purpose)."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .conftest import FROZEN_T, METER_CLOCK, PASSWORD, V3, V4
from .test_select import entity_id, state, writes


async def press(hass: HomeAssistant, target: str) -> None:
    await hass.services.async_call(BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: target}, blocking=True)


async def test_buttons_per_meter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    buttons = {
        e.unique_id: e
        for e in er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
        if e.domain == BUTTON_DOMAIN
    }
    assert set(buttons) == {
        f"{V4}_Sync_Clock",
        f"{V4}_Reset_Max_Demand",
        f"{V4}_Zero_Resettable_kWh",
        f"{V3}_Sync_Clock",
        f"{V3}_Reset_Max_Demand",
    }
    assert all(e.entity_category is EntityCategory.CONFIG for e in buttons.values())
    disabled = {unique_id for unique_id, e in buttons.items() if e.disabled_by is not None}
    assert disabled == {f"{V4}_Zero_Resettable_kWh"}
    assert buttons[f"{V4}_Zero_Resettable_kWh"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert buttons[f"{V4}_Zero_Resettable_kWh"].entity_id == (
        f"button.omnimeter_{V4}_reset_resettable_energy_registers"
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "loaded_entry")
@pytest.mark.parametrize("address", [V4, V3])
async def test_sync_clock_in_home_assistant_time_zone(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    address: str,
) -> None:
    """The meter's wall clock becomes HA's local time (US/Pacific in tests), not UTC or the host's."""
    meter = fleet.meters[address]
    meter.password = PASSWORD
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    before = dt_util.now().replace(tzinfo=None, microsecond=0)
    await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{address}_Sync_Clock"))
    after = dt_util.now().replace(tzinfo=None)
    meter_time = meter.reading(FROZEN_T).meter_time  # the simulated time stands still
    assert meter_time is not None
    assert before <= meter_time <= after
    assert len(writes(simulator)) == 1
    clock = hass.states.get(entity_id(entity_registry, "sensor", f"{address}_Meter_Time"))
    assert clock is not None
    shown = dt_util.parse_datetime(clock.state)
    assert shown is not None
    assert shown == meter_time.replace(tzinfo=dt_util.get_default_time_zone())


async def test_reset_max_demand(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
) -> None:
    """Max demand starts again from the present load; the sensor shows the meter's new value."""
    meter = fleet.meters[V4]
    meter.max_demand_w = 99_999.0
    sensor = entity_id(entity_registry, "sensor", f"{V4}_RMS_Watts_Max_Demand")
    for _ in range(3):  # the B frame, read every third poll (OPTIONS), shows it
        await loaded_entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert float(state(hass, sensor)) == 99_999.0
    await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{V4}_Reset_Max_Demand"))
    assert meter.max_demand_w < 99_999.0
    assert float(state(hass, sensor)) == round(meter.max_demand_w, 1)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_zero_resettable_energy(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """The registers drop to 0 at once: a drop the user asked for is not held back as a bad read."""
    sensor = entity_id(entity_registry, "sensor", f"{V4}_kWh_Rst")
    assert float(state(hass, sensor)) > 0
    await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{V4}_Zero_Resettable_kWh"))
    assert fleet.meters[V4].values(FROZEN_T)["kWh_Rst"] == 0.0
    assert writes(simulator) == [""]
    assert float(state(hass, sensor)) == 0.0
    assert float(state(hass, entity_id(entity_registry, "sensor", f"{V4}_Rev_kWh_Rst"))) == 0.0


async def test_wrong_password(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """The v3 meter keeps the factory password; the entry's is refused and the clock stays."""
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{V3}_Sync_Clock"))
    assert err.value.translation_key == "command_rejected"
    assert err.value.translation_placeholders == {"address": V3, "port": loaded_entry.data["port"]}
    meter_time = fleet.meters[V3].reading(FROZEN_T).meter_time
    assert meter_time == METER_CLOCK
    assert writes(simulator) == []


@pytest.mark.usefixtures("loaded_entry")
async def test_clock_not_taken(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meter that ACKs the write but keeps its clock: the read-back says so, and so do we."""
    monkeypatch.setattr(
        "custom_components.ekm.aioekm.simulator.rs485.apply_write", lambda meter, register, data, t: True
    )
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{V4}_Sync_Clock"))
    assert err.value.translation_key == "setting_not_applied"
    assert str(err.value) == (
        f"Meter {V4} accepted the command, but reading it back does not show the new setting"
    )
    assert fleet.meters[V4].reading(FROZEN_T).meter_time == METER_CLOCK
    assert len(writes(simulator)) == 1  # never repeated


@pytest.mark.usefixtures("loaded_entry")
async def test_meter_ignores_the_write(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ACK and the read-back shows the old clock: unconfirmed, written once."""
    monkeypatch.setattr(
        "custom_components.ekm.aioekm.simulator.rs485.apply_write", lambda meter, register, data, t: False
    )
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, entity_id(entity_registry, BUTTON_DOMAIN, f"{V4}_Sync_Clock"))
    assert err.value.translation_key == "write_unconfirmed"
    assert len(writes(simulator)) == 1
    assert fleet.meters[V4].reading(FROZEN_T).meter_time == METER_CLOCK
    assert abs(METER_CLOCK - dt_util.now().replace(tzinfo=None)) > timedelta(minutes=1)
