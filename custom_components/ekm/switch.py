"""Relay switches of v4/v5 meters: written with the meter password, confirmed by read-back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import compat
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity import (
    DecodedBitDescription,
    EkmDecodedBitEntity,
    add_entities_of_meters,
    decoded_bit_descriptions,
)
from .entity_table import carried
from .helpers import ekm_exception_handler
from .services import SERVICE_SET_RELAY, SET_RELAY_FIELDS

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EkmSwitchEntityDescription(SwitchEntityDescription, DecodedBitDescription):
    """A relay: one bit of a state field; `number` is the relay number the meter's command takes."""


# One per bit of each state field the entity table decodes into switches: the relays.
RELAYS: Final = decoded_bit_descriptions(Platform.SWITCH, EkmSwitchEntityDescription)


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


class EkmRelaySwitch(EkmDecodedBitEntity, SwitchEntity):
    """One relay output; its state is what the meter reports, never assumed."""

    entity_description: EkmSwitchEntityDescription

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=False)

    @ekm_exception_handler
    async def async_set_relay(self, state: bool, seconds: int = 0) -> None:
        """Switch the relay; with seconds > 0 the meter switches it back after that long."""
        await self.coordinator.async_set_relay(self.address, self.entity_description.number, state, seconds)
