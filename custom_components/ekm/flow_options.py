"""The options flow: polling and timing of an entry, a form per connection."""

from __future__ import annotations

from typing import Any, Final, Literal

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers import selector
import voluptuous as vol

from . import compat
from .const import (
    CONF_B_FRAME_EVERY,
    CONF_HISTORY_DAYS,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_STALE_AFTER,
    CONF_TIMEOUT,
    CONNECTION_CLOUD,
    CONNECTION_PUSH3,
    DEFAULT_CLOUD_SCAN_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_PUSH3_SCAN_INTERVAL,
    DEFAULT_STALE_AFTER,
)
from .helpers import BusOptions, connection_of
from .prices import MAX_PRICE, PRICE_KEYS, price_errors, price_options

# Poll intervals (seconds). EKM documents no rate limit for the cloud (docs/push-api.md): a
# minute is its own example, and a floor of 15 s keeps an account's requests modest. A Push3
# answers from its LAN memory, so it can be asked more often.
CLOUD_MIN_SCAN_INTERVAL: Final = 15
PUSH3_MIN_SCAN_INTERVAL: Final = 5
MAX_SCAN_INTERVAL: Final = 3600
MIN_STALE_AFTER: Final = 60
MAX_STALE_AFTER: Final = 7 * 24 * 3600
MAX_HISTORY_DAYS: Final = 3650


class EkmOptionsFlow(compat.OptionsFlowWithReload):
    """Polling and timing of an entry, per connection; the entry reloads when they change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option of the entry's connection."""
        connection = connection_of(self.config_entry)
        if connection == CONNECTION_CLOUD:
            return await self.async_step_cloud()
        if connection == CONNECTION_PUSH3:
            return await self.async_step_push3()
        errors = price_errors(user_input) if user_input is not None else {}
        if user_input is not None and not errors:
            return self.async_create_entry(
                data={**BusOptions.of(user_input).as_dict(), **price_options(user_input)}
            )
        schema = vol.Schema(
            {
                vol.Required(CONF_SCAN_INTERVAL): _number(1, 3600, 1, "s"),
                vol.Required(CONF_B_FRAME_EVERY): _number(1, 1000, 1),
                vol.Required(CONF_TIMEOUT): _number(0.1, 10, 0.1, "s"),
                vol.Required(CONF_RETRIES): _number(0, 5, 1),
                **self._price_fields(),
            }
        )
        values: dict[str, Any] = {
            **BusOptions.of(self.config_entry.options).as_dict(),
            **{key: self.config_entry.options[key] for key in PRICE_KEYS if key in self.config_entry.options},
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="init",
            data_schema=compat.with_suggested_values(self, schema, values),
            errors=errors,
        )

    def _price_fields(self) -> dict[Any, Any]:
        """Prices (optional, each): cost statistics of the cloud's history, and 'Price now'."""
        price = _number(0, MAX_PRICE, "any", f"{self.hass.config.currency}/kWh")
        return {vol.Optional(key): price for key in PRICE_KEYS}

    async def async_step_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval, stale threshold and history import of a cloud entry."""
        return self._push_options("cloud", user_input, CLOUD_MIN_SCAN_INTERVAL, DEFAULT_CLOUD_SCAN_INTERVAL)

    async def async_step_push3(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval and stale threshold of a Push3 entry."""
        return self._push_options("push3", user_input, PUSH3_MIN_SCAN_INTERVAL, DEFAULT_PUSH3_SCAN_INTERVAL)

    def _push_options(
        self, step_id: str, user_input: dict[str, Any] | None, min_scan: int, default_scan: int
    ) -> ConfigFlowResult:
        errors = price_errors(user_input) if user_input is not None else {}
        if user_input is not None and not errors:
            timing = {name: int(value) for name, value in user_input.items() if name not in PRICE_KEYS}
            return self.async_create_entry(data={**timing, **price_options(user_input)})
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL): _number(min_scan, MAX_SCAN_INTERVAL, 1, "s"),
            vol.Required(CONF_STALE_AFTER): _number(MIN_STALE_AFTER, MAX_STALE_AFTER, 1, "s"),
        }
        values: dict[str, Any] = {CONF_SCAN_INTERVAL: default_scan, CONF_STALE_AFTER: DEFAULT_STALE_AFTER}
        if step_id == "cloud":
            fields[vol.Required(CONF_HISTORY_DAYS)] = _number(0, MAX_HISTORY_DAYS, 1, "d")
            values[CONF_HISTORY_DAYS] = DEFAULT_HISTORY_DAYS
        fields.update(self._price_fields())
        values.update((key, None) for key in PRICE_KEYS)
        values.update((name, value) for name, value in self.config_entry.options.items() if name in values)
        if user_input is not None:
            values.update(user_input)  # the form shown again keeps what was typed
        values = {name: value for name, value in values.items() if value is not None}
        return self.async_show_form(
            step_id=step_id,
            data_schema=compat.with_suggested_values(self, vol.Schema(fields), values),
            errors=errors,
        )


def _number(
    low: float, high: float, step: float | Literal["any"], unit: str | None = None
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)
