"""The integration's actions, registered once for the whole integration."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from . import compat
from .const import DOMAIN

SERVICE_SET_RELAY: Final = "set_relay"
ATTR_STATE: Final = "state"
ATTR_SECONDS: Final = "seconds"
MAX_SECONDS: Final = 9999  # what the meter's relay timer holds

# Arguments of ekm.set_relay; the target is one or more relay switches.
SET_RELAY_FIELDS: Final[dict[Any, Any]] = {
    vol.Required(ATTR_STATE): cv.boolean,
    vol.Optional(ATTR_SECONDS, default=0): vol.All(vol.Coerce(int), vol.Range(min=0, max=MAX_SECONDS)),
}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions in async_setup, where the HA version allows it (2025.10+).

    Older versions register them with the switch platform instead (see switch.py).
    """
    compat.register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SET_RELAY,
        entity_domain=Platform.SWITCH,
        fields=SET_RELAY_FIELDS,
        method="async_set_relay",
    )
