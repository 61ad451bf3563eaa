"""The action ekm.import_history: import a range of a cloud entry's history again."""

from __future__ import annotations

from datetime import datetime
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

# Typed Any: the schema classes differ between HA versions (voluptuous, then probatio).
IMPORT_HISTORY_SCHEMA: Final[Any] = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Required(ATTR_END): cv.datetime,
    }
)


def _utc(when: datetime) -> datetime:
    """A time from the call, UTC; without a zone it is HA's local time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(when)


async def _async_import_history(call: ServiceCall) -> ServiceResponse:
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    importer = importer_of(call.hass, entry_id)
    if importer is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_history",
            translation_placeholders={"entry": entry_id},
        )
    start, end = _utc(call.data[ATTR_START]), _utc(call.data[ATTR_END])
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
