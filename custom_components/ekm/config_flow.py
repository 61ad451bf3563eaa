"""Config flow for EKM Metering: choose how to connect, test it, store it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import re
from typing import Any, Final

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import selector
import voluptuous as vol

from . import compat
from .aioekm.errors import EkmConnectionError, EkmTimeoutError, FrameError
from .aioekm.readings import Protocol, normalize_address
from .aioekm.rs485.bus import EkmBus
from .const import (
    CONF_B_FRAME_EVERY,
    CONF_CONNECTION,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_RETRIES,
    CONF_SCAN,
    CONF_SCAN_FROM,
    CONF_SCAN_INTERVAL,
    CONF_SCAN_TO,
    CONF_TIMEOUT,
    CONNECTION_RS485,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from .coordinator import EkmConfigEntry, failure_reason, port_label

# The first step offers these; "cloud" and "push3" join the list with their steps.
CONNECTION_TYPES: Final = [CONNECTION_RS485]

# Testing meters in the flow: short waits, one retry, so a wrong address costs little.
PROBE_TIMEOUT = 1.0
PROBE_RETRIES = 1
SCAN_TIMEOUT = 0.5
MAX_SCAN: Final = 32
FAILURE_REASONS: Final = ("timeout", "crc", "wrong_address", "bad_reply")
NONE_PLACEHOLDER: Final = "-"

_SEPARATORS = re.compile(r"[\s,;]+")
_PASSWORD = re.compile(r"\d{8}")

PASSWORD_SELECTOR: Final = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
TEXT_SELECTOR: Final = selector.TextSelector()


def parse_addresses(text: str) -> list[str]:
    """Meter addresses separated by commas or spaces, as 12 digits; ValueError on a bad one."""
    addresses: list[str] = []
    for item in _SEPARATORS.split(text.strip()):
        if item and (address := normalize_address(item)) not in addresses:
            addresses.append(address)
    return addresses


@dataclass
class ProbeResult:
    """Which meters answered (with their protocol) and why the others did not."""

    protocols: dict[str, Protocol] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def placeholders(self) -> dict[str, str]:
        """One placeholder per failure reason: the meters that failed that way."""
        return {
            reason: ", ".join(a for a, r in self.failures.items() if r == reason) or NONE_PLACEHOLDER
            for reason in FAILURE_REASONS
        }


async def async_probe(port: str, addresses: Iterable[str], running: EkmBus | None = None) -> ProbeResult:
    """Read every meter once; EkmConnectionError if the port cannot be used.

    `running` is the open bus of a loaded entry on the same port: the port is locked
    to it, and its lock keeps the probe from colliding with the polls.
    """
    if running is not None:
        return await _async_read_all(running, addresses)
    async with EkmBus(port, first_byte_timeout=PROBE_TIMEOUT, read_retries=PROBE_RETRIES) as bus:
        return await _async_read_all(bus, addresses)


async def _async_read_all(bus: EkmBus, addresses: Iterable[str]) -> ProbeResult:
    result = ProbeResult()
    for address in addresses:
        try:
            reading = await bus.read(address)
        except (EkmTimeoutError, FrameError) as err:  # EkmConnectionError: the port is gone
            result.failures[address] = failure_reason(err)
        else:
            result.protocols[address] = reading.protocol
    return result


async def async_scan(port: str, first: int, last: int) -> list[str]:
    """The addresses in first..last that answer; EkmConnectionError if the port cannot be used."""
    async with EkmBus(port, first_byte_timeout=SCAN_TIMEOUT, read_retries=0) as bus:
        found = await bus.scan(normalize_address(n) for n in range(first, last + 1))
    return [reading.address for reading in found]


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


class EkmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one connection (an RS-485 bus) and its meters."""

    VERSION = 1

    def __init__(self) -> None:
        self._port = ""
        self._password = ""
        self._addresses: list[str] = []

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EkmOptionsFlow:
        """The options of an entry."""
        return EkmOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose how to connect."""
        return self.async_show_menu(step_id="user", menu_options=CONNECTION_TYPES)

    async def async_step_rs485(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Port, meters and password of an RS-485 bus; tested before the entry is made."""
        errors: dict[str, str] = {}
        placeholders = ProbeResult().placeholders()
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            password = user_input.get(CONF_PASSWORD, "").strip()
            scan = bool(user_input.get(CONF_SCAN))
            addresses = self._check_form(user_input, errors, scan=scan)
            if not errors:
                await self.async_set_unique_id(port)
                self._abort_if_unique_id_configured()
                self._port, self._password, self._addresses = port, password, addresses
                if scan:
                    return await self.async_step_scan()
                result = await self._async_test(port, addresses, errors, placeholders)
                if result is not None:
                    return self.async_create_entry(
                        title=_title(port), data=_entry_data(port, result, password)
                    )
        return await self._async_show_rs485(user_input or {}, errors, placeholders)

    async def _async_show_rs485(
        self, suggested: Mapping[str, Any], errors: dict[str, str], placeholders: dict[str, str]
    ) -> ConfigFlowResult:
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): await compat.async_port_selector(),
                vol.Optional(CONF_METERS): TEXT_SELECTOR,
                vol.Optional(CONF_SCAN, default=False): selector.BooleanSelector(),
                vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            }
        )
        return self.async_show_form(
            step_id="rs485",
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
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
                        return await self._async_test_scanned(addresses)
        schema = vol.Schema(
            {vol.Required(CONF_SCAN_FROM): TEXT_SELECTOR, vol.Required(CONF_SCAN_TO): TEXT_SELECTOR}
        )
        return self.async_show_form(
            step_id="scan",
            data_schema=compat.with_suggested_values(self, schema, user_input or {}),
            errors=errors,
            description_placeholders={"max": str(MAX_SCAN)},
        )

    async def _async_test_scanned(self, addresses: list[str]) -> ConfigFlowResult:
        """Test the listed and found meters; on failure, back to the bus form, list filled in."""
        errors: dict[str, str] = {}
        placeholders = ProbeResult().placeholders()
        result = await self._async_test(self._port, addresses, errors, placeholders)
        if result is not None:
            return self.async_create_entry(
                title=_title(self._port), data=_entry_data(self._port, result, self._password)
            )
        suggested = {CONF_PORT: self._port, CONF_METERS: ", ".join(addresses)}
        return await self._async_show_rs485(suggested, errors, placeholders)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the port, the meters or the password of a bus."""
        entry: EkmConfigEntry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders = ProbeResult().placeholders()
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            # An empty password field keeps the stored one.
            password = user_input.get(CONF_PASSWORD, "").strip() or entry.data.get(CONF_PASSWORD, "")
            addresses = self._check_form(user_input, errors, scan=False)
            if not errors:
                if port != entry.unique_id:
                    await self.async_set_unique_id(port)
                    self._abort_if_unique_id_configured()
                # A loaded entry holds its port: probe through its bus, between its polls.
                running = (
                    entry.runtime_data.shared_bus(port) if entry.state is ConfigEntryState.LOADED else None
                )
                result = await self._async_test(port, addresses, errors, placeholders, running)
                if result is not None:
                    # A loaded entry reloads through its update listener; a retrying one here.
                    self.hass.config_entries.async_update_entry(
                        entry, unique_id=port, title=_title(port), data=_entry_data(port, result, password)
                    )
                    if entry.state is not ConfigEntryState.LOADED:
                        self.hass.config_entries.async_schedule_reload(entry.entry_id)
                    return self.async_abort(reason="reconfigure_successful")
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): await compat.async_port_selector(),
                vol.Required(CONF_METERS): TEXT_SELECTOR,
                vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            }
        )
        suggested = {CONF_PORT: entry.data[CONF_PORT], CONF_METERS: ", ".join(entry.data[CONF_METERS])}
        suggested.update((key, value) for key, value in (user_input or {}).items() if key != CONF_PASSWORD)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    @staticmethod
    def _check_form(user_input: Mapping[str, Any], errors: dict[str, str], *, scan: bool) -> list[str]:
        """The meter list of a form; fills `errors` for bad addresses or password."""
        addresses: list[str] = []
        try:
            addresses = parse_addresses(user_input.get(CONF_METERS, ""))
        except ValueError:
            errors[CONF_METERS] = "invalid_address"
        else:
            if not addresses and not scan:
                errors[CONF_METERS] = "no_meters"
        password = user_input.get(CONF_PASSWORD, "").strip()
        if password and not _PASSWORD.fullmatch(password):
            errors[CONF_PASSWORD] = "invalid_password"
        return addresses

    @staticmethod
    async def _async_test(
        port: str,
        addresses: list[str],
        errors: dict[str, str],
        placeholders: dict[str, str],
        running: EkmBus | None = None,
    ) -> dict[str, Protocol] | None:
        """Read every meter; their protocols, or None with `errors` and `placeholders` filled."""
        try:
            result = await async_probe(port, addresses, running)
        except EkmConnectionError:
            errors["base"] = "cannot_connect"
            return None
        if result.failures:
            errors[CONF_METERS] = "meters_failed"
            placeholders.update(result.placeholders())
            return None
        return result.protocols


class EkmOptionsFlow(OptionsFlow):
    """Polling and timing of a bus; the entry reloads when they change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_SCAN_INTERVAL: float(user_input[CONF_SCAN_INTERVAL]),
                    CONF_B_FRAME_EVERY: int(user_input[CONF_B_FRAME_EVERY]),
                    CONF_TIMEOUT: float(user_input[CONF_TIMEOUT]),
                    CONF_RETRIES: int(user_input[CONF_RETRIES]),
                }
            )
        schema = vol.Schema(
            {
                vol.Required(CONF_SCAN_INTERVAL): _number(1, 3600, 1, "s"),
                vol.Required(CONF_B_FRAME_EVERY): _number(1, 1000, 1),
                vol.Required(CONF_TIMEOUT): _number(0.1, 10, 0.1, "s"),
                vol.Required(CONF_RETRIES): _number(0, 5, 1),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=compat.with_suggested_values(
                self, schema, {**DEFAULT_OPTIONS, **self.config_entry.options}
            ),
        )


def _number(low: float, high: float, step: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)
