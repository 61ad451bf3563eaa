"""Entities of a v3 and a v4 meter: registry entries and states (snapshots), and their values."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.types import PropertyPath, SerializableData

from custom_components.ekm.aioekm.fields import FIELDS
from custom_components.ekm.aioekm.readings import inputs_high
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.sensor import SENSORS, setting_on

from .conftest import FROZEN_T, V3, V4, unique_ids


def _entity_id(entity_registry: er.EntityRegistry, domain: str, unique_id: str) -> str:
    entity_id = entity_registry.async_get_entity_id(domain, "ekm", unique_id)
    assert entity_id is not None, unique_id
    return entity_id


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of both meters, registry entry and state, with the fleet's clock frozen."""
    entries = sorted(
        er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id), key=lambda e: e.entity_id
    )
    # Settings are config entities instead of sensors (v4: 3 selects, 3 numbers, 3 buttons in
    # place of 6 sensors; v3: 2 selects, 2 buttons in place of 2 sensors).
    settings = 9 - 6 + 4 - 2
    assert len(entries) == len(SENSORS[V4_PROTOCOL]) + len(SENSORS[V3_PROTOCOL]) + 2 * 4 + 2 + settings
    for entity_entry in entries:
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state is not None
        # The clock offset is the fleet's frozen clock minus the machine's time of the read.
        matcher = _wall_clock_state if entity_entry.unique_id.endswith("_Clock_Offset") else None
        assert state == snapshot(name=f"{entity_entry.entity_id}-state", matcher=matcher)


def _wall_clock_state(data: SerializableData, path: PropertyPath) -> SerializableData:
    """A syrupy matcher: a state that depends on the machine's clock, masked."""
    if path and path[-1][0] == "state" and isinstance(data, str):
        return "<depends on the time of the read>"
    return data


V4_PROTOCOL, V3_PROTOCOL = "v4", "v3"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("address", [V4, V3])
async def test_values_are_the_meters(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    address: str,
) -> None:
    """Each numeric sensor shows exactly the value the virtual meter has."""
    meter = fleet.meters[address]
    truth = meter.reading(FROZEN_T)
    checked = 0
    for name, value in truth.values.items():
        if FIELDS[name].kind.value in ("time", "code") or name.startswith("State_"):
            continue
        if setting_on(name, meter.protocol):
            continue  # a select or number shows it (test_select.py, test_number.py)
        state = hass.states.get(_entity_id(entity_registry, "sensor", f"{address}_{name}"))
        assert state is not None
        if isinstance(value, str):
            assert state.state == value, name
        else:
            assert float(state.state) == pytest.approx(value), name
        checked += 1
    assert checked > 30
    highs = inputs_high(int(truth["State_Inputs"]))
    for line, high in enumerate(highs, start=1):
        state = hass.states.get(_entity_id(entity_registry, "binary_sensor", f"{address}_State_Input_{line}"))
        assert state is not None
        assert state.state == (STATE_ON if high else STATE_OFF)
    clock = hass.states.get(_entity_id(entity_registry, "sensor", f"{address}_Meter_Time"))
    assert clock is not None
    assert clock.state == "2026-06-01T15:00:00+00:00"  # 08:00 on the meter, read in HA's zone (US/Pacific)


async def test_defaults(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """What a split-phase meter uses is on: both lines and the totals; rare registers start disabled."""
    enabled = unique_ids(hass, loaded_entry, enabled_only=True)
    for address in (V4, V3):
        for name in (
            "kWh_Tot",
            "Fwd_kWh_Tot",
            "Rev_kWh_Tot",
            "RMS_Watts_Tot",
            "Net_Calc_Watts_Tot",
            "Pulse_Cnt_1",
            "RMS_Watts_Max_Demand",
            "communicating",
            *(f"{stem}_{line}" for stem in LINE_SENSORS for line in (1, 2)),
        ):
            assert f"{address}_{name}" in enabled, (address, name)
        for name in (
            "kWh_Tariff_2",
            "Rev_kWh_Tariff_1",
            "Reactive_Pwr_Tot",
            "Reactive_Pwr_Ln_1",
            "Cos_Theta_Ln_1",
            "Meter_Time",
            "Clock_Offset",
            "Net_kWh_Tot",
            "Pulse_Cnt_2",
            *(f"State_Input_{n}" for n in (1, 2, 3)),  # pulse inputs flood the logbook
            *(f"{stem}_3" for stem in LINE_SENSORS),  # line 3 carries no voltage
        ):
            assert f"{address}_{name}" not in enabled, (address, name)
    for name in ("Line_Freq", "kWh_Ln_1", "Rev_kWh_Ln_1", "kWh_Rst", "Relay_1", "Relay_2"):
        assert (f"{V4}_{name}" in enabled) is (name in ("Line_Freq", "Relay_1", "Relay_2")), name
    energy = hass.states.get(_entity_id(entity_registry, "sensor", f"{V4}_kWh_Tot"))
    assert energy is not None
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert energy.attributes["friendly_name"] == f"Omnimeter {V4} Total energy"


LINE_SENSORS = ("RMS_Volts_Ln", "Amps_Ln", "Power_Factor_Ln", "RMS_Watts_Ln", "Net_Calc_Watts_Ln")


async def test_three_phase_meter_enables_line_3(
    hass: HomeAssistant, fleet: Fleet, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A meter whose first reading shows voltage on line 3 gets line 3 enabled too."""
    meter = fleet.meters[V4]
    meter.lines.append(replace(meter.lines[0], volts=230.0))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for stem in LINE_SENSORS:
        v4 = entity_registry.async_get(_entity_id(entity_registry, "sensor", f"{V4}_{stem}_3"))
        v3 = entity_registry.async_get(_entity_id(entity_registry, "sensor", f"{V3}_{stem}_3"))
        assert v4 is not None and v3 is not None
        assert v4.disabled_by is None, stem
        assert v3.disabled_by is not None, stem  # the v3 meter stays split-phase
    await hass.config_entries.async_unload(entry.entry_id)
