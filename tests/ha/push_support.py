"""The fake EKM Push server for the cloud and Push3 tests: the same virtual fleet as the bus tests.

Bind the fixtures in a test module (`push_server = push_support.push_server`)
or use the helpers directly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
import time
from typing import Any
from unittest.mock import AsyncMock, patch

from aiohttp import web
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ekm.aioekm.simulator import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.const import (
    CONF_API_URL,
    CONF_CONNECTION,
    CONF_MAC,
    CONF_METERS,
    CONF_SCAN_INTERVAL,
    CONF_STALE_AFTER,
    CONF_SUMMARY_URL,
    CONNECTION_CLOUD,
    CONNECTION_PUSH3,
    DOMAIN,
)

from .conftest import V3, V4

API_TOKEN = "test-api-token-0123456789"
CLOUD_INTERVAL = 60  # seconds between polls of the cloud and Push3 entries here


@pytest.fixture
def loopback_http(socket_enabled: None) -> None:
    """The fake server listens on 127.0.0.1; pytest-socket allows that once enabled."""


@pytest.fixture
async def push_server(fleet: Fleet, loopback_http: None) -> AsyncGenerator[PushServer]:
    """The fake Push API (cloud endpoints and every gateway's local API) for the bus tests' fleet."""
    server = PushServer(fleet, api_token=API_TOKEN)
    await server.start()
    yield server
    await server.close()


GATEWAY = "4016fa100000"  # the Push3 both meters of the bus tests' fleet sit behind


@pytest.fixture
async def push3_gateway(push_server: PushServer) -> AsyncGenerator[Push3Gateway]:
    """GATEWAY's local API on its own port, at the real path /readMeter."""
    gateway = Push3Gateway(push_server, GATEWAY)
    await gateway.start()
    yield gateway
    await gateway.close()


def push3_host(gateway: Push3Gateway) -> str:
    """The gateway's address as a user types it: 127.0.0.1:PORT."""
    return gateway.url.removeprefix("http://")


@pytest.fixture
def no_entry_setup() -> Generator[AsyncMock]:
    """Entries made by a flow are not set up for real (config flow tests only)."""
    with patch("custom_components.ekm.async_setup_entry", return_value=True) as setup:
        yield setup


async def closed_port_url() -> str:
    """A loopback URL nothing listens on (a server started and stopped)."""
    server = web.Application()
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await runner.cleanup()
    return f"http://127.0.0.1:{port}"


# --- cloud and Push3 entries (runtime tests) ------------------------------------------


@pytest.fixture
def live_clock(clock: ManualClock) -> ManualClock:
    """Simulated time moved to now and frozen there: Push readings are fresh to HA's clock."""
    clock.t = time.time()
    return clock


def cloud_data(server: PushServer, key: str | None = None, meters: list[str] | None = None) -> dict[str, Any]:
    """Entry data of a cloud entry on the fake server (account key, both meters by default)."""
    return {
        CONF_CONNECTION: CONNECTION_CLOUD,
        CONF_API_KEY: key or server.keys.account,
        CONF_API_URL: server.url,
        CONF_SUMMARY_URL: server.url,
        CONF_METERS: meters if meters is not None else [V4, V3],
    }


def _add_entry(hass: HomeAssistant, title: str, unique_id: str, data: dict[str, Any]) -> MockConfigEntry:
    """A cloud or Push3 entry (polled every CLOUD_INTERVAL) with `data`, added, not set up yet."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        minor_version=2,
        data=data,
        options={CONF_SCAN_INTERVAL: CLOUD_INTERVAL, CONF_STALE_AFTER: 600},
    )
    entry.add_to_hass(hass)
    return entry


def add_cloud_entry(hass: HomeAssistant, server: PushServer, **data: Any) -> MockConfigEntry:
    """A cloud entry on the fake server (both meters unless `data` says otherwise), not set up yet."""
    return _add_entry(hass, "EKM Push account", "cloud_test", {**cloud_data(server), **data})


@pytest.fixture
def cloud_entry(hass: HomeAssistant, push_server: PushServer, live_clock: ManualClock) -> MockConfigEntry:
    """A cloud entry with both meters of the fleet, not set up yet."""
    return add_cloud_entry(hass, push_server)


def add_push3_entry(hass: HomeAssistant, gateway: Push3Gateway) -> MockConfigEntry:
    """A Push3 entry for `gateway`'s local API, not set up yet."""
    data = {
        CONF_CONNECTION: CONNECTION_PUSH3,
        CONF_HOST: push3_host(gateway),
        CONF_API_KEY: gateway.key,
        CONF_MAC: gateway.mac,
    }
    return _add_entry(hass, "Push3 gateway", gateway.mac, data)


@pytest.fixture
def push3_entry(hass: HomeAssistant, push3_gateway: Push3Gateway, live_clock: ManualClock) -> MockConfigEntry:
    """A Push3 entry for GATEWAY's local API, not set up yet."""
    return add_push3_entry(hass, push3_gateway)


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def poll(hass: HomeAssistant, seconds: float = CLOUD_INTERVAL + 1) -> None:
    """Let the coordinator's timer fire once and its refresh finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


def meter_states(
    hass: HomeAssistant, entry: MockConfigEntry, address: str, domains: tuple[str, ...] | None = None
) -> dict[str, str]:
    """{entity key: state} of one meter's entities (of `domains` only, if given)."""
    registry = er.async_get(hass)
    out: dict[str, str] = {}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        if domains is not None and entity.domain not in domains:
            continue
        if entity.unique_id.startswith(f"{address}_") and state is not None:
            out[entity.unique_id.removeprefix(f"{address}_")] = state.state
    return out
