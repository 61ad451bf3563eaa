"""The fleet's RS-485 face: virtual meters answering on a pty or a TCP port.

Each pty or TCP connection is one bus: requests are decoded with meter_codec,
every meter answers only its own address, and replies leave after a meter-like
turnaround. With `wire_speed` the bus is modelled half-duplex at 9600 baud,
10 bits per character: a request is heard only once its last byte would have
crossed the wire, and the reply's bytes are released at the wire rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import datetime
import errno
import logging
import math
import os
from pathlib import Path
import pty
import random
import tempfile
import termios
import tty

from ..errors import FrameError
from ..fields import FRAME_LENGTH, Layout
from ..readings import Protocol
from ..rs485.frames import ACK, MONTH_TABLE_REGISTERS, SOH, STX, MonthKwh
from .faults import CRC_BLIND_PAIRS, Faults, flip
from .fleet import Fleet, VirtualMeter
from .meter_codec import (
    Request,
    build_reply,
    build_table,
    build_tariff_tables,
    parse_request,
    request_length,
)
from .writes import apply_write

_LOGGER = logging.getLogger(__name__)

BYTE_TIME = 10 / 9600  # one 7E1 character: start + 7 data + parity + stop bits
CHUNK = 16  # bytes released at once when pacing (about 17 ms at 9600 baud)
PARTIAL_REQUEST_TIMEOUT = 0.5  # a half-received request older than this is noise
MARKER_SPEED = termios.B38400  # the pty's resting speed; clients ask for 9600
REARM_EVERY = 0.02  # seconds between checks of the pty settings


@dataclass
class _Session:
    """What one bus remembers between requests: the selected meter and its sign-on."""

    selected: VirtualMeter | None = None
    signed_on: bool = False


class _Bus:
    """One connection's request stream: split, decode, answer in order."""

    def __init__(self, sim: Rs485Simulator, send: Callable[[bytes], None], name: str) -> None:
        self._sim = sim
        self._send = send
        self.name = name
        self._buffer = bytearray()
        self._last_rx = 0.0
        self._rx_clock = 0.0  # when the last received byte finished crossing the wire
        self._tx_free = 0.0  # when the last reply finished crossing the wire
        self._queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self._session = _Session()
        self._late: set[asyncio.Task[None]] = set()  # late replies still to go out
        self._worker = asyncio.get_running_loop().create_task(self._serve())

    def close(self) -> None:
        self._worker.cancel()
        for task in list(self._late):
            task.cancel()

    def received(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._buffer and now - self._last_rx > PARTIAL_REQUEST_TIMEOUT:
            self._buffer.clear()
        self._last_rx = now
        byte_time = BYTE_TIME if self._sim.wire_speed else 0.0
        self._rx_clock = max(now, self._rx_clock, self._tx_free) + len(data) * byte_time
        if self._sim.faults.echo:
            self._send(data)
        self._buffer += data
        while self._buffer:
            start = next((i for i, b in enumerate(self._buffer) if b in (0x2F, SOH)), None)
            if start is None:
                self._buffer.clear()
                return
            del self._buffer[:start]
            length = request_length(bytes(self._buffer))
            if length is None or length > len(self._buffer):
                return
            raw = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._queue.put_nowait((raw, self._rx_clock))

    async def _serve(self) -> None:
        while True:
            raw, heard_at = await self._queue.get()
            try:
                await self._answer(raw, heard_at)
            except asyncio.CancelledError:
                raise
            except Exception:  # a simulator bug must not kill the bus
                _LOGGER.exception("simulator failed on request %r", raw[:4])

    async def _answer(self, raw: bytes, heard_at: float) -> None:
        sim = self._sim
        faults = sim.faults
        rng = sim.rng
        try:
            request = parse_request(raw)
        except FrameError as err:
            # The type only: the message may quote the frame, and a frame may hold a password.
            _LOGGER.debug("%s: ignoring a bad request (%s)", self.name, type(err).__name__)
            return
        sim.log.append(request)
        sim.raw_log.append(raw)
        reply = self._reply_to(request)
        if reply is None or rng.random() < faults.drop_rate:
            return
        loop = asyncio.get_running_loop()
        start = max(heard_at + sim.turnaround + faults.slow, self._tx_free)
        # A knob at 0 draws nothing, so a seed gives the same run whatever knobs exist.
        late = bool(faults.late_rate) and rng.random() < faults.late_rate
        if not late:
            await asyncio.sleep(max(0.0, start - loop.time()))
        if len(reply) == FRAME_LENGTH and rng.random() < faults.crc_error_rate:
            reply = reply[:-2] + bytes(((reply[-2] ^ 0x01), reply[-1]))
        if len(reply) == FRAME_LENGTH and faults.flip_rate and rng.random() < faults.flip_rate:
            reply = flip(reply, rng.choice(faults.flip_pairs or CRC_BLIND_PAIRS))
        data = faults.garbage_before
        if faults.garbage_rate and rng.random() < faults.garbage_rate:
            data += bytes(rng.randrange(0x80) for _ in range(rng.randint(1, 8)))
        if faults.stray_stx_rate and rng.random() < faults.stray_stx_rate:
            data += bytes((STX,))
        data += reply
        copy = bool(faults.dup_rate) and rng.random() < faults.dup_rate
        if copy and not faults.dup_after:
            data += reply
        if late:  # held back like a buffering bridge would: in one piece, holding nothing up
            self._send_later(start + faults.late_by, data)
            return
        await self._transmit(data)
        if copy and faults.dup_after:
            self._send_later(loop.time() + faults.dup_after, reply)

    def _send_later(self, when: float, data: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._send_at(when, data))
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _send_at(self, when: float, data: bytes) -> None:
        await asyncio.sleep(max(0.0, when - asyncio.get_running_loop().time()))
        self._send(data)

    async def _transmit(self, data: bytes) -> None:
        """Send `data`, paced at the wire rate when asked, anchored so pacing never drifts."""
        loop = asyncio.get_running_loop()
        if not self._sim.wire_speed:
            self._send(data)
            return
        start = max(loop.time(), self._tx_free)
        self._tx_free = start + len(data) * BYTE_TIME
        for begin in range(0, len(data), CHUNK):
            end = min(begin + CHUNK, len(data))
            # A chunk is released when its last byte would have arrived.
            await asyncio.sleep(max(0.0, start + end * BYTE_TIME - loop.time()))
            self._send(data[begin:end])

    def _reply_to(self, request: Request) -> bytes | None:
        """The reply bytes a real bus would carry, or None for silence."""
        sim = self._sim
        session = self._session
        t = sim.fleet.clock()
        if request.kind == "read":
            meter = sim.fleet.get(request.address or "")
            if meter is None or meter.address in sim.faults.silent_meters:
                session.selected, session.signed_on = None, False
                return None
            if (request.layout is Layout.V3) != (meter.protocol is Protocol.V3):
                return None  # a meter ignores the other generation's request form
            session.selected, session.signed_on = meter, False
            return frame_for(meter, request.layout or Layout.V4A, t)
        meter = session.selected
        if request.kind == "sign_off" or meter is None:
            session.selected, session.signed_on = None, False
            return None
        if meter.address in sim.faults.silent_meters:
            return None
        if request.kind == "password":
            session.signed_on = request.data == meter.password
            return bytes((ACK,)) if session.signed_on else None
        if request.kind == "write":
            if not session.signed_on or not apply_write(meter, request.register or "", request.data or "", t):
                return None
            return None if sim.faults.lose_write_acks else bytes((ACK,))
        return table_for(meter, request.register or "", t)  # the "table" kind


def frame_for(meter: VirtualMeter, layout: Layout, t: float) -> bytes:
    """The 255-byte reply `meter` sends for a read of `layout` at time t.

    build_reply takes the fields of `layout` and, for B, the kWh_Scale of A.
    """
    return build_reply(layout, meter.address, meter.model, meter.firmware, meter.values(t))


def table_for(meter: VirtualMeter, register: str, t: float) -> bytes | None:
    """The R1 reply: month tables (0011 forward / 0012 reverse kWh), the time-of-use tables
    (0070, 0071, 00B0) from the meter's setup, or None for other tables.

    Each of the six month rows is the register at the start of a month, newest first.
    """
    if register not in MONTH_TABLE_REGISTERS:
        return build_tariff_tables(meter.tariffs).get(register)
    reverse = register == "0012"
    scale = 1 if meter.protocol is Protocol.V3 else meter.kwh_scale
    step = 10.0**scale
    now = datetime.fromtimestamp(t)
    months = []
    year, month = now.year, now.month
    for _ in range(6):
        start = datetime(year, month, 1).timestamp()
        kwh = meter.reverse_kwh(start) if reverse else meter.total_kwh(start)
        kwh = max(0.0, math.floor(kwh * step) / step)
        t1, t2 = math.floor(kwh * 0.6 * step) / step, math.floor(kwh * 0.4 * step) / step
        months.append(MonthKwh(kwh, (t1, t2, 0.0, 0.0)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return build_table(register, tuple(months), kwh_scale=scale)


class _PtyFace:
    """A pseudo-terminal whose slave end is the 'serial port' clients open.

    The path handed out is a symlink to the current slave, so that after a
    disconnect the simulator comes back on the same path (like /dev/serial/by-id).

    A pty always stays 8N1: Linux coerces a 7E1 request to CS8 without parity,
    and then refuses (EINVAL) the same 7E1 request from the next open, because
    it changes nothing. So the simulator keeps moving the slave's speed to a
    marker value (after traffic and on a short timer); a client's 7E1 open then
    always changes something and succeeds.
    """

    def __init__(self, sim: Rs485Simulator) -> None:
        self._sim = sim
        self._dir = Path(tempfile.mkdtemp(prefix="ekm-sim-"))
        self.path = str(self._dir / "ttyEKM0")
        self._master = -1
        self._slave = -1
        self._bus: _Bus | None = None
        self._out = bytearray()
        self._rearm_timer: asyncio.TimerHandle | None = None

    def open(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass through untouched
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        link = Path(self.path)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        self._bus = _Bus(self._sim, self._write, f"pty {self.path}")
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)
        self._rearm()

    def _rearm(self) -> None:
        """Put the slave back on the marker speed (see the class docstring)."""
        if self._rearm_timer is not None:
            self._rearm_timer.cancel()
        if self._slave < 0:
            return
        with contextlib.suppress(termios.error):
            attrs = termios.tcgetattr(self._slave)
            if attrs[4] != MARKER_SPEED or attrs[5] != MARKER_SPEED:
                attrs[4] = attrs[5] = MARKER_SPEED
                termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self._rearm_timer = asyncio.get_running_loop().call_later(REARM_EVERY, self._rearm)

    def close(self) -> None:
        if self._master < 0:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        loop.remove_writer(self._master)
        if self._rearm_timer is not None:
            self._rearm_timer.cancel()
            self._rearm_timer = None
        if self._bus is not None:
            self._bus.close()
            self._bus = None
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1
        self._out.clear()
        # The link goes with the pty, as an unplugged adapter's /dev/serial/by-id link does:
        # the kernel hands the freed /dev/pts number to the next pty opened on the machine
        # (another simulator), which a client reconnecting through a stale link would reach.
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(OSError):
            self._dir.rmdir()

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:  # no client has the slave open: nothing to read
                return
            raise
        if data and self._bus is not None:
            self._bus.received(data)
            self._rearm()

    def _write(self, data: bytes) -> None:
        if self._master < 0:
            return
        self._out += data
        self._flush()

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._out and self._master >= 0:
            try:
                sent = os.write(self._master, self._out)
            except BlockingIOError:
                loop.add_writer(self._master, self._flush)
                return
            except OSError:
                self._out.clear()
                return
            del self._out[:sent]
        if self._master >= 0:
            loop.remove_writer(self._master)
            self._rearm()


class _TcpFace:
    """A TCP listener; each client connection is its own bus."""

    def __init__(self, sim: Rs485Simulator, host: str, port: int) -> None:
        self._sim = sim
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Transport] = set()

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _TcpClient(self._sim, self._clients), self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._clients):
            transport.abort()
        self._clients.clear()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)


class _TcpClient(asyncio.Protocol):
    def __init__(self, sim: Rs485Simulator, clients: set[asyncio.Transport]) -> None:
        self._sim = sim
        self._clients = clients
        self._transport: asyncio.Transport | None = None
        self._bus: _Bus | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._clients.add(transport)
        self._bus = _Bus(self._sim, self._write, f"tcp {transport.get_extra_info('peername')}")

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self._bus is not None:
            self._bus.received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._clients.discard(self._transport)
        if self._bus is not None:
            self._bus.close()
            self._bus = None


class Rs485Simulator:
    """Virtual meters of `fleet` on a pty and/or a TCP port."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        turnaround: float = 0.03,
        wire_speed: bool = False,
        faults: Faults | None = None,
        seed: int | None = None,
    ) -> None:
        self.fleet = fleet
        self.turnaround = turnaround
        self.wire_speed = wire_speed
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.log: list[Request] = []  # every request decoded, in order
        self.raw_log: list[bytes] = []  # the same requests as bytes on the wire
        self._pty: _PtyFace | None = None
        self._tcp: _TcpFace | None = None

    async def start_pty(self) -> str:
        """Serve on a new pty; returns the path to open (a symlink to the slave)."""
        if self._pty is None:
            self._pty = _PtyFace(self)
            self._pty.open()
        return self._pty.path

    async def start_tcp(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve on TCP; returns the serialx URL 'socket://HOST:PORT'."""
        if self._tcp is None:
            self._tcp = _TcpFace(self, host, port)
            await self._tcp.open()
        return self._tcp.url

    async def disconnect(self) -> None:
        """Vanish like an unplugged adapter: close the pty, drop TCP clients, stop listening."""
        if self._pty is not None:
            self._pty.close()
        if self._tcp is not None:
            await self._tcp.close()

    async def reconnect(self) -> None:
        """Come back on the same pty path and TCP port."""
        if self._pty is not None and self._pty._master < 0:
            self._pty.open()
        if self._tcp is not None and self._tcp._server is None:
            await self._tcp.open()

    async def stop(self) -> None:
        if self._pty is not None:
            self._pty.remove()
            self._pty = None
        if self._tcp is not None:
            await self._tcp.close()
            self._tcp = None

    async def __aenter__(self) -> Rs485Simulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


__all__ = ["BYTE_TIME", "Faults", "Rs485Simulator", "frame_for", "table_for"]
