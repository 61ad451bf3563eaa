"""What a loaded entry holds, and what its connection mode can do.

Each mode says what it can do by the fields it fills in EkmRuntimeData: a caller reads the
field (None: this connection cannot) instead of asking which coordinator class it has.

| can do                                   | RS-485 | cloud | Push3 |
|------------------------------------------|--------|-------|-------|
| readings, meter devices (`coordinator`)  | yes    | yes   | yes   |
| switch relays (`relays`)                 | yes    | yes   | -     |
| write settings, read tariff and month tables (`bus`) | yes | - | - |
| cloud triggers and gateway commands (`cloud`) | -  | yes   | -     |
| gateways' Connected sensors (`gateways`) | -      | yes   | yes   |
| look for meters another entry freed (`meter_search`) | - | yes | yes |
| Summary history into statistics (`history`) | -   | yes   | -     |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .bus_coordinator import BusCoordinator
    from .cloud_coordinator import CloudCoordinator
    from .coordinator import EkmCoordinator
    from .history import HistoryImporter

type EkmConfigEntry = ConfigEntry[EkmRuntimeData]


class RelaySwitch(Protocol):
    """A connection that switches the relays of its meters."""

    def relay_capable(self, address: str) -> bool:
        """Whether meter `address` has relays this connection can switch."""

    async def async_set_relay(self, address: str, relay: int, closed: bool, seconds: int = 0) -> None:
        """Switch a relay and publish the state the meter reports."""


class GatewayStatus(Protocol):
    """A connection whose meters sit behind gateways that can be online or not."""

    def gateway_macs(self) -> list[str]:
        """The gateways that get a Connected sensor."""

    def gateway_device(self, mac: str) -> tuple[str, str]:
        """The device identifier of gateway `mac`."""

    def gateway_connected(self, mac: str) -> bool | None:
        """Whether gateway `mac` is connected; None when unknown."""


class MeterSearch(Protocol):
    """A connection whose meters come and go while it runs."""

    def async_look_for_meters(self) -> None:
        """Another entry freed meters: look soon for those this connection serves."""


@dataclass(slots=True)
class EkmRuntimeData:
    """Everything one loaded entry holds; a field is None where its mode cannot do that."""

    coordinator: EkmCoordinator
    relays: RelaySwitch | None = None
    bus: BusCoordinator | None = None
    cloud: CloudCoordinator | None = None
    gateways: GatewayStatus | None = None
    meter_search: MeterSearch | None = None
    history: HistoryImporter | None = None  # set once the import starts (with the recorder)
