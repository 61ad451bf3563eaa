"""Relay switches of v4/v5 meters: written with the meter password, confirmed by read-back."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import compat
from .aioekm.readings import Protocol
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity import EkmEntity
from .helpers import ekm_exception_handler
from .services import SERVICE_SET_RELAY, SET_RELAY_FIELDS

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1


def _relay(relay: int) -> SwitchEntityDescription:
    return SwitchEntityDescription(
        key=f"Relay_{relay}",
        translation_key="relay",
        translation_placeholders={"relay": str(relay)},
    )


RELAYS: Final = tuple(_relay(relay) for relay in (1, 2))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Relay 1 and 2 of every v4 meter (v3 meters have none)."""
    coordinator = entry.runtime_data
    async_add_entities(
        EkmRelaySwitch(coordinator, address, description, relay)
        for address, protocol in coordinator.meters.items()
        if protocol is Protocol.V4
        for relay, description in enumerate(RELAYS, start=1)
    )
    if not compat.HAS_PLATFORM_ENTITY_SERVICE:  # older HA: no registration in async_setup
        compat.register_entity_service(
            entity_platform.async_get_current_platform(),
            SERVICE_SET_RELAY,
            SET_RELAY_FIELDS,
            "async_set_relay",
        )


class EkmRelaySwitch(EkmEntity, SwitchEntity):
    """One relay output; its state is what the meter reports, never assumed."""

    def __init__(
        self, coordinator: EkmCoordinator, address: str, description: SwitchEntityDescription, relay: int
    ) -> None:
        super().__init__(coordinator, address, description)
        self.relay = relay

    @property
    def is_on(self) -> bool | None:
        reading = self.reading
        return None if reading is None else reading.relay_closed(self.relay)

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
        await self.coordinator.async_set_relay(self.address, self.relay, state, seconds)
