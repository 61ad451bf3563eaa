"""Sensors of configured pulse inputs: water, gas or electricity, in the user's unit.

Each belongs to the config subentry that configured it (pulse_inputs.py) and sits on its
meter's device. The value is the meter's pulse count times the amount per pulse; the count
comes through the coordinator's monotonic guard, like every counting register, so a bad
read cannot make the quantity drop (total_increasing would take a drop for a new meter).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import compat
from .const import DOMAIN, V4_METERS
from .coordinator import EkmCoordinator
from .entity import EkmEntity
from .pulse_inputs import PulseInput, pulse_inputs
from .runtime import EkmConfigEntry


def _decimals(amount: Decimal) -> int:
    """Digits after the point the amount per pulse has: what a value of it can show."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def describe(pulse_input: PulseInput) -> SensorEntityDescription:
    """The sensor of one configured input: the main feature of its device, named by it."""
    return SensorEntityDescription(
        key=pulse_input.key,
        name=None,
        device_class=pulse_input.device_class,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=pulse_input.unit,
        suggested_display_precision=_decimals(pulse_input.per_pulse),
    )


class EkmPulseInputSensor(EkmEntity, SensorEntity):
    """What a pulse input measured so far: pulses times the amount per pulse."""

    def __init__(self, coordinator: EkmCoordinator, pulse_input: PulseInput, via: DeviceInfo) -> None:
        super().__init__(coordinator, pulse_input.meter, describe(pulse_input))
        self.pulse_input = pulse_input
        # Its own device (the water or gas meter), in the subentry, behind the Omnimeter: a
        # subentry's entities sit on the subentry's devices.
        self._attr_device_info = DeviceInfo(
            identifiers={pulse_input.device_identifier},
            name=pulse_input.title or None,
            manufacturer="EKM Metering",
            model=f"Pulse input {pulse_input.number}",
            **via,
        )

    @property
    def native_value(self) -> float | None:
        reading = self.reading
        count = None if reading is None else reading.get(self.pulse_input.count_field)
        if not isinstance(count, (int, float)) or isinstance(count, bool):
            return None
        return self.pulse_input.amount(count)

    @property
    def available(self) -> bool:
        return super().available and self.native_value is not None


def add_pulse_input_sensors(
    hass: HomeAssistant, entry: EkmConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """A sensor per configured input of the entry's v4/v5 meters, also of meters that appear later."""
    coordinator = entry.runtime_data.coordinator
    inputs = pulse_inputs(entry.subentries)

    registry = dr.async_get(hass)

    def add(addresses: Iterable[str]) -> None:
        wanted = set(addresses)
        for pulse_input in inputs:
            if pulse_input.meter in wanted and coordinator.meters.get(pulse_input.meter) in V4_METERS:
                # The Omnimeter's device first, so the input's device can sit behind it.
                meter = registry.async_get_or_create(
                    config_entry_id=entry.entry_id, **coordinator.meter_device_info(pulse_input.meter)
                )
                sensor = EkmPulseInputSensor(coordinator, pulse_input, compat.via_device(meter))
                async_add_entities([sensor], config_subentry_id=pulse_input.subentry_id)

    _remove_replaced(hass, entry, inputs)
    add(coordinator.meters)

    @callback
    def added(addresses: list[str]) -> None:
        add(addresses)

    entry.async_on_unload(coordinator.async_add_meters_listener(added))


def _remove_replaced(hass: HomeAssistant, entry: EkmConfigEntry, inputs: list[PulseInput]) -> None:
    """Remove the sensors of inputs no longer configured as they were (another unit or amount, or
    the subentry deleted while the entry was not loaded); their recorded history stays."""
    registry = er.async_get(hass)
    current = {f"{i.meter}_{i.key}" for i in inputs}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (
            entity.domain == "sensor"
            and "_Pulse_Input_" in entity.unique_id
            and entity.unique_id not in current
        ):
            registry.async_remove(entity.entity_id)


@callback
def async_disable_raw_count(hass: HomeAssistant, pulse_input: PulseInput) -> None:
    """Disable the input's raw pulse count sensor once it is configured (the user may enable it
    again): the quantity says the same in a unit the Energy dashboard takes."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{pulse_input.meter}_{pulse_input.count_field}"
    )
    entity = registry.async_get(entity_id) if entity_id is not None else None
    if entity is not None and entity.disabled_by is None:
        registry.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.INTEGRATION)
