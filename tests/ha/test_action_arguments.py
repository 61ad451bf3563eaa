"""Hostile arguments to the actions: a bad argument or a translated error, never a raw exception.

Every case also checks that nothing reached the meter or EKM's cloud.
"""

from __future__ import annotations

from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.coordinator import gateway_identifier

from . import push_support
from .conftest import V4
from .push_support import GATEWAY
from .settings_support import entity_id, writes
from .test_settings_tariff import meter_device
from .test_switch import RELAY_1
from .test_trigger_actions import call, create_refused_by_the_schema, device_id, token_entry, trigger_requests

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
__all__ = ["token_entry"]  # a fixture, used by name

INF = float("inf")
NAN = float("nan")


def nested(levels: int) -> Any:
    """{"x": {"x": ... 1}} with `levels` objects."""
    value: Any = 1
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    "data",
    [
        {"state": True, "seconds": INF},
        {"state": True, "seconds": -INF},
        {"state": True, "seconds": NAN},
        {"state": True, "seconds": 1e300},
        {"state": True, "seconds": "١٠"},  # Arabic-Indic digits: int() takes them
        {"state": True, "seconds": True},
        {"state": True, "seconds": 2.5},
        {"state": True, "seconds": "9" * 5000},
        {"state": 2},
        {"state": -1},
    ],
)
async def test_set_relay_refuses(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator, data: dict[str, Any]
) -> None:
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_1, **data}, blocking=True)
    assert writes(simulator) == []


async def test_set_relay_takes_usual_spellings(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """ "5", 5.0 and 1 are fine: what a UI or a template gives."""
    await hass.services.async_call(
        DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_1, "state": 1, "seconds": "5"}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_1, "state": 0, "seconds": 5.0}, blocking=True
    )
    assert len(writes(simulator)) == 2


@pytest.mark.parametrize(
    ("schedule", "periods"),
    [
        (INF, [{"start": "07:00", "tariff": 1}]),
        (NAN, [{"start": "07:00", "tariff": 1}]),
        (1e300, [{"start": "07:00", "tariff": 1}]),
        ("١", [{"start": "07:00", "tariff": 1}]),
        (True, [{"start": "07:00", "tariff": 1}]),
        (1, [{"start": "07:00", "tariff": INF}]),
        (1, [{"start": "07:00", "tariff": NAN}]),
        (1, [{"start": "07:00", "tariff": 1.5}]),
        (1, [{"start": "٠٧:٠٠", "tariff": 1}]),
    ],
)
async def test_set_tariff_schedule_refuses(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Rs485Simulator,
    schedule: Any,
    periods: list[dict[str, Any]],
) -> None:
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "set_tariff_schedule",
            {"device_id": meter_device(hass, loaded_entry, V4), "schedule": schedule, "periods": periods},
            blocking=True,
        )
    assert writes(simulator) == []


async def test_pulse_ratio_nan(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """nan passes Home Assistant's range check (no comparison with it is true): refused here."""
    target = entity_id(er.async_get(hass), "number", f"{V4}_Pulse_Ratio_1")
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: target, "value": NAN}, blocking=True
        )
    assert raised.value.translation_key == "not_whole_number"
    assert writes(simulator) == []


@pytest.mark.parametrize(
    "definition",
    [
        {"conditions": [{"duration": INF}]},
        {"conditions": [{"duration": NAN}]},
        {"conditions": [{"duration": 1e300}]},  # a whole number orjson cannot send
        {"conditions": [{"value": NAN}]},
        {"conditions": [{"value": "١٠٠"}]},
        {"conditions": [{"meter": "١٢٣"}]},
        {"actions": [{"type": "relay", "relay": INF, "state": "open"}]},
        {"actions": [{"type": "relay", "relay": 1, "state": "open", "duration": INF}]},
        {"actions": [{"type": "relay", "relay": True, "state": "open"}]},
        {"actions": [{"type": "iostack", "output": INF}]},
        {"actions": [{"type": None}]},
        {"actions": [{"type": ["email"]}]},
        {"schedule": {"repeat_after": INF}},
        {"schedule": {"repeat_after": 10**30}},
        {"schedule": {"start": "٠٧:٠٠"}},
    ],
)
async def test_trigger_definition_refused_by_the_schema(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, definition: dict[str, Any]
) -> None:
    await create_refused_by_the_schema(hass, token_entry, push_server, definition)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (nested(300), "nested over 64 levels"),
        (nested(2000), "nested over 64 levels"),
        ({"count": 2**64}, "an integer beyond 64 bits"),
        ([-(2**63) - 1], "an integer beyond 64 bits"),
    ],
)
async def test_trigger_definition_json_no_encoder_sends(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, extra: Any, error: str
) -> None:
    """A key the schema lets through, holding what orjson (Home Assistant's encoder) refuses."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "create_trigger", {"device_id": gateway, "name": "t", "definition": {"extra": extra}}
        )
    assert raised.value.translation_key == "invalid_trigger"
    assert str(raised.value) == f"The trigger is not valid: a trigger definition must be plain JSON ({error})"
    assert trigger_requests(push_server) == []


async def test_trigger_deep_but_fine(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """Nesting within the limit and 64-bit integers go through as sent."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    extra = {"deep": nested(40), "big": 2**63 - 1, "small": -(2**63)}
    created = await call(hass, "create_trigger", {"device_id": gateway, "name": "t", "definition": extra})
    assert created["trigger"]["definition"]["big"] == 2**63 - 1
    assert created["trigger"]["definition"]["deep"] == nested(40)


@pytest.mark.parametrize("name", ["\x00\n", "a\tb", "x" * 101, "\u200e"])
async def test_trigger_name_refused(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, name: str
) -> None:
    """Control characters or more than 100 characters: refused (before: "\\x00\\n" stored as "\\x00")."""
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    with pytest.raises(vol.Invalid):
        await call(hass, "create_trigger", {"device_id": gateway, "name": name})
    with pytest.raises(vol.Invalid):
        await call(hass, "update_trigger", {"device_id": gateway, "uuid": "0" * 32, "name": name})
    assert trigger_requests(push_server) == []


async def test_trigger_name_kept(hass: HomeAssistant, token_entry: MockConfigEntry) -> None:
    gateway = device_id(hass, token_entry, gateway_identifier(GATEWAY))
    name = "  Ünïcode ✓ load " + "x" * 83 + " "
    created = await call(hass, "create_trigger", {"device_id": gateway, "name": name})
    assert created["trigger"]["name"] == name.strip()


@pytest.mark.parametrize(
    "params",
    [
        {"relay": "relay_1", "status": "close", "duration": INF},
        {"relay": "relay_1", "status": "close", "duration": True},
        {"relay": "relay_1", "status": "close", "duration": "١٠"},
        {"relay": "relay_1", "status": "close", "extra": nested(300)},
    ],
)
async def test_set_relay_command_refused(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, params: dict[str, Any]
) -> None:
    meter = device_id(hass, token_entry, (DOMAIN, V4))
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "send_command", {"device_id": meter, "command": "SetRelay", "params": params})
    assert raised.value.translation_key == "invalid_command_params"
    assert push_server.requests_to("/sendCommand") == []


async def test_command_params_no_encoder_sends(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer
) -> None:
    meter = device_id(hass, token_entry, (DOMAIN, V4))
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "send_command", {"device_id": meter, "command": "Other", "params": {"x": 2**70}})
    assert raised.value.translation_key == "invalid_command_params"
    assert push_server.requests_to("/sendCommand") == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00+01:00", "0001-01-01T05:00:00"),
        ("0001-01-01T00:00:00", "2020-01-01T00:00:00"),
        ("1999-12-31T00:00:00+00:00", "2020-01-01T00:00:00"),
        ("2020-01-01T00:00:00", "9999-12-31T23:00:00-12:00"),
        ("2020-01-01T00:00:00", "2099-01-01T00:00:00"),
    ],
)
async def test_import_history_range_bounded(
    hass: HomeAssistant, token_entry: MockConfigEntry, push_server: PushServer, start: str, end: str
) -> None:
    """Before 2000 or after tomorrow: a translated error (year 1 overflowed before)."""
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "import_history", {"config_entry_id": token_entry.entry_id, "start": start, "end": end}
        )
    assert raised.value.translation_key == "history_out_of_range"
    assert push_server.requests_to("/summary") == []
