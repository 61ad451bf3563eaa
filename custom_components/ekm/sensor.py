"""Sensors, generated from the library's field table: one per field a meter reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import compat
from .aioekm.fields import FIELDS, Field, Kind, Quantity
from .aioekm.readings import PROTOCOL_LAYOUTS, MeterReading, Protocol
from .coordinator import EkmConfigEntry
from .entity import EkmEntity

# Read-only, fed by the coordinator.
PARALLEL_UPDATES = 0

type SensorValue = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class EkmSensorEntityDescription(SensorEntityDescription):
    """A sensor of one field of the field table."""

    value_fn: Callable[[MeterReading], SensorValue]


_CLASSES: Final[dict[Quantity, tuple[SensorDeviceClass | None, SensorStateClass | None]]] = {
    Quantity.ENERGY: (SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING),
    Quantity.RESETTABLE_ENERGY: (SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING),
    # Falls while exporting, so a total rather than total_increasing.
    Quantity.NET_ENERGY: (SensorDeviceClass.ENERGY, SensorStateClass.TOTAL),
    Quantity.REACTIVE_ENERGY: (compat.REACTIVE_ENERGY, SensorStateClass.TOTAL_INCREASING),
    Quantity.POWER: (SensorDeviceClass.POWER, SensorStateClass.MEASUREMENT),
    Quantity.REACTIVE_POWER: (SensorDeviceClass.REACTIVE_POWER, SensorStateClass.MEASUREMENT),
    Quantity.VOLTAGE: (SensorDeviceClass.VOLTAGE, SensorStateClass.MEASUREMENT),
    Quantity.CURRENT: (SensorDeviceClass.CURRENT, SensorStateClass.MEASUREMENT),
    Quantity.POWER_FACTOR: (SensorDeviceClass.POWER_FACTOR, SensorStateClass.MEASUREMENT),
    Quantity.FREQUENCY: (SensorDeviceClass.FREQUENCY, SensorStateClass.MEASUREMENT),
    Quantity.PULSE_COUNT: (None, SensorStateClass.TOTAL_INCREASING),
    Quantity.SETTING: (None, None),
    Quantity.STATUS: (None, None),
    Quantity.TIME: (SensorDeviceClass.TIMESTAMP, None),
}
_DIAGNOSTIC: Final = frozenset({Quantity.SETTING, Quantity.STATUS, Quantity.TIME})
# Decoded into binary sensors and switches instead.
_NOT_SENSORS: Final = frozenset({Quantity.STATE})


def translation_of(name: str) -> tuple[str, dict[str, str] | None]:
    """Translation key and placeholders of a field: kWh_Ln_2 -> ("kwh_ln", {"line": "2"})."""
    stem, _, number = name.rpartition("_")
    if stem and number.isdigit():
        placeholder = "line" if stem.endswith("_Ln") else "tariff" if "Tariff" in stem else "input"
        return stem.lower(), {placeholder: number}
    return name.lower(), None


def _meter_time(reading: MeterReading) -> datetime | None:
    # The meter keeps local time without a zone: read it in HA's time zone.
    if reading.meter_time is None:
        return None
    return reading.meter_time.replace(tzinfo=dt_util.get_default_time_zone())


def _value(name: str) -> Callable[[MeterReading], SensorValue]:
    def value(reading: MeterReading) -> SensorValue:
        return reading.get(name)

    return value


def describe(f: Field) -> EkmSensorEntityDescription:
    """The sensor description of one field."""
    device_class, state_class = _CLASSES[f.quantity]
    if f.kind is Kind.COS_THETA:  # text like "0.83 L"; Power_Factor_Ln_* is the number
        device_class, state_class = None, None
    key, placeholders = translation_of(f.name)
    return EkmSensorEntityDescription(
        key=f.name,
        translation_key=key,
        translation_placeholders=placeholders,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=f.unit,
        suggested_display_precision=len(str(f.divisor)) - 1 if f.kind is Kind.DECIMAL else None,
        entity_category=EntityCategory.DIAGNOSTIC if f.quantity in _DIAGNOSTIC else None,
        entity_registry_enabled_default=f.common,
        value_fn=_meter_time if f.kind is Kind.TIME else _value(f.name),
    )


def _carried(f: Field, protocol: Protocol) -> bool:
    if f.kind is Kind.DERIVED:
        return True  # make_reading computes these for every protocol
    return any(layout in f.at for layout in PROTOCOL_LAYOUTS[protocol])


SENSORS: Final[dict[Protocol, tuple[EkmSensorEntityDescription, ...]]] = {
    protocol: tuple(
        describe(f) for f in FIELDS.values() if f.quantity not in _NOT_SENSORS and _carried(f, protocol)
    )
    for protocol in Protocol
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One sensor per field of each meter."""
    coordinator = entry.runtime_data
    async_add_entities(
        EkmSensor(coordinator, address, description)
        for address, protocol in coordinator.meters.items()
        for description in SENSORS[protocol]
    )


class EkmSensor(EkmEntity, SensorEntity):
    """One field of one meter."""

    entity_description: EkmSensorEntityDescription

    @property
    def native_value(self) -> SensorValue:
        reading = self.reading
        return None if reading is None else self.entity_description.value_fn(reading)

    @property
    def available(self) -> bool:
        return super().available and self.native_value is not None
