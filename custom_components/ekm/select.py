"""Meter settings with a fixed set of values: CT ratio, max-demand period and auto-reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .aioekm import CT_RATIOS, MAX_DEMAND_PERIODS, EkmBus, MaxDemandReset, MeterReading, Protocol
from .meter_settings import EkmSettingEntity, add_setting_entities
from .runtime import EkmConfigEntry
from .sensor import SENSOR_OF_FIELD

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1


type OptionWrite = Callable[[EkmBus, str, str, str], Awaitable[MeterReading]]
"""Write an option: (bus, meter address, option, meter password) -> the meter's read-back."""


@dataclass(frozen=True, kw_only=True)
class EkmSelectEntityDescription(SelectEntityDescription):
    """A setting shown in field `key` (the option's value there) and written as an option."""

    values: Mapping[str, int]  # option -> what the meter reports in the field
    write: OptionWrite
    protocols: frozenset[Protocol]  # the meters that take it


def _select(key: str, values: Mapping[str, int], write: OptionWrite) -> EkmSelectEntityDescription:
    """The select of setting `key`, named as its sensor is elsewhere."""
    sensor = SENSOR_OF_FIELD[key]
    return EkmSelectEntityDescription(
        key=key,
        translation_key=sensor.translation_key,
        entity_category=EntityCategory.CONFIG,
        options=list(values),
        values=MappingProxyType(dict(values)),
        write=write,
        protocols=sensor.setting_on,
    )


SELECTS: Final = (
    _select(
        "CT_Ratio",
        {str(amps): amps for amps in CT_RATIOS},
        lambda bus, address, option, password: bus.set_ct_ratio(address, int(option), password=password),
    ),
    # Options are minutes; the meter reports the period as its code (1, 2, 3).
    _select(
        "Max_Demand_Period",
        {str(minutes): int(code) for minutes, code in MAX_DEMAND_PERIODS.items()},
        lambda bus, address, option, password: bus.set_max_demand_period(
            address, int(option), password=password
        ),
    ),
    _select(
        "Max_Demand_Rst",
        {mode.name.lower(): mode.value for mode in MaxDemandReset},
        lambda bus, address, option, password: bus.set_max_demand_auto_reset(
            address, option, password=password
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The settings each meter takes (auto-reset: v4 only)."""

    add_setting_entities(hass, entry, async_add_entities, SELECTS, EkmSettingSelect)


class EkmSettingSelect(EkmSettingEntity, SelectEntity):
    """One setting of one meter; the option shown is the one the meter reports."""

    entity_description: EkmSelectEntityDescription

    @property
    def current_option(self) -> str | None:
        reading = self.reading
        if reading is None:
            return None
        value = reading.get(self.entity_description.key)
        return next((option for option, v in self.entity_description.values.items() if v == value), None)

    async def async_select_option(self, option: str) -> None:
        description = self.entity_description
        expected = description.values[option]

        def write(bus: EkmBus, address: str, password: str) -> Awaitable[MeterReading]:
            return description.write(bus, address, option, password)

        def confirms(reading: MeterReading) -> bool:
            return reading.get(description.key) == expected

        await self.async_write(write, confirms, description.protocols)
