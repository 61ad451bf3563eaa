"""The meter password never reaches a log record, however the bytes on the wire are split.

serialx logs every chunk it writes and receives at DEBUG. These tests drive the
real bus over a real pty against a peer that echoes each request back in pieces
(as some RS-485 adapters do) with every logger at DEBUG, and check that neither
a single record nor the records read one after the other give a password away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import logging
import os
import pty
import random
import termios
import tty
import uuid

import pytest

from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.rs485 import requests
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.frames import ACK
from custom_components.ekm.aioekm.rs485.redaction import REDACTOR, protect_serialx_logs
from custom_components.ekm.aioekm.simulator import meter_codec
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, VirtualMeter
from custom_components.ekm.aioekm.simulator.rs485 import frame_for
from custom_components.ekm.aioekm.simulator.writes import apply_write

from .conftest import T0, V4

OLD = "86420975"
NEW = "31975308"
PIECE_GAP = 0.004  # seconds between echoed pieces, so the client reads each on its own

Split = Callable[[bytes], list[bytes]]


def _every(size: int) -> Split:
    return lambda data: [data[i : i + size] for i in range(0, len(data), size)]


def _around_last_digit(data: bytes) -> list[bytes]:
    """The issue's pattern: SOH | ...(1234567 | 8) ETX crc (a read request goes whole)."""
    cut = data.find(b")") - 1
    if cut < 1:
        return [data]
    return [data[:1], data[1:cut], data[cut:]]


def _random_pieces(seed: int) -> Split:
    def split(data: bytes) -> list[bytes]:
        rng = random.Random(seed + len(data))
        cuts = sorted(rng.sample(range(1, len(data)), k=min(6, len(data) - 1)))
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    return split


SPLITS: dict[str, Split] = {
    "whole": lambda data: [data],
    "byte by byte": _every(1),
    "pairs": _every(2),
    "threes": _every(3),
    "around the last digit": _around_last_digit,
    "random pieces": _random_pieces(11),
}


class EchoingMeter:
    """A meter behind an adapter that echoes every request in pieces, on a real pty."""

    def __init__(self, meter: VirtualMeter, clock: ManualClock, split: Split) -> None:
        self._meter = meter
        self._clock = clock
        self._split = split
        self._buffer = bytearray()
        self._signed_on = False
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        master, slave = pty.openpty()
        tty.setraw(slave)
        # Leave the slave at another speed than 9600 so the client's 7E1 setup changes something.
        attrs = termios.tcgetattr(slave)
        attrs[4] = attrs[5] = termios.B38400
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)
        self._worker = loop.create_task(self._serve())

    def close(self) -> None:
        self._worker.cancel()
        asyncio.get_running_loop().remove_reader(self._master)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._buffer += os.read(self._master, 4096)
        while self._buffer:
            length = meter_codec.request_length(bytes(self._buffer))
            if length is None or length > len(self._buffer):
                return
            self._queue.put_nowait(bytes(self._buffer[:length]))
            del self._buffer[:length]

    async def _serve(self) -> None:
        while True:
            request = await self._queue.get()
            for piece in self._split(request):
                os.write(self._master, piece)
                await asyncio.sleep(PIECE_GAP)
            reply = self._answer(meter_codec.parse_request(request))
            if reply:
                os.write(self._master, reply)

    def _answer(self, request: meter_codec.Request) -> bytes | None:
        meter, t = self._meter, self._clock()
        if request.kind == "read":
            self._signed_on = False
            return frame_for(meter, request.layout or Layout.V4A, t)
        if request.kind == "password":
            self._signed_on = request.data == meter.password
            return bytes((ACK,)) if self._signed_on else None
        if (
            request.kind == "write"
            and self._signed_on
            and apply_write(meter, request.register or "", request.data or "", t)
        ):
            return bytes((ACK,))
        return None


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Root and every logger that exists at DEBUG; caplog captures all of them."""
    loggers = [logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger, level in levels:
        logger.setLevel(level)


@pytest.fixture
def meter() -> tuple[VirtualMeter, ManualClock]:
    fleet = Fleet.parse(f"{V4}:v4")
    clock = ManualClock(T0)
    fleet.clock = clock
    virtual = fleet.meters[V4]
    virtual.password = OLD
    return virtual, clock


@pytest.fixture(params=list(SPLITS))
async def echoing_bus(
    request: pytest.FixtureRequest, meter: tuple[VirtualMeter, ManualClock]
) -> AsyncIterator[EkmBus]:
    peer = EchoingMeter(*meter, SPLITS[request.param])
    try:
        async with EkmBus(peer.path, first_byte_timeout=3.0, inter_byte_timeout=1.0, read_retries=1) as bus:
            yield bus
    finally:
        peer.close()


def _assert_no_password(records: list[logging.LogRecord], *passwords: str) -> None:
    messages = [record.getMessage() for record in records]
    digits = "".join(c for message in messages for c in message if c.isdigit())
    for password in passwords:
        spelled = password.encode("ascii")
        for message in messages:
            assert password not in message
            assert spelled.hex(" ") not in message and spelled.hex() not in message
        # One digit per record still spells it out when the records are read in order.
        assert password not in digits


async def test_password_frame_and_password_change_stay_out_of_every_log(
    echoing_bus: EkmBus,
    meter: tuple[VirtualMeter, ManualClock],
    every_logger_at_debug: pytest.LogCaptureFixture,
) -> None:
    """P1 (every write signs on with it) and W1 0020 (the new password), sent and echoed."""
    virtual, _ = meter
    reading = await echoing_bus.set_relay(V4, 1, True, password=OLD)
    assert reading.relay_closed(1) is True
    await echoing_bus.change_password(V4, NEW, password=OLD)
    assert virtual.password == NEW
    records = every_logger_at_debug.records
    _assert_no_password(records, OLD, NEW)
    # The frames did pass through serialx's logs, masked.
    assert any(r.name.startswith("serialx") and "(********)" in r.getMessage() for r in records)


# --- the filter on its own, with the record shapes serialx uses ---------------------


def _fresh_logger() -> logging.Logger:
    """A serialx logger of its own, so no stream state is shared between tests."""
    logger = logging.getLogger(f"serialx.test_redaction_{uuid.uuid4().hex}")
    protect_serialx_logs()
    assert REDACTOR in logger.filters
    return logger


def _log(logger: logging.Logger, message: str, *args: object) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, logging.DEBUG, __file__, 1, message, args, None)
    assert logger.filter(record)
    return record


def _frames() -> dict[str, bytes]:
    return {
        "password": requests.password_frame(OLD),
        "password change": requests.write_frame("0020", NEW),
    }


@pytest.mark.parametrize("frame_name", list(_frames()))
@pytest.mark.parametrize("split_name", list(SPLITS))
def test_sent_then_echoed_in_pieces_as_bytes(frame_name: str, split_name: str) -> None:
    frame = _frames()[frame_name]
    logger = _fresh_logger()
    records = [_log(logger, "Immediately writing %r", frame)]
    records += [_log(logger, "Received %r", piece) for piece in SPLITS[split_name](frame)]
    _assert_no_password(records, OLD, NEW)
    echoed = b"".join(bytes(r.args[0]) for r in records[1:])  # type: ignore[index, arg-type]
    # Only the digits go: the frame's shape stays readable.
    assert echoed == frame.translate(bytes.maketrans(b"0123456789", b"*" * 10))


@pytest.mark.parametrize("split_name", list(SPLITS))
def test_rfc2217_spaced_hex_logged_three_times_per_chunk(split_name: str) -> None:
    """rfc2217 logs each received chunk as raw, parser feed and data, in spaced hex."""
    frame = requests.password_frame(OLD)
    logger = _fresh_logger()
    views = ("RX raw: %d bytes  [%s]", "Parser feed: %d bytes: %s", "RX data: %d bytes  [%s]")
    records = [
        _log(logger, view, len(piece), piece.hex(" "))
        for piece in SPLITS[split_name](frame)
        for view in views
    ]
    _assert_no_password(records, OLD)
    masked = " ".join("**" if chr(b).isdigit() else f"{b:02x}" for b in frame)
    assert masked.startswith("01 50 ** 02 28 " + "** " * 8 + "29 03")  # SOH P1 STX ( ******** ) ETX
    for view in range(len(views)):  # each of the three views, read in order, is the masked frame
        assert " ".join(str(r.args[1]) for r in records[view :: len(views)]) == masked  # type: ignore[index]


def test_unsent_tail_of_a_write_is_masked_without_its_start() -> None:
    """serialx logs the unsent rest of a write on its own: its digits go."""
    frame = requests.write_frame("0020", NEW)
    logger = _fresh_logger()
    tail = frame[frame.index(b"(") + 3 :]
    record = _log(logger, "Buffering %r", tail)
    assert NEW[2:] not in record.getMessage()
    assert bytes(record.args[0]).startswith(b"******)\x03")  # type: ignore[index, arg-type]


def test_read_requests_stay_readable_and_replies_keep_their_shape() -> None:
    logger = _fresh_logger()
    request = requests.read_request(V4, Layout.V4A)
    for message in ("Immediately writing %r", "Buffering %r"):
        assert _log(logger, message, request).args == (request,)
    assert _log(logger, "Writing %d bytes: %r", len(request), request).args == (len(request), request)
    # A piece of a request is not a request: its digits go.
    assert _log(logger, "Buffering %r", request[2:]).args == (b"*" * 14 + b"!\r\n",)
    # Received, even a request (an echo) or a reply has its digits masked, nothing else.
    reply = frame_for(Fleet.parse(f"{V4}:v4").meters[V4], Layout.V4A, T0)
    for data in (request, reply):
        got = bytes(_log(logger, "Received %r", data).args[0])  # type: ignore[index, arg-type]
        assert got == data.translate(bytes.maketrans(b"0123456789", b"*" * 10))


def _corrupt(frame: bytes, how: str, rng: random.Random) -> bytes:
    """`frame` with its first bytes lost or changed, as line noise does to an echo."""
    digits = frame.index(b"(") + 1
    if how == "lost start":  # any number of bytes before the digits lost, even the '('
        return frame[rng.randrange(1, digits + 1) :]
    if how == "changed start":  # each byte before the digits maybe flipped
        return (
            bytes(b ^ (1 << rng.randrange(7)) if rng.random() < 0.5 else b for b in frame[:digits])
            + frame[digits:]
        )
    if how == "noise before":
        return bytes(rng.randrange(128) for _ in range(rng.randrange(1, 6))) + frame
    if how == "lost end":  # its ')' or ETX lost
        return frame.replace(b")", b"") if rng.random() < 0.5 else frame.replace(b")\x03", b")")
    return frame


CORRUPTIONS = ("none", "lost start", "changed start", "noise before", "lost end")


@pytest.mark.parametrize("how", CORRUPTIONS)
@pytest.mark.parametrize("view", ["bytes", "hex"])
def test_fuzz_corrupted_echoes_in_random_pieces(how: str, view: str) -> None:
    """Seeded and bounded: corrupted password and password-change echoes between replies, split at random.

    No five digits of a password in a row may come out of the records read in order.
    """
    rng = random.Random(f"{how}/{view}")
    reply = frame_for(Fleet.parse(f"{V4}:v4").meters[V4], Layout.V4A, T0)
    frames = list(_frames().values())
    for _ in range(150):
        logger = _fresh_logger()
        echo = _corrupt(rng.choice(frames), how, rng)
        stream = reply[rng.randrange(200, 256) :] + echo + bytes((ACK,)) + reply
        out = bytearray()
        i = 0
        while i < len(stream):
            piece = stream[i : i + rng.randint(1, 6)]
            i += len(piece)
            if view == "bytes":
                out += bytes(_log(logger, "Received %r", piece).args[0])  # type: ignore[index, arg-type]
            else:
                shown = str(_log(logger, "RX raw: %d bytes  [%s]", len(piece), piece.hex(" ")).args[1])  # type: ignore[index]
                out += bytes(0x2A if h == "**" else int(h, 16) for h in shown.split(" "))
        for password in (OLD, NEW):
            for k in range(len(password) - 4):
                assert password[k : k + 5].encode() not in out, (how, stream)


def _soh_lost_byte_by_byte(data: bytes) -> list[bytes]:
    """An echo that lost its first byte to noise, handed back a byte at a time (the tester's case)."""
    if data[:1] == b"\x01":
        data = data[1:]
    return [data[i : i + 1] for i in range(len(data))]


async def test_password_stays_out_of_logs_when_the_echo_lost_its_start(
    meter: tuple[VirtualMeter, ManualClock], every_logger_at_debug: pytest.LogCaptureFixture
) -> None:
    virtual, _ = meter
    peer = EchoingMeter(*meter, _soh_lost_byte_by_byte)
    try:
        async with EkmBus(peer.path, first_byte_timeout=3.0, inter_byte_timeout=1.0, read_retries=1) as bus:
            await bus.set_relay(V4, 1, True, password=OLD)
            await bus.change_password(V4, NEW, password=OLD)
    finally:
        peer.close()
    assert virtual.password == NEW
    _assert_no_password(every_logger_at_debug.records, OLD, NEW)
