"""A reply belongs to the request it answers: late and duplicated replies never pass for another one's.

The simulator holds some replies back past the client's timeout (`late`) or sends
them twice (`dup`); relay writes read back through that must report the relay
state the simulated meter really has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.ekm.aioekm.errors import EkmError, WriteUnconfirmedError
from custom_components.ekm.aioekm.simulator.fleet import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator

from .conftest import V4, make_bus

TIMEOUT = 0.2  # the client's first-byte timeout in these tests


@pytest.fixture(params=["pty", "tcp"])
async def slow_url(
    request: pytest.FixtureRequest, fleet: Fleet, faults: Faults, socket_enabled: None
) -> AsyncIterator[str]:
    """A simulator with a 30 ms turnaround: a late reply lands inside the exchanges that follow."""
    async with Rs485Simulator(fleet, turnaround=0.03, faults=faults, seed=11) as sim:
        yield await (sim.start_pty() if request.param == "pty" else sim.start_tcp())


@pytest.fixture(params=["pty", "tcp"])
async def paced_url(
    request: pytest.FixtureRequest, fleet: Fleet, faults: Faults, socket_enabled: None
) -> AsyncIterator[str]:
    """A bus paced at 9600 baud: the copy of a duplicated reply takes as long as the original to come."""
    async with Rs485Simulator(fleet, turnaround=0.03, wire_speed=True, faults=faults, seed=11) as sim:
        yield await (sim.start_pty() if request.param == "pty" else sim.start_tcp())


async def relay_writes(
    url: str, fleet: Fleet, writes: int, first_byte_timeout: float = TIMEOUT
) -> tuple[int, list[str]]:
    """Switch relay 1 back and forth; returns the writes that succeeded and every wrong report."""
    meter = fleet.meters[V4]
    wrong: list[str] = []
    done = 0
    async with make_bus(url, first_byte_timeout=first_byte_timeout, read_retries=2) as bus:
        for n in range(writes):
            wanted = n % 2 == 0
            try:
                reading = await bus.set_relay(V4, 1, wanted)
            except WriteUnconfirmedError as err:
                if err.reading is not None and err.reading.relay_closed(1) is not meter.relays[0]:
                    wrong.append(f"write {n}: unconfirmed, read back {err.reading.relay_closed(1)}")
                continue
            except EkmError:
                continue  # a typed failure is an honest answer
            if not reading.relay_closed(1) is meter.relays[0] is wanted:
                wrong.append(f"write {n}: wanted {wanted}, read back {reading.relay_closed(1)}")
            done += 1
    return done, wrong


async def test_late_replies_never_pass_for_the_read_back(slow_url: str, fleet: Fleet, faults: Faults) -> None:
    # Late replies come just after the client gave up: while it is already past the retry.
    faults.late_rate = 0.3
    faults.late_by = TIMEOUT + 0.1
    done, wrong = await relay_writes(slow_url, fleet, 12)
    assert wrong == []
    assert done >= 2


async def test_duplicated_replies_never_pass_for_the_read_back(
    paced_url: str, fleet: Fleet, faults: Faults
) -> None:
    faults.dup_rate = 0.5
    # A first-byte timeout well above the turnaround: on a busy machine a reply may start late,
    # and a timeout is not what this test is about (the copies are).
    done, wrong = await relay_writes(paced_url, fleet, 6, first_byte_timeout=1.0)
    assert wrong == []
    assert done == 6  # a copy right after the original is drained, never an error
