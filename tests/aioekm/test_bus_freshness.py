"""Stale replies told by their content (the meter's clock): a reply however late never passes for a newer one.

A bridge may hand a reply over long after the client gave up on it. These tests
run the simulator with a meter clock that moves (as a real meter's does) and hold
replies back several first-byte timeouts: a write's read-back must still show
what the meter holds after the write, and a read never returns an older moment.
"""

from __future__ import annotations

import asyncio
import contextlib

from custom_components.ekm.aioekm.errors import EkmError, EkmTimeoutError, WriteUnconfirmedError
from custom_components.ekm.aioekm.readings import parse_meter_time
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator

from .conftest import T0, V3, V4, make_bus

TIMEOUT = 0.2  # the client's first-byte timeout in these tests


class RunningClock:
    """A fleet clock that runs with the event loop's, from T0."""

    def __init__(self) -> None:
        self._start = asyncio.get_running_loop().time()

    def __call__(self) -> float:
        return T0 + asyncio.get_running_loop().time() - self._start


async def test_very_late_replies_never_pass_for_a_write_read_back(fleet: Fleet, socket_enabled: None) -> None:
    """Replies held back 5 timeouts (past every settle wait): CT ratio and relay read-backs stay true."""
    fleet.clock = RunningClock()
    meter = fleet.meters[V4]
    faults = Faults(late_rate=0.3, late_by=5 * TIMEOUT)
    wrong: list[str] = []
    confirmed = 0
    async with Rs485Simulator(fleet, turnaround=0.03, faults=faults, seed=31) as sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=TIMEOUT, read_retries=2) as bus:
            for n in range(10):
                ct = (100, 200, 400, 800)[n % 4]
                closed = n % 2 == 0
                try:
                    if n % 3:
                        reading = await bus.set_ct_ratio(V4, ct)
                        if not reading.get("CT_Ratio") == meter.ct_ratio == ct:
                            wrong.append(f"write {n}: CT {ct}, read back {reading.get('CT_Ratio')}")
                    else:
                        reading = await bus.set_relay(V4, 1, closed)
                        if not reading.relay_closed(1) is meter.relays[0] is closed:
                            wrong.append(f"write {n}: relay {closed}, read back {reading.relay_closed(1)}")
                    confirmed += 1
                except WriteUnconfirmedError as err:
                    if err.reading is not None and (
                        err.reading.get("CT_Ratio") != meter.ct_ratio
                        or err.reading.relay_closed(1) is not meter.relays[0]
                    ):
                        wrong.append(f"write {n}: unconfirmed, read back what the meter does not hold")
                except EkmError:
                    continue  # a typed failure is an honest answer
    assert wrong == []
    assert confirmed >= 2


class LateAt(Faults):
    """Holds back the replies to the requests of the given numbers (counted from 0 after `start`)."""

    def __init__(self, sim_log: list[object], numbers: set[int], late_by: float) -> None:
        super().__init__(late_by=late_by)
        self._log = sim_log
        self._numbers = numbers
        self.start: int | None = None

    @property  # type: ignore[override]
    def late_rate(self) -> float:
        if self.start is None:
            return 0.0
        return 1.0 if len(self._log) - 1 - self.start in self._numbers else 0.0

    @late_rate.setter
    def late_rate(self, value: float) -> None:
        pass


async def test_the_select_reply_held_back_past_the_write_is_not_its_read_back(
    fleet: Fleet, socket_enabled: None
) -> None:
    """The tester's case, scripted: a B reply from before the write, held back into the read-back's B read.

    Requests from the read before the write: 0 A, 1 B (held back), 2 B again,
    3 sign-off; the write: 4 select (A), 5 password, 6 write, 7 sign-off, 8 A
    read-back, 9 B read-back (held back too, so that the stale B of 1 lands while
    it waits). CT_Ratio is a B field: the stale B carried the old ratio.
    """
    fleet.clock = RunningClock()
    meter = fleet.meters[V4]
    sim = Rs485Simulator(fleet, turnaround=0.03, seed=3)
    faults = LateAt(sim.log, {1, 9}, late_by=0.95)
    sim.faults = faults
    async with sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=TIMEOUT, read_retries=2) as bus:
            await bus.read(V4)
            await asyncio.sleep(1.1)
            faults.start = len(sim.log)
            await bus.read(V4)  # the meter's clock was seen to move
            wanted = 800 if meter.ct_ratio != 800 else 200
            try:
                reading = await bus.set_ct_ratio(V4, wanted)
            except WriteUnconfirmedError as err:
                reading = err.reading  # type: ignore[assignment]
            except EkmError:
                reading = None  # type: ignore[assignment]
    assert meter.ct_ratio == wanted
    if reading is not None:
        assert reading.get("CT_Ratio") == wanted


async def test_a_late_reply_to_an_abandoned_read_is_not_the_next_reading(
    fleet: Fleet, clock: ManualClock, socket_enabled: None
) -> None:
    """The v3 read given up on answers late; the next read (same request) must get the current moment."""
    # A slow meter (0.15 s to answer): the late answer (0.3 s) lands before the next read's own.
    faults = Faults(late_by=0.15)
    async with Rs485Simulator(fleet, turnaround=0.15, faults=faults, seed=5) as sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=TIMEOUT, read_retries=0) as bus:
            faults.late_rate = 0.0
            first = await bus.read(V3)
            faults.late_rate = 1.0
            with contextlib.suppress(EkmTimeoutError):
                await bus.read(V3)  # given up on; its answer comes while the next read waits for its own
            # One second: a meter clock running further ahead than the time that passed here
            # would be refused once (rs485/continuity.py), and this bus makes one try.
            clock.advance(1)
            faults.late_rate = 0.0
            reading = await bus.read(V3)
    before = parse_meter_time(str(first.get("Meter_Time")))
    after = parse_meter_time(str(reading.get("Meter_Time")))
    assert before is not None and after is not None
    assert (after - before).total_seconds() == 1
