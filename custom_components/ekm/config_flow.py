"""Config flow for EKM Metering: choose how to connect, test it, store it.

The steps of each connection are in their own module, composed here: flow_rs485 (an RS-485 bus),
flow_cloud (an EKM Push key), flow_push3 (a Push3 gateway on the LAN, DHCP discovery included).
What they ask of a bus or of EKM Push is in flow_bus and flow_push, what they share in
flow_common; the options flow is in flow_options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, ConfigSubentryFlow
from homeassistant.core import callback

from .const import CONNECTION_CLOUD, CONNECTION_PUSH3, CONNECTION_RS485, DOMAIN
from .flow_cloud import CloudFlow
from .flow_options import EkmOptionsFlow
from .flow_pulse_input import PulseInputFlow
from .flow_push3 import Push3Flow
from .flow_rs485 import Rs485Flow
from .helpers import connection_of
from .pulse_inputs import SUBENTRY_PULSE_INPUT

# The first step offers these.
CONNECTION_TYPES: Final = [CONNECTION_RS485, CONNECTION_CLOUD, CONNECTION_PUSH3]


class EkmConfigFlow(Rs485Flow, CloudFlow, Push3Flow, domain=DOMAIN):
    """Set up one connection (an RS-485 bus, a Push key or a Push3 gateway) and its meters."""

    VERSION = 1
    # 1.2: the unique_id names a meter on the bus instead of the port as typed.
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EkmOptionsFlow:
        """The options of an entry."""
        return EkmOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """'Add pulse input' on every entry: each mode reads the pulse counts of v4/v5 meters."""
        return {SUBENTRY_PULSE_INPUT: PulseInputFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose how to connect."""
        return self.async_show_menu(step_id="user", menu_options=CONNECTION_TYPES)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The cloud or the gateway refused the key: ask for a new one."""
        if connection_of(self._get_reauth_entry()) == CONNECTION_PUSH3:
            return await self.async_step_reauth_push3()
        return await self.async_step_reauth_cloud()

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change how an entry reaches its meters: each connection has its own form."""
        connection = connection_of(self._get_reconfigure_entry())
        if connection == CONNECTION_CLOUD:
            return await self.async_step_reconfigure_cloud()
        if connection == CONNECTION_PUSH3:
            return await self.async_step_reconfigure_push3()
        return await self.async_reconfigure_bus(user_input)
