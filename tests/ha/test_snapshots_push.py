"""Snapshots of the cloud and Push3 entries' entities, and of the diagnostics of every mode.

The fleet's clock stays frozen at FROZEN_T, so every value is reproducible; the entries take
readings that old as fresh (stale_after of ten years). What changes from run to run, the fake
servers' ports and the pty's number, is masked before a snapshot is compared. Diagnostics
snapshots hold no secret: each test looks for every key, token and password in the download,
and one test reads the stored snapshots for them.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.types import PropertyPath, SerializableData

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.access import SimKeys
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.const import CONF_STALE_AFTER

from . import push_support
from .conftest import FLEET_SPEC, PASSWORD
from .push_support import API_TOKEN, add_cloud_entry, add_push3_entry, set_up

loopback_http = push_support.loopback_http
push3_gateway = push_support.push3_gateway
push_server = push_support.push_server

TEN_YEARS = 10 * 365 * 24 * 3600
REFUSED = "refused-key-000"
_VOLATILE = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"/dev/pts/\d+"), "/dev/pts/<n>"),
    (re.compile(r"/tmp/ekm-sim-\w+/"), "<simulator folder>/"),
)


_WALL_CLOCK = {"last_success"}  # when HA last read a meter: the machine's time, not the fleet's


def steady(data: SerializableData, path: PropertyPath) -> SerializableData:
    """A syrupy matcher: what differs between runs (the machine's clock, ports, the pty) masked."""
    if path and path[-1][0] in _WALL_CLOCK and isinstance(data, str):
        return "<time of the read>"
    if isinstance(data, str):
        for pattern, mask in _VOLATILE:
            data = pattern.sub(mask, data)
    return data


def secrets_of(keys: SimKeys) -> list[str]:
    """Every key of the fake server, its API token and the meters' password."""
    return [PASSWORD, API_TOKEN, keys.account, *keys.gateways.values(), *keys.meters.values()]


def frozen(entry: MockConfigEntry, hass: HomeAssistant) -> MockConfigEntry:
    """The entry taking readings from FROZEN_T as fresh."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_STALE_AFTER: TEN_YEARS})
    return entry


@pytest.fixture
def cloud(hass: HomeAssistant, push_server: PushServer) -> MockConfigEntry:
    return frozen(add_cloud_entry(hass, push_server, api_token=API_TOKEN), hass)


@pytest.fixture
def push3(hass: HomeAssistant, push3_gateway: Push3Gateway) -> MockConfigEntry:
    return frozen(add_push3_entry(hass, push3_gateway), hass)


async def _entities(hass: HomeAssistant, entry: MockConfigEntry, snapshot: SnapshotAssertion) -> None:
    await set_up(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    registry = er.async_get(hass)
    entities = sorted(er.async_entries_for_config_entry(registry, entry.entry_id), key=lambda e: e.entity_id)
    assert entities
    for entity in entities:
        assert entity == snapshot(name=f"{entity.entity_id}-entry")
        assert hass.states.get(entity.entity_id) == snapshot(name=f"{entity.entity_id}-state")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_cloud_entities(
    hass: HomeAssistant, cloud: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Both meters, their relays and the gateway's Connected sensor, as the cloud shows them."""
    await _entities(hass, cloud, snapshot)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_push3_entities(
    hass: HomeAssistant, push3: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Both meters behind the gateway, read-only (the local API has no relays)."""
    await _entities(hass, push3, snapshot)


async def _diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: MockConfigEntry, secrets: list[str]
) -> dict[str, Any]:
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = repr(diagnostics)
    assert [secret for secret in secrets if secret in text] == []
    return diagnostics


async def test_bus_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await _diagnostics(hass, hass_client, loaded_entry, [PASSWORD])
    assert diagnostics == snapshot(matcher=steady)


async def test_cloud_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    cloud: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    assert await _loaded_diagnostics(hass, hass_client, cloud) == snapshot(matcher=steady)


async def test_push3_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    push3: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    assert await _loaded_diagnostics(hass, hass_client, push3) == snapshot(matcher=steady)


async def _loaded_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: MockConfigEntry
) -> dict[str, Any]:
    """The download of a cloud or Push3 entry once set up, without any key of the fake server."""
    await set_up(hass, entry)
    return await _diagnostics(
        hass, hass_client, entry, secrets_of(SimKeys.for_fleet(Fleet.parse(FLEET_SPEC)))
    )


async def test_diagnostics_of_an_entry_that_did_not_set_up(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    cloud: MockConfigEntry,
    push_server: PushServer,
    snapshot: SnapshotAssertion,
) -> None:
    """A key the server refuses: the entry waits for reauthentication; its download says why."""
    hass.config_entries.async_update_entry(cloud, data={**cloud.data, CONF_API_KEY: REFUSED})
    assert not await hass.config_entries.async_setup(cloud.entry_id)
    assert cloud.state is ConfigEntryState.SETUP_ERROR
    secrets = [*secrets_of(push_server.keys), REFUSED]
    diagnostics = await _diagnostics(hass, hass_client, cloud, secrets)
    assert diagnostics == snapshot(matcher=steady)


@pytest.mark.parametrize("ha", ["ha-2025.4", "ha-2026.10"])
def test_stored_snapshots_hold_no_secret(ha: str) -> None:
    """What is stored is what was compared: no key, token or password in any snapshot file."""
    folder = Path(__file__).parent / "snapshots" / ha
    text = "".join(path.read_text() for path in sorted(folder.glob("*.ambr")))
    assert "test_push3_diagnostics" in text
    secrets = secrets_of(SimKeys.for_fleet(Fleet.parse(FLEET_SPEC)))
    assert [secret for secret in secrets if secret in text] == []
