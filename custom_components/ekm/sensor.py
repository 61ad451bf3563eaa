"""Sensors: one per field a meter reports, each described in full in SENSOR_DESCRIPTIONS.

The protocol facts of a field (unit, what it measures, which frames carry it) come from the
library's field table (aioekm.fields); this table adds Home Assistant's concern: the name,
whether the sensor starts enabled, its display precision, and which settings a config entity
(select, number) shows instead on a connection that writes settings.
tests/ha/test_entity_fields.py checks that every field of the library has an entity or a
reason why not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import compat
from .aioekm import FIELDS, Kind, MeterReading, Protocol, Quantity
from .const import ALL_METERS, V4_METERS
from .entity import EkmEntity, add_entities_of_meters, carried
from .runtime import EkmConfigEntry, EkmRuntimeData
from .sensor_pulse import add_pulse_input_sensors
from .sensor_tariff import add_tariff_sensors

# Read-only, fed by the coordinator.
PARALLEL_UPDATES = 0

type SensorValue = StateType | datetime

# A line counts as used when its first reading shows at least this voltage; an unconnected
# line reads 0 V or a few volts of induced noise, mains is 100 V or more.
LIVE_LINE_VOLTS: Final = 50.0


@dataclass(frozen=True, kw_only=True)
class EkmSensorEntityDescription(SensorEntityDescription):
    """A sensor of one field of the field table (`key` is the field's name)."""

    value_fn: Callable[[MeterReading], SensorValue]
    # Enabled by default only if this line carries voltage in the meter's first reading.
    live_line: int | None = None
    # A setting: on meters of these protocols a config entity (select, number) shows and
    # writes it instead of this sensor, where the connection writes settings.
    setting_on: frozenset[Protocol] = frozenset()


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


def _field_value(name: str) -> Callable[[MeterReading], SensorValue]:
    def value(reading: MeterReading) -> SensorValue:
        return reading.get(name)

    return value


def _sensor(
    name: str,
    translation_key: str,
    *,
    enabled: bool = False,
    live_line: int | None = None,
    precision: int | None = None,
    setting_on: frozenset[Protocol] = frozenset(),
    placeholders: Mapping[str, str] | None = None,
) -> EkmSensorEntityDescription:
    """The sensor of field `name`: classes, unit and category from what the field measures."""
    f = FIELDS[name]
    device_class, state_class = _CLASSES[f.quantity]
    if f.kind is Kind.COS_THETA:  # text like "0.83 L"; Power_Factor_Ln_* is the number
        device_class, state_class = None, None
    return EkmSensorEntityDescription(
        key=name,
        translation_key=translation_key,
        translation_placeholders=dict(placeholders) if placeholders else None,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=f.unit,
        suggested_display_precision=precision,
        entity_category=EntityCategory.DIAGNOSTIC if f.quantity in _DIAGNOSTIC else None,
        # Without a first reading only line 1 is assumed live (see for_meter).
        entity_registry_enabled_default=enabled or live_line == 1,
        live_line=live_line,
        setting_on=setting_on,
        value_fn=_meter_time if f.kind is Kind.TIME else _field_value(name),
    )


def _numbered(
    stem: str,
    translation_key: str,
    placeholder: str,
    numbers: range,
    *,
    enabled: bool = False,
    setting_on: frozenset[Protocol] = frozenset(),
) -> list[EkmSensorEntityDescription]:
    """Sensors of `<stem>_<n>`, named with {placeholder} = n."""
    return [
        _sensor(
            f"{stem}_{n}",
            translation_key,
            enabled=enabled,
            setting_on=setting_on,
            placeholders={placeholder: str(n)},
        )
        for n in numbers
    ]


def _per_line(
    stem: str, translation_key: str, *, live: bool = False, precision: int | None = None
) -> list[EkmSensorEntityDescription]:
    """Sensors of `<stem>_1..3`, one per line, named with {line}; `live`: enabled on used lines."""
    return [
        _sensor(
            f"{stem}_{line}",
            translation_key,
            live_line=line if live else None,
            precision=precision,
            placeholders={"line": str(line)},
        )
        for line in (1, 2, 3)
    ]


TARIFFS: Final = range(1, 5)
INPUTS: Final = range(1, 4)

SENSOR_DESCRIPTIONS: Final[tuple[EkmSensorEntityDescription, ...]] = (
    # Energy registers: the totals are what the Energy dashboard uses.
    _sensor("kWh_Tot", "kwh_tot", enabled=True),
    _sensor("Fwd_kWh_Tot", "fwd_kwh_tot", enabled=True),
    _sensor("Rev_kWh_Tot", "rev_kwh_tot", enabled=True),
    _sensor("Net_kWh_Tot", "net_kwh_tot"),
    *_numbered("kWh_Tariff", "kwh_tariff", "tariff", TARIFFS),
    *_numbered("Rev_kWh_Tariff", "rev_kwh_tariff", "tariff", TARIFFS),
    _sensor("Reactive_Energy_Tot", "reactive_energy_tot"),
    *_per_line("kWh_Ln", "kwh_ln"),
    *_per_line("Rev_kWh_Ln", "rev_kwh_ln"),
    _sensor("kWh_Rst", "kwh_rst"),
    _sensor("Rev_kWh_Rst", "rev_kwh_rst"),
    # What each used line carries, and the total power.
    *_per_line("RMS_Volts_Ln", "rms_volts_ln", live=True, precision=1),
    *_per_line("Amps_Ln", "amps_ln", live=True, precision=1),
    *_per_line("RMS_Watts_Ln", "rms_watts_ln", live=True),
    *_per_line("Net_Calc_Watts_Ln", "net_calc_watts_ln", live=True),
    *_per_line("Power_Factor_Ln", "power_factor_ln", live=True),
    _sensor("RMS_Watts_Tot", "rms_watts_tot", enabled=True),
    _sensor("Net_Calc_Watts_Tot", "net_calc_watts_tot", enabled=True),
    *_per_line("Cos_Theta_Ln", "cos_theta_ln"),  # text; Power_Factor_Ln is the number
    *_per_line("Reactive_Pwr_Ln", "reactive_pwr_ln"),
    _sensor("Reactive_Pwr_Tot", "reactive_pwr_tot"),
    _sensor("Line_Freq", "line_freq", enabled=True, precision=2),
    # Pulse inputs: the count of input 1 is the one most installations wire up.
    *_numbered("Pulse_Cnt", "pulse_cnt", "input", range(1, 2), enabled=True),
    *_numbered("Pulse_Cnt", "pulse_cnt", "input", range(2, 4)),
    *_numbered("Pulse_Ratio", "pulse_ratio", "input", INPUTS, setting_on=V4_METERS),
    # Demand and settings.
    _sensor("RMS_Watts_Max_Demand", "rms_watts_max_demand", enabled=True, precision=1),
    _sensor("Max_Demand_Period", "max_demand_period", setting_on=ALL_METERS),
    _sensor("Max_Demand_Rst", "max_demand_rst", setting_on=V4_METERS),
    _sensor("CT_Ratio", "ct_ratio", setting_on=ALL_METERS),
    _sensor("CF_Ratio", "cf_ratio"),
    _sensor("kWh_Scale", "kwh_scale"),
    _sensor("Meter_Status_Code", "meter_status_code"),
    _sensor("Meter_Status_Code_A", "meter_status_code_a"),
    _sensor("Meter_Status_Code_B", "meter_status_code_b"),
    _sensor("Meter_Status_Code_C", "meter_status_code_c"),
    _sensor("Meter_Time", "meter_time"),
)


def _clock_offset(reading: MeterReading) -> float | None:
    """How far the meter's clock is ahead of (negative: behind) the time of the read, in seconds."""
    clock = _meter_time(reading)
    if clock is None or reading.timestamp is None:
        return None
    return round((clock - reading.timestamp).total_seconds())


# What one watches a meter clock for, as a number: the Meter clock sensor changes with every
# read, and the logbook records each change of a sensor without a unit or state class (a
# timestamp can have neither); this one has both, so it stays out of the logbook and gets
# long-term statistics. Not a field of its own: it is read from Meter_Time.
CLOCK_OFFSET: Final = EkmSensorEntityDescription(
    key="Clock_Offset",
    translation_key="clock_offset",
    device_class=SensorDeviceClass.DURATION,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfTime.SECONDS,
    suggested_display_precision=0,
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
    value_fn=_clock_offset,
)
SENSOR_OF_FIELD: Final = {description.key: description for description in SENSOR_DESCRIPTIONS}
# Fields no sensor shows, and why: bit-coded states are decoded by binary_sensor.py (the pulse
# input levels) and switch.py (the relays); the watts' direction flags sign other fields.
NOT_SENSORS: Final = {
    "State_Inputs": "binary_sensor.py: the level of each pulse input",
    "State_Out": "switch.py: the relays",
    "State_Watts_Dir": "signs Net_Calc_Watts_Ln_*",
}

SENSORS: Final[dict[Protocol, tuple[EkmSensorEntityDescription, ...]]] = {
    protocol: (
        *(d for d in SENSOR_DESCRIPTIONS if carried(d.key, protocol)),
        *((CLOCK_OFFSET,) if carried("Meter_Time", protocol) else ()),
    )
    for protocol in Protocol
}


def setting_on(field: str, protocol: Protocol) -> bool:
    """Whether a meter of `protocol` takes setting `field` as a write (then a config entity
    shows it where the connection writes settings)."""
    sensor = SENSOR_OF_FIELD.get(field)
    return sensor is not None and protocol in sensor.setting_on and carried(field, protocol)


def shown_as_setting(runtime: EkmRuntimeData, address: str, field: str) -> bool:
    """Whether a config entity shows field `field` of this meter: then no sensor shows it too."""
    return runtime.bus is not None and setting_on(field, runtime.coordinator.meters[address])


# What a meter of a large fleet starts with: Home Assistant takes at most 10000 enabled
# entities per config entry, and a thousand meters with every default would pass that.
LARGE_FLEET_SENSORS: Final = frozenset({"kWh_Tot", "RMS_Watts_Tot"})


def line_is_live(reading: MeterReading | None, line: int) -> bool:
    """Whether `line` carries voltage; without a reading, only line 1 is assumed to."""
    if reading is None:
        return line == 1
    volts = reading.get(f"RMS_Volts_Ln_{line}")
    return isinstance(volts, (int, float)) and volts >= LIVE_LINE_VOLTS


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

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[EkmSensor]:
        coordinator = runtime.coordinator
        return [
            EkmSensor(
                coordinator,
                address,
                for_meter(description, coordinator.reading(address), large_fleet=coordinator.large_fleet),
            )
            for address in addresses
            for description in SENSORS[coordinator.meters[address]]
            if not shown_as_setting(runtime, address, description.key)
        ]

    add_entities_of_meters(entry, async_add_entities, make)
    add_pulse_input_sensors(hass, entry, async_add_entities)
    add_tariff_sensors(hass, entry, async_add_entities)


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
