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
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import selector
import voluptuous as vol

from . import compat
from .aioekm.errors import EkmConnectionError, EkmTimeoutError, FrameError
from .aioekm.readings import Protocol, normalize_address
from .aioekm.rs485.bus import EkmBus
from .const import (
    CONF_B_FRAME_EVERY,
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
    DOMAIN,
)
from .coordinator import EkmConfigEntry
from .helpers import BusOptions, bus_unique_id, failure_reason, meters_in_entries, port_label
from .ports import async_port_identity

# The first step offers these; "cloud" and "push3" join the list with their steps.
CONNECTION_TYPES: Final = [CONNECTION_RS485]

# Testing meters in the flow: short waits, one retry, so a wrong address costs little.
PROBE_TIMEOUT = 1.0
PROBE_RETRIES = 1
SCAN_TIMEOUT = 0.5
MAX_SCAN: Final = 32
FAILURE_REASONS: Final = ("timeout", "crc", "wrong_address", "bad_reply")
# meters_failed shows a reason only when its placeholder is not this (an ICU select).
NONE_PLACEHOLDER: Final = "none"

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
    cannot_connect: bool = False

    @property
    def errors(self) -> dict[str, str]:
        """The form errors: none when every meter answered."""
        if self.cannot_connect:
            return {"base": "cannot_connect"}
        if self.failures:
            return {CONF_METERS: "meters_failed"}
        return {}

    def placeholders(self) -> dict[str, str]:
        """One placeholder per failure reason: the meters that failed that way, or "none"."""
        return {
            reason: ", ".join(a for a, r in self.failures.items() if r == reason) or NONE_PLACEHOLDER
            for reason in FAILURE_REASONS
        }


async def async_try_connect(
    port: str, addresses: Iterable[str], running: EkmBus | None = None
) -> ProbeResult:
    """Read every meter once; whether the port opened and which meters answered.

    `running` is the open bus of a loaded entry on the same port: the port is locked
    to it, and its lock keeps the probe from colliding with the polls.
    """
    try:
        if running is not None:
            return await _async_read_all(running, addresses)
        async with EkmBus(port, first_byte_timeout=PROBE_TIMEOUT, read_retries=PROBE_RETRIES) as bus:
            return await _async_read_all(bus, addresses)
    except EkmConnectionError:
        return ProbeResult(cannot_connect=True)


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
    port = str(user_input.get(CONF_PORT) or "").strip()
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
    password = str(user_input.get(CONF_PASSWORD) or "").strip()
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


def meters_elsewhere(
    hass: HomeAssistant, addresses: Iterable[str], *, exclude: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Errors and placeholders for meters another entry already has (naming that entry)."""
    owners = meters_in_entries(e for e in hass.config_entries.async_entries(DOMAIN) if e.entry_id != exclude)
    taken = [address for address in addresses if address in owners]
    if not taken:
        return {}, {}
    titles = dict.fromkeys(owners[address].title for address in taken)
    return {CONF_METERS: "meter_configured"}, {"meters": ", ".join(taken), "entry": ", ".join(titles)}


def _entry_data(port: str, protocols: Mapping[str, Protocol], password: str) -> dict[str, Any]:
    data: dict[str, Any] = {
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
    # 1.2: the unique_id names a meter on the bus instead of the port as typed.
    MINOR_VERSION = 2

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
        if user_input is None:
            return await self._async_show_rs485({}, {}, {})
        form = read_bus_form(user_input, scan_allowed=True)
        errors, placeholders = form.errors, dict[str, str]()
        if not errors:
            await async_abort_if_port_configured(self.hass, form.port)
            errors, placeholders = meters_elsewhere(self.hass, form.addresses)
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
        return self.async_show_form(
            step_id="rs485",
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

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the port, the meters or the password of a bus."""
        entry: EkmConfigEntry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            form = read_bus_form(user_input, scan_allowed=False)
            errors = form.errors
            if not errors:
                await async_abort_if_port_configured(self.hass, form.port, exclude=entry.entry_id)
                errors, placeholders = meters_elsewhere(self.hass, form.addresses, exclude=entry.entry_id)
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
                running = (
                    entry.runtime_data.shared_bus(form.port)
                    if entry.state is ConfigEntryState.LOADED
                    else None
                )
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
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders={**ProbeResult().placeholders(), **placeholders},
        )


class EkmOptionsFlow(compat.OptionsFlowWithReload):
    """Polling and timing of a bus; the entry reloads when they change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        if user_input is not None:
            return self.async_create_entry(data=BusOptions.of(user_input).as_dict())
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
                self, schema, BusOptions.of(self.config_entry.options).as_dict()
            ),
        )


def _number(low: float, high: float, step: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)
