"""A meter or gateway seen by entries of two modes (Push3 and cloud, Push3 and RS-485) is set up once."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import config_flow
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import push_support
from .conftest import V3, V4
from .push_support import GATEWAY, add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry


def _collisions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "does not generate unique IDs" in r.getMessage()]


async def _take_out(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Remove a fixture's entry (not set up yet) and return a copy to add later, after others."""
    assert await hass.config_entries.async_remove(entry.entry_id)
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=entry.unique_id,
        minor_version=entry.minor_version,
        data=dict(entry.data),
        options=dict(entry.options),
    )


def _unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {e.unique_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}


async def test_push3_entry_records_its_meters(hass: HomeAssistant, push3_entry: MockConfigEntry) -> None:
    """The Push3 entry keeps its gateway's meters in its data, where flows and other entries look."""
    await set_up(hass, push3_entry)
    assert push3_entry.data[CONF_METERS] == {V3: "v3", V4: "v4"}


async def test_cloud_entry_after_push3(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cloud entry added after the Push3 entry of the same gateway leaves its meters (and the
    gateway's Connected sensor) to the Push3 entry: no unique ID collides."""
    await set_up(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud)
    await poll(hass)
    assert cloud.state is ConfigEntryState.LOADED
    assert _collisions(caplog) == []
    assert not any(uid.startswith((V3, V4, GATEWAY)) for uid in _unique_ids(hass, cloud))
    assert f"{V4}_kWh_Tot" in _unique_ids(hass, push3_entry)
    assert f"{GATEWAY}_connected" in _unique_ids(hass, push3_entry)


async def test_push3_entry_after_cloud(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The other way round: the gateway's Connected sensor stays the cloud entry's."""
    push3 = await _take_out(hass, push3_entry)
    cloud = add_cloud_entry(hass, push_server)
    await set_up(hass, cloud)
    push3.add_to_hass(hass)
    await set_up(hass, push3)
    await poll(hass)
    assert _collisions(caplog) == []
    assert f"{GATEWAY}_connected" in _unique_ids(hass, cloud)
    assert not any(uid.startswith((V3, V4, GATEWAY)) for uid in _unique_ids(hass, push3))


async def test_bus_entry_after_push3(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An RS-485 entry whose meters the Push3 entry reads sets up nothing, and says where they are."""
    bus = await _take_out(hass, entry)
    await set_up(hass, push3_entry)
    bus.add_to_hass(hass)
    await hass.config_entries.async_setup(bus.entry_id)
    await hass.async_block_till_done()
    assert bus.state is ConfigEntryState.SETUP_ERROR
    assert _collisions(caplog) == []
    assert _unique_ids(hass, bus) == set()


async def test_cloud_flow_refuses_meters_of_a_push3_entry(
    hass: HomeAssistant,
    push_server: PushServer,
    push3_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cloud flow names the Push3 entry that reads the meters, and does not pick them by default."""
    await set_up(hass, push3_entry)
    monkeypatch.setattr(config_flow, "DEFAULT_API_URL", push_server.url)
    monkeypatch.setattr(config_flow, "DEFAULT_SUMMARY_URL", push_server.url)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "cloud"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.account}
    )
    assert result["step_id"] == "meters"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3]})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_METERS: "meter_configured"}
    assert result["description_placeholders"]["entry"] == push3_entry.title
    assert result["description_placeholders"]["meters"] == V3
