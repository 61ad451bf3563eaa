"""Replies told by their content: a CRC-valid corruption is read again, a late reply or a copy is dropped.

The simulator flips two bits of a reply where the CRC cannot see it (issue 18, item 5),
holds replies back past the client's timeout (item 6), and sends a copy of a reply
after the next request went out (item 9: no quiet gap is waited for after a reply, so
a copy must be told by its address, frame type and clock).
"""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.errors import LateReplyError
from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.meter_codec import Request
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator

from .conftest import V3, V4, make_bus
from .test_bus import assert_matches_meter

# Bits 913 and 1696 of an A reply: RMS_Volts_Ln_3's third digit and Pulse_Cnt_2's second.
# Their flips leave the CRC valid (simulator.faults.CRC_BLIND_PAIRS): Pulse_Cnt_2 moves
# by a million and the volts by 0.2, which every single-reply check lets through.
PULSE_FLIP = (913, 1696)


class FlipAt(Faults):
    """Flips the bits of PULSE_FLIP in the reply to the `at`-th A read the simulator logs."""

    def __init__(self, log: list[Request], at: int) -> None:
        super().__init__(flip_pairs=(PULSE_FLIP,))
        self._log = log
        self.at = at

    @property  # type: ignore[override]
    def flip_rate(self) -> float:
        answering = self._log[-1] if self._log else None
        if answering is None or answering.layout is not Layout.V4A:
            return 0.0
        return 1.0 if len(_a_reads(self._log)) == self.at else 0.0

    @flip_rate.setter
    def flip_rate(self, value: float) -> None:
        pass


def _a_reads(log: list[Request]) -> list[Request]:
    return [request for request in log if request.kind == "read" and request.layout is Layout.V4A]


async def test_a_crc_blind_double_flip_is_read_again_never_published(
    url: str, sim: Rs485Simulator, fleet: Fleet, clock: ManualClock
) -> None:
    meter = fleet.meters[V4]
    async with make_bus(url) as bus:
        await bus.read(V4)  # the reply the next one is held against
        clock.advance(1)
        sim.faults = FlipAt(sim.log, at=2)  # the next A reply
        reading = await bus.read(V4)
        stats = bus.stats(V4)
    assert_matches_meter(reading, meter, clock.t)  # not Pulse_Cnt_2 a million off
    assert len(_a_reads(sim.log)) == 3  # the flipped reply was refused and the A frame read again
    assert stats.other_errors == 1 and "Pulse_Cnt_2" in (stats.last_error or "")


async def test_every_crc_blind_flip_soak_reads_only_true_values(
    sim: Rs485Simulator, fleet: Fleet, clock: ManualClock, socket_enabled: None
) -> None:
    """One reply in three flipped where the CRC cannot see it: every reading is the meter's own."""
    url = await sim.start_tcp()
    async with make_bus(url, read_retries=4) as bus:
        await bus.read(V4)
        await bus.read(V3)
        sim.faults = Faults(flip_rate=0.35)
        for n in range(24):
            address = V3 if n % 2 else V4
            clock.advance(1)  # a pinned meter clock may not run ahead of the loop's by much
            reading = await bus.read(address)
            assert_matches_meter(reading, fleet.meters[address], clock.t)


async def test_a_reply_later_than_the_timeout_is_reported_late_and_dropped(
    fleet: Fleet, clock: ManualClock, socket_enabled: None
) -> None:
    """Every reply 0.6 s late, timeout 0.25 s: the v3 try must not parse the A try's late answer."""
    faults = Faults(late_rate=1.0, late_by=0.6)
    async with Rs485Simulator(fleet, turnaround=0.03, faults=faults, seed=3) as sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=0.25, inter_byte_timeout=0.25) as bus:
            # Protocol unknown: A and v3 reads alternate, each try answered only after the next went out.
            with pytest.raises(LateReplyError, match="a late reply to another request came instead"):
                await bus.read(V4)
            faults.late_rate = 0.0
            # The late bytes still coming are dropped, never taken for this read's answer.
            reading = await bus.read(V4, protocol=Protocol.V4)
    assert_matches_meter(reading, fleet.meters[V4], clock.t)


async def test_late_replies_on_a_shared_bus_never_pass_for_another_meter(
    fleet: Fleet, clock: ManualClock, socket_enabled: None
) -> None:
    faults = Faults(late_rate=1.0, late_by=0.6)
    async with Rs485Simulator(fleet, turnaround=0.03, faults=faults, seed=4) as sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=0.25, inter_byte_timeout=0.25) as bus:
            bus_errors: list[str] = []
            for n in range(6):
                address = V3 if n % 2 else V4
                try:
                    reading = await bus.read(address, protocol=Protocol.V3 if address == V3 else Protocol.V4)
                except LateReplyError:
                    continue
                assert_matches_meter(reading, fleet.meters[address], clock.t)
            for address in (V3, V4):
                last = bus.stats(address).last_error or ""
                if "Mismatch" in last or "RequestType" in last or "FieldValue" in last:
                    bus_errors.append(last)
    assert bus_errors == []


async def test_a_copy_after_the_next_request_is_told_by_its_content(
    fleet: Fleet, clock: ManualClock, socket_enabled: None
) -> None:
    """Each reply's copy comes 50 ms after it, when the next request is out: dropped, never an error.

    The meter answers after 0.15 s, so the copy lands while the next request waits for its answer.
    """
    faults = Faults(dup_rate=1.0, dup_after=0.05)
    async with Rs485Simulator(fleet, turnaround=0.15, faults=faults, seed=5) as sim:
        url = await sim.start_tcp()
        async with make_bus(url, first_byte_timeout=0.5) as bus:
            for n in range(6):
                address = (V4, V3)[n % 2]
                reading = await bus.read(address, protocol=Protocol.V4 if address == V4 else Protocol.V3)
                assert_matches_meter(reading, fleet.meters[address], clock.t)
            errors = [bus.stats(address).last_error for address in (V4, V3)]
    assert errors == [None, None]  # no copy was taken for a B reply or another meter's
