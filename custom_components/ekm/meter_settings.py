"""Meter settings as config entities (select, number, button) and actions: the write they share.

Each write runs once on the entry's bus, with the entry's meter password, through the
coordinator's write path (the one the relays take): the bus reads the meter back after the
write, and that read-back is published, so an entity shows what the meter reports.
Settings are written over RS-485 only, for now (runtime.EkmRuntimeData.bus); the cloud and
Push3 modes come later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .aioekm import EkmBus, EkmError, MeterReading, Protocol
from .const import DOMAIN
from .entity import EkmEntity, add_entities_of_meters
from .helpers import translated_error
from .runtime import EkmConfigEntry, EkmRuntimeData
from .sensor import setting_on

type BusWrite = Callable[[EkmBus, str, str], Awaitable[MeterReading]]
"""A write of one setting: (bus, meter address, meter password) -> the meter's read-back."""

type Confirms = Callable[[MeterReading], bool]
"""Whether a read-back shows the setting as written."""


async def async_write_setting(
    runtime: EkmRuntimeData,
    address: str,
    protocols: frozenset[Protocol],
    write: BusWrite,
    confirms: Confirms | None,
    *,
    zeroed: Iterable[str] = (),
) -> MeterReading:
    """Write a setting to one meter once and publish the read-back; errors come translated.

    `confirms` tells from the read-back whether the meter took the setting (None when it
    does not report it); `zeroed` names the registers the write resets.
    """
    coordinator = runtime.bus
    if coordinator is None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="setting_needs_rs485",
            translation_placeholders={"address": address},
        )
    if coordinator.meters.get(address) not in protocols:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="setting_not_supported",
            translation_placeholders={"address": address},
        )
    bus = coordinator.bus

    def run(password: str) -> Awaitable[MeterReading]:
        return write(bus, address, password)

    try:
        reading = await coordinator.async_write(address, run, confirms, zeroed=zeroed)
    except EkmError as err:
        raise translated_error(err, address, bus.url) from err
    if confirms is not None and not confirms(reading):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="setting_not_applied",
            translation_placeholders={"address": address},
        )
    return reading


class EkmSettingEntity(EkmEntity):
    """A config entity of one meter setting; its value is what the meter last reported."""

    def __init__(self, runtime: EkmRuntimeData, address: str, description: EntityDescription) -> None:
        super().__init__(runtime.coordinator, address, description)
        self.runtime = runtime

    async def async_write(
        self,
        write: BusWrite,
        confirms: Confirms | None,
        protocols: frozenset[Protocol],
        *,
        zeroed: Iterable[str] = (),
    ) -> None:
        await async_write_setting(self.runtime, self.address, protocols, write, confirms, zeroed=zeroed)


def add_setting_entities[D: EntityDescription](
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    entity: Callable[[EkmRuntimeData, str, D], EkmSettingEntity],
) -> None:
    """A config entity of each of these settings for every meter that takes it as a write,
    where the connection writes settings; the sensors they replace are removed."""

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[EkmSettingEntity]:
        if runtime.bus is None:  # only a bus writes settings
            return []
        meters = runtime.coordinator.meters
        entities = [
            entity(runtime, address, description)
            for address in addresses
            for description in descriptions
            if setting_on(description.key, meters[address])
        ]
        remove_replaced_sensors(hass, entry, (e.unique_id for e in entities if e.unique_id))
        return entities

    add_entities_of_meters(entry, async_add_entities, make)


def remove_replaced_sensors(hass: HomeAssistant, entry: EkmConfigEntry, unique_ids: Iterable[str]) -> None:
    """Remove the sensors that showed these settings before config entities did.

    They would otherwise stay in the registry as "no longer provided" next to the select or
    number that now shows the same setting; their unique_ids are the config entities' ones.
    """
    registry = er.async_get(hass)
    for unique_id in unique_ids:
        # The address in the unique_id makes it this meter's; the entry check is for safety.
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, unique_id)
        old = registry.async_get(entity_id) if entity_id is not None else None
        if old is not None and old.config_entry_id == entry.entry_id:
            registry.async_remove(old.entity_id)
