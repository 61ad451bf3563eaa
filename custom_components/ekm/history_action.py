"""The action ekm.import_history: import a range of a cloud entry's history again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .history import importer_of

SERVICE_IMPORT_HISTORY: Final = "import_history"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
# EKM's cloud keeps no reading older than this; the end may lie a little ahead (time zones).
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD: Final = timedelta(days=1)

# Typed Any: the schema classes differ between HA versions (voluptuous, then probatio).
IMPORT_HISTORY_SCHEMA: Final[Any] = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Required(ATTR_END): cv.datetime,
    }
)


def _utc(when: datetime) -> datetime:
    """A time from the call, UTC; without a zone it is HA's local time.

    A time before 2000 or after tomorrow is refused (translated), before any arithmetic
    on it: year 1 or 9999 overflows on the way to UTC.
    """
    latest = dt_util.utcnow() + AHEAD
    if not EARLIEST.year <= when.year <= latest.year:
        raise _out_of_range(latest)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    utc = dt_util.as_utc(when)
    if not EARLIEST <= utc <= latest:
        raise _out_of_range(latest)
    return utc


def _out_of_range(latest: datetime) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="history_out_of_range",
        translation_placeholders={
            "earliest": EARLIEST.date().isoformat(),
            "latest": latest.date().isoformat(),
        },
    )


async def _async_import_history(call: ServiceCall) -> ServiceResponse:
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    start, end = _utc(call.data[ATTR_START]), _utc(call.data[ATTR_END])
    importer = importer_of(call.hass, entry_id)
    if importer is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_history",
            translation_placeholders={"entry": entry_id},
        )
    if end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="history_range")
    rows = await importer.async_import_range(start, end)
    return {"rows": rows}


def async_setup_history_services(hass: HomeAssistant) -> None:
    """Register ekm.import_history (at integration setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_IMPORT_HISTORY,
        _async_import_history,
        schema=IMPORT_HISTORY_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
