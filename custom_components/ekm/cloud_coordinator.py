"""The EKM Push cloud mode: every meter of a Push key, read through the Realtime API.

One poll is one PushClient.read_meters call (⌈meters / batch⌉ requests); the Account API
is read again every ACCOUNT_EVERY polls to add meters that appeared and remove those that
went; Summary V2 gateway status feeds each gateway's Connected sensor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo

from .aioekm import (
    Account,
    AccountMeter,
    AuthenticationError,
    EkmError,
    Gateway,
    MeterReading,
    Protocol,
    PushClient,
    Unavailable,
    protocol_of_model,
)
from .const import CONF_METERS, DEFAULT_CLOUD_SCAN_INTERVAL, DOMAIN, LOGGER
from .coordinator import gateway_identifier
from .helpers import connected_elsewhere, meters_to_leave
from .push_source import MAPPED_FIELDS, PushSourceCoordinator
from .runtime import EkmConfigEntry

ACCOUNT_EVERY: Final = 10  # polls between two reads of the Account API
# A meter leaves the entry only when this many reads of the Account API in a row lack it:
# EKM drops a meter from an account for a moment now and then, and it comes back.
ACCOUNT_MISSES_TO_REMOVE: Final = 3
RELAY_CONFIRM_TIMEOUT: Final = 30.0  # seconds to wait for State_Out to show a switched relay
RELAY_CONFIRM_EVERY: Final = 2.0


def protocol_of(meter: AccountMeter) -> Protocol:
    """The protocol the account gives a meter (else from its model; v4 when neither says)."""
    if meter.protocol is not None:
        try:
            return Protocol(meter.protocol.lower())
        except ValueError:
            pass
    if meter.model is not None:
        try:
            return protocol_of_model(meter.model)
        except ValueError:
            pass
    return Protocol.V4


def unknown_meter_issue(entry_id: str, address: str) -> str:
    return f"unknown_meter_{entry_id}_{address}"


class CloudCoordinator(PushSourceCoordinator):
    """Polls the picked meters of one Push key."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EkmConfigEntry,
        client: PushClient,
        account: Account,
        *,
        picked: Collection[str],
    ) -> None:
        present = {meter.address: meter for meter in account.meters}
        # Meters the user left out are never added here; those another entry has stay there.
        self._excluded = set(present) - set(picked)
        taken = meters_to_leave(hass, entry)
        meters = {a: protocol_of(m) for a, m in present.items() if a not in self._excluded and a not in taken}
        super().__init__(hass, entry, meters=meters, default_interval=DEFAULT_CLOUD_SCAN_INTERVAL)
        self.client = client
        # The user's pick as stored: it keeps a meter the account dropped, so that meter is
        # read again when it comes back (after a reload too) instead of looking left out.
        self._picked = set(picked) | set(meters)
        # Without a stored pick the entry takes every meter of its key, now and later.
        self._every_meter = not entry.data.get(CONF_METERS)
        self._misses: dict[str, int] = {}  # Account API reads in a row without the meter
        self.account = account
        self.gateway_status: dict[str, bool | None] = {}
        self._account_due = False

    # --- devices ------------------------------------------------------------

    @property
    def account(self) -> Account:
        return self._account

    @account.setter
    def account(self, account: Account) -> None:
        """What the key sees, with each meter's gateway looked up once (a fleet has thousands)."""
        self._account = account
        gateways = {g.mac: g for g in account.gateways}
        self._gateway_of = {
            m.address: gateways.get(m.gateway.lower()) if m.gateway else None for m in account.meters
        }

    def gateway_of(self, address: str) -> Gateway | None:
        return self._gateway_of.get(address)

    def gateways(self) -> list[Gateway]:
        """The gateways of the meters this entry reads."""
        macs = {g.mac for a in self.meters if (g := self.gateway_of(a)) is not None}
        return [g for g in self.account.gateways if g.mac in macs]

    def hub_devices(self) -> list[DeviceInfo]:
        hubs = [
            DeviceInfo(
                identifiers={gateway_identifier(g.mac)},
                connections={(dr.CONNECTION_NETWORK_MAC, g.mac_colons)},
                manufacturer="EKM Metering",
                model=g.model,
                sw_version=g.firmware,
                name=g.name or f"Gateway {g.mac_colons}",
            )
            for g in self.gateways()
        ]
        if any(self.gateway_of(a) is None for a in self.meters):
            hubs.extend(super().hub_devices())
        return hubs

    def other_devices(self) -> list[tuple[DeviceInfo, tuple[str, str] | None]]:
        """The ioStacks of the gateways this entry reads, behind their gateway (no entities yet:
        EKM does not publish their field names)."""
        return [
            (
                DeviceInfo(
                    identifiers={(DOMAIN, f"iostack_{iostack.id}")},
                    manufacturer="EKM Metering",
                    model="ioStack",
                    name=iostack.name or f"ioStack {iostack.id}",
                ),
                gateway_identifier(gateway.mac),
            )
            for gateway in self.gateways()
            for iostack in gateway.iostacks
        ]

    def hub_of(self, address: str) -> tuple[str, str]:
        gateway = self.gateway_of(address)
        return self.hub_identifier if gateway is None else gateway_identifier(gateway.mac)

    def meter_device_info(self, address: str) -> DeviceInfo:
        info = super().meter_device_info(address)
        # EKM's Widget for the meter. The URL carries the key, as EKM designed it: it goes to
        # the device registry only, never into a log or the diagnostics.
        info["configuration_url"] = self.client.widget_url(address)
        return info

    def relay_capable(self, address: str) -> bool:
        """Relays switch through a Push3 gateway's sendCommand: none behind older gateways, none on v3."""
        gateway = self.gateway_of(address)
        protocol = self.meters.get(address)
        return protocol is Protocol.V4 and gateway is not None and gateway.is_push3 is True

    def gateway_macs(self) -> list[str]:
        entry_id = self.config_entry.entry_id
        return [g.mac for g in self.gateways() if not connected_elsewhere(self.hass, g.mac, entry_id)]

    def gateway_connected(self, mac: str) -> bool | None:
        return self.gateway_status.get(mac)

    # --- polling --------------------------------------------------------------

    @callback
    def async_look_for_meters(self) -> None:
        self._account_due = True  # new meters come from the Account API
        super().async_look_for_meters()

    async def _async_poll(self) -> dict[str, MeterReading]:
        self.polls += 1
        if self._account_due or self.polls % ACCOUNT_EVERY == 0:
            await self._async_refresh_account()
        try:
            result = await self.client.read_meters(list(self.meters), map_fields=self.fields_to_map())
        except EkmError as err:
            raise self.poll_failed(err, "EKM Push") from err
        data = self.accept(result)
        for address in self.meters:
            problem = self.problems.get(address)
            if problem is not None and problem.reason is Unavailable.UNKNOWN_METER:
                self._report_unknown(address)
                self._account_due = True  # gone from the account too? Then it is removed.
            else:
                ir.async_delete_issue(
                    self.hass, DOMAIN, unknown_meter_issue(self.config_entry.entry_id, address)
                )
        await self._async_gateway_status()
        return data

    def _report_unknown(self, address: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            unknown_meter_issue(self.config_entry.entry_id, address),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="unknown_meter",
            translation_placeholders={"address": address, "entry": self.config_entry.title},
        )

    async def _async_gateway_status(self) -> None:
        macs = [g.mac for g in self.gateways()]
        if not macs:
            return
        try:
            statuses = await self.client.gateway_status(macs)
        except AuthenticationError as err:
            raise self.poll_failed(err, "EKM Push") from err
        except EkmError as err:
            # The meters' readings matter more; Connected is unknown until the next poll.
            LOGGER.debug("Gateway status unavailable: %s", err)
            self.gateway_status = {}
            return
        self.gateway_status = {s.mac.lower(): s.connected for s in statuses}

    async def _async_refresh_account(self) -> None:
        """Read the Account API again: meters that appeared are added, those gone removed."""
        try:
            account = await self.client.account(deep=True)
        except EkmError as err:
            if isinstance(err, AuthenticationError):
                raise self.poll_failed(err, "EKM Push") from err
            LOGGER.debug("Account API unavailable, meters unchanged: %s", err)
            return
        self._account_due = False
        self.async_apply_account(account)

    def async_apply_account(self, account: Account) -> None:
        """Bring meters, gateways and devices in line with what the key sees now."""
        self.account = account
        present = {meter.address: meter for meter in account.meters}
        taken = meters_to_leave(self.hass, self.config_entry)  # a new meter joins one entry
        new = {
            address: protocol_of(meter)
            for address, meter in present.items()
            if address not in self.meters and address not in self._excluded and address not in taken
        }
        for address in present:
            self._misses.pop(address, None)
        gone = []
        for address in self.meters:
            if address not in present:
                self._misses[address] = self._misses.get(address, 0) + 1
                if self._misses[address] >= ACCOUNT_MISSES_TO_REMOVE:
                    gone.append(address)
        for address in gone:
            self._misses.pop(address, None)
            self.problems.pop(address, None)
            ir.async_delete_issue(self.hass, DOMAIN, unknown_meter_issue(self.config_entry.entry_id, address))
        self.async_meters_removed(gone)
        self.async_meters_added(new)
        self.async_register_hub()  # gateways and ioStacks may have come, or changed names
        self.async_remove_stale_devices()  # a gateway left without meters, an ioStack gone
        if new:
            self._picked |= new.keys()
            self._store_picked()

    @callback
    def async_forget_meter(self, address: str) -> bool:
        """A meter EKM no longer knows for this key (1200): deleted at the user's request."""
        problem = self.problems.get(address)
        if problem is None or problem.reason is not Unavailable.UNKNOWN_METER:
            return False
        self._excluded.add(address)
        self._picked.discard(address)
        ir.async_delete_issue(self.hass, DOMAIN, unknown_meter_issue(self.config_entry.entry_id, address))
        self.problems.pop(address, None)
        self.async_meters_removed([address], remove_devices=False)  # Home Assistant removes it
        self._store_picked()
        return True

    def _store_picked(self) -> None:
        if self._every_meter:
            return  # nothing was picked: new meters join by themselves
        self.hass.config_entries.async_update_entry(
            self.config_entry, data={**self.config_entry.data, CONF_METERS: sorted(self._picked)}
        )

    # --- relays ---------------------------------------------------------------

    async def async_set_relay(self, address: str, relay: int, closed: bool, seconds: int = 0) -> None:
        """sendCommand SetRelay through the meter's Push3, then read State_Out until it shows."""
        gateway = self.gateway_of(address)
        if gateway is None or not self.relay_capable(address):
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_supported")
        try:
            await self.client.set_relay(gateway.mac, address, relay, closed, seconds)
        except EkmError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={"address": address},
            ) from err
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RELAY_CONFIRM_TIMEOUT
        while True:
            reading = await self._async_read_one(address)
            if reading is not None and reading.relay_closed(relay) is closed:
                self.meter_answered(address)
                self.async_set_updated_data({**(self.data or {}), address: self.publishable(reading)})
                return
            if loop.time() + RELAY_CONFIRM_EVERY > deadline:
                break
            await asyncio.sleep(RELAY_CONFIRM_EVERY)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="relay_not_switched",
            translation_placeholders={"relay": str(relay), "address": address},
        )

    async def _async_read_one(self, address: str) -> MeterReading | None:
        try:
            result = await self.client.read_meters([address], map_fields=MAPPED_FIELDS)
        except EkmError as err:
            LOGGER.debug("Reading meter %s back failed: %s", address, err)
            return None
        return result.readings.get(address)

    def diagnostics(self) -> dict[str, Any]:
        return {
            **super().diagnostics(),
            "key_type": str(self.account.key_type),
            "gateways": {
                g.mac: {
                    "name": g.name,
                    "model": g.model,
                    "firmware": g.firmware,
                    "push3": g.is_push3,
                    "connected": self.gateway_status.get(g.mac),
                }
                for g in self.account.gateways
            },
            "requests": self.client.requests,
        }
