"""Pulse input ratios 1-3 of v4 meters: how many pulses the meter counts as one."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
import math
from typing import Final

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .aioekm import MAX_PULSE_INPUT_RATIO, EkmBus, MeterReading, Protocol
from .const import DOMAIN
from .meter_settings import EkmSettingEntity, add_setting_entities
from .runtime import EkmConfigEntry
from .sensor import SENSOR_OF_FIELD

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EkmNumberEntityDescription(NumberEntityDescription):
    """The ratio of one pulse input, reported in field `key`."""

    input: int  # the pulse input (1..3) the meter's command takes
    protocols: frozenset[Protocol]  # the meters that take it


def _pulse_ratio(line: int) -> EkmNumberEntityDescription:
    """The number of field Pulse_Ratio_<line>, named as its sensor is elsewhere."""
    sensor = SENSOR_OF_FIELD[f"Pulse_Ratio_{line}"]
    return EkmNumberEntityDescription(
        key=sensor.key,
        translation_key=sensor.translation_key,
        translation_placeholders=sensor.translation_placeholders,
        entity_category=EntityCategory.CONFIG,
        # Input 1 is the one most installations wire up (its count starts enabled too).
        entity_registry_enabled_default=line == 1,
        native_min_value=1,
        native_max_value=MAX_PULSE_INPUT_RATIO,
        native_step=1,
        mode=NumberMode.BOX,
        input=line,
        protocols=sensor.setting_on,
    )


PULSE_RATIOS: Final = tuple(_pulse_ratio(line) for line in (1, 2, 3))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Pulse input ratios of the meters that take them (v4; a v3 meter shows them as sensors)."""

    add_setting_entities(hass, entry, async_add_entities, PULSE_RATIOS, EkmPulseRatio)


class EkmPulseRatio(EkmSettingEntity, NumberEntity):
    """One pulse input ratio; the value shown is the one the meter reports."""

    entity_description: EkmNumberEntityDescription

    @property
    def native_value(self) -> float | None:
        reading = self.reading
        value = None if reading is None else reading.get(self.entity_description.key)
        return value if isinstance(value, int) else None

    async def async_set_native_value(self, value: float) -> None:
        description = self.entity_description
        # Home Assistant's range check lets nan through (every comparison with it is false).
        if not math.isfinite(value) or not value.is_integer():
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_whole_number",
                translation_placeholders={"value": str(value)},
            )
        ratio = int(value)

        def write(bus: EkmBus, address: str, password: str) -> Awaitable[MeterReading]:
            return bus.set_pulse_input_ratio(address, description.input, ratio, password=password)

        def confirms(reading: MeterReading) -> bool:
            return reading.get(description.key) == ratio

        await self.async_write(write, confirms, description.protocols)
