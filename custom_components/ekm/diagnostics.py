"""Diagnostics download: the entry (secrets redacted), per-meter state and last readings, per mode."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .const import CONF_API_TOKEN, CONF_API_URL, CONF_PASSWORD, CONF_PORT, CONF_SUMMARY_URL
from .flow_push import without_credentials
from .helpers import connection_of, port_label
from .runtime import EkmConfigEntry

TO_REDACT: Final = {CONF_PASSWORD, CONF_API_KEY, CONF_API_TOKEN, "key", "token"}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: EkmConfigEntry) -> dict[str, Any]:
    """Everything that helps to tell why a meter does not read, without secrets."""
    data = dict(entry.data)
    if CONF_PORT in data:
        data[CONF_PORT] = port_label(data[CONF_PORT])
    for name in (CONF_API_URL, CONF_SUMMARY_URL):  # entries made before such URLs were refused
        if name in data:
            data[name] = without_credentials(data[name])
    summary = {
        "title": entry.title,
        "mode": connection_of(entry),
        "state": entry.state.value,
        "data": async_redact_data(data, TO_REDACT),
        "options": dict(entry.options),
    }
    if entry.state is not ConfigEntryState.LOADED:  # no coordinator (set-up failed, retrying)
        return {"entry": summary, "reason": entry.reason}
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    return {
        "entry": summary,
        "last_update_success": coordinator.last_update_success,
        "connection": async_redact_data(coordinator.diagnostics(), TO_REDACT),
        # RS-485 entries: schedules, seasons and holidays, read from each meter now.
        "tariffs": await runtime.bus.async_tariff_diagnostics() if runtime.bus is not None else None,
        # Cloud entries: the last hour imported into each long-term statistic.
        "history": runtime.history.diagnostics() if runtime.history is not None else None,
    }
