"""Binary sensors: pulse input levels and whether each meter is communicating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    EkmBitDescription,
    EkmBitEntity,
    EkmEntity,
    EkmGatewayEntity,
    add_entities_of_meters,
    carried,
)
from .runtime import EkmConfigEntry, EkmRuntimeData

# Read-only, fed by the coordinator.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EkmBinarySensorEntityDescription(BinarySensorEntityDescription, EkmBitDescription):
    """A binary sensor decoded from a bit of a reading's state field."""


def _input_level(number: int) -> EkmBinarySensorEntityDescription:
    return EkmBinarySensorEntityDescription(
        key=f"State_Input_{number}",
        translation_key="pulse_input",
        translation_placeholders={"input": str(number)},
        # A pulse input wired to a water or gas meter toggles with every pulse and floods the
        # logbook: the level sensors start disabled.
        entity_registry_enabled_default=False,
        field="State_Inputs",
        number=number,
        is_on_fn=lambda reading: reading.input_high(number),
    )


# The level of each pulse input, from State_Inputs.
INPUT_LEVELS: Final = tuple(_input_level(number) for number in (1, 2, 3))
COMMUNICATING: Final = BinarySensorEntityDescription(
    key="communicating",
    translation_key="communicating",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)

CONNECTED: Final = BinarySensorEntityDescription(
    key="connected",
    translation_key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The decoded state bits (pulse inputs) and a connectivity sensor for every meter, and one
    for every gateway; also for meters and gateways that appear later."""
    gateways: set[str] = set()

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[BinarySensorEntity]:
        coordinator = runtime.coordinator
        entities: list[BinarySensorEntity] = []
        for address in addresses:
            protocol = coordinator.meters[address]
            entities.extend(
                EkmDecodedBinarySensor(coordinator, address, description)
                for description in INPUT_LEVELS
                if carried(description.field, protocol)
            )
            entities.append(EkmCommunicating(coordinator, address, COMMUNICATING))
        if (status := runtime.gateways) is not None:
            for mac in status.gateway_macs():
                if mac not in gateways:
                    gateways.add(mac)
                    entities.append(EkmGatewayConnected(coordinator, status, mac, CONNECTED))
        return entities

    add_entities_of_meters(entry, async_add_entities, make)


class EkmDecodedBinarySensor(EkmBitEntity, BinarySensorEntity):
    """One bit of a state field, e.g. the level of a pulse input."""

    entity_description: EkmBinarySensorEntityDescription


class EkmCommunicating(EkmEntity, BinarySensorEntity):
    """On while the meter answers; always available, so it can say that it does not."""

    @property
    def available(self) -> bool:
        return True

    @property
    def is_on(self) -> bool:
        return self.reading is not None


class EkmGatewayConnected(EkmGatewayEntity, BinarySensorEntity):
    """On while the gateway reaches EKM (cloud: Summary V2 gateway status) or answers (Push3)."""

    _written: bool | None = None

    async def async_added_to_hass(self) -> None:
        """Adding the entity wrote its state: remember what it showed."""
        await super().async_added_to_hass()
        self._written = self.gateways.gateway_connected(self.mac)

    @property
    def available(self) -> bool:
        return self.gateways.gateway_connected(self.mac) is not None

    @property
    def is_on(self) -> bool | None:
        return self.gateways.gateway_connected(self.mac)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Written only when the status changed (a fleet has dozens of gateways)."""
        connected = self.gateways.gateway_connected(self.mac)
        if connected is not self._written:
            self._written = connected
            self.async_write_ha_state()
