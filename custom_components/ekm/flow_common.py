"""What the config flow of every connection shares: the form error of a failed check, the meters
other entries already have, and the fields of its forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector

from .aioekm import (
    AuthenticationError,
    EkmConnectionError,
    EkmTimeoutError,
    RateLimitedError,
    ServerError,
    redact,
)
from .const import CONF_METERS, DOMAIN, LOGGER
from .helpers import meters_in_entries, meters_read_now

PASSWORD_SELECTOR: Final = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
TEXT_SELECTOR: Final = selector.TextSelector()

# A meter_configured error names the meters and the entry; the forms that can show it always
# pass these placeholders.
NO_OWNERS: Final = {"meters": "", "entry": ""}


def text_field(user_input: Mapping[str, Any], key: str) -> str:
    """A text field as typed, without the spaces around it ("" when it is empty or missing)."""
    return str(user_input.get(key) or "").strip()


def form_errors(err: Exception, what: str, secrets: Iterable[str | None]) -> dict[str, str]:
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
    owners = owners_of(hass, addresses, exclude=exclude)
    if not owners:
        return {}, {}
    return {CONF_METERS: "meter_configured"}, owned_placeholders(owners)


def owned_placeholders(owners: Mapping[str, ConfigEntry]) -> dict[str, str]:
    """The meters other entries have and those entries' titles, as meter_configured names them."""
    titles = dict.fromkeys(entry.title for entry in owners.values())
    return {"meters": ", ".join(owners), "entry": ", ".join(titles)}
