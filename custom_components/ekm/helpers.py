"""Small pieces several modules share: labels, options, device info, translated errors."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo

from . import compat
from .aioekm import (
    AddressMismatchError,
    CommandRejectedError,
    CrcError,
    EkmConnectionError,
    EkmError,
    EkmTimeoutError,
    FrameError,
    Gateway,
    MeterReading,
    WriteUnconfirmedError,
    model_name,
    redact_port_url,
)
from .const import (
    CONF_B_FRAME_EVERY,
    CONF_CONNECTION,
    CONF_METERS,
    CONF_PORT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_TIMEOUT,
    CONNECTION_RS485,
    DEFAULT_B_FRAME_EVERY,
    DEFAULT_RETRIES,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_TIMEOUT,
    DOMAIN,
)

if TYPE_CHECKING:
    from .cloud_coordinator import CloudCoordinator
    from .entity import EkmEntity


def connection_of(entry: ConfigEntry) -> str:
    """How an entry reaches its meters; bus entries made before the other modes do not say."""
    connection: str = entry.data.get(CONF_CONNECTION, CONNECTION_RS485)
    return connection


def port_label(port: str) -> str:
    """The port as shown to the user: secrets in a URL (a user and password, an ESPHome key) redacted."""
    return redact_port_url(port)


def failure_reason(err: EkmError) -> str:
    """A short, translatable reason why a meter did not give a reading."""
    if isinstance(err, EkmTimeoutError):
        return "timeout"
    if isinstance(err, CrcError):
        return "crc"
    if isinstance(err, AddressMismatchError):
        return "wrong_address"
    return "bad_reply"


def meter_device_info(address: str, reading: MeterReading | None) -> DeviceInfo:
    """The device of one meter (its link to the hub device is added by the coordinator)."""
    info = DeviceInfo(
        identifiers={(DOMAIN, address)},
        manufacturer="EKM Metering",
        name=f"Omnimeter {address}",
        serial_number=address,
    )
    if reading is not None:
        info["model"] = model_name(reading.model)
        info["model_id"] = reading.model
        info["sw_version"] = reading.firmware
    return info


# A bus is known by a meter on it: the port can change (a new adapter), the meters stay.
BUS_UNIQUE_ID_PREFIX = "rs485_"


def bus_unique_id(addresses: Collection[str], current: str | None = None) -> str:
    """The unique_id of a bus with these meters: `current` while its meter is still listed,
    else named after the lowest address."""
    if (
        current
        and current.startswith(BUS_UNIQUE_ID_PREFIX)
        and current[len(BUS_UNIQUE_ID_PREFIX) :] in addresses
    ):
        return current
    return BUS_UNIQUE_ID_PREFIX + min(addresses)


def meters_in_entries(entries: Iterable[ConfigEntry]) -> dict[str, ConfigEntry]:
    """The entry of each meter address; the first entry wins if two list the same meter."""
    owners: dict[str, ConfigEntry] = {}
    for entry in entries:
        for address in entry.data.get(CONF_METERS, {}):
            owners.setdefault(address, entry)
    return owners


def meters_read_now(entry: ConfigEntry) -> Iterable[str]:
    """The meters a loaded entry's coordinator reads; none while it is not loaded."""
    if entry.state is not ConfigEntryState.LOADED:
        return ()
    runtime = getattr(entry, "runtime_data", None)  # another integration's entry has none
    return runtime.coordinator.meters if runtime is not None else ()


def meters_to_leave(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, ConfigEntry]:
    """The meters `entry` must not read, each with the entry that has it: a meter is set up
    in one entry only (entities and devices never collide).

    Another entry has a meter when it reads it now, or when its data lists it and either it
    was made before `entry` or `entry`'s data does not list the meter (one `entry` finds while
    running). A disabled entry keeps its meters: deleting it hands them over. "Before" is the
    order the entries were made and are stored in, that of async_entries() over all domains;
    async_entries(DOMAIN) is not, HA moves an entry to its end when its unique_id changes.
    """
    own = set(entry.data.get(CONF_METERS) or ())
    owners: dict[str, ConfigEntry] = {}
    before = True
    for other in hass.config_entries.async_entries():
        if other.entry_id == entry.entry_id:
            before = False
            continue
        if other.domain != DOMAIN:
            continue
        for address in meters_read_now(other):
            owners.setdefault(address, other)
        for address in other.data.get(CONF_METERS) or ():
            if before or address not in own:
                owners.setdefault(address, other)
    return owners


GATEWAY_PREFIX = "gateway_"


def gateway_identifier(mac: str) -> tuple[str, str]:
    """Device identifier of a gateway, by MAC."""
    return (DOMAIN, f"{GATEWAY_PREFIX}{mac.lower()}")


def gateway_mac(identifier: tuple[str, str]) -> str | None:
    """The MAC a gateway's device identifier names; None for any other device."""
    domain, ident = identifier
    if domain != DOMAIN or not ident.startswith(GATEWAY_PREFIX):
        return None
    return ident.removeprefix(GATEWAY_PREFIX)


def gateway_owner(hass: HomeAssistant, mac: str) -> str | None:
    """The entry that has gateway `mac`'s device and Connected sensor; None before any has.

    A gateway a cloud entry and a Push3 entry both see gets one device, made by the entry that
    came first; the other entry's meters sit behind it. The Connected sensor (kept in the entity
    registry across restarts) names that entry; until it exists, the device does (made in the
    same step as the decision, so two entries setting up together agree).
    """
    mac = mac.lower()
    entities = er.async_get(hass)
    entity_id = entities.async_get_entity_id("binary_sensor", DOMAIN, f"{mac}_connected")
    entity = entities.async_get(entity_id) if entity_id is not None else None
    if entity is not None and entity.config_entry_id is not None:
        return entity.config_entry_id
    devices = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        device = compat.get_device(devices, gateway_identifier(mac), entry.entry_id)
        # On HA 2025.4 a device made before this rule may have both entries: the first keeps it.
        if device is not None and entry.entry_id in compat.device_entry_ids(device):
            return entry.entry_id
    return None


def connected_elsewhere(hass: HomeAssistant, mac: str, entry_id: str) -> bool:
    """Whether another entry has gateway `mac` (its device and Connected sensor)."""
    owner = gateway_owner(hass, mac)
    return owner is not None and owner != entry_id


def gateway_device_elsewhere(
    hass: HomeAssistant, identifier: tuple[str, str], entry_id: str
) -> dr.DeviceEntry | None:
    """The device another entry has for the gateway `identifier` names (None for other hubs)."""
    mac = gateway_mac(identifier)
    owner = gateway_owner(hass, mac) if mac is not None else None
    if owner is None or owner == entry_id:
        return None
    return compat.get_device(dr.async_get(hass), identifier, owner)


def _cloud_coordinators(hass: HomeAssistant) -> Iterable[CloudCoordinator]:
    for entry in hass.config_entries.async_entries(DOMAIN):
        runtime = getattr(entry, "runtime_data", None)
        if entry.state is ConfigEntryState.LOADED and runtime is not None and runtime.cloud is not None:
            yield runtime.cloud


def push3_gateway_in_cloud(hass: HomeAssistant, addresses: Iterable[str]) -> Gateway | None:
    """The gateway a loaded cloud entry's account puts one of `addresses` behind: the Push3
    gateway that answers for those meters on the LAN (its local API does not tell its MAC)."""
    addresses = list(addresses)
    for cloud in _cloud_coordinators(hass):
        for address in addresses:
            gateway = cloud.gateway_of(address)
            if gateway is not None and gateway.is_push3 is not False:
                return gateway
    return None


def gateway_in_cloud(hass: HomeAssistant, mac: str) -> Gateway | None:
    """Gateway `mac` as a loaded cloud entry's account describes it (model, firmware)."""
    for cloud in _cloud_coordinators(hass):
        if (gateway := cloud.account.gateway(mac)) is not None:
            return gateway
    return None


@dataclass(frozen=True, slots=True)
class BusOptions:
    """The options of a bus entry, defaults filled in and typed."""

    scan_interval: float = DEFAULT_SCAN_INTERVAL
    b_frame_every: int = DEFAULT_B_FRAME_EVERY
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> BusOptions:
        """Read stored options (or a submitted options form); missing ones take the defaults."""
        defaults = cls()
        return cls(
            scan_interval=float(options.get(CONF_SCAN_INTERVAL, defaults.scan_interval)),
            b_frame_every=max(1, int(options.get(CONF_B_FRAME_EVERY, defaults.b_frame_every))),
            timeout=float(options.get(CONF_TIMEOUT, defaults.timeout)),
            retries=int(options.get(CONF_RETRIES, defaults.retries)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The options as stored in the entry."""
        return {
            CONF_SCAN_INTERVAL: self.scan_interval,
            CONF_B_FRAME_EVERY: self.b_frame_every,
            CONF_TIMEOUT: self.timeout,
            CONF_RETRIES: self.retries,
        }


# Most specific first: the first match gives the translation key.
_KEYS: tuple[tuple[type[EkmError], str], ...] = (
    (CommandRejectedError, "command_rejected"),
    (WriteUnconfirmedError, "write_unconfirmed"),
    (EkmTimeoutError, "meter_timeout"),
    (FrameError, "meter_bad_reply"),
    (EkmConnectionError, "bus_unavailable"),
    (EkmError, "communication_error"),
)


def translated_error(err: EkmError, address: str, port: str) -> HomeAssistantError:
    """The HomeAssistantError telling the user what went wrong, never with secrets."""
    key = next(key for kind, key in _KEYS if isinstance(err, kind))
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"address": address, "port": port_label(port)},
    )


def ekm_exception_handler[EntityT: EkmEntity, **P](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Decorate an entity action so library errors reach the user translated."""

    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await func(self, *args, **kwargs)
        except EkmError as err:
            port = str(self.coordinator.config_entry.data.get(CONF_PORT, ""))
            raise translated_error(err, self.address, port) from err

    return handler
