"""Meter settings as config entities (select, number, button) and actions: the write they share.

Each write runs once on the entry's bus, with the entry's meter password, through the
coordinator's write path (the one the relays take): the bus reads the meter back after the
write, and that read-back is published, so an entity shows what the meter reports.
Settings are written over RS-485 only, for now; the cloud and Push3 modes come later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er

from .aioekm.errors import EkmError
from .aioekm.readings import MeterReading, Protocol
from .aioekm.rs485.bus import EkmBus
from .bus_coordinator import BusCoordinator
from .const import DOMAIN
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity import EkmEntity
from .entity_table import ENTITY_TABLE, SensorRow, carried
from .helpers import translated_error

type BusWrite = Callable[[EkmBus, str, str], Awaitable[MeterReading]]
"""A write of one setting: (bus, meter address, meter password) -> the meter's read-back."""

type Confirms = Callable[[MeterReading], bool]
"""Whether a read-back shows the setting as written."""


def writes_settings(coordinator: EkmCoordinator) -> bool:
    """Whether this connection can write meter settings (RS-485 only, for now)."""
    return isinstance(coordinator, BusCoordinator)


def setting_on(field: str, protocol: Protocol) -> bool:
    """Whether a meter of `protocol` takes setting `field` as a write (the entity table says)."""
    row = ENTITY_TABLE[field]
    return isinstance(row, SensorRow) and protocol in row.config_on and carried(field, protocol)


async def async_write_setting(
    coordinator: EkmCoordinator,
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
    protocol = coordinator.meters.get(address)
    if not isinstance(coordinator, BusCoordinator) or protocol not in protocols:
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


def shown_as_setting(coordinator: EkmCoordinator, address: str, field: str) -> bool:
    """Whether a config entity shows field `field` of this meter: then no sensor shows it too."""
    return writes_settings(coordinator) and setting_on(field, coordinator.meters[address])


class EkmSettingEntity(EkmEntity):
    """A config entity of one meter setting; its value is what the meter last reported."""

    async def async_write(
        self,
        write: BusWrite,
        confirms: Confirms | None,
        protocols: frozenset[Protocol],
        *,
        zeroed: Iterable[str] = (),
    ) -> None:
        await async_write_setting(self.coordinator, self.address, protocols, write, confirms, zeroed=zeroed)


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
