"""Request/reply exchanges on the bus: one reply per request, retries, counters.

A reply must belong to the request it answers. Before each request the input is
dropped and the line must be quiet for FRAME_GAP (a copy of the last reply, or
noise, may still be arriving). After a request was given up on (no reply in
time, a bad or stalled reply, no ACK), its answer may still be on its way: before
any other request the line is watched until it has been quiet for a whole
first-byte timeout, counted from a first-byte timeout after that request went
out, so an answer up to that late is dropped instead of being taken for the next
request's. A retry (the same request again, in the same exchange) asks the same
question, so a late answer to an earlier try is an answer to it too; the same
request in a later exchange (the next poll) is a new question, and waits like any
other. Answers later than that are told by their content (rs485/freshness.py).

A bad frame does not end an attempt at once: a stray STX or noise before the
reply makes a 255-byte window that fails its checks, so the reader resynchronises
on the next STX among the bytes already received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
import logging
from typing import Final

from ..errors import CrcError, EkmConnectionError, EkmError, EkmTimeoutError, FrameError
from ..readings import normalize_address
from .frames import ACK, NAK, STX
from .port import Port
from .requests import SIGN_OFF
from .transport import Link

_LOGGER = logging.getLogger(__name__)

FRAME_GAP: Final = 0.03  # silence that ends a reply: above a USB adapter's 16 ms latency timer
BUSY_LINE_LIMIT: Final = 0.6  # longest extra wait for a line that never falls quiet (two frames)
MAX_RESYNCS: Final = 16  # bad 255-byte windows tried in one attempt before giving up


@dataclass
class MeterStats:
    """Per-meter counters; errors count every failed attempt, retries included."""

    good_reads: int = 0
    crc_errors: int = 0
    timeouts: int = 0
    other_errors: int = 0
    last_error: str | None = None
    last_success: datetime | None = None


class Answer(Enum):
    """How a meter answered a password or a write."""

    ACK = "ACK"
    NAK = "NAK"  # refused
    OTHER = "other bytes, no ACK"
    SILENCE = "no answer"


class Exchanges:
    """Requests and their replies over one port, with bounded retries for reads."""

    def __init__(
        self, port: Port, *, first_byte_timeout: float, inter_byte_timeout: float, retries: int
    ) -> None:
        self.port = port
        self.first_byte_timeout = first_byte_timeout
        self.inter_byte_timeout = inter_byte_timeout
        self.retries = retries
        self._stats: dict[str, MeterStats] = {}
        self._owed: bytes | None = None  # a request given up on whose answer may still come
        self._owed_at = 0.0  # when it was sent (loop time)
        self._sent_at = 0.0  # when the last request was sent

    def stats(self, address: str) -> MeterStats:
        """The counters of meter `address` (created on first use)."""
        return self._stats.setdefault(normalize_address(address), MeterStats())

    def count(self, address: str, err: EkmError) -> None:
        stats = self.stats(address)
        if isinstance(err, CrcError):
            stats.crc_errors += 1
        elif isinstance(err, EkmTimeoutError):
            stats.timeouts += 1
        else:
            stats.other_errors += 1
        stats.last_error = f"{type(err).__name__}: {err}"

    async def _send(self, request: bytes, *, retry: bool = False) -> Link:
        """Send `request` once the line is clean (see the module docstring).

        `retry`: it repeats the request just given up on, in the same exchange.
        """
        link = await self.port.link()
        if self._owed is not None and not (retry and request == self._owed):
            # Its answer may come up to a first-byte timeout late: until then, and for
            # as long as bytes keep coming, nothing else is asked.
            quiet = self.first_byte_timeout
            since = self._owed_at + quiet
            limit = max(0.0, since - asyncio.get_running_loop().time()) + quiet + BUSY_LINE_LIMIT
            dropped = await link.settle(quiet, limit=limit, since=since)
            self._owed = None
        else:
            dropped = await link.settle(FRAME_GAP, limit=FRAME_GAP + BUSY_LINE_LIMIT)
        if dropped:
            _LOGGER.debug("dropped %d stale bytes before a request", dropped)
        await link.send(request)
        self._sent_at = asyncio.get_running_loop().time()
        return link

    def _give_up(self, request: bytes) -> None:
        """`request`, just sent, has no (good) answer yet: it may come late."""
        self._owed = request
        self._owed_at = self._sent_at

    async def frame[T](
        self,
        address: str,
        request: bytes,
        parse: Callable[[bytes], T],
        *,
        what: str,
        attempts: int | None = None,
    ) -> T:
        """`parse` of the 255-byte reply to `request`, retried on timeouts and bad frames.

        When every attempt fails, a bad frame is reported over silence: it says
        more (the meter answers, the line is noisy) than the last timeout.
        """
        tries = self.retries + 1 if attempts is None else attempts
        timeout: EkmTimeoutError | None = None
        bad: FrameError | None = None
        for attempt in range(tries):
            link = await self._send(request, retry=attempt > 0)
            try:
                value = await self._receive(link, request, parse)
            except EkmTimeoutError as err:
                detail = "" if str(err) == "no reply" else f" in full ({err})"
                timeout = EkmTimeoutError(f"meter {address} did not answer {what}{detail}")
                error: EkmError = timeout
            except FrameError as err:
                bad = error = err
            else:
                if self._owed == request:  # an earlier try's answer was taken: this one's is owed
                    self._give_up(request)
                return value
            self._give_up(request)
            self.count(address, error)
            _LOGGER.debug("meter %s, %s, attempt %d failed: %s", address, what, attempt + 1, error)
        if bad is not None:
            raise bad
        raise timeout or EkmTimeoutError(f"meter {address}: no attempt at {what}")

    async def _receive[T](self, link: Link, request: bytes, parse: Callable[[bytes], T]) -> T:
        data = await link.receive_frame(
            echo=request,
            first_byte_timeout=self.first_byte_timeout,
            inter_byte_timeout=self.inter_byte_timeout,
        )
        first_error: FrameError | None = None
        for _ in range(MAX_RESYNCS):
            try:
                return parse(data)
            except FrameError as err:
                first_error = first_error or err
            link.unread(data[1:])  # the window may have started at noise: try the next STX received
            try:
                data = await link.receive_frame(
                    echo=b"", first_byte_timeout=0.0, inter_byte_timeout=self.inter_byte_timeout
                )
            except EkmTimeoutError:
                break
        assert first_error is not None
        raise first_error

    async def ack(self, request: bytes) -> Answer:
        """Send a password or write frame and see how the meter answers; never retried."""
        link = await self._send(request)
        seen = await link.receive_ack(echo=request, within=self.first_byte_timeout)
        if seen.endswith(bytes((ACK,))):
            return Answer.ACK
        self._give_up(request)  # an ACK may still come, late
        if NAK in seen and STX not in seen:  # a NAK byte inside a stale frame is no answer
            return Answer.NAK
        return Answer.OTHER if seen else Answer.SILENCE

    async def sign_off(self) -> None:
        """End the meter session; a lost link is noticed (and reopened) by the next request."""
        link = self.port.current
        if link is not None:
            with contextlib.suppress(EkmConnectionError):
                await link.send(SIGN_OFF)
