"""The simulator's RS-485 face, seen from raw bytes on a real TCP socket and a real pty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import os
import time

import pytest
import serialx

from custom_components.ekm.aioekm.fields import FRAME_LENGTH, Layout
from custom_components.ekm.aioekm.rs485 import commands
from custom_components.ekm.aioekm.rs485.crc import crc_ok
from custom_components.ekm.aioekm.rs485.frames import parse_reply, parse_table
from custom_components.ekm.aioekm.rs485.requests import (
    SIGN_OFF,
    password_frame,
    read_request,
    table_read_frame,
)
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import BYTE_TIME, Faults, Rs485Simulator

from .conftest import V3, V4, V4_OTHER

ACK = b"\x06"
PASSWORD = password_frame("00000000")


class Wire:
    """A raw client: send bytes, collect whatever comes back, with arrival times."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.arrivals: list[tuple[float, int]] = []  # (time, bytes so far)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, count: int) -> bytes:
        """Exactly `count` bytes within a second, or fail."""
        data = b""
        async with asyncio.timeout(1.0):
            while len(data) < count:
                chunk = await self.reader.read(count - len(data))
                assert chunk, "connection closed"
                data += chunk
                self.arrivals.append((time.monotonic(), len(data)))
        return data

    async def silence(self, window: float = 0.1) -> bool:
        """True if nothing arrives within `window` seconds."""
        try:
            async with asyncio.timeout(window):
                data = await self.reader.read(1)
        except TimeoutError:
            return True
        return not data

    async def ask(self, request: bytes, count: int) -> bytes:
        await self.send(request)
        return await self.receive(count)

    def close(self) -> None:
        self.writer.close()


async def open_wire(url: str) -> Wire:
    if url.startswith("socket://"):
        host, port = url.removeprefix("socket://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
    else:  # the pty, opened the way the bus opens it: 9600 7E1
        reader, writer = await serialx.open_serial_connection(
            url=url, baudrate=9600, bytesize=7, parity="E", stopbits=1
        )
    return Wire(reader, writer)


@pytest.fixture
async def wire(url: str) -> AsyncIterator[Wire]:
    client = await open_wire(url)
    yield client
    client.close()


async def test_v4_meter_answers_a_and_b(wire: Wire, fleet: Fleet, clock: ManualClock) -> None:
    meter = fleet.meters[V4]
    a = await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    assert a[:4] == b"\x02\x10\x24\x15" and a[4:16] == V4.encode() and a[247:249] == b"00"
    frame = parse_reply(a, address=V4, layout=Layout.V4A)
    expected = meter.values(clock.t)
    assert frame.values["kWh_Tot"] == expected["kWh_Tot"]
    assert frame.values["State_Out"] == expected["State_Out"] == 1
    b = await wire.ask(read_request(V4, Layout.V4B), FRAME_LENGTH)
    assert b[247:249] == b"01"
    frame_b = parse_reply(b, address=V4, layout=Layout.V4B, kwh_scale=frame.kwh_scale)
    assert frame_b.values["kWh_Tariff_1"] == expected["kWh_Tariff_1"]
    assert frame_b.values["CT_Ratio"] == 200


async def test_v3_meter_answers_the_v3_read(wire: Wire, fleet: Fleet, clock: ManualClock) -> None:
    reply = await wire.ask(read_request(V3, Layout.V3), FRAME_LENGTH)
    frame = parse_reply(reply, address=V3, layout=Layout.V3)
    assert frame.model == "1017"
    assert frame.values["kWh_Tot"] == fleet.meters[V3].values(clock.t)["kWh_Tot"]


async def test_meters_answer_only_their_own_address_and_form(wire: Wire) -> None:
    await wire.send(read_request("300000002", Layout.V4A))  # nobody there
    assert await wire.silence()
    await wire.send(read_request(V3, Layout.V4A))  # v3 meter, v4 form
    assert await wire.silence()
    await wire.send(read_request(V4, Layout.V3))  # v4 meter, v3 form
    assert await wire.silence()
    reply = await wire.ask(read_request(V4_OTHER, Layout.V4A), FRAME_LENGTH)
    assert reply[4:16] == V4_OTHER.encode()


async def test_write_session_rules(wire: Wire, fleet: Fleet) -> None:
    meter = fleet.meters[V4]
    relay_on = commands.frame(commands.relay(1, True))
    await wire.send(PASSWORD)  # no meter selected yet
    assert await wire.silence()
    await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    await wire.send(relay_on)  # no password yet
    assert await wire.silence()
    await wire.send(password_frame("12345678"))  # wrong password
    assert await wire.silence()
    assert meter.relays == [False, False]
    assert await wire.ask(PASSWORD, 1) == ACK
    assert await wire.ask(relay_on, 1) == ACK
    assert meter.relays == [True, False]
    await wire.send(commands.frame(("0099", "1")))  # unknown register: refused
    assert await wire.silence()
    await wire.send(SIGN_OFF)
    await wire.send(commands.frame(commands.relay(1, False)))  # session over
    assert await wire.silence()
    assert meter.relays == [True, False]  # the setting stays as written


async def test_month_table(wire: Wire, fleet: Fleet, clock: ManualClock) -> None:
    meter = fleet.meters[V4]
    await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    reply = await wire.ask(commands.month_table_read(), FRAME_LENGTH)
    table = parse_table(reply, register="0011", kwh_scale=meter.kwh_scale)
    assert table.months[0].total <= meter.total_kwh(clock.t)
    await wire.send(table_read_frame("0013"))  # a table the simulator does not keep
    assert await wire.silence()


async def test_bad_and_partial_requests_are_skipped(wire: Wire, sim: Rs485Simulator) -> None:
    bad_crc = PASSWORD[:-1] + bytes((PASSWORD[-1] ^ 1,))
    await wire.send(b"\x00\x7fnoise" + bad_crc)
    assert await wire.silence()
    reply = await wire.ask(b"junk" + read_request(V4, Layout.V4A), FRAME_LENGTH)
    assert crc_ok(reply)
    assert [r.kind for r in sim.log] == ["read"]  # the bad frame was not taken as a request
    assert sim.raw_log == [read_request(V4, Layout.V4A)]


async def test_turnaround(fleet: Fleet, socket_enabled: None) -> None:
    async with Rs485Simulator(fleet, turnaround=0.1) as sim:
        wire = await open_wire(await sim.start_tcp())
        start = time.monotonic()
        await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
        assert 0.1 <= time.monotonic() - start < 0.3
        wire.close()


async def test_wire_speed_paces_the_reply(fleet: Fleet, socket_enabled: None) -> None:
    async with Rs485Simulator(fleet, turnaround=0.0, wire_speed=True) as sim:
        wire = await open_wire(await sim.start_tcp())
        start = time.monotonic()
        await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
        elapsed = time.monotonic() - start
        wire_time = (19 + FRAME_LENGTH) * BYTE_TIME  # request heard, then the reply sent
        assert wire_time <= elapsed < wire_time + 0.05
        # Released in chunks as the bytes would arrive, not in one burst at the end.
        first_time, first_count = wire.arrivals[0]
        assert first_count < FRAME_LENGTH
        assert first_time - start < wire_time / 2
        wire.close()


async def test_fault_echo_and_garbage(wire: Wire, faults: Faults) -> None:
    faults.echo = True
    faults.garbage_before = b"\x00\x7f"
    request = read_request(V4, Layout.V4A)
    data = await wire.ask(request, len(request) + 2 + FRAME_LENGTH)
    assert data.startswith(request + b"\x00\x7f\x02")
    assert crc_ok(data[len(request) + 2 :])


async def test_fault_crc_drop_silent(wire: Wire, faults: Faults) -> None:
    request = read_request(V4, Layout.V4A)
    faults.crc_error_rate = 1.0
    reply = await wire.ask(request, FRAME_LENGTH)
    assert reply[0] == 0x02 and not crc_ok(reply)
    faults.crc_error_rate = 0.0
    faults.drop_rate = 1.0
    await wire.send(request)
    assert await wire.silence()
    faults.drop_rate = 0.0
    faults.silent_meters.add(V4)
    await wire.send(request)
    assert await wire.silence()
    assert crc_ok(await wire.ask(read_request(V4_OTHER, Layout.V4A), FRAME_LENGTH))


async def test_fault_slow(wire: Wire, faults: Faults) -> None:
    faults.slow = 0.15
    start = time.monotonic()
    await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    assert time.monotonic() - start >= 0.15


async def test_fault_lost_write_ack(wire: Wire, faults: Faults, fleet: Fleet) -> None:
    faults.lose_write_acks = True
    await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    assert await wire.ask(PASSWORD, 1) == ACK
    await wire.send(commands.frame(commands.ct_ratio(400)))
    assert await wire.silence()
    assert fleet.meters[V4].ct_ratio == 400  # applied, just not acknowledged


async def test_tcp_disconnect_and_reconnect_on_the_same_port(
    sim: Rs485Simulator, socket_enabled: None
) -> None:
    url = await sim.start_tcp()
    wire = await open_wire(url)
    await sim.disconnect()
    assert await wire.reader.read(1) == b""  # dropped
    with pytest.raises(ConnectionRefusedError):
        await open_wire(url)  # not listening
    await sim.reconnect()
    wire = await open_wire(url)
    assert crc_ok(await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH))
    wire.close()


async def test_pty_disconnect_and_reconnect_on_the_same_path(sim: Rs485Simulator) -> None:
    path = await sim.start_pty()
    assert os.readlink(path).startswith("/dev/pts/")
    wire = await open_wire(path)
    await sim.disconnect()
    with pytest.raises(OSError, match=r"disconnected|Input/output"):
        await wire.reader.read(1)  # the device went away under the client
    await sim.reconnect()
    for _ in range(3):  # reopened with 7E1 again and again, like a reconnecting client
        wire = await open_wire(path)
        assert crc_ok(await wire.ask(read_request(V4, Layout.V4A), FRAME_LENGTH))
        wire.close()
        await asyncio.sleep(0.05)
    await sim.stop()
    with pytest.raises(FileNotFoundError):
        os.readlink(path)  # the link is gone with the simulator


async def test_each_tcp_client_is_its_own_session(sim: Rs485Simulator, socket_enabled: None) -> None:
    url = await sim.start_tcp()
    first, second = await open_wire(url), await open_wire(url)
    await first.ask(read_request(V4, Layout.V4A), FRAME_LENGTH)
    await second.send(PASSWORD)  # the second client selected no meter
    assert await second.silence()
    assert await first.ask(PASSWORD, 1) == ACK
    first.close()
    second.close()


async def test_fault_stray_stx_and_garbage(wire: Wire, faults: Faults) -> None:
    request = read_request(V4, Layout.V4A)
    faults.stray_stx_rate = 1.0
    assert await wire.ask(request, 1) == b"\x02"  # the stray STX
    assert crc_ok(await wire.receive(FRAME_LENGTH))  # then the reply, whole
    faults.stray_stx_rate = 0.0
    faults.garbage_rate = 1.0
    await wire.send(request)
    data = await wire.receive(FRAME_LENGTH + 1)
    while not crc_ok(data[-FRAME_LENGTH:]):  # 1..8 noise bytes, then the reply
        data += await wire.receive(1)
    assert 1 <= len(data) - FRAME_LENGTH <= 8
    assert all(byte < 0x80 for byte in data)  # 7-bit noise, like the line's


async def test_fault_dup_sends_the_reply_twice(wire: Wire, faults: Faults) -> None:
    faults.dup_rate = 1.0
    data = await wire.ask(read_request(V4, Layout.V4A), 2 * FRAME_LENGTH)
    assert data[:FRAME_LENGTH] == data[FRAME_LENGTH:] and crc_ok(data[:FRAME_LENGTH])
    assert await wire.ask(PASSWORD, 2) == ACK + ACK


async def test_fault_late_reply_does_not_hold_up_the_next(wire: Wire, faults: Faults) -> None:
    faults.late_rate = 1.0
    faults.late_by = 0.3
    start = time.monotonic()
    await wire.send(read_request(V4, Layout.V4A))
    assert await wire.silence(0.2)  # past a client's 0.2 s first-byte timeout
    faults.late_rate = 0.0
    assert parse_reply(
        await wire.ask(read_request(V4, Layout.V4B), FRAME_LENGTH), address=V4, layout=Layout.V4B
    )
    late = await wire.receive(FRAME_LENGTH)  # the A reply, overtaken by B's
    assert parse_reply(late, address=V4, layout=Layout.V4A).layout is Layout.V4A
    assert time.monotonic() - start >= 0.3
