"""ekm.list/get/create/update/delete_trigger against the fake Push server over real HTTP."""

from __future__ import annotations

import logging
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol
import yaml

from custom_components.ekm import cloud_services
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import CONF_API_TOKEN, DOMAIN
from custom_components.ekm.coordinator import gateway_identifier

from . import push_support
from .conftest import V3, V4
from .push_support import API_TOKEN, GATEWAY, add_cloud_entry, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry

GATEWAY_COLONS = "40:16:FA:10:00:00"
DEFINITION: dict[str, Any] = {
    "conditions": [
        {"field": "RMS_Watts_Tot", "operator": "above", "value": 5000, "duration": 300, "meter": V4}
    ],
    "actions": [
        {"type": "email", "to": "me@example.com"},
        {"type": "relay", "meter": V4, "relay": 1, "state": "open", "duration": 600},
    ],
    "schedule": {"days": ["mon", "fri"], "start": "07:00", "end": "19:00"},
}


@pytest.fixture
async def token_entry(hass: HomeAssistant, push_server: PushServer, live_clock: Any) -> MockConfigEntry:
    """A set-up cloud entry with the fake server's API token."""
    entry = add_cloud_entry(hass, push_server, **{CONF_API_TOKEN: API_TOKEN})
    await set_up(hass, entry)
    return entry


def device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: tuple[str, str]) -> str:
    device = get_device(dr.async_get(hass), identifier, entry.entry_id)
    assert device is not None
    return device.id


async def call(hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = True) -> Any:
    return await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=response)


def trigger_requests(server: PushServer) -> list[str]:
    return [r.method for r in server.requests_to("/api/trigger")]


async def create_refused_by_the_schema(
    hass: HomeAssistant, entry: MockConfigEntry, server: PushServer, definition: dict[str, Any]
) -> None:
    """create_trigger on the gateway's device with `definition`: the action's schema refuses it,
    and nothing is sent to EKM."""
    gateway = device_id(hass, entry, gateway_identifier(GATEWAY))
    with pytest.raises(vol.Invalid):
        await call(hass, "create_trigger", {"device_id": gateway, "name": "Bad", "definition": definition})
    assert trigger_requests(server) == []


def secrets_absent(text: str, server: PushServer) -> None:
    assert API_TOKEN not in text
    assert server.keys.account not in text


async def refused_with_secrets_hidden(
    hass: HomeAssistant,
    server: PushServer,
    caplog: pytest.LogCaptureFixture,
    service: str,
    data: dict[str, Any],
) -> HomeAssistantError:
    """`service` with `data`, which EKM refuses: the error it raised. Neither the error nor
    anything logged (at DEBUG too) shows the key or the API token."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, service, data)
    secrets_absent(str(raised.value), server)
    secrets_absent(caplog.text, server)
    return raised.value


async def test_trigger_round_trip(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """create -> list shows it -> update -> get shows the change -> delete -> get is 'not found'."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    created = await call(
        hass, "create_trigger", {"device_id": gateway, "name": "Load above 5 kW", "definition": DEFINITION}
    )
    trigger = created["trigger"]
    uuid = trigger["uuid"]
    assert len(uuid) == 32
    assert trigger["name"] == "Load above 5 kW"
    assert trigger["definition"]["conditions"] == DEFINITION["conditions"]
    assert trigger["definition"]["actions"] == [
        {"type": "email", "to": ["me@example.com"]},  # one address becomes a list
        DEFINITION["actions"][1],
    ]
    # On the wire: the name as trigger_name beside the definition, created on the gateway.
    stored = push_server.triggers[uuid]
    assert stored["trigger_name"] == "Load above 5 kW"
    assert stored["gateway"] == GATEWAY
    assert stored["schedule"] == DEFINITION["schedule"]

    listed = await call(
        hass, "list_triggers", {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY_COLONS}
    )
    assert listed["gateway"] == GATEWAY
    assert [(t["uuid"], t["name"]) for t in listed["triggers"]] == [(uuid, "Load above 5 kW")]
    assert listed["triggers"][0]["definition"] == trigger["definition"]

    webhook = {"type": "webhook", "url": "https://example.com/hook"}
    updated = await call(
        hass,
        "update_trigger",
        {"device_id": gateway, "uuid": uuid, "name": "Load above 6 kW", "definition": {"actions": [webhook]}},
    )
    assert updated["trigger"]["name"] == "Load above 6 kW"
    assert updated["trigger"]["definition"]["actions"] == [webhook]

    got = await call(hass, "get_trigger", {"config_entry_id": token_entry.entry_id, "uuid": uuid.upper()})
    assert got["trigger"]["name"] == "Load above 6 kW"
    assert got["trigger"]["definition"]["actions"] == [webhook]
    assert got["trigger"]["definition"]["conditions"] == DEFINITION["conditions"]  # not given: kept

    assert await call(hass, "delete_trigger", {"device_id": gateway, "uuid": uuid}, response=False) is None
    assert uuid not in push_server.triggers
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "get_trigger", {"device_id": gateway, "uuid": uuid})
    assert raised.value.translation_key == "trigger_not_found"
    assert uuid in str(raised.value)
    listed = await call(hass, "list_triggers", {"device_id": gateway})
    assert listed["triggers"] == []


async def test_meter_device_stands_for_its_gateway(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    meter = device_id(hass, token_entry, (DOMAIN, V3))
    created = await call(hass, "create_trigger", {"device_id": meter, "name": "Anything"})
    assert push_server.triggers[created["trigger"]["uuid"]]["gateway"] == GATEWAY
    assert created["trigger"]["definition"] == {"gateway": GATEWAY}


async def test_unknown_keys_pass_through(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """Keys of a newer EKM schema reach EKM untouched, at every level; unknown action types too."""
    definition = {
        "enabled": False,
        "conditions": [{"field": "Amps_Ln_1", "value": 40, "hysteresis": {"amps": 2}}],
        "actions": [
            {"type": "sms", "number": "+15550100"},
            {"type": "iostack", "output": 2, "level": "high"},
            {"type": "relay", "relay": "2", "state": "close", "x-future": [1, 2]},
        ],
        "schedule": {"timezone": "America~Chicago"},
        "trigger_name": "ignored: the name field wins",
    }
    created = await call(
        hass,
        "create_trigger",
        {
            "config_entry_id": token_entry.entry_id,
            "gateway": GATEWAY,
            "name": "Future",
            "definition": definition,
        },
    )
    stored = push_server.triggers[created["trigger"]["uuid"]]
    assert stored["trigger_name"] == "Future"
    assert stored["enabled"] is False
    assert stored["conditions"] == [{"field": "Amps_Ln_1", "value": 40.0, "hysteresis": {"amps": 2}}]
    assert stored["actions"] == [
        {"type": "sms", "number": "+15550100"},
        {"type": "iostack", "output": 2, "level": "high"},
        {"type": "relay", "relay": 2, "state": "close", "x-future": [1, 2]},
    ]
    assert stored["schedule"] == {"timezone": "America~Chicago"}


@pytest.mark.parametrize(
    "definition",
    [
        {"conditions": [{"field": "RMS_Watts_Total", "value": 1}]},  # not a meter field
        {"conditions": [{"field": "RMS_Watts_Tot", "operator": "around"}]},
        {"conditions": [{"field": "RMS_Watts_Tot", "duration": -1}]},
        {"actions": [{"type": "relay", "relay": 3, "state": "open"}]},
        {"actions": [{"type": "relay", "relay": 1, "state": "open", "duration": 10000}]},
        {"actions": [{"type": "relay", "relay": 1, "state": "toggle"}]},
        {"actions": [{"type": "email", "to": "not an address"}]},
        {"actions": [{"type": "email", "to": "a" * 65 + "@example.com"}]},  # RFC 5321: 64 before @
        {
            "actions": [
                {"type": "email", "to": "a" * 64 + "@" + "e" * 61 + "." + "e" * 61 + "." + "e" * 62 + ".com"}
            ]
        },
        {"actions": [{"type": "email", "to": "x" * 10_000 + "@example.com"}]},
        {"actions": [{"type": "webhook", "url": "ftp://example.com/x"}]},
        {"actions": [{"type": "iostack", "output": 0}]},
        {"actions": ["email me"]},
        {"schedule": {"days": ["someday"]}},
        {"schedule": {"start": "25:00"}},
        {"conditions": [{"meter": "not a meter"}]},
        {"conditions": [{"field": "RMS_Watts_Tot", "value": float("nan")}]},
    ],
)
async def test_definition_checked_before_sending(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, definition: dict[str, Any]
) -> None:
    await create_refused_by_the_schema(hass, token_entry, push_server, definition)


async def test_missing_token(hass: HomeAssistant, push_server: PushServer, live_clock: Any) -> None:
    """Without an API token nothing is sent: the user is told to add it under Reconfigure."""
    entry = add_cloud_entry(hass, push_server)
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"device_id": device_id(hass, entry, gateway_identifier(GATEWAY))})
    assert raised.value.translation_key == "api_token_missing"
    assert "Reconfigure" in str(raised.value)
    assert trigger_requests(push_server) == []


async def test_refused_key_or_token(
    hass: HomeAssistant,
    token_entry: MockConfigEntry,
    push_server: PushServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    push_server.inject(Fault(status=403, message="invalid key or API token", path="/api/trigger"))
    data = {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY}
    error = await refused_with_secrets_hidden(hass, push_server, caplog, "list_triggers", data)
    assert error.translation_key == "push_refused_key"
    assert "invalid key or token" in str(error)


async def test_bad_request_shows_ekm_message_redacted(
    hass: HomeAssistant,
    token_entry: MockConfigEntry,
    push_server: PushServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 400 shows EKM's own message, with the key and token masked even when EKM echoes them."""
    key = push_server.keys.account
    message = f"Unsupported action 'sms' for key {key} (token {API_TOKEN})"
    push_server.inject(Fault(status=400, message=message, path="/api/trigger"))
    data = {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY, "name": "x"}
    error = await refused_with_secrets_hidden(hass, push_server, caplog, "create_trigger", data)
    assert isinstance(error, ServiceValidationError)
    assert error.translation_key == "push_request_refused"
    assert str(error).startswith("EKM refused the request: Unsupported action 'sms' for key ***")
    assert push_server.triggers == {}


@pytest.mark.parametrize("service", ["create_trigger", "update_trigger", "delete_trigger"])
async def test_writes_never_retried(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, service: str
) -> None:
    """A failed write is sent once: it may have taken effect even if its answer was lost."""
    push_server.triggers["0" * 32] = {"trigger_uuid": "0" * 32, "trigger_name": "t", "gateway": GATEWAY}
    method = {"create_trigger": "POST", "update_trigger": "PUT", "delete_trigger": "DELETE"}[service]
    push_server.inject(Fault(status=503, message="busy", path="/api/trigger", method=method, times=None))
    data = {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY}
    data |= {"name": "n"} if service != "delete_trigger" else {}
    data |= {"uuid": "0" * 32} if service != "create_trigger" else {}
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, service, data, response=service != "delete_trigger")
    assert raised.value.translation_key == "push_request_failed"
    assert trigger_requests(push_server).count(method) == 1


async def test_rate_limited(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    push_server.inject(Fault(status=429, retry_after="30", path="/api/trigger", method="POST"))
    with pytest.raises(HomeAssistantError) as raised:
        await call(
            hass, "create_trigger", {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY, "name": "n"}
        )
    assert raised.value.translation_key == "push_slow_down"
    assert "30 seconds" in str(raised.value)


async def test_gateway_must_be_known_and_push3(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "list_triggers", {"config_entry_id": token_entry.entry_id, "gateway": "4016fa999999"}
        )
    assert raised.value.translation_key == "unknown_gateway"
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"config_entry_id": token_entry.entry_id})
    assert raised.value.translation_key == "gateway_needed"
    with pytest.raises(vol.Invalid):
        await call(hass, "list_triggers", {"config_entry_id": token_entry.entry_id, "gateway": "not a mac"})
    with pytest.raises(vol.Invalid):
        await call(hass, "get_trigger", {"config_entry_id": token_entry.entry_id, "uuid": "123"})
    with pytest.raises(vol.Invalid):  # neither a device nor an entry
        await call(hass, "list_triggers", {"gateway": GATEWAY})
    assert trigger_requests(push_server) == []


async def test_legacy_gateway_has_no_triggers(
    hass: HomeAssistant, push_server: PushServer, live_clock: Any
) -> None:
    push_server.make_legacy(GATEWAY)
    entry = add_cloud_entry(hass, push_server, **{CONF_API_TOKEN: API_TOKEN})
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"device_id": device_id(hass, entry, gateway_identifier(GATEWAY))})
    assert raised.value.translation_key == "not_push3"
    assert trigger_requests(push_server) == []


async def test_rs485_meter_is_wrong_target(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await set_up(hass, entry)
    meter = device_id(hass, entry, (DOMAIN, V4))
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"device_id": meter})
    assert raised.value.translation_key == "needs_cloud_entry"
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "get_trigger", {"config_entry_id": entry.entry_id, "uuid": "0" * 32})
    assert raised.value.translation_key == "needs_cloud_entry"


async def test_push3_entry_is_wrong_mode(hass: HomeAssistant, push3_entry: MockConfigEntry) -> None:
    await set_up(hass, push3_entry)
    gateway = device_id(hass, push3_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"device_id": gateway})
    assert raised.value.translation_key == "push3_local_only"
    assert "local API" in str(raised.value)


async def test_other_targets(hass: HomeAssistant, token_entry: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"device_id": "no-such-device"})
    assert raised.value.translation_key == "not_an_ekm_device"
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"config_entry_id": "no-such-entry", "gateway": GATEWAY})
    assert raised.value.translation_key == "unknown_entry"
    await hass.config_entries.async_unload(token_entry.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "list_triggers", {"config_entry_id": token_entry.entry_id, "gateway": GATEWAY})
    assert raised.value.translation_key == "entry_not_loaded"


async def test_target_with_one_device(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """A `target:` with one device gives the action a list of one: that is fine, two are not."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    listed = await call(hass, "list_triggers", {"device_id": [gateway]})
    assert listed == {"gateway": GATEWAY, "triggers": []}
    meter = device_id(hass, token_entry, (DOMAIN, V4))
    with pytest.raises(vol.Invalid):
        await call(hass, "list_triggers", {"device_id": [gateway, meter]})


def test_readme_examples_pass_the_schemas() -> None:
    """The worked examples of the README's "Triggers and gateway commands" are valid as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Triggers and gateway commands", 1)[1].split("\n## ", 1)[0]
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]
    create, script = blocks
    assert create["action"] == "ekm.create_trigger"
    cloud_services.CREATE_TRIGGER_SCHEMA(create["data"])
    schemas = {
        "ekm.list_triggers": cloud_services.LIST_TRIGGERS_SCHEMA,
        "ekm.update_trigger": cloud_services.UPDATE_TRIGGER_SCHEMA,
        "ekm.send_command": cloud_services.SEND_COMMAND_SCHEMA,
    }
    for step in script["sequence"]:
        data = dict(step["data"])
        if "uuid" in data:  # a template in the example
            data["uuid"] = "1c27d0dcefc811eb90b27de8d650408c"
        schemas[step["action"]](data)
    assert cloud_services.SET_RELAY_PARAMS(script["sequence"][2]["data"]["params"])


async def test_definition_that_is_not_plain_json(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """A key we do not check, holding what JSON cannot carry: a translated error, nothing sent."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "create_trigger", {"device_id": gateway, "name": "n", "definition": {"x": float("inf")}}
        )
    assert raised.value.translation_key == "invalid_trigger"
    assert str(raised.value) == (
        "The trigger is not valid: a trigger definition must be plain JSON (a number that is not finite)"
    )
    assert trigger_requests(push_server) == []


async def test_gateway_also_read_by_a_push3_entry(
    hass: HomeAssistant, token_entry: MockConfigEntry, push3_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """The cloud entry's gateway device acts through the cloud even when a Push3 entry has the gateway
    too (older HA shares one device between both entries)."""
    await set_up(hass, push3_entry)
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    created = await call(hass, "create_trigger", {"device_id": gateway, "name": "Both"})
    assert created["trigger"]["uuid"] in push_server.triggers
