"""Request/reply exchanges on the bus: one reply per request, retries, counters.

A reply must belong to the request it answers. Replies are told apart by what
they carry (docs/rs485-protocol.md, "One reply per request"): a 255-byte window
that is not the answer to the request but parses as the reply to another
request sent lately (another meter's address, the other frame type, another
table) is a late reply or a copy; so is one the parser refuses as older than
what was taken (rs485/freshness.py). It is dropped whole, and the answer is
still waited for until the first-byte timeout. So no quiet gap is needed
between a reply and the next read. Only an ACK cannot be told apart from a byte
of a copy (a CRC byte may be 0x06), so a password or write frame is sent once
the line has been quiet for FRAME_GAP, and so is the first request after one
(the read-back, which a copy of the select reply could pass for).

After a request was given up on (no reply in time, a bad or stalled reply, no
ACK), its answer may still be on its way: before any other request the line is
watched until it has been quiet for a whole first-byte timeout, counted from a
first-byte timeout after that request went out. A retry (the same request again,
in the same exchange) asks the same question, so a late answer to an earlier try
is an answer to it too; the same request in a later exchange (the next poll) is
a new question, and waits like any other.

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

from ..errors import CrcError, EkmConnectionError, EkmError, EkmTimeoutError, FrameError, LateReplyError
from ..readings import normalize_address
from .frames import ACK, NAK, STX
from .port import Port
from .requests import SIGN_OFF
from .transport import Link

_LOGGER = logging.getLogger(__name__)

FRAME_GAP: Final = 0.03  # silence that ends a reply: above a USB adapter's 16 ms latency timer
BUSY_LINE_LIMIT: Final = 0.6  # longest extra wait for a line that never falls quiet (two frames)
MAX_RESYNCS: Final = 16  # bad or late 255-byte windows tried in one attempt before giving up
RECENT: Final = 8  # frame requests whose late replies are recognised


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
        # The frame requests sent lately, each with a check that raises FrameError unless
        # a window is its reply (parsed, not taken): how late replies are recognised.
        self._recent: dict[bytes, Callable[[bytes], object]] = {}
        self._quiet_next = True  # the next request waits for FRAME_GAP of quiet

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

    async def _send(self, request: bytes, *, retry: bool = False, quiet: bool = False) -> Link:
        """Send `request` once the line is clean (see the module docstring).

        `retry`: it repeats the request just given up on, in the same exchange.
        `quiet`: wait for FRAME_GAP of quiet first (its answer cannot be told by content).
        """
        link = await self.port.link()
        if self._owed is not None and not (retry and request == self._owed):
            # Its answer may come up to a first-byte timeout late: until then, and for
            # as long as bytes keep coming, nothing else is asked.
            timeout = self.first_byte_timeout
            since = self._owed_at + timeout
            limit = max(0.0, since - asyncio.get_running_loop().time()) + timeout + BUSY_LINE_LIMIT
            dropped = await link.settle(timeout, limit=limit, since=since)
            self._owed = None
        elif quiet or self._quiet_next:
            dropped = await link.settle(FRAME_GAP, limit=FRAME_GAP + BUSY_LINE_LIMIT)
        else:
            dropped = link.discard_input()  # a copy still coming is told by its content
        self._quiet_next = quiet
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
        belongs: Callable[[bytes], object] | None = None,
    ) -> T:
        """`parse` of the 255-byte reply to `request`, retried on timeouts and bad frames.

        `belongs` raises FrameError unless a window is a reply to `request` (no more
        than parsed): later requests use it to recognise a late reply to this one.
        When every attempt fails, a bad frame is reported over silence: it says
        more (the meter answers, the line is noisy) than the last timeout.
        """
        if belongs is not None:
            self._recent.pop(request, None)
            self._recent[request] = belongs
            while len(self._recent) > RECENT:
                del self._recent[next(iter(self._recent))]
        tries = self.retries + 1 if attempts is None else attempts
        timeout: EkmTimeoutError | None = None
        bad: FrameError | None = None
        for attempt in range(tries):
            link = await self._send(request, retry=attempt > 0)
            try:
                value = await self._receive(link, request, parse, what=what)
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

    async def _receive[T](self, link: Link, request: bytes, parse: Callable[[bytes], T], *, what: str) -> T:
        """The reply to `request`, late replies and copies dropped, noise resynchronised over."""
        data = await link.receive_frame(
            echo=request,
            first_byte_timeout=self.first_byte_timeout,
            inter_byte_timeout=self.inter_byte_timeout,
        )
        bad: FrameError | None = None
        late: LateReplyError | None = None
        for _ in range(MAX_RESYNCS):
            wait = 0.0
            try:
                return parse(data)
            except LateReplyError as err:
                late = err
            except FrameError as err:
                if not self._answers_another(request, data):
                    bad = bad or err
                    link.unread(data[1:])  # the window may have started at noise: try the next STX received
                else:
                    late = LateReplyError(f"a late reply to another request came instead of {what} ({err})")
            if late is not None and bad is None:
                # Dropped whole: the answer may still come, up to the first-byte timeout.
                loop = asyncio.get_running_loop()
                wait = max(self._sent_at + self.first_byte_timeout - loop.time(), self.inter_byte_timeout)
            try:
                data = await link.receive_frame(
                    echo=b"", first_byte_timeout=wait, inter_byte_timeout=self.inter_byte_timeout
                )
            except EkmTimeoutError:
                break
        if bad is not None:
            raise bad
        assert late is not None
        _LOGGER.debug("dropped a late reply: %s", late)
        raise late

    def _answers_another(self, request: bytes, data: bytes) -> bool:
        """Whether `data` is the reply to another frame request sent lately."""
        for other, belongs in self._recent.items():
            if other == request:
                continue
            try:
                belongs(data)
            except FrameError:
                continue
            return True
        return False

    async def ack(self, request: bytes) -> Answer:
        """Send a password or write frame and see how the meter answers; never retried."""
        link = await self._send(request, quiet=True)
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
