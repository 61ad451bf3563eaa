"""Relay switches of v4/v5 meters: written with the meter password, confirmed by read-back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import voluptuous as vol

from .coordinator import EkmCoordinator
from .entity import EkmBitDescription, EkmBitEntity, add_entities_of_meters, carried
from .helpers import ekm_exception_handler
from .runtime import EkmConfigEntry, EkmRuntimeData, RelaySwitch
from .validation import whole_number

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1

SERVICE_SET_RELAY: Final = "set_relay"
ATTR_STATE: Final = "state"
ATTR_SECONDS: Final = "seconds"
MAX_SECONDS: Final = 9999  # what the meter's relay timer holds


def _relay_state(value: Any) -> bool:
    """On or off as Home Assistant spells booleans; of the numbers only 0 and 1."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value not in (0, 1):
        raise vol.Invalid(f"expected on or off, got {value!r}")
    return cv.boolean(value)


# Arguments of the action ekm.set_relay (relay_action.py); the target is one or more relay switches.
SET_RELAY_FIELDS: Final[dict[Any, Any]] = {
    vol.Required(ATTR_STATE): _relay_state,
    vol.Optional(ATTR_SECONDS, default=0): whole_number(0, MAX_SECONDS),
}


@dataclass(frozen=True, kw_only=True)
class EkmSwitchEntityDescription(SwitchEntityDescription, EkmBitDescription):
    """A relay: one bit of State_Out; `number` is the relay number the meter's command takes."""


def _relay(number: int) -> EkmSwitchEntityDescription:
    return EkmSwitchEntityDescription(
        key=f"Relay_{number}",
        translation_key="relay",
        translation_placeholders={"relay": str(number)},
        field="State_Out",
        number=number,
        is_on_fn=lambda reading: reading.relay_closed(number),
    )


RELAYS: Final = (_relay(1), _relay(2))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Relay 1 and 2 of every meter whose relays this connection can switch (none on v3 meters)."""

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[EkmRelaySwitch]:
        relays = runtime.relays
        if relays is None:
            return []
        coordinator = runtime.coordinator
        return [
            EkmRelaySwitch(coordinator, relays, address, description)
            for address in addresses
            if relays.relay_capable(address)
            for description in RELAYS
            if carried(description.field, coordinator.meters[address])
        ]

    add_entities_of_meters(entry, async_add_entities, make)


class EkmRelaySwitch(EkmBitEntity, SwitchEntity):
    """One relay output; its state is what the meter reports, never assumed."""

    entity_description: EkmSwitchEntityDescription

    def __init__(
        self,
        coordinator: EkmCoordinator,
        relays: RelaySwitch,
        address: str,
        description: EkmSwitchEntityDescription,
    ) -> None:
        super().__init__(coordinator, address, description)
        self.relays = relays

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_set_relay(state=False)

    @ekm_exception_handler
    async def async_set_relay(self, state: bool, seconds: int = 0) -> None:
        """Switch the relay; with seconds > 0 the meter switches it back after that long."""
        await self.relays.async_set_relay(self.address, self.entity_description.number, state, seconds)
