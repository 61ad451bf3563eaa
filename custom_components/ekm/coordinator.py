"""The coordinator entities see, whatever the connection mode: the latest valid reading per meter.

EkmCoordinator does not know how readings arrive. Its subclasses feed it:
bus_coordinator.BusCoordinator (RS-485), cloud_coordinator.CloudCoordinator
(EKM Push cloud) and push3_coordinator.Push3Coordinator (a Push3 gateway on the LAN).
It also owns the devices: the hubs (a bus, gateways) and the meters behind them, which
the cloud and Push3 modes add and remove while running. What a mode can do beyond
readings (relays, settings, triggers, history) is in runtime.EkmRuntimeData.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from . import compat
from .aioekm import MeterReading, Protocol, model_name
from .const import DOMAIN, LOGGER
from .guard import MonotonicGuard
from .helpers import (
    gateway_device_elsewhere,
    gateway_identifier as gateway_identifier,  # noqa: PLC0414  (re-exported: the modes import it from here)
    meter_device_info,
)
from .pulse_inputs import pulse_inputs

if TYPE_CHECKING:
    from .runtime import EkmConfigEntry

type MetersListener = Callable[[list[str]], None]

# Above this many listeners, a refresh tells them in slices with the loop free in between:
# a thousand meters have tens of thousands of entities, and writing them all at once would
# hold the event loop for seconds. A slice ends after SLICE_SECONDS.
SLICED_ABOVE: Final = 400
# Above this many meters, an entry starts only each meter's essential entities enabled
# (sensor.LARGE_FLEET_SENSORS): HA takes at most 10000 enabled entities per config entry.
LARGE_FLEET: Final = 200
SLICE_SECONDS: Final = 0.015
# How far ahead of Home Assistant's clock a reading's time stamp may be and still order readings.
CLOCK_SKEW: Final = timedelta(minutes=10)


# Device fields an entry fills in on another entry's gateway device when that one lacks them
# (the cloud knows the model and firmware, a Push3 entry the local address).
_HUB_DETAILS: Final = ("model", "sw_version", "configuration_url")


class EkmCoordinator(DataUpdateCoordinator[dict[str, MeterReading]]):
    """Latest published reading of each meter that gave a valid, fresh one in the last cycle."""

    config_entry: EkmConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EkmConfigEntry,
        *,
        meters: Mapping[str, Protocol],
        update_interval: timedelta,
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=update_interval)
        self.meters: dict[str, Protocol] = dict(meters)
        # The options this coordinator was built from (see __init__._async_options_updated).
        self.built_from = dict(entry.options)
        self._guards: dict[str, MonotonicGuard] = {address: MonotonicGuard() for address in meters}
        # The newest reading of each meter taken so far, as published (see publishable).
        self._newest: dict[str, MeterReading] = {}
        # Meters currently without a reading and why; each is logged once down and once up.
        self.failures: dict[str, str] = {}
        self._devices_synced: set[str] = set()
        self._via: dict[tuple[str, str], DeviceInfo] = {}
        self._meters_listeners: list[MetersListener] = []
        # The entities listening, in the order they came: DataUpdateCoordinator keeps its own
        # list private, and a large fleet's update goes through them in slices (see below).
        self._entity_listeners: dict[object, CALLBACK_TYPE] = {}
        self._slices: asyncio.Task[None] | None = None

    @property
    def large_fleet(self) -> bool:
        """Whether new meters start with their essential entities only."""
        return len(self.meters) > LARGE_FLEET

    # --- devices ------------------------------------------------------------

    @property
    def hub_identifier(self) -> tuple[str, str]:
        """Device identifier of the connection's own device (a bus, a gateway of unknown MAC)."""
        return (DOMAIN, f"hub_{self.config_entry.entry_id}")

    def hub_devices(self) -> list[DeviceInfo]:
        """The devices meters hang off: by default one for the connection itself."""
        return [
            DeviceInfo(
                identifiers={self.hub_identifier},
                manufacturer="EKM Metering",
                name=self.config_entry.title,
            )
        ]

    def hub_of(self, address: str) -> tuple[str, str]:
        """Identifier of the device meter `address` sits behind."""
        return self.hub_identifier

    def hub_identifiers(self) -> set[tuple[str, str]]:
        """The hubs this entry has a device for (not gateways whose device another entry has)."""
        return {
            identifier
            for info in self.hub_devices()
            if self._hub_elsewhere(info) is None
            for identifier in info.get("identifiers", ())
        }

    def _hub_elsewhere(self, info: DeviceInfo) -> dr.DeviceEntry | None:
        """The device another entry made for this hub: one gateway seen by a cloud entry and a
        Push3 entry has one device, the first entry's (helpers.gateway_owner)."""
        for identifier in info.get("identifiers", ()):
            device = gateway_device_elsewhere(self.hass, identifier, self.config_entry.entry_id)
            if device is not None:
                return device
        return None

    @callback
    def async_register_hub(self) -> None:
        """Create the hub devices (again, as gateways come and go); meters name them as via device."""
        registry = dr.async_get(self.hass)
        for info in self.hub_devices():
            hub = self._hub_elsewhere(info)
            if hub is None:
                hub = registry.async_get_or_create(config_entry_id=self.config_entry.entry_id, **info)
            else:
                self._complete_hub(registry, hub, info)
            for identifier in info.get("identifiers", ()):
                self._via[identifier] = compat.via_device(hub)
        for device, parent in self.other_devices():
            via = self._via.get(parent) if parent is not None else None
            info = DeviceInfo(**device, **via) if via else device
            registry.async_get_or_create(config_entry_id=self.config_entry.entry_id, **info)

    @staticmethod
    def _complete_hub(registry: dr.DeviceRegistry, hub: dr.DeviceEntry, info: DeviceInfo) -> None:
        """Fill in what another entry's gateway device lacks and this entry knows."""
        changes: dict[str, Any] = {
            key: info[key] for key in _HUB_DETAILS if info.get(key) and getattr(hub, key) is None
        }
        connections = info.get("connections", set())
        if connections - hub.connections:
            changes["merge_connections"] = connections
        if changes:
            registry.async_update_device(hub.id, **changes)

    def other_devices(self) -> list[tuple[DeviceInfo, tuple[str, str] | None]]:
        """Devices without entities (e.g. ioStacks), each with the hub it sits behind."""
        return []

    def meter_device_info(self, address: str) -> DeviceInfo:
        """The device of one meter, behind its hub device."""
        info = meter_device_info(address, (self.data or {}).get(address))
        return DeviceInfo(**info, **self._via.get(self.hub_of(address), DeviceInfo()))

    def current_identifiers(self) -> set[tuple[str, str]]:
        """The devices this entry has now: its hubs, meters and other devices."""
        others = {
            identifier for info, _ in self.other_devices() for identifier in info.get("identifiers", ())
        }
        inputs = {
            i.device_identifier for i in pulse_inputs(self.config_entry.subentries) if i.meter in self.meters
        }
        return {*self.hub_identifiers(), *others, *inputs, *((DOMAIN, address) for address in self.meters)}

    @callback
    def async_remove_stale_devices(self) -> None:
        """Take this entry off the devices of meters and hubs it no longer has.

        Only this entry: on HA versions where devices are shared by identifier, a meter
        that another entry reads keeps its device there.
        """
        registry = dr.async_get(self.hass)
        keep = self.current_identifiers()
        for device in dr.async_entries_for_config_entry(registry, self.config_entry.entry_id):
            if not device.identifiers & keep:
                compat.remove_device_from_entry(registry, device, self.config_entry.entry_id)

    # --- meters that come and go -----------------------------------------------

    @callback
    def async_add_meters_listener(self, listener: MetersListener) -> CALLBACK_TYPE:
        """Call `listener` with the addresses of meters added while running (platforms add entities)."""
        self._meters_listeners.append(listener)

        def remove() -> None:
            self._meters_listeners.remove(listener)

        return remove

    @callback
    def async_meters_added(self, protocols: Mapping[str, Protocol]) -> None:
        """Meters that appeared: devices behind their (possibly new) hubs, then their entities."""
        new = {address: protocol for address, protocol in protocols.items() if address not in self.meters}
        if not new:
            return
        self.meters.update(new)
        for address in new:
            self._guards.setdefault(address, MonotonicGuard())
            LOGGER.info("Meter %s appeared; adding it", address)
        self.async_register_hub()
        for listener in list(self._meters_listeners):
            listener(list(new))

    @callback
    def async_meters_removed(self, addresses: Iterable[str], *, remove_devices: bool = True) -> None:
        """Meters that disappeared: their devices (and so their entities) are removed."""
        gone = [address for address in addresses if address in self.meters]
        if not gone:
            return
        for address in gone:
            del self.meters[address]
            self._guards.pop(address, None)
            self._newest.pop(address, None)
            self.failures.pop(address, None)
            self._devices_synced.discard(address)
            LOGGER.info("Meter %s is gone; removing it", address)
        if remove_devices:
            self.async_remove_stale_devices()

    # --- what entities use --------------------------------------------------

    def reading(self, address: str) -> MeterReading | None:
        """The current reading of a meter, None when it is unavailable."""
        if not self.last_update_success or not self.data:
            return None
        return self.data.get(address)

    def diagnostics(self) -> dict[str, Any]:
        """Connection-specific state for the diagnostics download."""
        return {
            "meters": {address: str(protocol) for address, protocol in self.meters.items()},
            "failures": dict(self.failures),
            "held_values": {address: guard.held for address, guard in self._guards.items()},
            "readings": {address: reading.as_dict() for address, reading in (self.data or {}).items()},
        }

    # --- what connection modes use ------------------------------------------

    # Whether a reading's own time orders the readings of a meter (Push: when the gateway read
    # it). On a bus the read order does: the bus reads one meter at a time, and a meter clock
    # set back (Sync clock) is no reason to refuse the readings after it.
    orders_by_timestamp: bool = False

    def publishable(self, reading: MeterReading) -> MeterReading:
        """The reading to publish for one just taken: counting registers protected against a
        drop, and never one older than the newest taken before (that one instead).

        Call it as each reading arrives (read order); a poll publishes what it read through
        _async_update_data, which swaps in any newer reading taken meanwhile (a write's
        read-back, a relay's confirmation).
        """
        newest = self._newest.get(reading.address)
        if newest is not None and self._older(reading, newest):
            LOGGER.debug(
                "Meter %s: a reading taken %s came after one taken %s; keeping the newer",
                reading.address,
                reading.timestamp,
                newest.timestamp,
            )
            return newest
        published = self._guards.setdefault(reading.address, MonotonicGuard()).apply(reading)
        self._newest[reading.address] = published
        return published

    def _older(self, reading: MeterReading, than: MeterReading) -> bool:
        """Whether `reading` was taken before `than` (by their own times, where they order)."""
        if not self.orders_by_timestamp or than.timestamp is None:
            return False  # read order: `reading` arrived last, so it is the newer
        if reading.timestamp is None:
            return True  # a read of unknown age never replaces one whose time is known
        if than.timestamp > dt_util.utcnow() + CLOCK_SKEW:
            return False  # a time stamp from the future orders nothing
        return reading.timestamp < than.timestamp

    async def _async_update_data(self) -> dict[str, MeterReading]:
        """One poll of the connection, published with the newest reading of each meter.

        A write or a relay's confirmation may publish a reading while a poll is still
        reading other meters: the poll's own, older reading of that meter is not published
        over it. Nothing awaits between here and DataUpdateCoordinator storing the result.
        """
        return self._newest_of(await self._async_poll())

    async def _async_poll(self) -> dict[str, MeterReading]:
        """Read every meter once (each reading through publishable); the connection's own."""
        raise NotImplementedError

    def _newest_of(self, data: Mapping[str, MeterReading]) -> dict[str, MeterReading]:
        """`data` with each meter's newest reading; a meter the poll found silent but that has
        answered since (a write's read-back) keeps the reading it gave then."""
        newest: dict[str, MeterReading] = {}
        for address in self.meters:
            if address in data:
                newest[address] = self._newest.get(address, data[address])
            elif address not in self.failures and (later := self._newest.get(address)) is not None:
                newest[address] = later
        newest.update((address, reading) for address, reading in data.items() if address not in newest)
        return newest

    def meter_answered(self, address: str) -> None:
        """Log a meter's recovery once."""
        if self.failures.pop(address, None) is not None:
            LOGGER.info("Meter %s is answering again", address)

    def meter_failed(self, address: str, reason: str) -> None:
        """Log a meter going silent once."""
        if address not in self.failures:
            LOGGER.warning("Meter %s is unavailable (%s)", address, reason)
        self.failures[address] = reason

    def sync_device(self, reading: MeterReading) -> None:
        """Put model and firmware into the device registry once they are known."""
        if reading.address in self._devices_synced:
            return
        registry = dr.async_get(self.hass)
        device = compat.get_device(registry, (DOMAIN, reading.address), self.config_entry.entry_id)
        if device is None:
            return  # entities create it, with the model, on setup
        self._devices_synced.add(reading.address)
        registry.async_update_device(
            device.id,
            model=model_name(reading.model),
            model_id=reading.model,
            sw_version=reading.firmware,
        )

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> Callable[[], None]:
        """Listen as DataUpdateCoordinator does, and keep the listener in this coordinator's own
        registry too, which a large fleet's update goes through in slices."""
        remove = super().async_add_listener(update_callback, context)
        token = object()
        self._entity_listeners[token] = update_callback

        @callback
        def remove_listener() -> None:
            self._entity_listeners.pop(token, None)
            remove()

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Tell the entities; a large fleet in slices, so no single step holds the loop long."""
        if self._slices is not None and not self._slices.done():
            self._slices.cancel()  # a newer update supersedes the one still being written
        if len(self._entity_listeners) <= SLICED_ABOVE:
            super().async_update_listeners()
            return
        # The tokens only: a list of (token, callback) pairs would be thousands of tuples that
        # live through the slices, and reach the collector's oldest generation.
        tokens = list(self._entity_listeners)
        self._slices = self.config_entry.async_create_task(
            self.hass, self._async_update_in_slices(tokens), "ekm update listeners"
        )

    async def _async_update_in_slices(self, tokens: list[object]) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        for token in tokens:
            if time.perf_counter() > deadline:
                await asyncio.sleep(0)
                deadline = time.perf_counter() + SLICE_SECONDS
            update_callback = self._entity_listeners.get(token)
            if update_callback is not None:  # not removed meanwhile
                update_callback()
