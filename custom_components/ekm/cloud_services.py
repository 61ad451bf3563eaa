"""Actions of EKM Push cloud entries: EKM's cloud triggers (ekm.*_trigger: rules a Push3 gateway
runs, not Home Assistant triggers) and ekm.send_command.

Triggers live on a Push3 gateway and are managed through EKM's cloud with the entry's
key and API token; commands go to a meter or gateway through the cloud's sendCommand
(docs/push-api.md, "Gateway Settings API" and "Trigger API"). A Push3 entry reads the
gateway's local API, which has neither. Nothing here is retried: a write may have
taken effect even when its answer was lost.
"""

from __future__ import annotations

from collections.abc import Coroutine
import json
import re
from typing import Any, Final

from homeassistant.const import CONF_API_KEY, CONF_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .aioekm import (
    MAX_RELAY_SECONDS,
    AuthenticationError,
    CommandAck,
    EkmError,
    Gateway,
    InvalidRequestError,
    NotFoundError,
    PushApiError,
    RateLimitedError,
    Trigger,
    check_json,
    check_uuid,
    redact,
    server_text,
)
from .cloud_targets import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_GATEWAY,
    CloudTarget,
    device_target as _device_target,
    push3_gateway as _push3_gateway,
    where as _where,
)
from .cloud_trigger_schema import DEFINITION_SCHEMA, TRIGGER_NAME, TRIGGER_UUID, meters_named
from .const import CONF_API_TOKEN, DOMAIN
from .validation import printable_text, whole_number

SERVICE_LIST_TRIGGERS: Final = "list_triggers"
SERVICE_GET_TRIGGER: Final = "get_trigger"
SERVICE_CREATE_TRIGGER: Final = "create_trigger"
SERVICE_UPDATE_TRIGGER: Final = "update_trigger"
SERVICE_DELETE_TRIGGER: Final = "delete_trigger"
SERVICE_SEND_COMMAND: Final = "send_command"

ATTR_UUID: Final = "uuid"
ATTR_NAME: Final = "name"
ATTR_DEFINITION: Final = "definition"
ATTR_COMMAND: Final = "command"
ATTR_PARAMS: Final = "params"

_MAC: Final = re.compile(r"^[0-9a-f]{12}$")


def gateway_mac(value: Any) -> str:
    """A gateway MAC in any usual spelling, as EKM writes it: 12 lower-case hex digits."""
    mac = cv.string(value).strip().lower().replace(":", "").replace("-", "")
    if not _MAC.match(mac):
        raise vol.Invalid(f"{value!r} is not a gateway MAC address")
    return mac


def trigger_uuid(value: Any) -> str:
    try:
        return check_uuid(cv.string(value))
    except ValueError:
        raise vol.Invalid(f"{value!r} is not a trigger uuid (32 hex digits)") from None


def one_device(value: Any) -> str:
    """A device id; a list of one is fine too (a `target:` with one device gives a list)."""
    ids = cv.ensure_list(value)
    if len(ids) != 1:
        raise vol.Invalid("choose exactly one device")
    return cv.string(ids[0])


MAX_NAME_LENGTH: Final = 100
_name: Final = printable_text(MAX_NAME_LENGTH)


# Where the trigger lives: a gateway (or meter) device of a cloud entry, or the entry and a MAC.
_WHERE: Final[dict[Any, Any]] = {
    vol.Exclusive(CONF_DEVICE_ID, "where"): one_device,
    vol.Exclusive(ATTR_CONFIG_ENTRY_ID, "where"): cv.string,
    vol.Optional(ATTR_GATEWAY): gateway_mac,
}
_ONE_WHERE: Final = cv.has_at_least_one_key(CONF_DEVICE_ID, ATTR_CONFIG_ENTRY_ID)

# Typed Any: the schema classes differ between HA versions (voluptuous, then probatio).
LIST_TRIGGERS_SCHEMA: Final[Any] = vol.All(vol.Schema(_WHERE), _ONE_WHERE)
GET_TRIGGER_SCHEMA: Final[Any] = vol.All(
    vol.Schema({**_WHERE, vol.Required(ATTR_UUID): trigger_uuid}), _ONE_WHERE
)
DELETE_TRIGGER_SCHEMA: Final = GET_TRIGGER_SCHEMA
CREATE_TRIGGER_SCHEMA: Final[Any] = vol.All(
    vol.Schema(
        {
            **_WHERE,
            vol.Required(ATTR_NAME): _name,
            vol.Optional(ATTR_DEFINITION, default=dict): DEFINITION_SCHEMA,
        }
    ),
    _ONE_WHERE,
)
UPDATE_TRIGGER_SCHEMA: Final[Any] = vol.All(
    vol.Schema(
        {
            **_WHERE,
            vol.Required(ATTR_UUID): trigger_uuid,
            vol.Optional(ATTR_NAME): _name,
            vol.Optional(ATTR_DEFINITION): DEFINITION_SCHEMA,
        }
    ),
    _ONE_WHERE,
    cv.has_at_least_one_key(ATTR_NAME, ATTR_DEFINITION),
)
SEND_COMMAND_SCHEMA: Final[Any] = vol.Schema(
    {
        vol.Required(CONF_DEVICE_ID): one_device,
        vol.Required(ATTR_COMMAND): vol.All(cv.string, vol.Length(min=1, max=64)),
        vol.Optional(ATTR_PARAMS, default=dict): vol.Schema({}, extra=vol.ALLOW_EXTRA),
    }
)
# What EKM documents of SetRelay (docs/push-api.md): checked before anything is sent.
SET_RELAY_PARAMS: Final = vol.Schema(
    {
        vol.Required("relay"): vol.In(["relay_1", "relay_2"]),
        vol.Required("status"): vol.In(["close", "open"]),
        vol.Optional("duration"): whole_number(0, MAX_RELAY_SECONDS),
    },
    extra=vol.ALLOW_EXTRA,
)


def _push_error(err: EkmError, target: CloudTarget, uuid: str | None = None) -> HomeAssistantError:
    """The translated error for a failed Push request; EKM's own text only with secrets masked."""
    data = target.coordinator.config_entry.data
    if isinstance(err, AuthenticationError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="push_refused_key",
            translation_placeholders={"entry": target.title},
        )
    if isinstance(err, NotFoundError) and uuid is not None:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="trigger_not_found",
            translation_placeholders={"uuid": uuid},
        )
    if isinstance(err, InvalidRequestError):
        # The library masks the key and token already; masking again costs nothing.
        message = redact(server_text(err), (data.get(CONF_API_KEY), data.get(CONF_API_TOKEN)))
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="push_request_refused",
            translation_placeholders={"message": message},
        )
    if isinstance(err, RateLimitedError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="push_slow_down",
            translation_placeholders={"seconds": f"{err.retry_after or 0:.0f}"},
        )
    status = err.status if isinstance(err, PushApiError) and err.status is not None else None
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="push_request_failed",
        translation_placeholders={"reason": f"HTTP {status}" if status else type(err).__name__},
    )


def _plain(value: Any) -> Any:
    """A JSON copy (mapping proxies and tuples become dicts and lists) for response data."""
    return json.loads(json.dumps(value, default=dict))


def trigger_response(trigger: Trigger) -> dict[str, Any]:
    """A trigger as response data: its definition without the uuid and name shown beside it."""
    definition = {k: v for k, v in trigger.definition.items() if k not in (TRIGGER_UUID, TRIGGER_NAME)}
    return {"uuid": trigger.uuid, "name": trigger.name, "definition": _plain(definition)}


async def _async_list_triggers(call: ServiceCall) -> ServiceResponse:
    target = _where(call.hass, call.data)
    gateway = _push3_gateway(target)
    try:
        triggers = await target.client.triggers(gateway.mac)
    except EkmError as err:
        raise _push_error(err, target) from err
    return {"gateway": gateway.mac, "triggers": [trigger_response(t) for t in triggers]}


async def _async_get_trigger(call: ServiceCall) -> ServiceResponse:
    target = _where(call.hass, call.data)
    return {"trigger": trigger_response(await _async_read_trigger(target, call.data[ATTR_UUID]))}


async def _async_read_trigger(target: CloudTarget, uuid: str) -> Trigger:
    try:
        return await target.client.trigger(uuid)
    except EkmError as err:
        raise _push_error(err, target, uuid) from err


def _check_meters_behind(gateway: Gateway | None, definition: dict[str, Any]) -> None:
    """A trigger runs on its gateway, which sees only its own meters: refuse any other it names.

    Unknown when the account lists no meters for the gateway (or the gateway is not known).
    """
    if gateway is None or not gateway.meters:
        return
    behind = {meter.address for meter in gateway.meters}
    elsewhere = [address for address in meters_named(definition) if address not in behind]
    if elsewhere:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="meter_not_behind_gateway",
            translation_placeholders={"meters": ", ".join(elsewhere), "gateway": gateway.mac_colons},
        )


async def _async_create_trigger(call: ServiceCall) -> ServiceResponse:
    target = _where(call.hass, call.data)
    gateway = _push3_gateway(target)
    _check_meters_behind(gateway, call.data[ATTR_DEFINITION])
    body = {**call.data[ATTR_DEFINITION], TRIGGER_NAME: call.data[ATTR_NAME]}
    return await _async_write_trigger(target, target.client.create_trigger(gateway.mac, body))


async def _async_update_trigger(call: ServiceCall) -> ServiceResponse:
    """Change the given fields: the trigger is read, changed and written whole.

    Whether EKM's PUT replaces or merges is not on record; a whole trigger is right either way.
    """
    target = _where(call.hass, call.data)
    uuid: str = call.data[ATTR_UUID]
    current = await _async_read_trigger(target, uuid)
    _check_meters_behind(target.gateway, call.data.get(ATTR_DEFINITION, {}))
    body = {**current.definition, **call.data.get(ATTR_DEFINITION, {})}
    if ATTR_NAME in call.data:
        body[TRIGGER_NAME] = call.data[ATTR_NAME]
    body[TRIGGER_UUID] = uuid
    return await _async_write_trigger(target, target.client.update_trigger(uuid, body), uuid)


async def _async_write_trigger(
    target: CloudTarget, write: Coroutine[Any, Any, Trigger], uuid: str | None = None
) -> ServiceResponse:
    """Send a created or changed trigger (once: a write is never retried); the trigger after it."""
    try:
        trigger = await write
    except ValueError as err:  # what the library refuses to send (e.g. not plain JSON)
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_trigger",
            translation_placeholders={"error": str(err)},
        ) from err
    except EkmError as err:
        raise _push_error(err, target, uuid) from err
    return {"trigger": trigger_response(trigger)}


async def _async_delete_trigger(call: ServiceCall) -> None:
    target = _where(call.hass, call.data)
    uuid: str = call.data[ATTR_UUID]
    try:
        await target.client.delete_trigger(uuid)
    except EkmError as err:
        raise _push_error(err, target, uuid) from err


def _command_target(hass: HomeAssistant, device_id: str) -> tuple[CloudTarget, Gateway, str, str]:
    """(target, Push3 gateway, target kind, target id) of a command to a meter or gateway device."""
    target = _device_target(hass, device_id)
    gateway = _push3_gateway(target)
    if target.meter is not None:
        return target, gateway, "meter", target.meter
    return target, gateway, "gateway", gateway.mac


async def _async_send_command(call: ServiceCall) -> ServiceResponse:
    """Queue one command for a meter or gateway; the answer only says EKM queued it."""
    target, gateway, kind, ident = _command_target(call.hass, call.data[CONF_DEVICE_ID])
    command: str = call.data[ATTR_COMMAND]
    params: dict[str, Any] = dict(call.data[ATTR_PARAMS])
    if command == "SetRelay":
        if kind != "meter":
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="relay_needs_meter")
        try:
            params = SET_RELAY_PARAMS(params)
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_command_params",
                translation_placeholders={"command": command, "error": str(err)},
            ) from err
    try:
        check_json(params, "params")
        ack: CommandAck = await target.client.send_command(gateway.mac, kind, ident, command, params)
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_command_params",
            translation_placeholders={"command": command, "error": str(err)},
        ) from err
    except EkmError as err:
        raise _push_error(err, target) from err
    return {
        "msg_id": ack.msg_id,
        "response_channel_id": ack.channel,
        "response_channel_host": ack.host,
    }


def async_setup_cloud_services(hass: HomeAssistant) -> None:
    """Register the Trigger API actions and ekm.send_command (called from async_setup)."""
    register = hass.services.async_register
    register(
        DOMAIN,
        SERVICE_LIST_TRIGGERS,
        _async_list_triggers,
        schema=LIST_TRIGGERS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    register(
        DOMAIN,
        SERVICE_GET_TRIGGER,
        _async_get_trigger,
        schema=GET_TRIGGER_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    register(
        DOMAIN,
        SERVICE_CREATE_TRIGGER,
        _async_create_trigger,
        schema=CREATE_TRIGGER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    register(
        DOMAIN,
        SERVICE_UPDATE_TRIGGER,
        _async_update_trigger,
        schema=UPDATE_TRIGGER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    register(DOMAIN, SERVICE_DELETE_TRIGGER, _async_delete_trigger, schema=DELETE_TRIGGER_SCHEMA)
    register(
        DOMAIN,
        SERVICE_SEND_COMMAND,
        _async_send_command,
        schema=SEND_COMMAND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
