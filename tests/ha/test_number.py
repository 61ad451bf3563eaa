"""Pulse input ratios: v4 meters take them as numbers; a v3 meter shows them as sensors."""

from __future__ import annotations

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.exceptions import ServiceValidationError
import pytest

from . import settings_support
from .conftest import V3, V4
from .settings_support import LoadedBus, refused

bus = settings_support.bus


async def set_value(bus: LoadedBus, target: str, value: float) -> None:
    await bus.hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: target, ATTR_VALUE: value}, blocking=True
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_numbers_only_on_v4(bus: LoadedBus) -> None:
    numbers = bus.registered(NUMBER_DOMAIN)
    assert set(numbers) == {f"{V4}_Pulse_Ratio_{n}" for n in (1, 2, 3)}
    assert all(e.entity_category is EntityCategory.CONFIG for e in numbers.values())
    sensors = set(bus.registered("sensor"))
    assert {f"{V3}_Pulse_Ratio_{n}" for n in (1, 2, 3)} <= sensors  # v3: read-only
    assert not any(f"{V4}_Pulse_Ratio_{n}" in sensors for n in (1, 2, 3))
    ratio = bus.hass.states.get(numbers[f"{V4}_Pulse_Ratio_2"].entity_id)
    assert ratio is not None
    assert ratio.state == "1"
    assert (ratio.attributes["min"], ratio.attributes["max"], ratio.attributes["step"]) == (1, 9999, 1)
    assert ratio.attributes["friendly_name"] == f"Omnimeter {V4} Pulse ratio 2"


async def test_input_1_enabled_others_not(bus: LoadedBus) -> None:
    """Like the pulse counts: input 1 is the one usually wired."""
    numbers = bus.registered(NUMBER_DOMAIN)
    disabled = {unique_id: e.disabled_by is not None for unique_id, e in numbers.items()}
    assert disabled == {
        f"{V4}_Pulse_Ratio_1": False,
        f"{V4}_Pulse_Ratio_2": True,
        f"{V4}_Pulse_Ratio_3": True,
    }


async def test_set_ratio(bus: LoadedBus) -> None:
    target = bus.entity_id(NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    await set_value(bus, target, 250)
    assert bus.fleet.meters[V4].pulse_ratios == [250, 1, 1]
    assert bus.writes() == ["0250"]
    assert bus.state(target) == "250"


async def test_wrong_password(bus: LoadedBus) -> None:
    bus.fleet.meters[V4].password = "99999999"
    target = bus.entity_id(NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    await refused(set_value(bus, target, 250), "command_rejected")
    assert bus.fleet.meters[V4].pulse_ratios == [1, 1, 1]
    assert bus.writes() == []
    assert bus.state(target) == "1"


@pytest.mark.parametrize("value", [0, 10000, 2.5])
async def test_bad_values_are_refused_before_the_bus(bus: LoadedBus, value: float) -> None:
    target = bus.entity_id(NUMBER_DOMAIN, f"{V4}_Pulse_Ratio_1")
    with pytest.raises(ServiceValidationError) as err:
        await set_value(bus, target, value)
    if value == 2.5:
        assert err.value.translation_key == "not_whole_number"
        assert str(err.value) == "2.5 is not a whole number"
    assert bus.fleet.meters[V4].pulse_ratios == [1, 1, 1]
    assert bus.writes() == []
