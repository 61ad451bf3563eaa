"""Meter commands: set the meter clock to Home Assistant's time, reset max demand, zero the
resettable energy registers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .aioekm import EkmBus, MeterReading, Protocol
from .const import ALL_METERS, V4_METERS
from .entity import add_entities_of_meters
from .meter_settings import BusWrite, Confirms, EkmSettingEntity
from .runtime import EkmConfigEntry, EkmRuntimeData

# One write at a time per entity; the bus serialises them anyway.
PARALLEL_UPDATES = 1

# How far the meter clock may be from the time written when it is read back a moment later.
CLOCK_TOLERANCE: Final = timedelta(minutes=1)
# The resettable registers read back below this (kWh) once zeroed: a little energy can flow
# between the write and the read-back.
ZEROED_BELOW: Final = 1.0
RESETTABLE: Final = ("kWh_Rst", "Rev_kWh_Rst")


@dataclass(frozen=True, kw_only=True)
class EkmButtonEntityDescription(ButtonEntityDescription):
    """A command: `command()` gives, at the moment of the press, the write and its check."""

    command: Callable[[], tuple[BusWrite, Confirms | None]]
    protocols: frozenset[Protocol]  # the meters that take it
    zeroed: tuple[str, ...] = ()  # the registers it resets


def _sync_clock() -> tuple[BusWrite, Confirms | None]:
    # The meter keeps wall-clock time without a zone: Home Assistant's zone, as it is shown.
    now = dt_util.now().replace(tzinfo=None, microsecond=0)

    def write(bus: EkmBus, address: str, password: str) -> Awaitable[MeterReading]:
        return bus.set_time(address, now, password=password)

    def confirms(reading: MeterReading) -> bool:
        return reading.meter_time is not None and abs(reading.meter_time - now) <= CLOCK_TOLERANCE

    return write, confirms


def _reset_max_demand() -> tuple[BusWrite, Confirms | None]:
    def write(bus: EkmBus, address: str, password: str) -> Awaitable[MeterReading]:
        return bus.reset_max_demand(address, password=password)

    # Max demand starts again from the present load, so the read-back cannot tell: the ACK does.
    return write, None


def _zero_resettable_kwh() -> tuple[BusWrite, Confirms | None]:
    def write(bus: EkmBus, address: str, password: str) -> Awaitable[MeterReading]:
        return bus.zero_resettable_kwh(address, password=password)

    def confirms(reading: MeterReading) -> bool:
        values = [reading.get(name) for name in RESETTABLE]
        return all(isinstance(value, (int, float)) and value < ZEROED_BELOW for value in values)

    return write, confirms


BUTTONS: Final = (
    EkmButtonEntityDescription(
        key="Sync_Clock",
        translation_key="sync_clock",
        entity_category=EntityCategory.CONFIG,
        command=_sync_clock,
        protocols=ALL_METERS,
    ),
    EkmButtonEntityDescription(
        key="Reset_Max_Demand",
        translation_key="reset_max_demand",
        entity_category=EntityCategory.CONFIG,
        command=_reset_max_demand,
        protocols=ALL_METERS,
    ),
    # Energy that is gone once pressed: disabled until the user enables it on purpose.
    EkmButtonEntityDescription(
        key="Zero_Resettable_kWh",
        translation_key="zero_resettable_kwh",
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        command=_zero_resettable_kwh,
        protocols=V4_METERS,
        zeroed=RESETTABLE,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EkmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The commands each meter takes (zeroing: v4 only)."""

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[EkmCommandButton]:
        if runtime.bus is None:  # only a bus writes settings
            return []
        meters = runtime.coordinator.meters
        return [
            EkmCommandButton(runtime, address, description)
            for address in addresses
            for description in BUTTONS
            if meters[address] in description.protocols
        ]

    add_entities_of_meters(entry, async_add_entities, make)


class EkmCommandButton(EkmSettingEntity, ButtonEntity):
    """One command to one meter, sent once per press."""

    entity_description: EkmButtonEntityDescription

    async def async_press(self) -> None:
        description = self.entity_description
        write, confirms = description.command()
        await self.async_write(write, confirms, description.protocols, zeroed=description.zeroed)
