"""A cloud entry against the fake Push server: the same entities as the bus, devices, relays, diagnostics."""

from __future__ import annotations

import json

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ekm import cloud_coordinator, coordinator as coordinator_module
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import DOMAIN

from . import push_support
from .conftest import V3, V4, unique_ids
from .push_support import GATEWAY, add_cloud_entry, meter_states, set_up

cloud_entry = push_support.cloud_entry
live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server

# What both modes show. The bus adds buttons, and shows the settings it can write (CT ratio,
# pulse ratios, ...) as select and number entities where the cloud has read-only sensors.
READ_DOMAINS = ("sensor", "binary_sensor", "switch", "select", "number")


def _entity_id(hass: HomeAssistant, entry: MockConfigEntry, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(SWITCH_DOMAIN, DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


async def _turning_on_fails(
    hass: HomeAssistant, entry: MockConfigEntry, server: PushServer, relay: str, fault: Fault
) -> HomeAssistantError:
    """Set the entry up; turn V4's `relay` on while EKM answers with `fault`: the error raised.
    The switch stays off, and so does the meter's relay (State_Out 1: both open)."""
    await set_up(hass, entry)
    entity_id = _entity_id(hass, entry, f"{V4}_{relay}")
    server.inject(fault)
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: entity_id}, blocking=True
        )
    assert hass.states.get(entity_id).state == STATE_OFF
    assert server.fleet.meters[V4].values()["State_Out"] == 1
    return raised.value


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "live_clock")
async def test_cloud_meter_looks_like_bus_meter(
    hass: HomeAssistant, entry: MockConfigEntry, push_server: PushServer
) -> None:
    """The same simulated meters read over RS-485 and over the cloud: same entities, same values
    (sensors, binary sensors, relays)."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    bus = {address: meter_states(hass, entry, address, READ_DOMAINS) for address in (V4, V3)}
    # Settings shown as select/number on the bus show their meaning (e.g. "15" minutes), not the code.
    as_setting = unique_ids(hass, entry, "select", "number")
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    cloud_entry = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud_entry)
    cloud = {address: meter_states(hass, cloud_entry, address, READ_DOMAINS) for address in (V4, V3)}
    for address in (V4, V3):
        assert set(cloud[address]) ^ set(bus[address]) == set(), address
        differing = {
            key: (bus[address][key], cloud[address][key])
            for key in bus[address]
            if bus[address][key] != cloud[address][key] and f"{address}_{key}" not in as_setting
        }
        # The time of the read: the machine's clock when the bus answered (a moment after the
        # fleet's frozen time), the fleet's time in the cloud's stamp.
        offsets = differing.pop("Clock_Offset", None)
        assert offsets is None or abs(int(offsets[0]) - int(offsets[1])) <= 2, offsets
        assert not differing, (address, differing)


async def test_relay_switches_through_send_command(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer, port: str
) -> None:
    """Turning a relay on sends SetRelay to the meter's Push3; the meter's RS-485 face shows it closed."""
    await set_up(hass, cloud_entry)
    relay = _entity_id(hass, cloud_entry, f"{V4}_Relay_1")
    assert hass.states.get(relay).state == STATE_OFF

    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: relay}, blocking=True)
    assert hass.states.get(relay).state == STATE_ON
    (command,) = push_server.commands
    assert command["command"] == "SetRelay"
    assert command["gateway"] == GATEWAY
    assert command["target_id"] == V4
    assert command["params"] == {"relay": "relay_1", "status": "close", "duration": 0}
    async with EkmBus(port) as bus:
        assert (await bus.read(V4)).relay_closed(1) is True

    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: relay}, blocking=True)
    assert hass.states.get(relay).state == STATE_OFF
    async with EkmBus(port) as bus:
        assert (await bus.read(V4)).relay_closed(1) is False


async def test_relay_that_does_not_switch(
    hass: HomeAssistant,
    cloud_entry: MockConfigEntry,
    push_server: PushServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EKM takes the command but State_Out never changes: a translated error, the state unchanged."""
    monkeypatch.setattr(cloud_coordinator, "RELAY_CONFIRM_TIMEOUT", 0.6)
    monkeypatch.setattr(cloud_coordinator, "RELAY_CONFIRM_EVERY", 0.2)
    fault = Fault(status=200, body='{"msg_id": "lost"}', path="/sendCommand")
    error = await _turning_on_fails(hass, cloud_entry, push_server, "Relay_2", fault)
    assert error.translation_key == "relay_not_switched"
    assert str(error).rstrip(".") == f"Relay 2 of meter {V4} did not switch"


async def test_no_relays_behind_older_gateways(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """A gateway that is not a Push3 takes no sendCommand: no relay switches at all (and none on v3)."""
    push_server.make_legacy(GATEWAY)
    await set_up(hass, cloud_entry)
    assert unique_ids(hass, cloud_entry, "switch") == set()
    assert meter_states(hass, cloud_entry, V4)["kWh_Tot"] not in ("unavailable", "unknown")


async def test_v3_meters_have_no_relays(hass: HomeAssistant, cloud_entry: MockConfigEntry) -> None:
    await set_up(hass, cloud_entry)
    assert unique_ids(hass, cloud_entry, "switch") == {f"{V4}_Relay_1", f"{V4}_Relay_2"}


async def test_devices(hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer) -> None:
    """One device per gateway (model, MAC), meters behind it, each opening EKM's Widget; Connected on/off."""
    await set_up(hass, cloud_entry)
    registry = dr.async_get(hass)
    gateway = get_device(registry, (DOMAIN, f"gateway_{GATEWAY}"), cloud_entry.entry_id)
    assert gateway is not None
    assert gateway.model == "Push3"
    assert gateway.sw_version == "3.1.4"
    assert (dr.CONNECTION_NETWORK_MAC, "40:16:fa:10:00:00") in gateway.connections
    for address in (V4, V3):
        meter = get_device(registry, (DOMAIN, address), cloud_entry.entry_id)
        assert meter is not None
        assert meter.via_device_id == gateway.id
        assert meter.configuration_url is not None
        assert meter.configuration_url.startswith("https://widget.ekmmetering.com/EKM2/?")
        assert f"meter={address.lstrip('0')}" in meter.configuration_url

    connected = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{GATEWAY}_connected")
    assert connected is not None
    assert hass.states.get(connected).state == STATE_ON
    push_server.offline_gateways.add(GATEWAY)
    await cloud_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(connected).state == STATE_OFF


async def test_diagnostics_without_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    push_server: PushServer,
    live_clock: object,
) -> None:
    """The key and API token appear nowhere in the download; readings and gateways do."""
    from .push_support import API_TOKEN

    entry = add_cloud_entry(hass, push_server, api_token=API_TOKEN)
    await set_up(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert push_server.keys.account not in text
    assert API_TOKEN not in text
    assert diagnostics["entry"]["mode"] == "cloud"
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert set(diagnostics["connection"]["readings"]) == {V4, V3}
    assert diagnostics["connection"]["gateways"][GATEWAY]["push3"] is True


async def test_diagnostics_without_url_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    push_server: PushServer,
    live_clock: object,
) -> None:
    """An entry from before URLs with a user and password were refused: the password is not shown."""
    entry = add_cloud_entry(hass, push_server)
    await set_up(hass, entry)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "api_url": "http://me:hunter2hunter2@example.com/api"}
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "hunter2" not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["api_url"] == "http://example.com/api"


async def test_large_fleet_starts_with_essential_entities(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LARGE_FLEET meters only the totals, relays and Communicating start enabled (HA takes
    at most 10000 enabled entities per entry)."""
    monkeypatch.setattr(coordinator_module, "LARGE_FLEET", 1)
    await set_up(hass, cloud_entry)
    enabled = unique_ids(hass, cloud_entry, enabled_only=True)
    assert enabled == {
        f"{GATEWAY}_connected",
        *(
            f"{address}_{key}"
            for address in (V4, V3)
            for key in ("kWh_Tot", "RMS_Watts_Tot", "communicating")
        ),
        f"{V4}_Relay_1",
        f"{V4}_Relay_2",
    }


async def test_relay_command_refused(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    """EKM refuses sendCommand: a translated error, nothing switched."""
    fault = Fault(status=400, message="Gateway offline", path="/sendCommand")
    error = await _turning_on_fails(hass, cloud_entry, push_server, "Relay_1", fault)
    assert error.translation_key == "command_failed"
