"""A Push3 entry end to end against one simulated gateway's local API."""

from __future__ import annotations

import json

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_HOST, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import CONF_CONNECTION, CONF_MAC, CONNECTION_PUSH3, DOMAIN

from . import push_support
from .conftest import V3, V4
from .push_support import GATEWAY, add_cloud_entry, meter_states, poll, push3_host, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push3_entry = push_support.push3_entry
push3_gateway = push_support.push3_gateway
push_server = push_support.push_server


async def test_push3_entry(
    hass: HomeAssistant,
    push3_entry: MockConfigEntry,
    push3_gateway: Push3Gateway,
    push_server: PushServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Both meters behind the gateway, with the values the fleet shows; the gateway's device and
    Connected sensor; no relays (the local API only reads); diagnostics without the key."""
    await set_up(hass, push3_entry)
    assert push3_entry.state is ConfigEntryState.LOADED
    fleet = push_server.fleet
    for address in (V4, V3):
        states = meter_states(hass, push3_entry, address)
        assert states["communicating"] == STATE_ON
        assert float(states["kWh_Tot"]) == fleet.meters[address].values(fleet.clock())["kWh_Tot"]
    registry = dr.async_get(hass)
    gateway = get_device(registry, (DOMAIN, f"gateway_{GATEWAY}"), push3_entry.entry_id)
    assert gateway is not None
    assert gateway.configuration_url == f"http://{push3_host(push3_gateway)}"
    assert (dr.CONNECTION_NETWORK_MAC, "40:16:fa:10:00:00") in gateway.connections
    meter = get_device(registry, (DOMAIN, V4), push3_entry.entry_id)
    assert meter is not None
    assert meter.via_device_id == gateway.id
    entities = er.async_entries_for_config_entry(er.async_get(hass), push3_entry.entry_id)
    assert not [e for e in entities if e.domain == "switch"]
    connected = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{GATEWAY}_connected")
    assert connected is not None
    assert hass.states.get(connected).state == STATE_ON

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, push3_entry)
    assert push3_gateway.key not in json.dumps(diagnostics)
    assert diagnostics["entry"]["mode"] == "push3"


async def test_stale_push3_reading(
    hass: HomeAssistant, push3_entry: MockConfigEntry, push_server: PushServer, live_clock: ManualClock
) -> None:
    """The gateway keeps serving a silent meter's last reading: too old, that meter is unavailable."""
    await set_up(hass, push3_entry)
    push_server.stale[V4] = live_clock.t - 3600
    await poll(hass)
    assert meter_states(hass, push3_entry, V4)["kWh_Tot"] == STATE_UNAVAILABLE
    assert meter_states(hass, push3_entry, V3)["kWh_Tot"] != STATE_UNAVAILABLE
    assert push3_entry.runtime_data.coordinator.failures == {V4: "stale"}


async def test_wrong_key_starts_reauth(
    hass: HomeAssistant, push3_entry: MockConfigEntry, push3_gateway: Push3Gateway
) -> None:
    """The gateway answers a wrong key with a bare 500: reauth, at setup and while running."""
    await set_up(hass, push3_entry)
    push3_gateway.faults.append(
        Fault(status=500, body="Internal Server Error", content_type="text/plain", times=None)
    )
    await poll(hass)
    assert len(list(push3_entry.async_get_active_flows(hass, {SOURCE_REAUTH}))) == 1


async def test_meters_read_by_another_entry_stay_there(
    hass: HomeAssistant, push3_gateway: Push3Gateway, push_server: PushServer, live_clock: ManualClock
) -> None:
    """A cloud entry that picked V4, then a Push3 entry of the same gateway: the gateway gets V3 only."""
    cloud = add_cloud_entry(hass, push_server, meters=[V4])
    push3 = MockConfigEntry(
        domain=DOMAIN,
        unique_id=GATEWAY,
        minor_version=2,
        data={
            CONF_CONNECTION: CONNECTION_PUSH3,
            CONF_HOST: push3_host(push3_gateway),
            CONF_API_KEY: push3_gateway.key,
            CONF_MAC: GATEWAY,
        },
    )
    push3.add_to_hass(hass)
    await set_up(hass, cloud)
    assert push3.state is ConfigEntryState.LOADED
    assert set(cloud.runtime_data.coordinator.meters) == {V4}
    assert set(push3.runtime_data.coordinator.meters) == {V3}
    assert meter_states(hass, push3, V3)["kWh_Tot"] != STATE_UNAVAILABLE
