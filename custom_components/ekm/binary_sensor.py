"""Binary sensors: pulse input levels and whether each meter is communicating."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .aioekm.readings import MeterReading
from .coordinator import EkmConfigEntry
from .entity import EkmEntity

# Read-only, fed by the coordinator.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EkmBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor decoded from a reading."""

    is_on_fn: Callable[[MeterReading], bool | None]


def _input(line: int) -> EkmBinarySensorEntityDescription:
    return EkmBinarySensorEntityDescription(
        key=f"State_Input_{line}",
        translation_key="pulse_input",
        translation_placeholders={"input": str(line)},
        entity_registry_enabled_default=line == 1,
        is_on_fn=lambda reading: reading.input_high(line),
    )


PULSE_INPUTS: Final = tuple(_input(line) for line in (1, 2, 3))
COMMUNICATING: Final = BinarySensorEntityDescription(
    key="communicating",
    translation_key="communicating",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Pulse inputs and a connectivity sensor for every meter."""
    coordinator = entry.runtime_data
    entities: list[BinarySensorEntity] = []
    for address in coordinator.meters:
        entities.extend(EkmPulseInput(coordinator, address, description) for description in PULSE_INPUTS)
        entities.append(EkmCommunicating(coordinator, address, COMMUNICATING))
    async_add_entities(entities)


class EkmPulseInput(EkmEntity, BinarySensorEntity):
    """The level of one pulse input."""

    entity_description: EkmBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        reading = self.reading
        return None if reading is None else self.entity_description.is_on_fn(reading)

    @property
    def available(self) -> bool:
        return super().available and self.is_on is not None


class EkmCommunicating(EkmEntity, BinarySensorEntity):
    """On while the meter answers; always available, so it can say that it does not."""

    @property
    def available(self) -> bool:
        return True

    @property
    def is_on(self) -> bool:
        return self.reading is not None
