"""Fixtures of the Push API tests: a pinned-clock fleet, its fake server on loopback, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer

from .cloud_support import T, make_client, make_fleet, serving


@pytest.fixture(autouse=True)
def _loopback_http(socket_enabled: None) -> None:
    """The fake server listens on 127.0.0.1; pytest-socket allows only that."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def fleet(clock: ManualClock) -> Fleet:
    return make_fleet(clock)


@pytest.fixture
async def server(fleet: Fleet) -> AsyncIterator[PushServer]:
    async with serving(fleet) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(session: aiohttp.ClientSession, server: PushServer) -> PushClient:
    return make_client(session, server)
