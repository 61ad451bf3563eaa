"""The EKM Metering integration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import CONF_API_KEY, CONF_HOST, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType

from . import compat
from .aioekm import (
    DEFAULT_API_URL,
    DEFAULT_SUMMARY_URL,
    AuthenticationError,
    EkmBus,
    EkmConnectionError,
    EkmError,
    Protocol,
    Push3Client,
    PushClient,
)
from .bus_coordinator import BusCoordinator
from .cloud_coordinator import CloudCoordinator
from .const import (
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_METERS,
    CONF_PORT,
    CONF_SUMMARY_URL,
    CONNECTION_CLOUD,
    CONNECTION_PUSH3,
    CONNECTION_RS485,
    DOMAIN,
    LOGGER,
)
from .helpers import BusOptions, bus_unique_id, connection_of, meters_to_leave, port_label
from .history import async_start_history_import
from .monthly import async_start_monthly_import
from .push3_coordinator import Push3Coordinator
from .runtime import EkmConfigEntry, EkmRuntimeData
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions once, whatever entries exist."""
    async_setup_services(hass)

    @callback
    def _async_entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        # Sent once the entry and its entities are gone from the registries.
        if change is ConfigEntryChange.REMOVED and entry.domain == DOMAIN:
            _async_hand_over_meters(hass, entry)

    async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _async_entry_changed)
    return True


@callback
def _async_hand_over_meters(hass: HomeAssistant, removed: ConfigEntry) -> None:
    """The meters of a deleted entry are free: the buses that list one set up again (a bus
    reads the meters it had when it set up); cloud and Push3 entries look for them at once."""
    freed = set(removed.data.get(CONF_METERS) or ())
    if not freed:
        return
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.disabled_by is not None or other.state not in _HAND_OVER_STATES:
            continue
        if connection_of(other) != CONNECTION_RS485:
            if other.state is ConfigEntryState.LOADED and other.runtime_data.meter_search is not None:
                other.runtime_data.meter_search.async_look_for_meters()
        elif freed & set(other.data.get(CONF_METERS) or ()):
            LOGGER.debug("Meters of the deleted entry %s are free: reloading %s", removed.title, other.title)
            hass.config_entries.async_schedule_reload(other.entry_id)


# A reload waits for a setup in progress, so a bus setting up as its meters are freed sees them.
_HAND_OVER_STATES = (
    ConfigEntryState.LOADED,
    ConfigEntryState.SETUP_ERROR,
    ConfigEntryState.SETUP_IN_PROGRESS,
    ConfigEntryState.SETUP_RETRY,
)


async def async_setup_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Connect in the entry's mode, read every meter once, then create the entities."""
    connection = connection_of(entry)
    if connection == CONNECTION_CLOUD:
        account = await _async_cloud_coordinator(hass, entry)
        runtime = EkmRuntimeData(
            account, relays=account, cloud=account, gateways=account, meter_search=account
        )
    elif connection == CONNECTION_PUSH3:
        push3 = await _async_push3_coordinator(hass, entry)
        runtime = EkmRuntimeData(push3, gateways=push3, meter_search=push3)
    else:
        bus = await _async_bus_coordinator(hass, entry)
        runtime = EkmRuntimeData(bus, relays=bus, bus=bus)
    coordinator = runtime.coordinator
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = runtime
    if not compat.HAS_OPTIONS_FLOW_WITH_RELOAD:
        entry.async_on_unload(entry.add_update_listener(_async_options_updated))

    # The hub devices first, so meters can name them as their via device.
    coordinator.async_register_hub()
    coordinator.async_remove_stale_devices()

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # History into long-term statistics, in the background: the cloud's Summary history, the
    # bus meters' month tables.
    if runtime.cloud is not None:
        runtime.history = async_start_history_import(
            hass, entry, runtime.cloud.client, coordinator.meters.keys
        )
    if runtime.bus is not None:
        async_start_monthly_import(hass, entry, runtime.bus)
    if runtime.meter_search is not None:
        # Cloud and Push3 entries find their meters by polling: they keep polling while they
        # have no entity (every meter another entry's), to take meters that become free.
        # Last: a setup that fails before this point leaves no poll behind.
        entry.async_on_unload(coordinator.async_add_listener(lambda: None))
    return True


async def _async_bus_coordinator(hass: HomeAssistant, entry: EkmConfigEntry) -> BusCoordinator:
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
    return BusCoordinator(hass, entry, bus, meters)


async def _async_cloud_coordinator(hass: HomeAssistant, entry: EkmConfigEntry) -> CloudCoordinator:
    """The Push client on HA's shared session, and what the key sees now."""
    try:
        client = PushClient(
            async_get_clientsession(hass),
            entry.data[CONF_API_KEY],
            api_url=entry.data.get(CONF_API_URL, DEFAULT_API_URL),
            summary_url=entry.data.get(CONF_SUMMARY_URL, DEFAULT_SUMMARY_URL),
            api_token=entry.data.get(CONF_API_TOKEN) or None,
            client_name="home-assistant-ekm",
        )
    except ValueError as err:  # a base URL stored before the flow refused user and password
        raise ConfigEntryError(
            "A base URL of this entry is not usable (e.g. it holds a user and password): reconfigure it"
        ) from err
    with _setup_errors_translated("EKM Push"):
        account = await client.account(deep=True)
    # No pick stored (not made by a flow): every meter of the key that no other entry has.
    picked = entry.data.get(CONF_METERS) or [meter.address for meter in account.meters]
    return CloudCoordinator(hass, entry, client, account, picked=picked)


async def _async_push3_coordinator(hass: HomeAssistant, entry: EkmConfigEntry) -> Push3Coordinator:
    """The gateway's local client; its meters are those it answers for."""
    client = Push3Client(async_get_clientsession(hass), entry.data[CONF_HOST], entry.data[CONF_API_KEY])
    with _setup_errors_translated(f"Push3 gateway {entry.data[CONF_HOST]}"):
        first = await client.read_meters()
    meters = {address: reading.protocol for address, reading in first.readings.items()}
    return Push3Coordinator(hass, entry, client, meters)


@contextmanager
def _setup_errors_translated(source: str) -> Iterator[None]:
    """What a Push source answers while an entry sets up: a refused key asks for it again
    (reauthentication), anything else is retried later."""
    try:
        yield
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from err
    except EkmError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="push_unavailable",
            translation_placeholders={"source": source},
        ) from err


async def async_unload_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """Unload the platforms; the bus closes through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_migrate_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> bool:
    """1.1 -> 1.2: the unique_id names a meter of the bus instead of the port as typed."""
    if entry.version > 1:
        return False  # made by a newer version of the integration
    if entry.minor_version < 2 and connection_of(entry) == CONNECTION_RS485:
        taken = {e.unique_id for e in hass.config_entries.async_entries(DOMAIN) if e is not entry}
        free = [
            address for address in entry.data.get(CONF_METERS, {}) if bus_unique_id([address]) not in taken
        ]
        # Every meter named by another bus (a duplicate entry): keep the old unique_id.
        unique_id = bus_unique_id(free) if free else entry.unique_id
        hass.config_entries.async_update_entry(entry, unique_id=unique_id, minor_version=2)
    return True


def _own_meters(hass: HomeAssistant, entry: EkmConfigEntry) -> dict[str, Protocol]:
    """The entry's meters, minus those another entry has: entities and devices never collide."""
    owners = meters_to_leave(hass, entry)
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
    if entry.runtime_data.coordinator.built_from != dict(entry.options):
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EkmConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only when it is not a hub or a meter the entry serves."""
    if entry.state is not ConfigEntryState.LOADED:
        return True  # nothing reads for it (disabled, or set-up failed)
    runtime = entry.runtime_data
    cloud = runtime.cloud
    for domain, ident in device.identifiers:
        # A meter EKM no longer knows for the key (cloud): deleted at the user's request.
        if domain == DOMAIN and cloud is not None and cloud.async_forget_meter(ident):
            return True
    return not device.identifiers & runtime.coordinator.current_identifiers()


async def async_remove_entry(hass: HomeAssistant, entry: EkmConfigEntry) -> None:
    """Take the entry's repair issues with it."""
    prefix = f"unknown_meter_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
