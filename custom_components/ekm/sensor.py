"""Sensors: one per field a meter reports, as the entity table describes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
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
from .aioekm.fields import FIELDS, Kind, Quantity
from .aioekm.readings import MeterReading, Protocol
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity import EkmEntity, add_entities_of_meters
from .entity_table import ENTITY_TABLE, Enabled, SensorRow, carried, line_is_live
from .settings import shown_as_setting

# Read-only, fed by the coordinator.
PARALLEL_UPDATES = 0

type SensorValue = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class EkmSensorEntityDescription(SensorEntityDescription):
    """A sensor of one field of the field table."""

    value_fn: Callable[[MeterReading], SensorValue]
    # Enabled by default only if this line carries voltage in the meter's first reading.
    live_line: int | None = None


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


def _meter_time(reading: MeterReading) -> datetime | None:
    # The meter keeps local time without a zone: read it in HA's time zone.
    if reading.meter_time is None:
        return None
    return reading.meter_time.replace(tzinfo=dt_util.get_default_time_zone())


def _value(name: str) -> Callable[[MeterReading], SensorValue]:
    def value(reading: MeterReading) -> SensorValue:
        return reading.get(name)

    return value


def describe(name: str, row: SensorRow) -> EkmSensorEntityDescription:
    """The sensor description of one field, from its row of the entity table."""
    f = FIELDS[name]
    device_class, state_class = _CLASSES[f.quantity]
    if f.kind is Kind.COS_THETA:  # text like "0.83 L"; Power_Factor_Ln_* is the number
        device_class, state_class = None, None
    return EkmSensorEntityDescription(
        key=name,
        translation_key=row.translation_key,
        translation_placeholders=dict(row.placeholders) if row.placeholders else None,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=f.unit,
        suggested_display_precision=row.precision,
        entity_category=EntityCategory.DIAGNOSTIC if f.quantity in _DIAGNOSTIC else None,
        # Without a first reading only line 1 is assumed live (see for_meter).
        entity_registry_enabled_default=row.enabled is Enabled.YES
        or (row.enabled is Enabled.LIVE_LINE and row.line == 1),
        live_line=row.line if row.enabled is Enabled.LIVE_LINE else None,
        value_fn=_meter_time if f.kind is Kind.TIME else _value(name),
    )


SENSORS: Final[dict[Protocol, tuple[EkmSensorEntityDescription, ...]]] = {
    protocol: tuple(
        describe(name, row)
        for name, row in ENTITY_TABLE.items()
        if isinstance(row, SensorRow) and carried(name, protocol)
    )
    for protocol in Protocol
}


# What a meter of a large fleet starts with: Home Assistant takes at most 10000 enabled
# entities per config entry, and a thousand meters with every default would pass that.
LARGE_FLEET_SENSORS: Final = frozenset({"kWh_Tot", "RMS_Watts_Tot"})


def for_meter(
    description: EkmSensorEntityDescription, first: MeterReading | None, *, large_fleet: bool = False
) -> EkmSensorEntityDescription:
    """The description for one meter: a per-line sensor starts enabled if its line is used;
    in a large fleet only LARGE_FLEET_SENSORS start enabled."""
    if large_fleet:
        if description.key in LARGE_FLEET_SENSORS or not description.entity_registry_enabled_default:
            return description
        return replace(description, entity_registry_enabled_default=False)
    if description.live_line is None:
        return description
    return replace(description, entity_registry_enabled_default=line_is_live(first, description.live_line))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One sensor per field of each meter, also of meters that appear later."""

    def make(coordinator: EkmCoordinator, addresses: list[str]) -> list[EkmSensor]:
        return [
            EkmSensor(
                coordinator,
                address,
                for_meter(description, coordinator.reading(address), large_fleet=coordinator.large_fleet),
            )
            for address in addresses
            for description in SENSORS[coordinator.meters[address]]
            if not shown_as_setting(coordinator, address, description.key)
        ]

    add_entities_of_meters(entry, async_add_entities, make)


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
