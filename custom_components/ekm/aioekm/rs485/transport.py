"""The byte link to an RS-485 adapter, through serialx.

Accepts whatever serialx accepts: device paths (/dev/ttyUSB0, /dev/serial/by-id/...),
socket://host:port, rfc2217://host:port. Bytes are collected by a plain asyncio
protocol so the bus can drop stale input before each request (like
reset_input_buffer), wait for the line to fall quiet, and read replies with its
own first-byte / inter-byte timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

import serialx

from ..errors import EkmConnectionError, EkmTimeoutError
from ..fields import FRAME_LENGTH
from .frames import ACK, STX
from .port_url import redact_in, redact_port_url
from .redaction import protect_serialx_logs


class _Collector(asyncio.Protocol):
    """Appends every received byte to the link's buffer and wakes its reader."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def data_received(self, data: bytes) -> None:
        self._link._received(data)

    def eof_received(self) -> bool | None:
        self._link._lost(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._link._lost(exc)


class Link:
    """One open connection to the bus adapter; useless once `closed`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._closed = False
        self._last_rx = -math.inf  # loop time of the last byte received
        self.lost_reason: str | None = None

    @classmethod
    async def open(cls, url: str, *, baudrate: int, bytesize: int, parity: str, stopbits: float) -> Link:
        """Open `url`; EkmConnectionError if it cannot be opened."""
        link = cls(url)
        loop = asyncio.get_running_loop()
        protect_serialx_logs()
        settings: dict[str, Any] = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
        }
        try:
            transport, _ = await serialx.create_serial_connection(
                loop, lambda: _Collector(link), url, **settings
            )
        except (OSError, serialx.SerialException, ValueError, TimeoutError) as err:
            reason = redact_in(str(err), url)
            raise EkmConnectionError(f"cannot open {redact_port_url(url)}: {reason}") from err
        link._transport = transport
        protect_serialx_logs()  # platform modules load lazily on first open
        return link

    # --- protocol callbacks ---------------------------------------------------

    def _received(self, data: bytes) -> None:
        self._buffer += data
        self._last_rx = asyncio.get_running_loop().time()
        self._wake()

    def _lost(self, exc: Exception | None) -> None:
        if not self._closed:
            self._closed = True
            self.lost_reason = str(exc) if exc else "connection closed by the other end"
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # --- use ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True
        transport, self._transport = self._transport, None
        if transport is None:
            return
        transport.close()
        wait_closed = getattr(transport, "wait_closed", None)
        if wait_closed is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(wait_closed(), 2.0)

    def discard_input(self) -> int:
        """Drop whatever arrived so far (stale replies, line noise); returns how much."""
        dropped = len(self._buffer)
        self._buffer.clear()
        return dropped

    def unread(self, data: bytes) -> None:
        """Put `data` back in front of the input, to be read again."""
        self._buffer[:0] = data

    async def settle(self, quiet: float, *, limit: float, since: float = -math.inf) -> int:
        """Drop input until the line has been quiet for `quiet` seconds; returns how much was dropped.

        Quiet counts from the last byte received, and not before the loop time
        `since` (to give a reply still on its way the time to come). Gives up
        after `limit` seconds of a line that never falls quiet.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + limit
        silent_since = max(self._last_rx, since)
        dropped = self.discard_input()
        while not self._closed:
            wait = min(silent_since + quiet, give_up) - loop.time()
            if wait <= 0 or not await self._wait_data(wait):
                break
            dropped += self.discard_input()
            silent_since = max(self._last_rx, since)
        return dropped

    def _check_open(self) -> None:
        if self._closed or self._transport is None:
            reason = redact_in(self.lost_reason or "", self.url)
            raise EkmConnectionError(f"{redact_port_url(self.url)} is gone: {reason}")

    async def send(self, data: bytes) -> None:
        """Write `data` (after dropping stale input)."""
        self._check_open()
        self.discard_input()
        transport = self._transport
        assert isinstance(transport, asyncio.WriteTransport)
        try:
            transport.write(data)
        except (OSError, serialx.SerialException) as err:
            self._lost(err)
            raise EkmConnectionError(
                f"write to {redact_port_url(self.url)} failed: {redact_in(str(err), self.url)}"
            ) from err

    async def _wait_data(self, seconds: float) -> bool:
        """Wait up to `seconds` for more bytes; False if none came."""
        if seconds <= 0:
            return False
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        try:
            async with asyncio.timeout(seconds):
                await self._waiter
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True

    def _skip_echo(self, pending_echo: bytes) -> bytes:
        """Drop the echo of the request at the start of the input; returns the echo still expected."""
        skip = 0
        while skip < len(self._buffer) and pending_echo and self._buffer[skip] == pending_echo[0]:
            pending_echo = pending_echo[1:]
            skip += 1
        del self._buffer[:skip]
        return pending_echo if not self._buffer else b""

    async def receive_frame(
        self, *, echo: bytes, first_byte_timeout: float, inter_byte_timeout: float
    ) -> bytes:
        """The next 255 bytes that start with STX.

        Skips an echo of the request (some adapters echo what they send) and any
        bytes before the STX. EkmTimeoutError if no STX comes within
        `first_byte_timeout` or the frame stalls for `inter_byte_timeout`;
        EkmConnectionError if the link drops.
        """
        loop = asyncio.get_running_loop()
        pending_echo = echo
        deadline = loop.time() + first_byte_timeout
        while True:
            pending_echo = self._skip_echo(pending_echo)
            start = self._buffer.find(STX)
            if start >= 0:
                del self._buffer[:start]
                break
            self._buffer.clear()
            self._check_open()
            if not await self._wait_data(deadline - loop.time()):
                self._check_open()
                raise EkmTimeoutError("no reply")
        while len(self._buffer) < FRAME_LENGTH:
            self._check_open()
            if not await self._wait_data(inter_byte_timeout):
                self._check_open()
                raise EkmTimeoutError(f"reply stopped after {len(self._buffer)} of {FRAME_LENGTH} bytes")
        reply = bytes(self._buffer[:FRAME_LENGTH])
        del self._buffer[:FRAME_LENGTH]
        return reply

    async def receive_ack(self, *, echo: bytes, within: float) -> bytes:
        """What came within `within` seconds, echo left out, up to and including the first ACK.

        Ends with ACK when one came; otherwise it is whatever came instead (maybe a
        NAK, maybe nothing). EkmConnectionError if the link drops.
        """
        loop = asyncio.get_running_loop()
        pending_echo = echo
        deadline = loop.time() + within
        seen = bytearray()
        while True:
            pending_echo = self._skip_echo(pending_echo)
            ack = self._buffer.find(ACK)
            if ack >= 0:
                seen += self._buffer[: ack + 1]
                del self._buffer[: ack + 1]
                return bytes(seen)
            seen += self._buffer
            self._buffer.clear()
            self._check_open()
            if not await self._wait_data(deadline - loop.time()):
                self._check_open()
                return bytes(seen)
