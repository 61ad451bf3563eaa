"""Config flow for EKM Metering: choose how to connect, test it, store it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import re
from typing import Any, Final

from homeassistant import data_entry_flow
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow, FlowHandler
from homeassistant.helpers import device_registry as dr, selector
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
import voluptuous as vol

from . import compat
from .aioekm.errors import (
    AuthenticationError,
    EkmConnectionError,
    EkmTimeoutError,
    FrameError,
    RateLimitedError,
    ServerError,
)
from .aioekm.push.account import Account, KeyType
from .aioekm.push.cloud import DEFAULT_API_URL, DEFAULT_SUMMARY_URL
from .aioekm.push.redaction import redact
from .aioekm.readings import Protocol, normalize_address
from .aioekm.rs485.bus import EkmBus
from .const import (
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_B_FRAME_EVERY,
    CONF_CONNECTION,
    CONF_HISTORY_DAYS,
    CONF_MAC,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_RETRIES,
    CONF_SCAN,
    CONF_SCAN_FROM,
    CONF_SCAN_INTERVAL,
    CONF_SCAN_TO,
    CONF_STALE_AFTER,
    CONF_SUMMARY_URL,
    CONF_TIMEOUT,
    CONNECTION_CLOUD,
    CONNECTION_PUSH3,
    CONNECTION_RS485,
    DEFAULT_CLOUD_SCAN_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_PUSH3_SCAN_INTERVAL,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    LOGGER,
)
from .coordinator import EkmConfigEntry
from .flow_push import (
    Push3Host,
    account_name,
    async_read_account,
    async_read_push3,
    cloud_unique_id,
    meter_label,
    normalize_mac,
    parse_host,
    same_url,
    valid_base_url,
)
from .helpers import (
    BusOptions,
    bus_unique_id,
    connection_of,
    failure_reason,
    meters_in_entries,
    meters_read_now,
    port_label,
)
from .ports import async_host_addresses, async_port_identity

# The first step offers these.
CONNECTION_TYPES: Final = [CONNECTION_RS485, CONNECTION_CLOUD, CONNECTION_PUSH3]

# A discovered Push3 serves its local API on the HTTP port.
DISCOVERY_PORT = 80

# The cloud form's collapsed section with the API and Summary base URLs (a self-hosted or test
# server). HA 2025 shows it in advanced mode only; HA 2026 deprecated advanced mode for collapsed
# sections (its show_advanced_options is always True), so there it is always offered, folded.
SECTION_URLS: Final = "urls"
_ADVANCED_MODE_DEPRECATED: Final = hasattr(
    getattr(FlowHandler.show_advanced_options, "fget", None), "__wrapped__"
)


def _advanced_mode(flow: FlowHandler[Any, Any]) -> bool:
    return _ADVANCED_MODE_DEPRECATED or flow.show_advanced_options


def _section(schema: vol.Schema) -> data_entry_flow.section:
    """A collapsed form section; through Any, as HA 2026 types schemas with probatio (see compat)."""
    fields: Any = schema
    return data_entry_flow.section(fields, {"collapsed": True})


# Poll intervals (seconds). EKM documents no rate limit for the cloud (docs/push-api.md): a
# minute is its own example, and a floor of 15 s keeps an account's requests modest. A Push3
# answers from its LAN memory, so it can be asked more often.
CLOUD_MIN_SCAN_INTERVAL: Final = 15
PUSH3_MIN_SCAN_INTERVAL: Final = 5
MAX_SCAN_INTERVAL: Final = 3600
MIN_STALE_AFTER: Final = 60
MAX_STALE_AFTER: Final = 7 * 24 * 3600
MAX_HISTORY_DAYS: Final = 3650

# Testing meters in the flow: short waits, one retry, so a wrong address costs little.
PROBE_TIMEOUT = 1.0
PROBE_RETRIES = 1
SCAN_TIMEOUT = 0.5
MAX_SCAN: Final = 32
# The reasons a meter failed the probe, as meters_failed's {failed} lists them. Home Assistant
# checks translations with str.format syntax (no ICU select), so the list is built here and
# names only the reasons that have meters.
FAILURE_LABELS: Final = {
    "timeout": "No answer",
    "crc": "CRC errors",
    "wrong_address": "Answer from another address",
    "bad_reply": "Unreadable answer",
}

_SEPARATORS = re.compile(r"[\s,;]+")
_PASSWORD = re.compile(r"\d{8}")

PASSWORD_SELECTOR: Final = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
TEXT_SELECTOR: Final = selector.TextSelector()
KEY_SCHEMA: Final = vol.Schema({vol.Required(CONF_API_KEY): PASSWORD_SELECTOR})
URL_SELECTOR: Final = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.URL))


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
        """{failed}: per reason that has meters, its label and those meters ("" when none failed)."""
        parts = []
        for reason, label in FAILURE_LABELS.items():
            meters = [a for a, r in self.failures.items() if r == reason]
            if meters:
                parts.append(f"{label}: {', '.join(meters)}.")
        return {"failed": " ".join(parts)}


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


def owners_of(
    hass: HomeAssistant, addresses: Iterable[str], *, exclude: str | None = None
) -> dict[str, ConfigEntry]:
    """The entry (other than `exclude`) that already has each of `addresses` that one has:
    lists it in its data, or reads it now."""
    others = [e for e in hass.config_entries.async_entries(DOMAIN) if e.entry_id != exclude]
    owners = meters_in_entries(others)
    for other in others:
        for address in meters_read_now(other):
            owners.setdefault(address, other)
    return {address: owners[address] for address in addresses if address in owners}


def meters_elsewhere(
    hass: HomeAssistant, addresses: Iterable[str], *, exclude: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Errors and placeholders for meters another entry already has (naming that entry)."""
    return _owned_message(owners_of(hass, addresses, exclude=exclude))


def _owned_message(owners: Mapping[str, ConfigEntry]) -> tuple[dict[str, str], dict[str, str]]:
    if not owners:
        return {}, {}
    titles = dict.fromkeys(entry.title for entry in owners.values())
    return {CONF_METERS: "meter_configured"}, {"meters": ", ".join(owners), "entry": ", ".join(titles)}


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


def _form_errors(err: Exception, what: str, secrets: Iterable[str | None]) -> dict[str, str]:
    """The form error for a failed check of a key or gateway; unexpected ones are logged."""
    if isinstance(err, AuthenticationError):
        return {"base": "invalid_auth"}
    if isinstance(err, (EkmConnectionError, EkmTimeoutError, ServerError, RateLimitedError)):
        return {"base": "cannot_connect"}
    # No traceback: its frames could hold the request URL, which carries the key.
    LOGGER.error(
        "Unexpected error while checking %s: %s: %s", what, type(err).__name__, redact(str(err), secrets)
    )
    return {"base": "unknown"}


def _text(user_input: Mapping[str, Any], key: str) -> str:
    return str(user_input.get(key) or "").strip()


@dataclass(frozen=True, slots=True)
class CloudSettings:
    """How a cloud entry reaches EKM Push: the key, the optional token and the two base URLs."""

    key: str
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    summary_url: str = DEFAULT_SUMMARY_URL

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> CloudSettings:
        """The settings of a stored cloud entry (URLs not stored are EKM's own)."""
        return cls(
            data[CONF_API_KEY],
            data.get(CONF_API_TOKEN),
            data.get(CONF_API_URL, DEFAULT_API_URL),
            data.get(CONF_SUMMARY_URL, DEFAULT_SUMMARY_URL),
        )

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.key, self.token)

    def data(self, meters: Iterable[str]) -> dict[str, Any]:
        """The entry data; the URLs only when they are not EKM's own."""
        data: dict[str, Any] = {CONF_CONNECTION: CONNECTION_CLOUD, CONF_API_KEY: self.key}
        if self.token:
            data[CONF_API_TOKEN] = self.token
        if not same_url(self.api_url, DEFAULT_API_URL):
            data[CONF_API_URL] = self.api_url
        if not same_url(self.summary_url, DEFAULT_SUMMARY_URL):
            data[CONF_SUMMARY_URL] = self.summary_url
        data[CONF_METERS] = list(meters)
        return data


def read_cloud_form(
    user_input: Mapping[str, Any], current: CloudSettings | None
) -> tuple[CloudSettings, dict[str, str]]:
    """The settings a cloud form gives; an empty key or token, or no URL section, keeps `current`'s."""
    errors: dict[str, str] = {}
    key = _text(user_input, CONF_API_KEY) or (current.key if current else "")
    if not key:
        errors[CONF_API_KEY] = "no_key"
    token = _text(user_input, CONF_API_TOKEN) or (current.token if current else None)
    api_url = current.api_url if current else DEFAULT_API_URL
    summary_url = current.summary_url if current else DEFAULT_SUMMARY_URL
    if (urls := user_input.get(SECTION_URLS)) is not None:
        api_url, summary_url = _text(urls, CONF_API_URL), _text(urls, CONF_SUMMARY_URL)
        if not (valid_base_url(api_url) and valid_base_url(summary_url)):
            errors["base"] = "invalid_url"
    return CloudSettings(key, token, api_url, summary_url), errors


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


# A meter_configured error names the meters and the entry; the forms that can show it always
# pass these placeholders.
NO_OWNERS: Final = {"meters": "", "entry": ""}


class EkmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one connection (an RS-485 bus, a Push key or a Push3 gateway) and its meters."""

    VERSION = 1
    # 1.2: the unique_id names a meter on the bus instead of the port as typed.
    MINOR_VERSION = 2

    def __init__(self) -> None:
        self._port = ""
        self._password = ""
        self._addresses: list[str] = []
        self._cloud: CloudSettings | None = None
        self._account: Account | None = None
        self._discovered: Push3Host | None = None
        self._mac: str | None = None
        self._push3_meters: dict[str, str] = {}  # the gateway's meters no other entry has
        self._push3_read: dict[str, str] = {}  # every meter the gateway answered for

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EkmOptionsFlow:
        """The options of an entry."""
        return EkmOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose how to connect."""
        return self.async_show_menu(step_id="user", menu_options=CONNECTION_TYPES)

    # --- EKM Push cloud ---------------------------------------------------------------

    async def async_step_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Push key (account, gateway or meter), checked with the Account API."""
        errors: dict[str, str] = {}
        if user_input is not None:
            settings, errors = read_cloud_form(user_input, None)
            if not errors:
                await self.async_set_unique_id(cloud_unique_id(settings.key), raise_on_progress=False)
                self._abort_if_unique_id_configured()
                account, errors = await self._async_read_account(settings)
                if account is not None:
                    self._cloud, self._account = settings, account
                    return await self.async_step_meters()
        return self._show_cloud_form("cloud", None, user_input, errors)

    def _show_cloud_form(
        self,
        step_id: str,
        current: CloudSettings | None,
        user_input: Mapping[str, Any] | None,
        errors: dict[str, str],
        placeholders: Mapping[str, str] | None = None,
    ) -> ConfigFlowResult:
        # A stored key or token is never shown again: empty fields keep it.
        key_field = vol.Required(CONF_API_KEY) if current is None else vol.Optional(CONF_API_KEY)
        fields: dict[Any, Any] = {
            key_field: PASSWORD_SELECTOR,
            vol.Optional(CONF_API_TOKEN): PASSWORD_SELECTOR,
        }
        suggested: dict[str, Any] = {}
        if step_id != "reauth_cloud" and _advanced_mode(self):
            urls = {
                CONF_API_URL: current.api_url if current else DEFAULT_API_URL,
                CONF_SUMMARY_URL: current.summary_url if current else DEFAULT_SUMMARY_URL,
                **(user_input or {}).get(SECTION_URLS, {}),
            }
            # Optional: a form sent without the section keeps the URLs (the frontend always sends it).
            fields[vol.Optional(SECTION_URLS)] = _section(
                vol.Schema(
                    {vol.Required(CONF_API_URL): URL_SELECTOR, vol.Required(CONF_SUMMARY_URL): URL_SELECTOR}
                )
            )
            suggested[SECTION_URLS] = urls
        return self.async_show_form(
            step_id=step_id,
            data_schema=compat.with_suggested_values(self, vol.Schema(fields), suggested),
            errors=errors,
            description_placeholders=dict(placeholders or {}),
        )

    async def _async_read_account(self, settings: CloudSettings) -> tuple[Account | None, dict[str, str]]:
        """What the key sees, or the form errors saying why it cannot be used."""
        try:
            account = await async_read_account(
                self.hass, settings.key, settings.token, settings.api_url, settings.summary_url
            )
        except ValueError:  # the library refuses a URL (e.g. one with a user and password)
            return None, {"base": "invalid_url"}
        except Exception as err:
            return None, _form_errors(err, "the EKM Push key", settings.secrets)
        if not account.meters:
            if account.key_type is KeyType.UNKNOWN and not account.gateways and not account.iostacks:
                # A JSON object without anything of an Account answer: not an EKM server.
                LOGGER.debug("The Account API answer has no key type, gateways or meters")
                return None, {"base": "cannot_connect"}
            return None, {"base": "no_meters_found"}
        return account, {}

    async def async_step_meters(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the meters of the key to add (all of them unless another entry has them)."""
        assert self._cloud is not None and self._account is not None
        reconfiguring = self.source == SOURCE_RECONFIGURE
        entry = self._get_reconfigure_entry() if reconfiguring else None
        exclude = entry.entry_id if entry else None
        visible = [meter.address for meter in self._account.meters]
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            picked = [address for address in visible if address in user_input.get(CONF_METERS, [])]
            if not picked:
                errors[CONF_METERS] = "no_meters_selected"
            else:
                errors, placeholders = meters_elsewhere(self.hass, picked, exclude=exclude)
            if not errors:
                data = self._cloud.data(picked)
                unique_id = cloud_unique_id(self._cloud.key)
                if entry is not None:
                    return self.async_update_reload_and_abort(entry, unique_id=unique_id, data=data)
                return self.async_create_entry(title=account_name(self._account), data=data)
        if entry is not None:
            default = [address for address in visible if address in entry.data.get(CONF_METERS, [])]
        else:
            owners = meters_in_entries(self._async_current_entries(include_ignore=False))
            default = [address for address in visible if address not in owners]
        options = [
            selector.SelectOptionDict(value=meter.address, label=meter_label(meter))
            for meter in self._account.meters
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_METERS): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=options, multiple=True, mode=selector.SelectSelectorMode.LIST
                    )
                )
            }
        )
        suggested = {CONF_METERS: user_input[CONF_METERS] if user_input else default}
        return self.async_show_form(
            step_id="meters",
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders={"name": account_name(self._account), **NO_OWNERS, **placeholders},
        )

    def _abort_if_other_account(self, entry: ConfigEntry, account: Account) -> None:
        """A new key for an entry must see at least one of its meters: else it is another account.

        An entry stored without a pick (every meter of its key) is known by its meter devices;
        one without any cannot tell, and takes the key.
        """
        known = set(entry.data.get(CONF_METERS) or ()) or {
            ident
            for device in dr.async_entries_for_config_entry(dr.async_get(self.hass), entry.entry_id)
            for domain, ident in device.identifiers
            if domain == DOMAIN and len(ident) == 12 and ident.isdigit()  # meters, not hubs
        }
        if known and not {meter.address for meter in account.meters} & known:
            raise AbortFlow("wrong_account")

    def _abort_if_key_taken(self, key: str, entry: ConfigEntry) -> None:
        """Another entry already uses this key."""
        unique_id = cloud_unique_id(key)
        for other in self._async_current_entries(include_ignore=False):
            if other.entry_id != entry.entry_id and other.unique_id == unique_id:
                raise AbortFlow("already_configured")

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The cloud or the gateway refused the key: ask for a new one."""
        if connection_of(self._get_reauth_entry()) == CONNECTION_PUSH3:
            return await self.async_step_reauth_push3()
        return await self.async_step_reauth_cloud()

    async def async_step_reauth_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A new Push key (and token) for a cloud entry, of the same account."""
        entry = self._get_reauth_entry()
        current = CloudSettings.of(entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            # An empty key keeps the current one: the token alone may have been refused (403).
            settings, _ = read_cloud_form(user_input, current)
            account, errors = await self._async_read_account(settings)
            if account is not None:
                self._abort_if_other_account(entry, account)
                self._abort_if_key_taken(settings.key, entry)
                return self.async_update_reload_and_abort(
                    entry,
                    unique_id=cloud_unique_id(settings.key),
                    data=settings.data(entry.data[CONF_METERS]),
                    reason="reauth_successful",
                )
        return self._show_cloud_form("reauth_cloud", current, user_input, errors, {"name": entry.title})

    async def async_step_reconfigure_cloud(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the key, token or URLs of a cloud entry; its meters in the next step."""
        entry = self._get_reconfigure_entry()
        current = CloudSettings.of(entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings, errors = read_cloud_form(user_input, current)
            if not errors:
                account, errors = await self._async_read_account(settings)
                if account is not None:
                    self._abort_if_other_account(entry, account)
                    self._abort_if_key_taken(settings.key, entry)
                    self._cloud, self._account = settings, account
                    return await self.async_step_meters()
        return self._show_cloud_form("reconfigure_cloud", current, user_input, errors, {"name": entry.title})

    # --- Push3 gateway on the LAN --------------------------------------------------------

    async def async_step_push3(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A gateway's address and local key, checked by reading its meters."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            host = parse_host(_text(user_input, CONF_HOST))
            key = _text(user_input, CONF_API_KEY)
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
        schema = vol.Schema(
            {vol.Required(CONF_HOST): TEXT_SELECTOR, vol.Required(CONF_API_KEY): PASSWORD_SELECTOR}
        )
        suggested = {CONF_HOST: (user_input or {}).get(CONF_HOST, "")}
        return self.async_show_form(
            step_id="push3",
            data_schema=compat.with_suggested_values(self, schema, suggested),
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
            return _form_errors(err, "the Push3 gateway", (key,)), dict(NO_OWNERS)
        self._push3_read = meters
        if not check_owners:
            return {}, dict(NO_OWNERS)
        # The entry reads the meters no other entry has; a gateway with none left adds nothing.
        owners = owners_of(self.hass, meters, exclude=exclude)
        if owners and len(owners) == len(meters):
            return {"base": "gateway_meters_configured"}, _owned_message(owners)[1]
        self._push3_meters = {address: p for address, p in meters.items() if address not in owners}
        return {}, dict(NO_OWNERS)

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
            key = _text(user_input, CONF_API_KEY)
            if not key:
                errors[CONF_API_KEY] = "no_key"
            else:
                errors, placeholders = await self._async_read_push3(host, key)
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
            key = _text(user_input, CONF_API_KEY)
            if not key:
                errors[CONF_API_KEY] = "no_key"
            else:
                # A new key for the same gateway: its meters are this entry's business already.
                errors, placeholders = await self._async_read_push3(host, key, check_owners=False)
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
            host = parse_host(_text(user_input, CONF_HOST))
            key = _text(user_input, CONF_API_KEY) or entry.data[CONF_API_KEY]
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
        schema = vol.Schema(
            {vol.Required(CONF_HOST): TEXT_SELECTOR, vol.Optional(CONF_API_KEY): PASSWORD_SELECTOR}
        )
        suggested = {CONF_HOST: (user_input or {}).get(CONF_HOST, entry.data[CONF_HOST])}
        return self.async_show_form(
            step_id="reconfigure_push3",
            data_schema=compat.with_suggested_values(self, schema, suggested),
            errors=errors,
            description_placeholders={"name": entry.title, **placeholders},
        )

    # --- RS-485 bus ------------------------------------------------------------------------

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
        """Change how an entry reaches its meters: each connection has its own form."""
        connection = connection_of(self._get_reconfigure_entry())
        if connection == CONNECTION_CLOUD:
            return await self.async_step_reconfigure_cloud()
        if connection == CONNECTION_PUSH3:
            return await self.async_step_reconfigure_push3()
        return await self._async_reconfigure_bus(user_input)

    async def _async_reconfigure_bus(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
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
    """Polling and timing of an entry, per connection; the entry reloads when they change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option of the entry's connection."""
        connection = connection_of(self.config_entry)
        if connection == CONNECTION_CLOUD:
            return await self.async_step_cloud()
        if connection == CONNECTION_PUSH3:
            return await self.async_step_push3()
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

    async def async_step_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval, stale threshold and history import of a cloud entry."""
        return self._push_options("cloud", user_input, CLOUD_MIN_SCAN_INTERVAL, DEFAULT_CLOUD_SCAN_INTERVAL)

    async def async_step_push3(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval and stale threshold of a Push3 entry."""
        return self._push_options("push3", user_input, PUSH3_MIN_SCAN_INTERVAL, DEFAULT_PUSH3_SCAN_INTERVAL)

    def _push_options(
        self, step_id: str, user_input: dict[str, Any] | None, min_scan: int, default_scan: int
    ) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(data={name: int(value) for name, value in user_input.items()})
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL): _number(min_scan, MAX_SCAN_INTERVAL, 1, "s"),
            vol.Required(CONF_STALE_AFTER): _number(MIN_STALE_AFTER, MAX_STALE_AFTER, 1, "s"),
        }
        values: dict[str, Any] = {CONF_SCAN_INTERVAL: default_scan, CONF_STALE_AFTER: DEFAULT_STALE_AFTER}
        if step_id == "cloud":
            fields[vol.Required(CONF_HISTORY_DAYS)] = _number(0, MAX_HISTORY_DAYS, 1, "d")
            values[CONF_HISTORY_DAYS] = DEFAULT_HISTORY_DAYS
        values.update((name, value) for name, value in self.config_entry.options.items() if name in values)
        return self.async_show_form(
            step_id=step_id, data_schema=compat.with_suggested_values(self, vol.Schema(fields), values)
        )


def _number(low: float, high: float, step: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)
