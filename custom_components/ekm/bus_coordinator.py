"""The RS-485 mode: the meters of one bus, polled in turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed

from .aioekm import (
    EkmBus,
    EkmConnectionError,
    EkmError,
    MeterReading,
    Protocol,
    TariffTables,
    WriteUnconfirmedError,
)
from .const import CONF_PASSWORD, CONF_PORT, DEFAULT_PASSWORD, DOMAIN, LOGGER
from .coordinator import EkmCoordinator
from .helpers import BusOptions, failure_reason, port_label
from .runtime import EkmConfigEntry


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
        # Each meter's time-of-use tables, for "Tariff now" (sensor_tariff.py): read once, one
        # meter per poll (three table reads), again after a schedule write.
        self.tariff_tables: dict[str, TariffTables] = {}

    @property
    def password(self) -> str:
        """The meter password for writes (the factory one when none is set)."""
        password: str = self.config_entry.data.get(CONF_PASSWORD) or DEFAULT_PASSWORD
        return password

    async def _async_poll(self) -> dict[str, MeterReading]:
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
        await self._async_read_tariff_tables(data)
        if not data:
            # Nothing on the bus answers: more likely the adapter or wiring than every meter.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_meter_answers",
                translation_placeholders={"port": port_label(self.config_entry.data[CONF_PORT])},
            )
        return data

    async def _async_read_tariff_tables(self, answered: Mapping[str, MeterReading]) -> None:
        """Read the tables of one meter that answered and has none yet; a failure waits a poll."""
        address = next((a for a in answered if a not in self.tariff_tables), None)
        if address is None:
            return
        try:
            self.tariff_tables[address] = await self.bus.read_tariffs(address)
        except EkmError as err:
            LOGGER.debug("Meter %s: tariff tables not read (%s); trying again next poll", address, err)

    def tariffs_changed(self, address: str) -> None:
        """A schedule was written: read the meter's tables again on the next poll."""
        self.tariff_tables.pop(address, None)

    async def async_write(
        self,
        address: str,
        write: Callable[[str], Awaitable[MeterReading]],
        took_effect: Callable[[MeterReading], bool] | None,
        *,
        zeroed: Iterable[str] = (),
    ) -> MeterReading:
        """Run one write (given the meter password; never retried), then publish the read-back.

        A lost ACK counts as success only when the read-back shows `took_effect` (None: a
        setting the meter does not report, so nothing can confirm it). Registers in `zeroed`
        were reset by this write: their drop is published at once, not held as a bad read.
        """
        self._need_b.add(address)
        try:
            reading = await write(self.password)
        except WriteUnconfirmedError as err:
            if err.reading is None or took_effect is None or not took_effect(err.reading):
                raise
            reading = err.reading
        self.meter_answered(address)
        if zeroed and (guard := self._guards.get(address)) is not None:
            guard.forget(zeroed)
        self.async_set_updated_data({**(self.data or {}), address: self.publishable(reading)})
        return reading

    def relay_capable(self, address: str) -> bool:
        """v4 and v5 meters have relays; v3 meters none."""
        return self.meters.get(address) is Protocol.V4

    async def async_set_relay(self, address: str, relay: int, closed: bool, seconds: int = 0) -> None:
        """Write the relay once (never retried), then publish the meter's read-back."""

        def switched(reading: MeterReading) -> bool:
            return reading.relay_closed(relay) is closed

        reading = await self.async_write(
            address,
            lambda password: self.bus.set_relay(address, relay, closed, seconds, password=password),
            switched,
        )
        if not switched(reading):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="relay_not_switched",
                translation_placeholders={"relay": str(relay), "address": address},
            )

    async def async_tariff_diagnostics(self) -> dict[str, Any]:
        """Each meter's time-of-use tables, read now (they are not in the A/B frames).

        Read at download time rather than cached: nothing else needs them, and a copy could be
        stale after a write from the meter's own software. Each meter is one session under the
        bus lock, so a poll waits at most one meter's three table reads; a meter that does not
        answer shows the error's text instead of its tables.
        """
        tariffs: dict[str, Any] = {}
        for address in self.meters:
            try:
                tariffs[address] = (await self.bus.read_tariffs(address)).as_dict()
            except EkmError as err:
                tariffs[address] = {"error": f"{type(err).__name__}: {err}"}
        return tariffs

    def diagnostics(self) -> dict[str, Any]:
        stats = {address: asdict(self.bus.stats(address)) for address in self.meters}
        return {
            **super().diagnostics(),
            "connected": self.bus.connected,
            "cycle": self._cycle,
            "stats": stats,
        }
