"""The config flow of a Push3 gateway on the LAN: its address and local key, checked by reading its
meters; found by DHCP, it asks the key only. A new key on reauth, address or key on reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
import voluptuous as vol

from . import compat
from .const import CONF_CONNECTION, CONF_MAC, CONF_METERS, CONNECTION_PUSH3, DOMAIN
from .flow_common import (
    NO_OWNERS,
    PASSWORD_SELECTOR,
    TEXT_SELECTOR,
    form_errors,
    owned_placeholders,
    owners_of,
    text_field,
)
from .flow_push import Push3Host, async_read_push3, normalize_mac, parse_host
from .helpers import connection_of
from .ports import async_host_addresses

# A discovered Push3 serves its local API on the HTTP port.
DISCOVERY_PORT = 80

KEY_SCHEMA: Final = vol.Schema({vol.Required(CONF_API_KEY): PASSWORD_SELECTOR})


def _push3_title(host: str, mac: str | None) -> str:
    return f"Push3 {_mac_colons(mac)}" if mac else f"Push3 {host}"


def _mac_colons(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, len(mac), 2))


def _push3_data(host: str, key: str, mac: str | None, meters: Mapping[str, str]) -> dict[str, Any]:
    # The meters from the start: an entry set up beside this one before its first poll (at
    # Home Assistant's start) must see which meters it reads.
    data: dict[str, Any] = {
        CONF_CONNECTION: CONNECTION_PUSH3,
        CONF_HOST: host,
        CONF_API_KEY: key,
        CONF_METERS: dict(meters),
    }
    if mac:
        data[CONF_MAC] = mac
    return data


def _host_schema(key_field: vol.Marker) -> vol.Schema:
    """The gateway's address and its local key."""
    return vol.Schema({vol.Required(CONF_HOST): TEXT_SELECTOR, key_field: PASSWORD_SELECTOR})


class Push3Flow(ConfigFlow):
    """The steps of a Push3 gateway: push3, dhcp and dhcp_confirm; reauth_push3 and reconfigure_push3."""

    def __init__(self) -> None:
        super().__init__()
        self._discovered: Push3Host | None = None
        self._mac: str | None = None
        self._push3_meters: dict[str, str] = {}  # the gateway's meters no other entry has
        self._push3_read: dict[str, str] = {}  # every meter the gateway answered for

    async def async_step_push3(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A gateway's address and local key, checked by reading its meters."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            host = parse_host(text_field(user_input, CONF_HOST))
            key = text_field(user_input, CONF_API_KEY)
            if host is None:
                errors[CONF_HOST] = "invalid_host"
            elif not key:
                errors[CONF_API_KEY] = "no_key"
            else:
                await self._async_abort_if_host_configured(host)
                errors, placeholders = await self._async_read_push3(host, key)
                if not errors:
                    # The local API does not tell the gateway's MAC; DHCP discovery adds it later.
                    await self.async_set_unique_id(host.host, raise_on_progress=False)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=_push3_title(host.host, None),
                        data=_push3_data(host.host, key, None, self._push3_meters),
                    )
        suggested = {CONF_HOST: (user_input or {}).get(CONF_HOST, "")}
        return self.async_show_form(
            step_id="push3",
            data_schema=compat.with_suggested_values(
                self, _host_schema(vol.Required(CONF_API_KEY)), suggested
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_read_push3(
        self, host: Push3Host, key: str, exclude: str | None = None, *, check_owners: bool = True
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Errors and placeholders after reading the gateway: none when its meters are free
        (or, without `check_owners`, when the key is right)."""
        try:
            meters = await async_read_push3(self.hass, host.host, key)
        except Exception as err:
            return form_errors(err, "the Push3 gateway", (key,)), dict(NO_OWNERS)
        self._push3_read = meters
        if not check_owners:
            return {}, dict(NO_OWNERS)
        # The entry reads the meters no other entry has; a gateway with none left adds nothing.
        owners = owners_of(self.hass, meters, exclude=exclude)
        if owners and len(owners) == len(meters):
            return {"base": "gateway_meters_configured"}, owned_placeholders(owners)
        self._push3_meters = {address: p for address, p in meters.items() if address not in owners}
        return {}, dict(NO_OWNERS)

    async def _async_read_with_key(
        self, host: Push3Host, user_input: Mapping[str, Any], *, check_owners: bool = True
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The key of a form that asks only for it, and the errors and placeholders of reading
        the gateway with it (none read without a key)."""
        key = text_field(user_input, CONF_API_KEY)
        if not key:
            return key, {CONF_API_KEY: "no_key"}, dict(NO_OWNERS)
        return key, *await self._async_read_push3(host, key, check_owners=check_owners)

    async def _async_abort_if_host_configured(self, host: Push3Host, exclude: str | None = None) -> None:
        """Another Push3 entry reads the same gateway, however its address was written
        (`localhost:P` and `127.0.0.1:P` are one gateway): names are resolved first."""
        addresses: frozenset[str] | None = None
        for entry in self._async_current_entries(include_ignore=False):
            if entry.entry_id == exclude or connection_of(entry) != CONNECTION_PUSH3:
                continue
            if entry.data[CONF_HOST] == host.host:  # stored as parse_host gives it
                raise AbortFlow("already_configured")
            old = parse_host(entry.data[CONF_HOST])
            if old is None or old.port != host.port:
                continue
            if addresses is None:
                addresses = await async_host_addresses(host.name)
            if addresses & await async_host_addresses(old.name):
                raise AbortFlow("already_configured")

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A device with EKM's MAC prefix on the network: a Push3 gateway."""
        mac = normalize_mac(discovery_info.macaddress)
        ip = discovery_info.ip
        await self.async_set_unique_id(mac)
        known = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, mac)
        if known is not None:
            # Keep a port typed by the user: DHCP only tells the address.
            old = parse_host(known.data.get(CONF_HOST, ""))
            self._abort_if_unique_id_configured(updates={CONF_HOST: ip + (old.port_suffix if old else "")})
        for entry in self._async_current_entries(include_ignore=False):
            if connection_of(entry) != CONNECTION_PUSH3 or CONF_MAC in entry.data:
                continue
            old = parse_host(entry.data[CONF_HOST])
            if old is not None and (old.name == ip or ip in await async_host_addresses(old.name)):
                # Added by address before its MAC was known: now it is.
                self.hass.config_entries.async_update_entry(
                    entry, unique_id=mac, data={**entry.data, CONF_MAC: mac}
                )
                if entry.state is ConfigEntryState.LOADED:
                    # Its gateway device is known by the MAC from now on (one device per gateway).
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_abort(reason="already_configured")
        self._mac = mac
        self._discovered = parse_host(ip if DISCOVERY_PORT == 80 else f"{ip}:{DISCOVERY_PORT}")
        self.context["title_placeholders"] = {"name": _push3_title(ip, mac)}
        return await self.async_step_dhcp_confirm()

    async def async_step_dhcp_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a discovered gateway: only its local key is asked."""
        assert self._discovered is not None and self._mac is not None
        host = self._discovered
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            key, errors, placeholders = await self._async_read_with_key(host, user_input)
            if not errors:
                return self.async_create_entry(
                    title=_push3_title(host.host, self._mac),
                    data=_push3_data(host.host, key, self._mac, self._push3_meters),
                )
        return self.async_show_form(
            step_id="dhcp_confirm",
            data_schema=compat.with_suggested_values(self, KEY_SCHEMA, {}),
            errors=errors,
            description_placeholders={"mac": _mac_colons(self._mac), "host": host.host, **placeholders},
        )

    async def async_step_reauth_push3(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The gateway refused its key: ask for the new one."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            host = parse_host(entry.data[CONF_HOST])
            assert host is not None
            # A new key for the same gateway: its meters are this entry's business already.
            key, errors, placeholders = await self._async_read_with_key(host, user_input, check_owners=False)
            stored = set(entry.data.get(CONF_METERS) or ())
            if not errors and stored and not stored & set(self._push3_read):
                errors = {"base": "other_gateway"}  # the address now leads elsewhere (DHCP)
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_KEY: key}, reason="reauth_successful"
                )
        return self.async_show_form(
            step_id="reauth_push3",
            data_schema=compat.with_suggested_values(self, KEY_SCHEMA, {}),
            errors=errors,
            description_placeholders={"name": entry.title, "host": entry.data[CONF_HOST], **placeholders},
        )

    async def async_step_reconfigure_push3(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the gateway's address or key; an empty key keeps the current one."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            host = parse_host(text_field(user_input, CONF_HOST))
            key = text_field(user_input, CONF_API_KEY) or entry.data[CONF_API_KEY]
            if host is None:
                errors[CONF_HOST] = "invalid_host"
            else:
                await self._async_abort_if_host_configured(host, exclude=entry.entry_id)
                errors, placeholders = await self._async_read_push3(host, key, exclude=entry.entry_id)
                if not errors:
                    # A gateway known by its MAC keeps it; one known by its address moves with it.
                    unique_id = entry.unique_id if CONF_MAC in entry.data else host.host
                    return self.async_update_reload_and_abort(
                        entry, unique_id=unique_id, data_updates={CONF_HOST: host.host, CONF_API_KEY: key}
                    )
        suggested = {CONF_HOST: (user_input or {}).get(CONF_HOST, entry.data[CONF_HOST])}
        return self.async_show_form(
            step_id="reconfigure_push3",
            data_schema=compat.with_suggested_values(
                self, _host_schema(vol.Optional(CONF_API_KEY)), suggested
            ),
            errors=errors,
            description_placeholders={"name": entry.title, **placeholders},
        )
