"""What a cloud action acts on: the cloud entry, and where known the gateway and meter.

A device (a gateway's or a meter's), or a config entry and maybe a gateway MAC, stands for
a cloud entry's gateway; the trigger actions need a Push3 gateway (cloud_services.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_DEVICE_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from . import compat
from .aioekm import Gateway, PushClient
from .cloud_coordinator import CloudCoordinator
from .const import CONF_API_TOKEN, CONNECTION_CLOUD, CONNECTION_PUSH3, DOMAIN
from .helpers import connection_of
from .runtime import EkmConfigEntry

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_GATEWAY: Final = "gateway"


@dataclass(frozen=True, slots=True)
class CloudTarget:
    """The cloud entry an action goes through and, where known, the gateway and meter."""

    coordinator: CloudCoordinator
    gateway: Gateway | None = None
    meter: str | None = None

    @property
    def client(self) -> PushClient:
        return self.coordinator.client

    @property
    def title(self) -> str:
        return self.coordinator.config_entry.title


def _entry_coordinator(entry: EkmConfigEntry) -> CloudCoordinator:
    """The loaded cloud entry's coordinator; a translated error for any other entry."""
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry": entry.title},
        )
    connection = connection_of(entry)
    if connection == CONNECTION_PUSH3:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="push3_local_only",
            translation_placeholders={"entry": entry.title},
        )
    cloud: CloudCoordinator | None = entry.runtime_data.cloud if connection == CONNECTION_CLOUD else None
    if cloud is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="needs_cloud_entry",
            translation_placeholders={"entry": entry.title},
        )
    return cloud


def _known_gateway(coordinator: CloudCoordinator, mac: str) -> Gateway:
    gateway = coordinator.account.gateway(mac)
    if gateway is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_gateway",
            translation_placeholders={"gateway": mac, "entry": coordinator.config_entry.title},
        )
    return gateway


def device_target(hass: HomeAssistant, device_id: str) -> CloudTarget:
    """The cloud entry, gateway and meter a gateway or meter device stands for."""
    # Typed Any: newer HA may give a ChildDeviceEntry, which shares DeviceEntry's fields used here.
    device: Any = dr.async_get(hass).async_get(device_id)
    entries = [] if device is None else compat.device_entry_ids(device)
    ours = [e for i in entries if (e := hass.config_entries.async_get_entry(i)) and e.domain == DOMAIN]
    if device is None or not ours:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_an_ekm_device",
            translation_placeholders={"device": device_id},
        )
    # On older HA a gateway device is shared by the entries that see it (e.g. a Push3 entry
    # and a cloud entry of the same gateway): the loaded cloud entry is the one that acts.
    cloud = [e for e in ours if connection_of(e) == CONNECTION_CLOUD and e.state is ConfigEntryState.LOADED]
    if not cloud:
        # A gateway device a Push3 entry made (it came first) stands for the gateway too: the
        # loaded cloud entry whose account has that gateway acts for it.
        cloud = [e for mac in _gateway_macs(device.identifiers) for e in _cloud_entries_with(hass, mac)]
    coordinator = _entry_coordinator((cloud or ours)[0])
    for domain, ident in device.identifiers:
        if domain != DOMAIN:
            continue
        if ident.startswith("gateway_"):
            return CloudTarget(coordinator, _known_gateway(coordinator, ident.removeprefix("gateway_")))
        if ident in coordinator.meters:
            gateway = coordinator.gateway_of(ident)
            return CloudTarget(coordinator, gateway, ident)
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_gateway_or_meter",
        translation_placeholders={"device": device.name_by_user or device.name or device_id},
    )


def _gateway_macs(identifiers: Iterable[tuple[str, str]]) -> list[str]:
    return [
        ident.removeprefix("gateway_")
        for domain, ident in identifiers
        if domain == DOMAIN and ident.startswith("gateway_")
    ]


def _cloud_entries_with(hass: HomeAssistant, mac: str) -> list[EkmConfigEntry]:
    """The loaded cloud entries whose account lists gateway `mac`."""
    entries: list[EkmConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    return [
        e
        for e in entries
        if connection_of(e) == CONNECTION_CLOUD
        and e.state is ConfigEntryState.LOADED
        and (cloud := e.runtime_data.cloud) is not None
        and cloud.account.gateway(mac) is not None
    ]


def where(hass: HomeAssistant, data: Mapping[str, Any]) -> CloudTarget:
    """The target of a trigger action: a device, or a config entry and maybe a gateway MAC."""
    if CONF_DEVICE_ID in data:
        target = device_target(hass, data[CONF_DEVICE_ID])
        if ATTR_GATEWAY in data:
            target = CloudTarget(target.coordinator, _known_gateway(target.coordinator, data[ATTR_GATEWAY]))
    else:
        entry = hass.config_entries.async_get_entry(data[ATTR_CONFIG_ENTRY_ID])
        if entry is None or entry.domain != DOMAIN:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_entry",
                translation_placeholders={"entry": data[ATTR_CONFIG_ENTRY_ID]},
            )
        coordinator = _entry_coordinator(entry)
        gateway = _known_gateway(coordinator, data[ATTR_GATEWAY]) if ATTR_GATEWAY in data else None
        target = CloudTarget(coordinator, gateway)
    if not target.coordinator.config_entry.data.get(CONF_API_TOKEN):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="api_token_missing",
            translation_placeholders={"entry": target.title},
        )
    return target


def push3_gateway(target: CloudTarget) -> Gateway:
    """The target's gateway, which must be a Push3 (or one the account does not say is not)."""
    gateway = target.gateway
    if gateway is None and target.meter is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="meter_without_gateway",
            translation_placeholders={"address": target.meter},
        )
    if gateway is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="gateway_needed",
            translation_placeholders={"entry": target.title},
        )
    if gateway.is_push3 is False:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_push3",
            translation_placeholders={"gateway": gateway.mac_colons},
        )
    return gateway
