"""ekm.send_command and ekm.set_relay on cloud meters, against the fake Push server over real HTTP."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.coordinator import gateway_identifier

from . import push_support
from .conftest import V3, V4
from .push_support import API_TOKEN, GATEWAY, add_cloud_entry, set_up

cloud_entry = push_support.cloud_entry
live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry


def device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: tuple[str, str]) -> str:
    device = get_device(dr.async_get(hass), identifier, entry.entry_id)
    assert device is not None
    return device.id


async def send(hass: HomeAssistant, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(DOMAIN, "send_command", data, blocking=True, return_response=True)


def set_relay(relay: int, status: str, duration: int = 0) -> dict[str, Any]:
    return {
        "command": "SetRelay",
        "params": {"relay": f"relay_{relay}", "status": status, "duration": duration},
    }


async def test_send_command_switches_the_meter(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """SetRelay to a meter device reaches the simulated meter; the response: EKM's message id, channel."""
    await set_up(hass, cloud_entry)
    meter = device_id(hass, cloud_entry, (DOMAIN, V4))
    virtual = push_server.fleet.meters[V4]
    assert virtual.relays[1] is False

    response = await send(hass, {"device_id": meter, **set_relay(2, "close", 30)})
    (command,) = push_server.commands
    assert response == {
        "msg_id": command["msg_id"],
        "response_channel_id": f"home-assistant-ekm-{command['msg_id'][:8]}",
        "response_channel_host": push_server.url.removeprefix("http://"),
    }
    assert command["gateway"] == GATEWAY
    assert (command["target"], command["target_id"]) == ("meter", V4)
    assert command["params"] == {"relay": "relay_2", "status": "close", "duration": 30}
    assert virtual.relays[1] is True
    assert virtual.relay_until[1] is not None

    await send(hass, {"device_id": meter, **set_relay(2, "open")})
    assert virtual.relays[1] is False


async def test_set_relay_action_on_cloud_meter(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer, live_clock: ManualClock
) -> None:
    """ekm.set_relay on a cloud meter's relay goes through sendCommand (with its seconds) and is read back."""
    await set_up(hass, cloud_entry)
    relay = er.async_get(hass).async_get_entity_id(SWITCH_DOMAIN, DOMAIN, f"{V4}_Relay_1")
    assert relay is not None
    await hass.services.async_call(
        DOMAIN, "set_relay", {ATTR_ENTITY_ID: relay, "state": True, "seconds": 120}, blocking=True
    )
    (command,) = push_server.commands
    assert command["params"] == {"relay": "relay_1", "status": "close", "duration": 120}
    virtual = push_server.fleet.meters[V4]
    assert virtual.relays[0] is True
    assert virtual.relay_until[0] == pytest.approx(live_clock.t + 120)
    assert hass.states.get(relay).state == STATE_ON


async def test_command_ekm_does_not_take(
    hass: HomeAssistant,
    cloud_entry: MockConfigEntry,
    push_server: PushServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unknown command, or SetRelay to a v3 meter: EKM's refusal reaches the user, no silent success."""
    caplog.set_level(logging.DEBUG)
    await set_up(hass, cloud_entry)
    gateway = device_id(hass, cloud_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": gateway, "command": "SetCtRatio", "params": {"ratio": 200}})
    assert raised.value.translation_key == "push_request_refused"
    assert str(raised.value) == "EKM refused the request: Unknown command: SetCtRatio"

    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": device_id(hass, cloud_entry, (DOMAIN, V3)), **set_relay(1, "close")})
    assert str(raised.value) == "EKM refused the request: v3 meters have no controllable relays"
    assert push_server.commands == []
    assert push_server.keys.account not in caplog.text


@pytest.mark.parametrize(
    "params",
    [
        {"relay": "relay_3", "status": "close"},
        {"relay": "relay_1", "status": "toggle"},
        {"relay": "relay_1", "status": "close", "duration": 10000},
        {"status": "close"},
    ],
)
async def test_set_relay_params_checked_before_sending(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer, params: dict[str, Any]
) -> None:
    await set_up(hass, cloud_entry)
    meter = device_id(hass, cloud_entry, (DOMAIN, V4))
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": meter, "command": "SetRelay", "params": params})
    assert raised.value.translation_key == "invalid_command_params"
    assert push_server.requests_to("/sendCommand") == []


async def test_set_relay_needs_a_meter(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    await set_up(hass, cloud_entry)
    gateway = device_id(hass, cloud_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": gateway, **set_relay(1, "close")})
    assert raised.value.translation_key == "relay_needs_meter"
    assert push_server.requests_to("/sendCommand") == []


async def test_command_errors(
    hass: HomeAssistant, push_server: PushServer, live_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """403, and a lost answer: sent once (it may have switched the relay), never repeated."""
    caplog.set_level(logging.DEBUG)
    entry = add_cloud_entry(hass, push_server, api_token=API_TOKEN)
    await set_up(hass, entry)
    meter = device_id(hass, entry, (DOMAIN, V4))
    push_server.inject(Fault(status=403, message="invalid key or API token", path="/sendCommand"))
    with pytest.raises(HomeAssistantError) as raised:
        await send(hass, {"device_id": meter, **set_relay(1, "close")})
    assert raised.value.translation_key == "push_refused_key"

    push_server.inject(Fault(status=502, message="bad gateway", path="/sendCommand", times=None))
    with pytest.raises(HomeAssistantError) as raised:
        await send(hass, {"device_id": meter, **set_relay(1, "close")})
    assert raised.value.translation_key == "push_request_failed"
    assert "HTTP 502" in str(raised.value)
    assert len(push_server.requests_to("/sendCommand")) == 2  # one each
    for text in (caplog.text, str(raised.value)):
        assert API_TOKEN not in text
        assert push_server.keys.account not in text


async def test_legacy_gateway_takes_no_commands(
    hass: HomeAssistant, push_server: PushServer, live_clock: ManualClock
) -> None:
    push_server.make_legacy(GATEWAY)
    entry = add_cloud_entry(hass, push_server)
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": device_id(hass, entry, (DOMAIN, V4)), **set_relay(1, "close")})
    assert raised.value.translation_key == "not_push3"
    assert "40:16:fa:10:00:00" in str(raised.value)
    assert push_server.requests_to("/sendCommand") == []


async def test_push3_entry_takes_no_commands(
    hass: HomeAssistant, push3_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """The Push3 local API has no sendCommand: a translated error, nothing sent."""
    await set_up(hass, push3_entry)
    for identifier in ((DOMAIN, V4), gateway_identifier(GATEWAY)):
        with pytest.raises(ServiceValidationError) as raised:
            await send(hass, {"device_id": device_id(hass, push3_entry, identifier), **set_relay(1, "close")})
        assert raised.value.translation_key == "push3_local_only"
    assert push_server.requests_to("/sendCommand") == []
    assert push_server.fleet.meters[V4].relays[0] is False


async def test_rs485_meter_takes_no_commands(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": device_id(hass, entry, (DOMAIN, V4)), **set_relay(1, "close")})
    assert raised.value.translation_key == "needs_cloud_entry"


async def test_command_arguments(hass: HomeAssistant, cloud_entry: MockConfigEntry) -> None:
    await set_up(hass, cloud_entry)
    meter = device_id(hass, cloud_entry, (DOMAIN, V4))
    with pytest.raises(vol.Invalid):
        await send(hass, {"device_id": meter, "command": ""})
    with pytest.raises(vol.Invalid):
        await send(hass, {"device_id": meter, "command": "SetRelay", "params": "relay_1"})
    with pytest.raises(ServiceValidationError) as raised:
        await send(hass, {"device_id": "nothing", "command": "SetRelay"})
    assert raised.value.translation_key == "not_an_ekm_device"
