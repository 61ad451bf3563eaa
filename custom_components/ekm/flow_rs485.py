"""The config flow of an RS-485 bus: its port, meters and password, each meter read before the
entry is made or changed; a range of addresses can be scanned for meters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import re
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import selector
import voluptuous as vol

from . import compat
from .aioekm import EkmConnectionError, Protocol, normalize_address
from .const import (
    CONF_CONNECTION,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SCAN,
    CONF_SCAN_FROM,
    CONF_SCAN_TO,
    CONNECTION_RS485,
    DOMAIN,
)
from .flow_bus import MAX_SCAN, ProbeResult, async_scan, async_try_connect
from .flow_common import PASSWORD_SELECTOR, TEXT_SELECTOR, meters_elsewhere, text_field
from .helpers import bus_unique_id, port_label
from .ports import async_port_identity
from .runtime import EkmConfigEntry

_SEPARATORS = re.compile(r"[\s,;]+")
_PASSWORD = re.compile(r"\d{8}")


def parse_addresses(text: str) -> list[str]:
    """Meter addresses separated by commas or spaces, as 12 digits; ValueError on a bad one."""
    addresses: list[str] = []
    for item in _SEPARATORS.split(text.strip()):
        if item and (address := normalize_address(item)) not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class BusForm:
    """What the bus form holds, checked."""

    port: str
    addresses: list[str]
    password: str
    scan: bool
    errors: dict[str, str]


def read_bus_form(user_input: Mapping[str, Any], *, scan_allowed: bool) -> BusForm:
    """The port, meter list and password of a form, with an error per bad field."""
    errors: dict[str, str] = {}
    port = text_field(user_input, CONF_PORT)
    if not port:
        errors[CONF_PORT] = "no_port"
    scan = scan_allowed and bool(user_input.get(CONF_SCAN))
    addresses: list[str] = []
    try:
        addresses = parse_addresses(user_input.get(CONF_METERS, ""))
    except ValueError:
        errors[CONF_METERS] = "invalid_address"
    else:
        if not addresses and not scan:
            errors[CONF_METERS] = "no_meters"
    password = text_field(user_input, CONF_PASSWORD)
    if password and not _PASSWORD.fullmatch(password):
        errors[CONF_PASSWORD] = "invalid_password"
    return BusForm(port, addresses, password, scan, errors)


async def async_abort_if_port_configured(
    hass: HomeAssistant, port: str, *, exclude: str | None = None
) -> None:
    """Abort if another entry uses the same adapter, however its port was typed."""
    identity = await async_port_identity(hass, port)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.entry_id == exclude or CONF_PORT not in entry.data:
            continue
        if identity.same_as(await async_port_identity(hass, entry.data[CONF_PORT])):
            raise AbortFlow("already_configured")


async def _async_check_form(
    hass: HomeAssistant, user_input: Mapping[str, Any], *, scan_allowed: bool, exclude: str | None = None
) -> tuple[BusForm, dict[str, str], dict[str, str]]:
    """The form, with its errors and placeholders: bad fields, or meters another entry has.
    Aborts if another entry has the adapter."""
    form = read_bus_form(user_input, scan_allowed=scan_allowed)
    if form.errors:
        return form, form.errors, {}
    await async_abort_if_port_configured(hass, form.port, exclude=exclude)
    return form, *meters_elsewhere(hass, form.addresses, exclude=exclude)


def _entry_data(port: str, protocols: Mapping[str, Protocol], password: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        CONF_CONNECTION: CONNECTION_RS485,
        CONF_PORT: port,
        CONF_METERS: {address: str(protocol) for address, protocol in protocols.items()},
    }
    if password:
        data[CONF_PASSWORD] = password
    return data


def _title(port: str) -> str:
    return f"RS-485 {port_label(port)}"


class Rs485Flow(ConfigFlow):
    """The steps of an RS-485 bus: rs485 and scan; its reconfigure form."""

    def __init__(self) -> None:
        super().__init__()
        self._port = ""
        self._password = ""
        self._addresses: list[str] = []

    async def async_step_rs485(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Port, meters and password of an RS-485 bus; tested before the entry is made."""
        if user_input is None:
            return await self._async_show_rs485({}, {}, {})
        form, errors, placeholders = await _async_check_form(self.hass, user_input, scan_allowed=True)
        if errors:
            return await self._async_show_rs485(user_input, errors, placeholders)
        self._port, self._password, self._addresses = form.port, form.password, form.addresses
        if form.scan:
            return await self.async_step_scan()
        return await self._async_create(form.addresses, user_input)

    async def _async_show_rs485(
        self, suggested: Mapping[str, Any], errors: dict[str, str], placeholders: dict[str, str]
    ) -> ConfigFlowResult:
        # The port is optional in the schema so that the frontend does not pre-fill a detected
        # port as a guess; read_bus_form asks for it.
        schema = vol.Schema(
            {
                vol.Optional(CONF_PORT): await compat.async_port_selector(),
                vol.Optional(CONF_METERS): TEXT_SELECTOR,
                vol.Optional(CONF_SCAN, default=False): selector.BooleanSelector(),
                vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            }
        )
        return self._show_bus_form("rs485", schema, suggested, errors, placeholders)

    def _show_bus_form(
        self,
        step_id: str,
        schema: vol.Schema,
        suggested: Mapping[str, Any],
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders={**ProbeResult().placeholders(), **placeholders},
        )

    async def async_step_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Look for meters in a range of addresses, then test them all."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                first = int(normalize_address(user_input[CONF_SCAN_FROM]))
                last = int(normalize_address(user_input[CONF_SCAN_TO]))
            except ValueError:
                errors["base"] = "invalid_range"
            else:
                if not 0 <= last - first < MAX_SCAN:
                    errors["base"] = "invalid_range"
            if not errors:
                try:
                    found = await async_scan(self._port, first, last)
                except EkmConnectionError:
                    errors["base"] = "cannot_connect"
                else:
                    if not found:
                        errors["base"] = "nothing_found"
                    else:
                        addresses = self._addresses + [a for a in found if a not in self._addresses]
                        suggested = {
                            CONF_PORT: self._port,
                            CONF_METERS: ", ".join(addresses),
                            CONF_PASSWORD: self._password,
                        }
                        return await self._async_create(addresses, suggested)
        schema = vol.Schema(
            {vol.Required(CONF_SCAN_FROM): TEXT_SELECTOR, vol.Required(CONF_SCAN_TO): TEXT_SELECTOR}
        )
        return self.async_show_form(
            step_id="scan",
            data_schema=compat.with_suggested_values(self, schema, user_input or {}),
            errors=errors,
            description_placeholders={"max": str(MAX_SCAN)},
        )

    async def _async_create(self, addresses: list[str], suggested: Mapping[str, Any]) -> ConfigFlowResult:
        """Test the meters and make the entry; on failure, back to the bus form, list filled in."""
        errors, placeholders = meters_elsewhere(self.hass, addresses)  # a scan may find them
        if not errors:
            # An earlier flow for these meters may be a closed window that never finished: it
            # must not block this one (HA aborts it when this one creates the entry).
            await self.async_set_unique_id(bus_unique_id(addresses), raise_on_progress=False)
            self._abort_if_unique_id_configured()
            result = await async_try_connect(self._port, addresses)
            errors, placeholders = result.errors, result.placeholders()
            if not errors:
                return self.async_create_entry(
                    title=_title(self._port), data=_entry_data(self._port, result.protocols, self._password)
                )
        return await self._async_show_rs485(suggested, errors, placeholders)

    async def async_reconfigure_bus(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """Change the port, the meters or the password of a bus (the reconfigure step's form)."""
        entry: EkmConfigEntry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            form, errors, placeholders = await _async_check_form(
                self.hass, user_input, scan_allowed=False, exclude=entry.entry_id
            )
            if not errors:
                # Still the same bus if the list keeps one of its meters. The unique_id stays while
                # the meter that names it is listed, else it moves to a kept meter.
                kept = [address for address in form.addresses if address in entry.data[CONF_METERS]]
                await self.async_set_unique_id(bus_unique_id(kept or form.addresses, current=entry.unique_id))
                if not kept:
                    self._abort_if_unique_id_mismatch(
                        description_placeholders={"meters": ", ".join(entry.data[CONF_METERS])}
                    )
                # A loaded entry holds its port: probe through its bus, between its polls.
                loaded = entry.runtime_data.bus if entry.state is ConfigEntryState.LOADED else None
                running = loaded.bus if loaded is not None and loaded.bus.url == form.port else None
                result = await async_try_connect(form.port, form.addresses, running)
                errors, placeholders = result.errors, result.placeholders()
                if not errors:
                    # An empty password field keeps the stored one.
                    password = form.password or entry.data.get(CONF_PASSWORD, "")
                    return self.async_update_reload_and_abort(
                        entry,
                        unique_id=self.unique_id,
                        title=_title(form.port),
                        data=_entry_data(form.port, result.protocols, password),
                    )
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): await compat.async_port_selector(),
                vol.Required(CONF_METERS): TEXT_SELECTOR,
                vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            }
        )
        suggested = {CONF_PORT: entry.data[CONF_PORT], CONF_METERS: ", ".join(entry.data[CONF_METERS])}
        suggested.update((key, value) for key, value in (user_input or {}).items() if key != CONF_PASSWORD)
        return self._show_bus_form("reconfigure", schema, suggested, errors, placeholders)
