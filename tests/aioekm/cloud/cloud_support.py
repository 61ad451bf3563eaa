"""Shared pieces of the Push API tests: a pinned-clock fleet on two gateways and its fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.http import RetryPolicy
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer

__all__ = [
    "EXAMPLES",
    "FAST",
    "GW1",
    "GW2",
    "V3",
    "V4",
    "V4_B",
    "V4_GW2",
    "T",
    "make_client",
    "make_fleet",
    "serving",
]

# EKM example payloads (data/README.md says where each comes from).
EXAMPLES = Path(__file__).parent / "data"

# 2026-11-25 12:00 UTC: after the fleet's epoch, so there is history to summarise.
T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
V4 = "000300000001"
V4_B = "000300000002"
V3 = "000000017507"
V4_GW2 = "000300000009"  # behind the second gateway
SPEC = f"{V4}:v4,{V4_B}:v4,{V3}:v3,{V4_GW2}:v4"
GW1 = "4016fa100000"
GW2 = "4016fa100001"

FAST = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


def make_fleet(clock: ManualClock | None = None) -> Fleet:
    """Three meters on GW1 and one on GW2."""
    fleet = Fleet.parse(SPEC, meters_per_gateway=3)
    fleet.clock = clock or ManualClock(T)
    return fleet


@asynccontextmanager
async def serving(fleet: Fleet, *, api_token: str | None = None) -> AsyncIterator[PushServer]:
    server = PushServer(fleet, api_token=api_token)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def make_client(
    session: aiohttp.ClientSession, server: PushServer, key: str | None = None, **kw: object
) -> PushClient:
    """A client of `server` with no retry delays and short timeouts (overridable)."""
    # Generous: the fake server builds long Summary pages slowly on a busy machine.
    options: dict[str, object] = {"retry": FAST, "timeout": 15.0}
    options.update(kw)
    return PushClient(
        session,
        key or server.keys.account,
        api_url=server.url,
        summary_url=server.url,
        **options,  # type: ignore[arg-type]
    )
