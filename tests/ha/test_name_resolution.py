"""Host names resolve inside Home Assistant: the Push client on HA's shared session reads a `localhost` URL.

HA's shared aiohttp session resolves names with its own resolver (aiodns on some versions);
a resolver that does not fit its pycares breaks every host name, which only a real name shows.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest

from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.http import RetryPolicy
from custom_components.ekm.aioekm.simulator import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer

from .conftest import FROZEN_T, V3, V4


@pytest.fixture
async def push_server(fleet: Fleet) -> AsyncGenerator[PushServer]:
    """The fake Push API on loopback, serving the test fleet."""
    server = PushServer(fleet)
    await server.start()
    yield server
    await server.close()


# The test harness swaps HA's resolver for one made on its own session-wide event loop, which
# newer aiodns cannot use from a test's loop; HA's real resolver is made on the loop it serves,
# with zeroconf (its .local half) mocked so no multicast socket opens.
@pytest.mark.usefixtures("socket_enabled", "disable_mock_zeroconf_resolver", "mock_async_zeroconf")
async def test_push_client_reads_a_localhost_url(
    hass: HomeAssistant, push_server: PushServer, fleet: Fleet, clock: ManualClock
) -> None:
    base = push_server.url.replace("127.0.0.1", "localhost")
    assert base.startswith("http://localhost:")
    client = PushClient(
        async_get_clientsession(hass),
        push_server.keys.account,
        api_url=base,
        summary_url=base,
        retry=RetryPolicy(attempts=1, base_delay=0.0, max_delay=0.0),
        timeout=10.0,
    )
    result = await client.read_meters([V4, V3])
    assert set(result.readings) == {V4, V3}
    truth = fleet.meters[V4].reading(FROZEN_T)
    assert result.readings[V4]["kWh_Tot"] == pytest.approx(truth["kWh_Tot"])
    assert clock() == FROZEN_T
    assert push_server.log, "the request reached the fake server"
