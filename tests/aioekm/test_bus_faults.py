"""The bus client against each fault knob of the simulator, over a real pty and TCP."""

from __future__ import annotations

import asyncio
import re

import pytest

from custom_components.ekm.aioekm.errors import (
    CommandRejectedError,
    CrcError,
    EkmTimeoutError,
    WriteUnconfirmedError,
)
from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.requests import read_request
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, VirtualMeter
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator, frame_for

from .conftest import V3, V4, make_bus
from .test_bus import assert_matches_meter, settled


async def test_every_reply_corrupted_raises_crc_error(bus: EkmBus, faults: Faults) -> None:
    faults.crc_error_rate = 1.0
    with pytest.raises(CrcError):
        await bus.read(V4, protocol=Protocol.V4)
    stats = bus.stats(V4)
    assert stats.crc_errors == 3  # the first try and two retries
    assert stats.good_reads == 0 and stats.last_success is None
    assert stats.last_error is not None and "CrcError" in stats.last_error


async def test_some_corrupted_replies_are_retried_never_misread(
    bus: EkmBus, faults: Faults, fleet: Fleet, clock: ManualClock
) -> None:
    faults.crc_error_rate = 0.3
    good = 0
    for _ in range(10):
        try:
            reading = await bus.read(V4, protocol=Protocol.V4)
        except CrcError:
            continue
        good += 1
        assert_matches_meter(reading, fleet.meters[V4], clock.t)  # never a wrong value
    stats = bus.stats(V4)
    assert good == stats.good_reads >= 7
    assert stats.crc_errors > 0


async def test_dropped_replies_time_out_and_are_retried(
    bus: EkmBus, faults: Faults, sim: Rs485Simulator
) -> None:
    faults.drop_rate = 1.0
    with pytest.raises(EkmTimeoutError):
        await bus.read(V3, protocol=Protocol.V3)
    assert bus.stats(V3).timeouts == 3
    await settled(sim)
    assert sim.raw_log.count(read_request(V3, Layout.V3)) == 3
    faults.drop_rate = 0.4  # seeded: some reads need a retry, all end well
    for _ in range(5):
        reading = await bus.read(V3, protocol=Protocol.V3)
        assert reading.address == V3
    assert bus.stats(V3).timeouts > 3
    assert bus.stats(V3).good_reads == 5


# Noise without STX/ACK (those cannot be told from a reply); a stray NAK is ignored.
@pytest.mark.parametrize("noise", [b"\x00\xff\x7fjunk", b"\x15\x03\x01"])
async def test_garbage_before_replies_is_skipped(
    bus: EkmBus, faults: Faults, fleet: Fleet, clock: ManualClock, noise: bytes
) -> None:
    faults.garbage_before = noise
    assert_matches_meter(await bus.read(V4), fleet.meters[V4], clock.t)
    reading = await bus.set_relay(V4, 1, True)  # ACKs still recognised after the noise
    assert reading.relay_closed(1) is True and fleet.meters[V4].relays[0] is True


async def test_echoing_adapter(bus: EkmBus, faults: Faults, fleet: Fleet, clock: ManualClock) -> None:
    faults.echo = True
    assert_matches_meter(await bus.read(V4), fleet.meters[V4], clock.t)
    assert_matches_meter(await bus.read(V3), fleet.meters[V3], clock.t)
    # The echoed password and write frames contain STX and may carry 0x06 in their CRC.
    reading = await bus.set_relay(V4, 2, True)
    assert fleet.meters[V4].relays[1] is True and reading.relay_closed(2) is True
    table = await bus.read_month_table(V4)
    assert len(table.months) == 6
    assert bus.stats(V4).crc_errors == bus.stats(V4).timeouts == 0


async def test_slow_meter(bus: EkmBus, faults: Faults) -> None:
    faults.slow = 0.1  # slower than usual but within first_byte_timeout (0.2 s)
    assert (await bus.read(V4, protocol=Protocol.V4)).address == V4
    faults.slow = 1.0  # every try (at 0, 0.2 and 0.4 s) times out before the first reply
    with pytest.raises(EkmTimeoutError):
        await bus.read(V4, protocol=Protocol.V4, read_b=False)
    assert bus.stats(V4).timeouts == 3


async def test_silent_meter_does_not_affect_the_others(bus: EkmBus, faults: Faults) -> None:
    faults.silent_meters.add(V4)
    with pytest.raises(EkmTimeoutError, match=V4):
        await bus.read(V4)
    assert (await bus.read(V3)).address == V3
    faults.silent_meters.clear()
    assert (await bus.read(V4)).address == V4


async def test_lost_write_ack_reads_back_and_never_repeats(
    bus: EkmBus, faults: Faults, fleet: Fleet, sim: Rs485Simulator
) -> None:
    faults.lose_write_acks = True
    with pytest.raises(WriteUnconfirmedError, match="relay 1 is closed") as err:
        await bus.set_relay(V4, 1, True)
    assert fleet.meters[V4].relays[0] is True  # the write did land
    reading = err.value.reading
    assert reading is not None and reading.relay_closed(1) is True
    await settled(sim)
    writes = [r for r in sim.log if r.kind == "write"]
    assert len(writes) == 1  # never repeated blindly


async def test_lost_write_ack_and_no_read_back(
    url: str, faults: Faults, fleet: Fleet, sim: Rs485Simulator
) -> None:
    async with make_bus(url, read_retries=0) as bus:
        await bus.read(V4)  # protocol known
        faults.lose_write_acks = True

        async def go_silent_after_the_write() -> None:
            while not any(r.kind == "write" for r in sim.log):  # noqa: ASYNC110  (polls the sim)
                await asyncio.sleep(0.005)
            faults.silent_meters.add(V4)  # well before the 0.2 s ACK timeout ends

        watcher = asyncio.create_task(go_silent_after_the_write())
        with pytest.raises(WriteUnconfirmedError, match="state is unknown") as err:
            await bus.set_ct_ratio(V4, 800)
        await watcher
        assert err.value.reading is None
        assert fleet.meters[V4].ct_ratio == 800  # it did land; the client could not know


# --- noise before replies, and errors that say what happened (issue 9.9, 9.10) -----------


async def test_stray_stx_before_every_reply(
    bus: EkmBus, faults: Faults, fleet: Fleet, clock: ManualClock
) -> None:
    faults.stray_stx_rate = 1.0  # a lone STX before every reply, ACKs included
    for address in (V4, V3):
        assert_matches_meter(await bus.read(address), fleet.meters[address], clock.t)
    reading = await bus.set_relay(V4, 1, True)
    assert reading.relay_closed(1) is True and fleet.meters[V4].relays[0] is True
    assert bus.stats(V4).crc_errors == bus.stats(V4).timeouts == 0  # resynchronised, never retried


@pytest.mark.parametrize("noise", [b"\x02\x02", b"\x0200030\x06\x02!\r\n\x03", b"\x06\x02\x15"])
async def test_noise_holding_stx_before_replies(
    bus: EkmBus, faults: Faults, fleet: Fleet, clock: ManualClock, noise: bytes
) -> None:
    faults.garbage_before = noise
    assert_matches_meter(await bus.read(V4), fleet.meters[V4], clock.t)
    assert (await bus.read_month_table(V4)).register == "0011"
    reading = await bus.set_relay(V4, 2, True)
    assert reading.relay_closed(2) is True and fleet.meters[V4].relays[1] is True


async def test_detection_reports_what_the_v3_meter_answered(
    bus: EkmBus, faults: Faults, sim: Rs485Simulator
) -> None:
    faults.crc_error_rate = 1.0  # the v3 meter answers, every time with a bad CRC
    with pytest.raises(CrcError):  # not "did not answer the v4a read"
        await bus.read(V3)
    await settled(sim)
    v3_reads = sim.raw_log.count(read_request(V3, Layout.V3))
    assert v3_reads == bus.read_retries + 1  # the form that answered gets its own retries


async def test_detection_retries_the_form_that_answered(
    url: str, faults: Faults, fleet: Fleet, clock: ManualClock
) -> None:
    faults.crc_error_rate = 0.5  # seeded: some v3 replies are bad, a retry is good
    async with make_bus(url, read_retries=4) as bus:
        reading = await bus.read(V3)
        assert_matches_meter(reading, fleet.meters[V3], clock.t)
        assert bus.stats(V3).crc_errors >= 1  # it did take a retry of the v3 form
        assert bus.stats(V3).timeouts == 1  # one v4 try only, before the v3 meter answered


async def test_late_password_ack_is_not_called_a_wrong_password(
    url: str, faults: Faults, fleet: Fleet
) -> None:
    async with make_bus(url, first_byte_timeout=0.2) as bus:
        await bus.read(V4)
        faults.late_rate = 1.0
        faults.late_by = 0.25  # every answer comes after the 0.2 s the client waits
        with pytest.raises(CommandRejectedError) as err:
            await bus.set_relay(V4, 1, True)
    message = str(err.value)
    assert "did not answer the password within 0.2 s" in message and "lost or late" in message
    assert fleet.meters[V4].relays == [False, False]  # no write sent without the ACK


class PasswordPeer(asyncio.Protocol):
    """A meter on TCP that answers reads, and a password with `answer` (NAK, noise or nothing)."""

    def __init__(self, meter: VirtualMeter, t: float, answer: bytes) -> None:
        self.meter, self.t, self.answer = meter, t, answer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if data.startswith(b"/?"):
            self.transport.write(frame_for(self.meter, Layout.V4A, self.t))
        elif data[1:3] == b"P1" and self.answer:
            self.transport.write(self.answer)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"\x15", "did not accept the password (it answered NAK)"),
        (b"\x7f\x00", "answered the password with noise"),
        (b"", "did not answer the password within 0.2 s"),
    ],
)
async def test_password_answers_are_told_apart(
    fleet: Fleet, clock: ManualClock, socket_enabled: None, answer: bytes, message: str
) -> None:
    loop = asyncio.get_running_loop()
    meter = fleet.meters[V4]
    server = await loop.create_server(lambda: PasswordPeer(meter, clock.t, answer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with make_bus(f"socket://127.0.0.1:{port}") as bus:
            with pytest.raises(CommandRejectedError, match=re.escape(message)):
                await bus.set_relay(V4, 1, True, password="12345678")
    finally:
        server.close()
        await server.wait_closed()


async def test_detection_gives_v3_more_than_one_try(
    bus: EkmBus, faults: Faults, sim: Rs485Simulator, fleet: Fleet, clock: ManualClock
) -> None:
    v3_read = read_request(V3, Layout.V3)
    faults.drop_rate = 1.0  # the first v3 reply is lost ...

    async def answer_from_the_second_v3_read_on() -> None:
        while v3_read not in sim.raw_log:  # noqa: ASYNC110  (polls the sim)
            await asyncio.sleep(0.005)
        faults.drop_rate = 0.0  # ... the next one comes through

    watcher = asyncio.create_task(answer_from_the_second_v3_read_on())
    reading = await bus.read(V3)
    await watcher
    assert_matches_meter(reading, fleet.meters[V3], clock.t)
