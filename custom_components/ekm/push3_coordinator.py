"""The Push3 mode: the meters of one Push3 gateway, read over its local API.

The gateway answers for all its meters at once; a meter that starts answering is
added while running, one missing from ABSENT_POLLS answers in a row is removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .aioekm import EkmError, MeterReading, Protocol, Push3Client
from .const import CONF_MAC, CONF_METERS, DEFAULT_PUSH3_SCAN_INTERVAL, DOMAIN, LOGGER
from .flow_push import normalize_mac
from .helpers import (
    connected_elsewhere,
    gateway_identifier,
    gateway_in_cloud,
    meters_to_leave,
    push3_gateway_in_cloud,
)
from .push_source import PushSourceCoordinator
from .runtime import EkmConfigEntry

ABSENT_POLLS: Final = 10


def mac_colons(mac: str) -> str:
    digits = mac.replace(":", "").replace("-", "").lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)) if len(digits) == 12 else mac


class Push3Coordinator(PushSourceCoordinator):
    """Polls one Push3 gateway on the LAN."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EkmConfigEntry,
        client: Push3Client,
        meters: Mapping[str, Protocol],
    ) -> None:
        # Meters another entry has (e.g. the cloud entry of the same gateway) stay there.
        taken = meters_to_leave(hass, entry)
        meters = {a: p for a, p in meters.items() if a not in taken}
        super().__init__(hass, entry, meters=meters, default_interval=DEFAULT_PUSH3_SCAN_INTERVAL)
        self.client = client
        self.host: str = entry.data[CONF_HOST]
        mac = entry.data.get(CONF_MAC)
        self.mac: str | None = str(mac).lower() if mac else None
        if self.mac is None:
            self._learn_mac(meters)  # every meter the gateway answered for, others' too
        self._absent: dict[str, int] = {}
        # Claimed at once, so an entry setting up beside this one does not take them too; what
        # was claimed before stays claimed until a poll succeeds (a failed setup shrinks nothing).
        self._async_store({**entry.data.get(CONF_METERS, {}), **self._stored_form()})

    def hub_devices(self) -> list[DeviceInfo]:
        info = DeviceInfo(
            identifiers={self.hub_of("")},
            manufacturer="EKM Metering",
            model="Push3",
            name=self.config_entry.title,
            configuration_url=f"http://{self.host}",
        )
        if self.mac is not None:
            info["connections"] = {(dr.CONNECTION_NETWORK_MAC, mac_colons(self.mac))}
            # The local API tells neither model nor firmware; a cloud entry's account does.
            if (gateway := gateway_in_cloud(self.hass, self.mac)) is not None:
                info["model"] = gateway.model or "Push3"
                info["sw_version"] = gateway.firmware
        return [info]

    def hub_of(self, address: str) -> tuple[str, str]:
        return self.hub_identifier if self.mac is None else gateway_identifier(self.mac)

    def gateway_macs(self) -> list[str]:
        if self.mac is not None and connected_elsewhere(self.hass, self.mac, self.config_entry.entry_id):
            return []  # a cloud entry reading the same gateway has its Connected sensor
        return [self.mac or ""]

    def gateway_device(self, mac: str) -> tuple[str, str]:
        return self.hub_of("")

    def gateway_connected(self, mac: str) -> bool | None:
        return self.last_update_success  # the gateway answered its last poll

    @callback
    def _learn_mac(self, addresses: Iterable[str]) -> bool:
        """Take the gateway's MAC from a loaded cloud entry that lists it with these meters, and
        store it as DHCP discovery does: the gateway then has one device, whichever entry made it."""
        gateway = push3_gateway_in_cloud(self.hass, addresses)
        if gateway is None:
            return False
        self.mac = normalize_mac(gateway.mac)
        entry = self.config_entry
        taken = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, self.mac) is not None
        LOGGER.info("Push3 gateway %s is %s (from EKM Push)", self.host, mac_colons(self.mac))
        self.hass.config_entries.async_update_entry(
            entry, unique_id=entry.unique_id if taken else self.mac, data={**entry.data, CONF_MAC: self.mac}
        )
        return True

    async def _async_poll(self) -> dict[str, MeterReading]:
        self.polls += 1
        try:
            result = await self.client.read_meters(map_fields=self.fields_to_map())
        except EkmError as err:
            raise self.poll_failed(err, f"Push3 gateway {self.host}") from err
        if self.mac is None and self._learn_mac(result.readings):
            # A cloud entry that set up after this one knows the MAC: set up again with it, so the
            # gateway's device (and its meters' link to it) is made once, by MAC.
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        if new := [a for a in result.readings if a not in self.meters]:
            # A meter that starts answering joins this entry unless another entry reads it.
            taken = meters_to_leave(self.hass, self.config_entry)
            self.async_meters_added({a: result.readings[a].protocol for a in new if a not in taken})
        answered = set(result.readings) | set(result.problems)
        gone: list[str] = []
        for address in self.meters:
            if address in answered:
                self._absent.pop(address, None)
                continue
            self._absent[address] = count = self._absent.get(address, 0) + 1
            if count >= ABSENT_POLLS:
                gone.append(address)
        for address in gone:
            self._absent.pop(address, None)
        self.async_meters_removed(gone)
        self.async_store_meters()
        return self.accept(result)

    @callback
    def async_store_meters(self) -> None:
        """Keep the gateway's meters in the entry's data, where flows and later entries look for
        meters another entry already reads."""
        self._async_store(self._stored_form())

    def _stored_form(self) -> dict[str, str]:
        return {address: str(protocol) for address, protocol in self.meters.items()}

    @callback
    def _async_store(self, meters: dict[str, str]) -> None:
        meters = dict(sorted(meters.items()))
        if self.config_entry.data.get(CONF_METERS) != meters:
            self.hass.config_entries.async_update_entry(
                self.config_entry, data={**self.config_entry.data, CONF_METERS: meters}
            )

    def diagnostics(self) -> dict[str, Any]:
        return {**super().diagnostics(), "absent_polls": dict(self._absent), "requests": self.client.requests}
