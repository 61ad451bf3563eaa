"""The differences between the Home Assistant versions we support (2025.4 and newer).

Everything that exists in only some of them is looked up here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
import importlib
import inspect
from typing import TYPE_CHECKING, Any, cast

from homeassistant import config_entries
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowHandler
from homeassistant.helpers import device_registry as dr, selector, service
from homeassistant.helpers.update_coordinator import UpdateFailed
import serialx
import voluptuous as vol

# SerialPortSelector arrived in HA 2026.5; it lists local ports and accepts URLs.
HAS_SERIAL_PORT_SELECTOR: bool = hasattr(selector, "SerialPortSelector")

# OptionsFlowWithReload (2025.8) reloads the entry when its options change. Older versions need
# an update listener for that, which newer ones forbid beside OptionsFlowWithReload and warn
# about beside async_update_reload_and_abort.
HAS_OPTIONS_FLOW_WITH_RELOAD: bool = hasattr(config_entries, "OptionsFlowWithReload")
if TYPE_CHECKING:
    OptionsFlowWithReload = config_entries.OptionsFlow
else:
    OptionsFlowWithReload = getattr(config_entries, "OptionsFlowWithReload", config_entries.OptionsFlow)

# SensorDeviceClass.REACTIVE_ENERGY arrived after 2025.4.
REACTIVE_ENERGY: SensorDeviceClass | None = getattr(SensorDeviceClass, "REACTIVE_ENERGY", None)


def get_device(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], entry_id: str
) -> dr.DeviceEntry | None:
    """The device of `entry_id` with `identifier`.

    Identifiers became unique per config entry in 2026.9; the global lookup is deprecated there.
    """
    if hasattr(registry, "async_get_device_by_identifier"):
        device: dr.DeviceEntry | None = registry.async_get_device_by_identifier(identifier, entry_id)
        return device
    return registry.async_get_device(identifiers={identifier})


# Newer HA gives a device exactly one config entry (DeviceEntry.config_entry_id) and deprecates
# adding or removing entries of a device; 2025.4 shares a device among entries (config_entries).
DEVICE_HAS_ONE_ENTRY: bool = hasattr(dr.DeviceEntry, "config_entry_id")


def device_entry_ids(device: dr.DeviceEntry) -> set[str]:
    """The ids of the config entries `device` belongs to."""
    if DEVICE_HAS_ONE_ENTRY:
        entry_id: str = getattr(device, "config_entry_id")  # noqa: B009
        return {entry_id}
    return set(device.config_entries)


def remove_device_from_entry(registry: dr.DeviceRegistry, device: dr.DeviceEntry, entry_id: str) -> None:
    """Take `device` off the entry `entry_id`; the device goes when no entry is left.

    Other entries sharing the device (older HA) keep it.
    """
    if DEVICE_HAS_ONE_ENTRY:
        if entry_id in device_entry_ids(device):
            registry.async_remove_device(device.id)
        return
    registry.async_update_device(device.id, remove_config_entry_id=entry_id)


# DeviceInfo.via_device (the parent's identifier) gave way to via_device_id (its registry id).
HAS_VIA_DEVICE_ID: bool = "via_device_id" in dr.DeviceInfo.__annotations__


def via_device(parent: dr.DeviceEntry) -> dr.DeviceInfo:
    """The DeviceInfo keys that put a device behind `parent`."""
    if HAS_VIA_DEVICE_ID:
        return cast(dr.DeviceInfo, {"via_device_id": parent.id})
    return cast(dr.DeviceInfo, {"via_device": next(iter(parent.identifiers))})


# HA 2026 types its flow and service schemas with probatio, which it also serves under the
# name voluptuous at run time; 2025.4 types them with voluptuous. The same schema objects
# work on both, so this call goes through Any to satisfy both sets of type hints.


def with_suggested_values(flow: FlowHandler[Any, Any], schema: vol.Schema, values: Mapping[str, Any]) -> Any:
    """`schema` with `values` as suggested values (FlowHandler.add_suggested_values_to_schema)."""
    add: Any = flow.add_suggested_values_to_schema
    return add(schema, values)


async def async_list_ports() -> list[str]:
    """Device paths of the serial ports on this machine (by-id names when udev has them)."""
    try:
        ports = await serialx.async_list_serial_ports()
    except (OSError, serialx.SerialException):
        return []
    return sorted({str(port.device) for port in ports})


async def async_port_selector() -> selector.Selector[Any]:
    """The port field: HA's own serial port selector, or detected ports plus free text."""
    if HAS_SERIAL_PORT_SELECTOR:
        # getattr: the name is unknown to the type stubs of the older HA.
        serial_port_selector: type[selector.Selector[Any]] = getattr(selector, "SerialPortSelector")  # noqa: B009
        return serial_port_selector()
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=await async_list_ports(),
            custom_value=True,  # socket://host:port, rfc2217://... or a path not listed
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


# UpdateFailed(retry_after=...) (2025.10?) lets a coordinator wait as long as the server asks.
HAS_UPDATE_FAILED_RETRY_AFTER: bool = "retry_after" in inspect.signature(UpdateFailed.__init__).parameters


def update_failed(retry_after: float | None, **kwargs: Any) -> UpdateFailed:
    """UpdateFailed with the server's Retry-After where HA supports it (older: the usual interval)."""
    if retry_after is not None and HAS_UPDATE_FAILED_RETRY_AFTER:
        make: Any = UpdateFailed
        failed: UpdateFailed = make(retry_after=retry_after, **kwargs)
        return failed
    return UpdateFailed(**kwargs)


# homeassistant.helpers.target (2025.8) took over extracting a call's targets from helpers.service.
# Looked up once, here: at call time the import of a missing module blocks the event loop.
try:
    _TARGET: Any = importlib.import_module("homeassistant.helpers.target")
except ImportError:
    _TARGET = None


def referenced_entities(hass: HomeAssistant, call: ServiceCall) -> Any:
    """The devices, entities, areas ... a call targets (SelectedEntities of the HA version)."""
    if _TARGET is not None:
        return _TARGET.async_extract_referenced_entity_ids(
            hass, _TARGET.TargetSelectorData(call.data), expand_group=False
        )
    extract: Any = getattr(service, "async_extract_referenced_entity_ids")  # noqa: B009
    return extract(hass, call, expand_group=False)
