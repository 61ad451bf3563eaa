"""The fake EKM Push server for the cloud and Push3 tests: the same virtual fleet as the bus tests.

Import the fixtures into a test module (`from .push_support import push_server  # noqa: F401`)
or use the helpers directly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.push import PushServer

API_TOKEN = "test-api-token-0123456789"


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
