"""Relay switches of v4/v5 meters: written with the meter password, confirmed by read-back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import compat
from .aioekm.readings import MeterReading
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity import EkmEntity, add_entities_of_meters
from .entity_table import ENTITY_TABLE, DecodedRow, Enabled, carried, decoded
from .helpers import ekm_exception_handler
from .services import SERVICE_SET_RELAY, SET_RELAY_FIELDS

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EkmSwitchEntityDescription(SwitchEntityDescription):
    """A relay: one bit of a state field, switched by number."""

    field: str  # the state field it is decoded from
    number: int  # the relay number the meter's command takes (1 or 2)
    is_on_fn: Callable[[MeterReading], bool | None]


def _decoded(name: str, row: DecodedRow, index: int) -> EkmSwitchEntityDescription:
    decoder = row.decoder
    return EkmSwitchEntityDescription(
        key=f"{row.key_stem}_{index + 1}",
        translation_key=row.translation_key,
        translation_placeholders={row.placeholder: str(index + 1)},
        entity_registry_enabled_default=row.enabled is Enabled.YES,
        field=name,
        number=index + 1,
        is_on_fn=lambda reading: decoded(reading, name, decoder, index),
    )


# One per bit of each state field the entity table decodes into switches: the relays.
RELAYS: Final = tuple(
    _decoded(name, row, index)
    for name, row in ENTITY_TABLE.items()
    if isinstance(row, DecodedRow) and row.platform is Platform.SWITCH
    for index in range(row.count)
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Relay 1 and 2 of every meter whose relays this connection can switch (none on v3 meters)."""

    def make(coordinator: EkmCoordinator, addresses: list[str]) -> list[EkmRelaySwitch]:
        return [
            EkmRelaySwitch(coordinator, address, description)
            for address in addresses
            if coordinator.relay_capable(address)
            for description in RELAYS
            if carried(description.field, coordinator.meters[address])
        ]

    add_entities_of_meters(entry, async_add_entities, make)
    if not compat.HAS_PLATFORM_ENTITY_SERVICE:  # older HA: no registration in async_setup
        compat.register_entity_service(
            entity_platform.async_get_current_platform(),
            SERVICE_SET_RELAY,
            SET_RELAY_FIELDS,
            "async_set_relay",
        )


class EkmRelaySwitch(EkmEntity, SwitchEntity):
    """One relay output; its state is what the meter reports, never assumed."""

    entity_description: EkmSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        reading = self.reading
        return None if reading is None else self.entity_description.is_on_fn(reading)

    @property
    def available(self) -> bool:
        return super().available and self.is_on is not None

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=False)

    @ekm_exception_handler
    async def async_set_relay(self, state: bool, seconds: int = 0) -> None:
        """Switch the relay; with seconds > 0 the meter switches it back after that long."""
        await self.coordinator.async_set_relay(self.address, self.entity_description.number, state, seconds)
