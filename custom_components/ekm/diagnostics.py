"""Diagnostics download: the entry (password redacted), per-meter counters and last readings."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PASSWORD, CONF_PORT
from .coordinator import EkmConfigEntry
from .helpers import port_label

TO_REDACT: Final = {CONF_PASSWORD}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: EkmConfigEntry) -> dict[str, Any]:
    """Everything that helps to tell why a meter does not read, without secrets."""
    coordinator = entry.runtime_data
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(
                {**entry.data, CONF_PORT: port_label(entry.data[CONF_PORT])}, TO_REDACT
            ),
            "options": dict(entry.options),
        },
        "last_update_success": coordinator.last_update_success,
        "connection": async_redact_data(coordinator.diagnostics(), TO_REDACT),
    }
