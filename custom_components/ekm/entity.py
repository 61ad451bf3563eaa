"""Base entities: one meter's (or one gateway's) view of the coordinator, whatever the connection mode."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .aioekm import FIELDS, Kind, MeterReading, Protocol, frame_fields
from .coordinator import EkmCoordinator
from .runtime import EkmConfigEntry, EkmRuntimeData, GatewayStatus

# What an entity last wrote: (the reading's identity, its time stamp, coordinator success).
type Written = tuple[int, datetime | None, bool]


def carried(name: str, protocol: Protocol) -> bool:
    """Whether a meter of `protocol` reports field `name` (derived fields: always)."""
    return FIELDS[name].kind is Kind.DERIVED or name in frame_fields(protocol)


class EkmEntity(CoordinatorEntity[EkmCoordinator]):
    """An entity of one meter; unavailable while that meter gives no valid reading."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: EkmCoordinator, address: str, description: EntityDescription) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self.address = address
        self._attr_unique_id = f"{address}_{description.key}"
        self._attr_device_info = coordinator.meter_device_info(address)
        self._written: Written | None = None

    @property
    def reading(self) -> MeterReading | None:
        """This meter's current reading."""
        return self.coordinator.reading(self.address)

    @property
    def available(self) -> bool:
        return super().available and self.reading is not None

    def _what_is_shown(self) -> Written:
        reading = self.reading
        return (
            id(reading),
            None if reading is None else reading.timestamp,
            self.coordinator.last_update_success,
        )

    async def async_added_to_hass(self) -> None:
        """Adding the entity wrote its state: remember what it showed."""
        await super().async_added_to_hass()
        self._written = self._what_is_shown()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when this meter's reading changed: a poll that brings the same
        reading (same time stamp) leaves the entity alone."""
        shown = self._what_is_shown()
        if shown == self._written:
            return
        self._written = shown
        self.async_write_ha_state()


class EkmGatewayEntity(CoordinatorEntity[EkmCoordinator]):
    """An entity of one gateway (cloud and Push3 modes)."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: EkmCoordinator, gateways: GatewayStatus, mac: str, description: EntityDescription
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self.gateways = gateways
        self.mac = mac
        self._attr_unique_id = f"{mac or coordinator.config_entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={gateways.gateway_device(mac)})


def add_entities_of_meters(
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[EkmRuntimeData, list[str]], Iterable[Entity]],
) -> None:
    """Add the entities `make` builds for the entry's meters, now and as meters appear."""
    runtime = entry.runtime_data
    async_add_entities(make(runtime, list(runtime.coordinator.meters)))

    @callback
    def added(addresses: list[str]) -> None:
        async_add_entities(make(runtime, addresses))

    entry.async_on_unload(runtime.coordinator.async_add_meters_listener(added))


@dataclass(frozen=True, kw_only=True)
class EkmBitDescription(EntityDescription):
    """One bit of a bit-coded state field: a pulse input's level, a relay."""

    field: str  # the state field it is decoded from
    number: int  # which bit, from 1 (pulse input 2, relay 1)
    is_on_fn: Callable[[MeterReading], bool | None]


class EkmBitEntity(EkmEntity):
    """An entity that is on while its bit is set; unavailable while the bit is unknown."""

    entity_description: EkmBitDescription

    @property
    def is_on(self) -> bool | None:
        reading = self.reading
        return None if reading is None else self.entity_description.is_on_fn(reading)

    @property
    def available(self) -> bool:
        return super().available and self.is_on is not None
