"""Coordinators: one per connection, each yields the latest valid reading per meter.

EkmCoordinator is what entities see; it does not know how readings arrive.
BusCoordinator feeds it from an RS-485 bus; the cloud and Push3 modes will be
siblings of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from . import compat
from .aioekm.errors import EkmConnectionError, EkmError, WriteUnconfirmedError
from .aioekm.readings import MeterReading, Protocol, model_name
from .aioekm.rs485.bus import EkmBus
from .const import CONF_PASSWORD, CONF_PORT, DEFAULT_PASSWORD, DOMAIN, LOGGER
from .guard import MonotonicGuard
from .helpers import BusOptions, failure_reason, meter_device_info, port_label

type EkmConfigEntry = ConfigEntry[EkmCoordinator]


class EkmCoordinator(DataUpdateCoordinator[dict[str, MeterReading]]):
    """Latest published reading of each meter that answered the last cycle."""

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
        # Meters currently not answering and why; each is logged once down and once up.
        self.failures: dict[str, str] = {}
        self._devices_synced: set[str] = set()
        self._via_hub = DeviceInfo()

    # --- what entities use --------------------------------------------------

    @property
    def hub_identifier(self) -> tuple[str, str]:
        """Device identifier of the bus/gateway the meters hang off."""
        return (DOMAIN, f"hub_{self.config_entry.entry_id}")

    def async_register_hub(self) -> None:
        """Create the device of the connection itself; meters name it as their via device."""
        hub = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={self.hub_identifier},
            manufacturer="EKM Metering",
            name=self.config_entry.title,
        )
        self._via_hub = compat.via_device(hub)

    def meter_device_info(self, address: str) -> DeviceInfo:
        """The device of one meter, behind the hub device."""
        return DeviceInfo(**meter_device_info(address, (self.data or {}).get(address)), **self._via_hub)

    def reading(self, address: str) -> MeterReading | None:
        """The current reading of a meter, None when it is unavailable."""
        if not self.last_update_success or not self.data:
            return None
        return self.data.get(address)

    async def async_set_relay(self, address: str, relay: int, closed: bool, seconds: int = 0) -> None:
        """Switch a relay and publish the confirmed state."""
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_supported")

    def shared_bus(self, port: str) -> EkmBus | None:
        """The open RS-485 bus on `port` of this connection, if it has one."""
        return None

    def diagnostics(self) -> dict[str, Any]:
        """Connection-specific state for the diagnostics download."""
        return {
            "meters": {address: str(protocol) for address, protocol in self.meters.items()},
            "failures": dict(self.failures),
            "held_values": {address: guard.held for address, guard in self._guards.items()},
            "readings": {address: reading.as_dict() for address, reading in (self.data or {}).items()},
        }

    # --- what connection modes use ------------------------------------------

    def publishable(self, reading: MeterReading) -> MeterReading:
        """A reading with counting registers protected against a drop."""
        return self._guards.setdefault(reading.address, MonotonicGuard()).apply(reading)

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


class BusCoordinator(EkmCoordinator):
    """Polls the meters of one RS-485 bus in turn."""

    def __init__(
        self, hass: HomeAssistant, entry: EkmConfigEntry, bus: EkmBus, meters: Mapping[str, Protocol]
    ) -> None:
        options = BusOptions.of(entry.options)
        super().__init__(hass, entry, meters=meters, update_interval=timedelta(seconds=options.scan_interval))
        self.bus = bus
        self._b_every = options.b_frame_every
        self._cycle = 0
        # v4 meters whose B frame must be read on the next cycle (e.g. after a write).
        self._need_b: set[str] = set(meters)

    @property
    def password(self) -> str:
        """The meter password for writes (the factory one when none is set)."""
        password: str = self.config_entry.data.get(CONF_PASSWORD) or DEFAULT_PASSWORD
        return password

    async def _async_update_data(self) -> dict[str, MeterReading]:
        read_b_all = self._cycle % self._b_every == 0
        self._cycle += 1
        data: dict[str, MeterReading] = {}
        for address, protocol in self.meters.items():
            read_b = protocol is Protocol.V4 and (read_b_all or address in self._need_b)
            try:
                reading = await self.bus.read(address, protocol=protocol, read_b=read_b)
            except EkmConnectionError as err:
                # The whole bus is gone: every entity becomes unavailable; the bus reconnects.
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="bus_unavailable",
                    translation_placeholders={"port": port_label(self.config_entry.data[CONF_PORT])},
                ) from err
            except EkmError as err:
                self.meter_failed(address, failure_reason(err))
                continue
            if read_b:
                self._need_b.discard(address)
            self.meter_answered(address)
            self.sync_device(reading)
            data[address] = self.publishable(reading)
        if not data:
            # Nothing on the bus answers: more likely the adapter or wiring than every meter.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_meter_answers",
                translation_placeholders={"port": port_label(self.config_entry.data[CONF_PORT])},
            )
        return data

    async def async_set_relay(self, address: str, relay: int, closed: bool, seconds: int = 0) -> None:
        """Write the relay once (never retried), then publish the meter's read-back."""
        self._need_b.add(address)
        try:
            reading = await self.bus.set_relay(address, relay, closed, seconds, password=self.password)
        except WriteUnconfirmedError as err:
            # The ACK was lost; the read-back tells whether the write took effect.
            if err.reading is None or err.reading.relay_closed(relay) is not closed:
                raise
            reading = err.reading
        if reading.relay_closed(relay) is not closed:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="relay_not_switched",
                translation_placeholders={"relay": str(relay), "address": address},
            )
        self.meter_answered(address)
        self.async_set_updated_data({**(self.data or {}), address: self.publishable(reading)})

    def shared_bus(self, port: str) -> EkmBus | None:
        return self.bus if port == self.bus.url else None

    def diagnostics(self) -> dict[str, Any]:
        stats = {address: asdict(self.bus.stats(address)) for address in self.meters}
        return {
            **super().diagnostics(),
            "connected": self.bus.connected,
            "cycle": self._cycle,
            "stats": stats,
        }
