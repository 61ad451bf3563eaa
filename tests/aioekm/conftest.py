"""Fixtures for the library tests: a virtual fleet, its RS-485 simulator, a bus client.

The fleet clock is pinned (and can be moved by hand), so the values a meter
reports are known exactly at the moment of a read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator

V4 = "000300000001"
V4_OTHER = "000300000003"
V3 = "000000017507"
T0 = 1_780_000_000.0  # 2026-05-28, a fixed instant for the fleet clock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def fleet(clock: ManualClock) -> Fleet:
    fleet = Fleet.parse(f"{V4}:v4,{V4_OTHER}:v4,{V3}:v3")
    fleet.clock = clock
    return fleet


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
async def sim(fleet: Fleet, faults: Faults) -> AsyncIterator[Rs485Simulator]:
    simulator = Rs485Simulator(fleet, turnaround=0.002, faults=faults, seed=7)
    yield simulator
    await simulator.stop()


@pytest.fixture(params=["pty", "tcp"])
async def url(request: pytest.FixtureRequest, sim: Rs485Simulator, socket_enabled: None) -> str:
    """The simulator's endpoint: a real pty, then a real TCP socket (loopback only)."""
    if request.param == "pty":
        return await sim.start_pty()
    return await sim.start_tcp()


def make_bus(url: str, **kwargs: object) -> EkmBus:
    """A bus with short test timeouts (overridable)."""
    options: dict[str, object] = {
        "first_byte_timeout": 0.2,
        "inter_byte_timeout": 0.2,
        "read_retries": 2,
        "reconnect_backoff": (0.05, 0.2),
    }
    options.update(kwargs)
    return EkmBus(url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def bus(url: str) -> AsyncIterator[EkmBus]:
    async with make_bus(url) as client:
        yield client
