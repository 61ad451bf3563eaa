"""The EKM Metering integration."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .aioekm.errors import EkmConnectionError
from .aioekm.readings import Protocol
from .aioekm.rs485.bus import EkmBus
from .const import (
    CONF_METERS,
    CONF_PORT,
    CONF_RETRIES,
    CONF_TIMEOUT,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from .coordinator import BusCoordinator, EkmConfigEntry, EkmCoordinator, port_label
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Open the bus, read every meter once, then create the entities."""
    options = {**DEFAULT_OPTIONS, **entry.options}
    port: str = entry.data[CONF_PORT]
    bus = EkmBus(
        port, first_byte_timeout=float(options[CONF_TIMEOUT]), read_retries=int(options[CONF_RETRIES])
    )
    try:
        await bus.open()
    except EkmConnectionError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_unavailable",
            translation_placeholders={"port": port_label(port)},
        ) from err
    entry.async_on_unload(bus.close)  # also runs when the first refresh fails
    meters = {address: Protocol(protocol) for address, protocol in entry.data[CONF_METERS].items()}
    coordinator = BusCoordinator(hass, entry, bus, meters)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))

    # The bus device first, so meters can name it as their via device.
    coordinator.async_register_hub()
    _remove_stale_devices(dr.async_get(hass), entry, coordinator)

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Unload the platforms; the bus closes through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _async_entry_updated(hass: HomeAssistant, entry: EkmConfigEntry) -> None:
    """Reload when the data (reconfigure) or the options changed; a new title needs none."""
    if entry.runtime_data.built_from != (dict(entry.data), dict(entry.options)):
        hass.config_entries.async_schedule_reload(entry.entry_id)


def _current_identifiers(coordinator: EkmCoordinator) -> set[tuple[str, str]]:
    return {coordinator.hub_identifier, *((DOMAIN, address) for address in coordinator.meters)}


def _remove_stale_devices(
    registry: dr.DeviceRegistry, entry: EkmConfigEntry, coordinator: EkmCoordinator
) -> None:
    """Remove the devices of meters that are no longer configured."""
    keep = _current_identifiers(coordinator)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device.identifiers & keep:
            registry.async_remove_device(device.id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EkmConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only when it is not the bus or a configured meter."""
    return not device.identifiers & _current_identifiers(entry.runtime_data)
