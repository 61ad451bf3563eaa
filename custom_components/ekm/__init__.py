"""The EKM Metering integration."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from . import compat
from .aioekm.errors import EkmConnectionError
from .aioekm.readings import Protocol
from .aioekm.rs485.bus import EkmBus
from .const import CONF_METERS, CONF_PORT, DOMAIN, LOGGER
from .coordinator import BusCoordinator, EkmConfigEntry, EkmCoordinator
from .helpers import BusOptions, bus_unique_id, meters_in_entries, port_label
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Open the bus, read every meter once, then create the entities."""
    meters = _own_meters(hass, entry)
    options = BusOptions.of(entry.options)
    port: str = entry.data[CONF_PORT]
    bus = EkmBus(port, first_byte_timeout=options.timeout, read_retries=options.retries)
    try:
        await bus.open()
    except EkmConnectionError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_unavailable",
            translation_placeholders={"port": port_label(port)},
        ) from err
    entry.async_on_unload(bus.close)  # also runs when the first refresh fails
    coordinator = BusCoordinator(hass, entry, bus, meters)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    if not compat.HAS_OPTIONS_FLOW_WITH_RELOAD:
        entry.async_on_unload(entry.add_update_listener(_async_options_updated))

    # The bus device first, so meters can name it as their via device.
    coordinator.async_register_hub()
    _remove_stale_devices(dr.async_get(hass), entry, coordinator)

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Unload the platforms; the bus closes through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_migrate_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """1.1 -> 1.2: the unique_id names a meter of the bus instead of the port as typed."""
    if entry.version > 1:
        return False  # made by a newer version of the integration
    if entry.minor_version < 2:
        taken = {e.unique_id for e in hass.config_entries.async_entries(DOMAIN) if e is not entry}
        free = [
            address for address in entry.data.get(CONF_METERS, {}) if bus_unique_id([address]) not in taken
        ]
        # Every meter named by another bus (a duplicate entry): keep the old unique_id.
        unique_id = bus_unique_id(free) if free else entry.unique_id
        hass.config_entries.async_update_entry(entry, unique_id=unique_id, minor_version=2)
    return True


def _own_meters(hass: HomeAssistant, entry: EkmConfigEntry) -> dict[str, Protocol]:
    """The entry's meters, minus those an earlier entry has: entities and devices never collide."""
    earlier = []
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.entry_id == entry.entry_id:
            break
        if other.disabled_by is None:
            earlier.append(other)
    owners = meters_in_entries(earlier)
    meters: dict[str, Protocol] = {}
    for address, protocol in entry.data[CONF_METERS].items():
        if (owner := owners.get(address)) is not None:
            LOGGER.warning("Meter %s is also set up in %s; it is read there only", address, owner.title)
        else:
            meters[address] = Protocol(protocol)
    if not meters:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="meters_elsewhere",
            translation_placeholders={"entry": ", ".join(dict.fromkeys(o.title for o in owners.values()))},
        )
    return meters


async def _async_options_updated(hass: HomeAssistant, entry: EkmConfigEntry) -> None:
    """Older HA only (no OptionsFlowWithReload): reload when the options changed.

    A reconfigure reloads through async_update_reload_and_abort instead.
    """
    if entry.runtime_data.built_from != dict(entry.options):
        hass.config_entries.async_schedule_reload(entry.entry_id)


def _current_identifiers(coordinator: EkmCoordinator) -> set[tuple[str, str]]:
    return {coordinator.hub_identifier, *((DOMAIN, address) for address in coordinator.meters)}


def _remove_stale_devices(
    registry: dr.DeviceRegistry, entry: EkmConfigEntry, coordinator: EkmCoordinator
) -> None:
    """Take this entry off the devices of meters it no longer reads.

    Only this entry: on HA versions where devices are shared by identifier, a meter that an
    earlier entry reads (see _own_meters) keeps its device there.
    """
    keep = _current_identifiers(coordinator)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device.identifiers & keep:
            compat.remove_device_from_entry(registry, device, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EkmConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only when it is not the bus or a configured meter."""
    return not device.identifiers & _current_identifiers(entry.runtime_data)
