"""Pulse inputs that measure something: 'Add pulse input' on an entry makes a water, gas or
electricity sensor of a meter's pulse count (RS-485 simulator, real HA)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util.unit_conversion import EnergyConverter, VolumeConverter
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.fleet import ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.pulse_inputs import SUBENTRY_PULSE_INPUT

from . import push_support
from .conftest import V3, V4
from .push_support import poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
cloud_entry = push_support.cloud_entry


async def add_input(
    hass: HomeAssistant, entry: MockConfigEntry, first: dict[str, Any], amount: dict[str, Any]
) -> Any:
    """Run 'Add pulse input' with the two forms; the last result."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_PULSE_INPUT), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    if result["type"] is not FlowResultType.FORM or result["step_id"] != "amount":
        return result
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], amount)
    await hass.async_block_till_done()
    return result


def sensor_of(hass: HomeAssistant, entry: MockConfigEntry, prefix: str) -> str:
    ids = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.unique_id.startswith(prefix)
    ]
    assert len(ids) == 1, ids
    return ids[0]


def pulses(fleet: Fleet, clock: ManualClock, n: int) -> int:
    return fleet.meters[V4].pulse_count(n, clock.t)


async def test_water_on_input_1(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, clock: ManualClock
) -> None:
    result = await add_input(
        hass,
        loaded_entry,
        {"meter": V4, "input": "1", "measures": "water"},
        {"unit": "L", "per_pulse": "0.5", "name": ""},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Water ({V4}, input 1)"
    assert loaded_entry.state is ConfigEntryState.LOADED
    entity_id = sensor_of(hass, loaded_entry, f"{V4}_Pulse_Input_1_water_")
    state = hass.states.get(entity_id)
    assert state is not None
    assert entity_id == f"sensor.water_{V4}_input_1"
    assert state.name == f"Water ({V4}, input 1)"
    # Its own device (the water meter), of the subentry, behind the Omnimeter.
    devices = dr.async_get(hass)
    entity = er.async_get(hass).async_get(entity_id)
    assert entity is not None and entity.device_id is not None
    device = devices.async_get(entity.device_id)
    assert device is not None
    assert device.name == f"Water ({V4}, input 1)"
    omnimeter = get_device(devices, (DOMAIN, V4), loaded_entry.entry_id)
    assert omnimeter is not None
    assert device.via_device_id == omnimeter.id
    (subentry_id,) = loaded_entry.subentries
    assert entity.config_subentry_id == subentry_id
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.WATER
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "L"
    assert state.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert float(state.state) == pulses(fleet, clock, 1) * 0.5
    # The raw count is disabled once the input is configured; it can be enabled again.
    raw = er.async_get(hass).async_get(f"sensor.omnimeter_{V4}_pulse_count_1")
    assert raw is not None
    assert raw.disabled_by is er.RegistryEntryDisabler.INTEGRATION


@pytest.mark.parametrize(
    ("measures", "unit", "device_class"),
    [
        ("gas", "m³", SensorDeviceClass.GAS),
        ("gas", "ft³", SensorDeviceClass.GAS),
        ("gas", "kWh", SensorDeviceClass.ENERGY),  # gas billed by its energy
        ("energy", "Wh", SensorDeviceClass.ENERGY),
        ("water", "gal", SensorDeviceClass.WATER),
    ],
)
async def test_gas_and_electricity(  # noqa: PLR0917 (fixtures and parameters)
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    clock: ManualClock,
    measures: str,
    unit: str,
    device_class: SensorDeviceClass,
) -> None:
    await add_input(
        hass,
        loaded_entry,
        {"meter": V4, "input": "2", "measures": measures},
        {"unit": unit, "per_pulse": "0.01", "name": "Boiler"},
    )
    entity_id = sensor_of(hass, loaded_entry, f"{V4}_Pulse_Input_2_{measures}_")
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.name == f"Boiler ({V4}, input 2)"
    assert state.attributes[ATTR_DEVICE_CLASS] == device_class
    # The value is in the user's unit; Home Assistant shows volumes in its unit system's own.
    shown = state.attributes[ATTR_UNIT_OF_MEASUREMENT]
    converter = EnergyConverter if device_class is SensorDeviceClass.ENERGY else VolumeConverter
    expected = converter.convert(pulses(fleet, clock, 2) * 0.01, unit, shown)
    assert float(state.state) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("amount", ["abc", "0", "-1", "nan", "inf", "1e300", "١"])
async def test_amount_refused(hass: HomeAssistant, loaded_entry: MockConfigEntry, amount: str) -> None:
    result = await add_input(
        hass,
        loaded_entry,
        {"meter": V4, "input": "1", "measures": "water"},
        {"unit": "L", "per_pulse": amount},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"per_pulse": "invalid_per_pulse"}
    assert not loaded_entry.subentries


async def test_unit_of_another_kind_refused(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    with pytest.raises(InvalidData):
        await add_input(
            hass,
            loaded_entry,
            {"meter": V4, "input": "1", "measures": "water"},
            {"unit": "kWh", "per_pulse": "1"},
        )
    assert not loaded_entry.subentries


async def test_only_v4_meters_and_each_input_once(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_PULSE_INPUT), context={"source": "user"}
    )
    meter_field = next(k for k in result["data_schema"].schema if k == "meter")
    options = result["data_schema"].schema[meter_field].config["options"]
    assert options == [V4]  # the v3 meter has no pulse inputs
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"meter": V3, "input": "1", "measures": "water"}
        )
    await add_input(
        hass, loaded_entry, {"meter": V4, "input": "1", "measures": "water"}, {"unit": "L", "per_pulse": "1"}
    )
    again = await add_input(hass, loaded_entry, {"meter": V4, "input": "1", "measures": "gas"}, {})
    assert again["errors"] == {"input": "input_configured"}


async def test_reconfigure_another_amount_is_a_new_sensor(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, clock: ManualClock
) -> None:
    await add_input(
        hass, loaded_entry, {"meter": V4, "input": "1", "measures": "water"}, {"unit": "L", "per_pulse": "1"}
    )
    registry = er.async_get(hass)
    old = registry.async_get(sensor_of(hass, loaded_entry, f"{V4}_Pulse_Input_1_water_"))
    assert old is not None
    (subentry_id,) = loaded_entry.subentries
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_PULSE_INPUT),
        context={"source": "reconfigure", "subentry_id": subentry_id},
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"unit": "m³", "per_pulse": "0.001", "name": ""}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    new = sensor_of(hass, loaded_entry, f"{V4}_Pulse_Input_1_water_")  # only one: the old one went
    assert registry.async_get(new).unique_id != old.unique_id  # type: ignore[union-attr]
    state = hass.states.get(new)
    assert state is not None
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "m³"
    assert float(state.state) == pytest.approx(pulses(fleet, clock, 1) * 0.001)


async def test_a_pulse_count_that_drops_once_is_held(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, clock: ManualClock
) -> None:
    """The quantity comes through the monotonic guard: one low count does not make it drop."""
    await add_input(
        hass, loaded_entry, {"meter": V4, "input": "1", "measures": "water"}, {"unit": "L", "per_pulse": "2"}
    )
    entity_id = sensor_of(hass, loaded_entry, f"{V4}_Pulse_Input_1_water_")
    before = float(hass.states.get(entity_id).state)  # type: ignore[union-attr]
    coordinator = loaded_entry.runtime_data.coordinator
    reading = coordinator.reading(V4)
    assert reading is not None
    count = reading["Pulse_Cnt_1"]
    assert isinstance(count, int)
    # A reading whose count dropped (what no meter does), published as the coordinator does.
    lower = replace(reading, values={**reading.values, "Pulse_Cnt_1": count - 1000})
    coordinator.async_set_updated_data({**coordinator.data, V4: coordinator.publishable(lower)})
    await hass.async_block_till_done()
    assert float(hass.states.get(entity_id).state) == before  # type: ignore[union-attr]


async def test_water_on_a_cloud_meter(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """A cloud meter's input: the same sensor, and its count is still asked of the cloud after the
    raw count sensor is disabled (the poll maps only the fields of enabled entities)."""
    await set_up(hass, cloud_entry)
    await add_input(
        hass,
        cloud_entry,
        {"meter": V4, "input": "1", "measures": "water"},
        {"unit": "m³", "per_pulse": "0.001"},
    )
    entity_id = sensor_of(hass, cloud_entry, f"{V4}_Pulse_Input_1_water_")
    for _ in range(2):  # past the first poll, which maps every field
        await poll(hass)
    reading = cloud_entry.runtime_data.coordinator.reading(V4)
    assert reading is not None
    count = reading.get("Pulse_Cnt_1")
    assert isinstance(count, int) and count > 0
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.WATER
    assert float(state.state) == pytest.approx(count * 0.001)
