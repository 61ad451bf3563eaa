"""Config flow for EKM Metering (placeholder until the RS-485 flow lands)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN


class EkmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for EKM Metering."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Nothing to configure yet."""
        return self.async_abort(reason="not_implemented")
