"""One Push3 gateway seen by a cloud entry and a Push3 entry has one device, whichever way and in
whichever order the entries were added: the entry that made it first keeps it (with the gateway's
Connected sensor), the other entry's meters sit behind it, and what either entry knows of the
gateway (MAC, model, firmware, local address) is on it."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_DHCP, SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.compat import device_entry_ids, get_device
from custom_components.ekm.const import (
    CONF_API_TOKEN,
    CONF_CONNECTION,
    CONF_MAC,
    CONF_METERS,
    CONNECTION_PUSH3,
    DOMAIN,
)
from custom_components.ekm.coordinator import gateway_identifier

from . import ownership_support, push_support
from .conftest import V3, V4, unique_ids
from .push_support import API_TOKEN, GATEWAY, add_cloud_entry, poll, push3_host, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
no_collisions = ownership_support.no_collisions  # no unique ID taken twice, checked after each test

MAC_COLONS = "40:16:fa:10:00:00"


def gateway_devices(hass: HomeAssistant) -> list[dr.DeviceEntry]:
    """Every device of any EKM entry that stands for GATEWAY (by identifier or by MAC)."""
    registry = dr.async_get(hass)
    found: dict[str, dr.DeviceEntry] = {}
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            hub = any(ident.startswith("hub_") for _, ident in device.identifiers)
            if gateway_identifier(GATEWAY) in device.identifiers or (hub and device.model == "Push3"):
                found[device.id] = device
    return list(found.values())


def meter_device(hass: HomeAssistant, entry: ConfigEntry, address: str) -> dr.DeviceEntry:
    device = get_device(dr.async_get(hass), (DOMAIN, address), entry.entry_id)
    assert device is not None
    return device


def assert_one_gateway_device(hass: HomeAssistant, owner: ConfigEntry, *readers: ConfigEntry) -> None:
    """GATEWAY has one device, of `owner` only, with its MAC, the cloud's model and firmware and
    the local address; each meter of `owner` and of `readers` sits behind it."""
    devices = gateway_devices(hass)
    assert len(devices) == 1, [(d.name, d.identifiers) for d in devices]
    gateway = devices[0]
    assert device_entry_ids(gateway) == {owner.entry_id}
    assert (dr.CONNECTION_NETWORK_MAC, MAC_COLONS) in gateway.connections
    assert gateway.model == "Push3"
    assert gateway.sw_version is not None
    assert gateway.configuration_url is not None and gateway.configuration_url.startswith("http://127.0.0.1:")
    for entry in (owner, *readers):
        for address in entry.runtime_data.coordinator.meters:
            assert meter_device(hass, entry, address).via_device_id == gateway.id, (entry.title, address)
    assert f"{GATEWAY}_connected" in unique_ids(hass, owner)
    for entry in readers:
        assert not any(uid.endswith("_connected") for uid in unique_ids(hass, entry))


async def add_push3_by_address(hass: HomeAssistant, gateway: Push3Gateway) -> ConfigEntry:
    """The Push3 entry as the user adds it (host and key: no MAC), set up."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "push3"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: push3_host(gateway), CONF_API_KEY: gateway.key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    return entry


async def test_push3_added_by_address_after_the_cloud(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """Before: the Push3 entry made a second gateway device, without MAC or firmware."""
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4]})
    await set_up(hass, cloud)
    push3 = await add_push3_by_address(hass, push3_gateway)
    assert push3.state is ConfigEntryState.LOADED
    assert push3.data[CONF_MAC] == GATEWAY  # learned from the cloud entry, stored as DHCP does
    assert push3.unique_id == GATEWAY
    assert set(push3.runtime_data.coordinator.meters) == {V3}
    assert_one_gateway_device(hass, cloud, push3)


async def test_push3_added_by_address_before_the_cloud(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """The Push3 entry first (no MAC known yet), then a cloud entry for the meter it does not read:
    the Push3 entry's next poll learns the MAC, and it sets up again behind the cloud entry's
    gateway device."""
    push_server.hidden.add(V4)  # the gateway does not answer for V4 yet
    push3 = await add_push3_by_address(hass, push3_gateway)
    assert len(gateway_devices(hass)) == 1
    push_server.hidden.discard(V4)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4]})
    await set_up(hass, cloud)
    await poll(hass)
    assert push3.state is ConfigEntryState.LOADED
    assert push3.data[CONF_MAC] == GATEWAY
    assert set(push3.runtime_data.coordinator.meters) == {V3}
    assert set(cloud.runtime_data.coordinator.meters) == {V4}
    assert_one_gateway_device(hass, cloud, push3)


async def test_push3_first_and_a_cloud_entry_that_reads_none_of_its_meters(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """The cloud entry reads no meter of the gateway, so it has no device for it: the Push3 entry
    learns the MAC, model and firmware from its account."""
    push3 = await add_push3_by_address(hass, push3_gateway)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4]})
    await set_up(hass, cloud)
    assert cloud.runtime_data.coordinator.meters == {}
    await poll(hass)
    assert push3.data[CONF_MAC] == GATEWAY
    assert set(push3.runtime_data.coordinator.meters) == {V3, V4}
    assert_one_gateway_device(hass, push3, cloud)


async def push3_then_cloud(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway, **cloud_data: Any
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """A Push3 entry that knows its MAC, set up while the gateway answers for V3 only (so it makes
    the gateway's device); then a cloud entry for V4 (more `cloud_data` if given), set up."""
    push3 = MockConfigEntry(
        domain=DOMAIN,
        title="Push3 gateway",
        unique_id=GATEWAY,
        minor_version=2,
        data={
            CONF_CONNECTION: CONNECTION_PUSH3,
            CONF_HOST: push3_host(push3_gateway),
            CONF_API_KEY: push3_gateway.key,
            CONF_MAC: GATEWAY,
            CONF_METERS: {V3: "v3"},
        },
    )
    push3.add_to_hass(hass)
    push_server.hidden.add(V4)  # the gateway does not answer for V4 yet
    await set_up(hass, push3)
    push_server.hidden.discard(V4)
    cloud = add_cloud_entry(hass, push_server, **{CONF_METERS: [V4], **cloud_data})
    await set_up(hass, cloud)
    return push3, cloud


async def test_cloud_after_a_push3_entry_that_knows_its_mac(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """The Push3 entry (MAC known) made the gateway's device: the cloud entry's meters sit behind
    it, and the cloud adds the model and firmware it knows."""
    push3, cloud = await push3_then_cloud(hass, push_server, push3_gateway)
    assert set(cloud.runtime_data.coordinator.meters) == {V4}
    assert_one_gateway_device(hass, push3, cloud)


async def test_trigger_actions_on_a_gateway_device_the_push3_entry_made(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """The gateway's device is the Push3 entry's: trigger actions on it go through the cloud entry
    whose account has the gateway (the Push3 local API has no triggers)."""
    push3, _ = await push3_then_cloud(hass, push_server, push3_gateway, **{CONF_API_TOKEN: API_TOKEN})
    (gateway,) = gateway_devices(hass)
    assert device_entry_ids(gateway) == {push3.entry_id}
    listed = await hass.services.async_call(
        DOMAIN, "list_triggers", {"device_id": gateway.id}, blocking=True, return_response=True
    )
    assert listed == {"gateway": GATEWAY, "triggers": []}
    assert push_server.requests_to("/api/trigger")


async def test_dhcp_gives_a_push3_entry_added_by_address_its_gateway_device(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """No cloud entry: the gateway's device gets its MAC as soon as DHCP tells it."""
    push3 = await add_push3_by_address(hass, push3_gateway)
    assert gateway_devices(hass)[0].connections == set()
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_DHCP},
        data=DhcpServiceInfo(ip="127.0.0.1", hostname="push3", macaddress=GATEWAY),
    )
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done()
    assert push3.state is ConfigEntryState.LOADED
    [gateway] = gateway_devices(hass)
    assert (dr.CONNECTION_NETWORK_MAC, MAC_COLONS) in gateway.connections
    assert gateway.identifiers == {gateway_identifier(GATEWAY)}
    for address in (V3, V4):
        assert meter_device(hass, push3, address).via_device_id == gateway.id
    assert f"{GATEWAY}_connected" in unique_ids(hass, push3)
    assert push3.data[CONF_CONNECTION] == CONNECTION_PUSH3
