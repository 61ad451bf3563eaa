"""Pulse input ratios: v4 meters take them as numbers; a v3 meter shows them as sensors."""

from __future__ import annotations

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .conftest import V3, V4
from .test_select import entity_id, state, writes


async def set_value(hass: HomeAssistant, target: str, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: target, ATTR_VALUE: value}, blocking=True
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_numbers_only_on_v4(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    entries = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    numbers = {e.unique_id: e for e in entries if e.domain == NUMBER_DOMAIN}
    assert set(numbers) == {f"{V4}_Pulse_Ratio_{n}" for n in (1, 2, 3)}
    assert all(e.entity_category is EntityCategory.CONFIG for e in numbers.values())
    sensors = {e.unique_id for e in entries if e.domain == "sensor"}
    assert {f"{V3}_Pulse_Ratio_{n}" for n in (1, 2, 3)} <= sensors  # v3: read-only
    assert not any(f"{V4}_Pulse_Ratio_{n}" in sensors for n in (1, 2, 3))
    ratio = hass.states.get(numbers[f"{V4}_Pulse_Ratio_2"].entity_id)
    assert ratio is not None
    assert ratio.state == "1"
    assert (ratio.attributes["min"], ratio.attributes["max"], ratio.attributes["step"]) == (1, 9999, 1)
    assert ratio.attributes["friendly_name"] == f"Omnimeter {V4} Pulse ratio 2"


async def test_input_1_enabled_others_not(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Like the pulse counts: input 1 is the one usually wired."""
    disabled = {
        e.unique_id: e.disabled_by is not None
        for e in er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
        if e.domain == NUMBER_DOMAIN
    }
    assert disabled == {
        f"{V4}_Pulse_Ratio_1": False,
        f"{V4}_Pulse_Ratio_2": True,
        f"{V4}_Pulse_Ratio_3": True,
    }


async def test_set_ratio(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    target = entity_id(entity_registry, NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    await set_value(hass, target, 250)
    assert fleet.meters[V4].pulse_ratios == [250, 1, 1]
    assert writes(simulator) == ["0250"]
    assert state(hass, target) == "250"


async def test_wrong_password(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    fleet.meters[V4].password = "99999999"
    target = entity_id(entity_registry, NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    with pytest.raises(HomeAssistantError) as err:
        await set_value(hass, target, 250)
    assert err.value.translation_key == "command_rejected"
    assert fleet.meters[V4].pulse_ratios == [1, 1, 1]
    assert writes(simulator) == []
    assert state(hass, target) == "1"


@pytest.mark.usefixtures("loaded_entry")
@pytest.mark.parametrize("value", [0, 10000, 2.5])
async def test_bad_values_are_refused_before_the_bus(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    value: float,
) -> None:
    target = entity_id(entity_registry, NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    with pytest.raises(ServiceValidationError) as err:
        await set_value(hass, target, value)
    if value == 2.5:
        assert err.value.translation_key == "not_whole_number"
        assert str(err.value) == "2.5 is not a whole number"
    assert fleet.meters[V4].pulse_ratios == [1, 1, 1]
    assert writes(simulator) == []
