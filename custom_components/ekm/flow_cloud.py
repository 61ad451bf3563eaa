"""The config flow of an EKM Push cloud key: the key (and token) checked with the Account API, then
the meters to add; a new key on reauth, another key, token or server on reconfigure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant import data_entry_flow
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_API_KEY
from homeassistant.data_entry_flow import AbortFlow, FlowHandler
from homeassistant.helpers import device_registry as dr, selector
import voluptuous as vol

from . import compat
from .aioekm import DEFAULT_API_URL, DEFAULT_SUMMARY_URL, Account, KeyType
from .const import (
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_CONNECTION,
    CONF_METERS,
    CONF_SUMMARY_URL,
    CONNECTION_CLOUD,
    DOMAIN,
    LOGGER,
)
from .flow_common import (
    NO_OWNERS,
    PASSWORD_SELECTOR,
    form_errors,
    meters_elsewhere,
    owned_placeholders,
    owners_of,
    text_field,
)
from .flow_push import (
    account_name,
    async_read_account,
    cloud_unique_id,
    meter_label,
    same_url,
    valid_base_url,
)

# The cloud form's collapsed section with the API and Summary base URLs (a self-hosted or test
# server). HA 2025 shows it in advanced mode only; HA 2026 deprecated advanced mode for collapsed
# sections (its show_advanced_options is always True), so there it is always offered, folded.
SECTION_URLS: Final = "urls"
_ADVANCED_MODE_DEPRECATED: Final = hasattr(
    getattr(FlowHandler.show_advanced_options, "fget", None), "__wrapped__"
)
URL_SELECTOR: Final = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.URL))


def _advanced_mode(flow: FlowHandler[Any, Any]) -> bool:
    return _ADVANCED_MODE_DEPRECATED or flow.show_advanced_options


def _section(schema: vol.Schema) -> data_entry_flow.section:
    """A collapsed form section; through Any, as HA 2026 types schemas with probatio (see compat)."""
    fields: Any = schema
    return data_entry_flow.section(fields, {"collapsed": True})


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
    key = text_field(user_input, CONF_API_KEY) or (current.key if current else "")
    if not key:
        errors[CONF_API_KEY] = "no_key"
    token = text_field(user_input, CONF_API_TOKEN) or (current.token if current else None)
    api_url = current.api_url if current else DEFAULT_API_URL
    summary_url = current.summary_url if current else DEFAULT_SUMMARY_URL
    if (urls := user_input.get(SECTION_URLS)) is not None:
        api_url, summary_url = text_field(urls, CONF_API_URL), text_field(urls, CONF_SUMMARY_URL)
        if not (valid_base_url(api_url) and valid_base_url(summary_url)):
            errors["base"] = "invalid_url"
    return CloudSettings(key, token, api_url, summary_url), errors


class CloudFlow(ConfigFlow):
    """The steps of a Push key: cloud and meters; reauth_cloud and reconfigure_cloud."""

    def __init__(self) -> None:
        super().__init__()
        self._cloud: CloudSettings | None = None
        self._account: Account | None = None

    async def async_step_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Push key (account, gateway or meter), checked with the Account API."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            settings, errors = read_cloud_form(user_input, None)
            if not errors:
                await self.async_set_unique_id(cloud_unique_id(settings.key), raise_on_progress=False)
                self._abort_if_unique_id_configured()
                account, errors = await self._async_read_account(settings)
                if account is not None:
                    errors, placeholders = self._none_free(account, None)
                if account is not None and not errors:
                    self._cloud, self._account = settings, account
                    return await self.async_step_meters()
        return self._show_cloud_form("cloud", None, user_input, errors, placeholders)

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
            return None, form_errors(err, "the EKM Push key", settings.secrets)
        if not account.meters:
            if account.key_type is KeyType.UNKNOWN and not account.gateways and not account.iostacks:
                # A JSON object without anything of an Account answer: not an EKM server.
                LOGGER.debug("The Account API answer has no key type, gateways or meters")
                return None, {"base": "cannot_connect"}
            return None, {"base": "no_meters_found"}
        return account, {}

    def _none_free(self, account: Account, exclude: str | None) -> tuple[dict[str, str], dict[str, str]]:
        """The form error when every meter the key sees is another entry's: nothing to pick."""
        owners = owners_of(self.hass, (meter.address for meter in account.meters), exclude=exclude)
        if account.meters and len(owners) == len(account.meters):
            return {"base": "key_meters_configured"}, owned_placeholders(owners)
        return {}, dict(NO_OWNERS)

    async def async_step_meters(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the meters of the key to add: those no other entry has (all of them by default)."""
        assert self._cloud is not None and self._account is not None
        reconfiguring = self.source == SOURCE_RECONFIGURE
        entry = self._get_reconfigure_entry() if reconfiguring else None
        exclude = entry.entry_id if entry else None
        # A meter another entry has is not listed; the step says which and where.
        owners = owners_of(self.hass, (meter.address for meter in self._account.meters), exclude=exclude)
        offered = [meter for meter in self._account.meters if meter.address not in owners]
        visible = [meter.address for meter in offered]
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            # Of every meter the key sees: one listed when the step opened may be taken since.
            every = [meter.address for meter in self._account.meters]
            picked = [address for address in every if address in user_input.get(CONF_METERS, [])]
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
            default = visible
        options = [selector.SelectOptionDict(value=m.address, label=meter_label(m)) for m in offered]
        taken = ", ".join(f"{address} ({owner.title})" for address, owner in owners.items())
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
            description_placeholders={
                "name": account_name(self._account),
                "taken": taken or "none",
                **NO_OWNERS,
                **placeholders,
            },
        )

    def _abort_if_not_for(self, entry: ConfigEntry, settings: CloudSettings, account: Account) -> None:
        """A new key for `entry`: it must see at least one of the entry's meters (else it is another
        account's) and be no other entry's.

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
        unique_id = cloud_unique_id(settings.key)
        for other in self._async_current_entries(include_ignore=False):
            if other.entry_id != entry.entry_id and other.unique_id == unique_id:
                raise AbortFlow("already_configured")

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
                self._abort_if_not_for(entry, settings, account)
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
        placeholders: dict[str, str] = dict(NO_OWNERS)
        if user_input is not None:
            settings, errors = read_cloud_form(user_input, current)
            if not errors:
                account, errors = await self._async_read_account(settings)
                if account is not None:
                    self._abort_if_not_for(entry, settings, account)
                    errors, placeholders = self._none_free(account, entry.entry_id)
                if account is not None and not errors:
                    self._cloud, self._account = settings, account
                    return await self.async_step_meters()
        return self._show_cloud_form(
            "reconfigure_cloud", current, user_input, errors, {"name": entry.title, **placeholders}
        )
