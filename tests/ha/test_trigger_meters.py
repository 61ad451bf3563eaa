"""A cloud trigger runs on its gateway: it may only name the meters behind that gateway, and
e-mail addresses at the lengths of RFC 5321 still go through."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.coordinator import gateway_identifier

from . import push_support, test_trigger_actions
from .conftest import V4
from .push_support import GATEWAY
from .test_trigger_actions import DEFINITION, call, device_id, trigger_requests

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
token_entry = test_trigger_actions.token_entry

ELSEWHERE = "999999999999"


@pytest.mark.parametrize(
    "definition",
    [
        {"actions": [{"type": "relay", "meter": ELSEWHERE, "relay": 1, "state": "open"}]},
        {"conditions": [{"field": "RMS_Watts_Tot", "operator": "above", "value": 1, "meter": ELSEWHERE}]},
    ],
)
async def test_create_naming_a_meter_elsewhere_is_refused(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, definition: dict[str, Any]
) -> None:
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "create_trigger", {"device_id": gateway, "name": "Elsewhere", "definition": definition}
        )
    assert raised.value.translation_key == "meter_not_behind_gateway"
    assert raised.value.translation_placeholders == {"meters": ELSEWHERE, "gateway": "40:16:fa:10:00:00"}
    assert ELSEWHERE in str(raised.value)
    assert trigger_requests(push_server) == []


async def test_update_naming_a_meter_elsewhere_is_refused(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    created = await call(
        hass, "create_trigger", {"device_id": gateway, "name": "Mine", "definition": DEFINITION}
    )
    uuid = created["trigger"]["uuid"]
    before = dict(push_server.triggers[uuid])
    elsewhere = {"actions": [{"type": "relay", "meter": ELSEWHERE, "relay": 2, "state": "close"}]}
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "update_trigger", {"device_id": gateway, "uuid": uuid, "definition": elsewhere})
    assert raised.value.translation_key == "meter_not_behind_gateway"
    assert push_server.triggers[uuid] == before
    assert trigger_requests(push_server).count("PUT") == 0


async def test_longest_e_mail_address_goes_through(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """64 characters before the @ and 254 in all: the longest address RFC 5321 allows."""
    address = "a" * 64 + "@" + ".".join(["e" * 61] * 3) + ".com"
    assert len(address) == 254
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    definition = {
        "actions": [
            {"type": "email", "to": address},
            {"type": "relay", "meter": V4, "relay": 1, "state": "open"},
        ]
    }
    created = await call(
        hass, "create_trigger", {"device_id": gateway, "name": "Long", "definition": definition}
    )
    assert push_server.triggers[created["trigger"]["uuid"]]["actions"][0]["to"] == [address]
