"""Keeps meter passwords out of serialx's debug logs of the bytes on the wire.

serialx logs written and received bytes at DEBUG, as bytes (`%r`) or as spaced
hex (rfc2217), in whatever pieces the OS delivers: an echoing adapter may hand a
password frame back one byte at a time, and no single piece shows that it
belongs to a password. So the redactor follows each logged byte stream (one per
logger and message, such as "Received %r") across records, like a small frame
parser, and masks every ASCII digit of every SOH command frame after its two
command letters, up to its closing ')' ETX, and the two CRC bytes after it
(docs/rs485-protocol.md, sections 2 and 5). That covers the password frame
(SOH P1 STX (pw8) ETX), a password change (SOH W1 STX 0020 (pw8) ETX) and every
other write, sent or echoed. Read requests and meter replies stay readable.

A stream whose record starts in the middle of a command frame (DEBUG switched on
mid-frame, or the unsent tail of a write) is caught by its ')' ETX end: every
digit before it in that record is masked too.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import re
import threading
from typing import Final

SOH: Final = 0x01
ETX: Final = 0x03
_CLOSE: Final = 0x29  # ')': every command frame with data ends ')' ETX
_SIGN_OFF_OP: Final = b"B0"  # SOH 'B0' ETX 'u': the one command without ')' and CRC
_DIGITS: Final = frozenset(b"0123456789")
_OP: Final = re.compile(rb"[BPRW][0-9]?\Z")  # the command letters after SOH: B0, P1, R1, W1
_CRC_LENGTH: Final = 2
# A command frame that never ends (echo lost its ETX) stops masking after this many
# bytes, so that one lost byte cannot hide the readings that follow.
_MAX_FRAME: Final = 512
_MASK: Final = ord("*")
_SPACED_HEX: Final = re.compile(r"[0-9a-fA-F]{2}( [0-9a-fA-F]{2})*")


@dataclass
class ByteStream:
    """Where one logger's byte stream stands: inside a command frame or not."""

    inside: bool = False
    seen: int = 0  # bytes of the current command frame so far
    op: bytes = b""  # its first two bytes after SOH
    previous: int = -1  # the last byte fed (a ')' may end one chunk, its ETX start the next)
    crc_left: int = 0  # CRC bytes still to mask after ')' ETX

    def feed(self, data: bytes) -> list[bool]:
        """Which bytes of `data` (the stream's next bytes) are to be masked."""
        masked = [False] * len(data)
        for i, byte in enumerate(data):
            if self.crc_left:
                masked[i] = True
                self.crc_left -= 1
            elif byte == SOH:  # a new command, even if the last one never ended
                self.inside, self.seen, self.op = True, 0, b""
            elif self.inside:
                # The command letters (P1, W1, R1) stay; register and data digits go.
                masked[i] = byte in _DIGITS and len(self.op) == len(_SIGN_OFF_OP)
                self._inside(byte)
            elif byte == ETX and self.previous == _CLOSE:
                # The end of a command whose start this logger never saw.
                for j in range(i):
                    masked[j] = masked[j] or data[j] in _DIGITS
                self.crc_left = _CRC_LENGTH
            self.previous = byte
        return masked

    def _inside(self, byte: int) -> None:
        self.seen += 1
        if len(self.op) < len(_SIGN_OFF_OP):
            self.op += bytes((byte,))
            if not _OP.match(self.op):  # a stray SOH (a reply's CRC byte can be 0x01)
                self.inside = False
        elif byte == ETX and self.previous == _CLOSE:
            self.inside, self.crc_left = False, _CRC_LENGTH
        elif (byte == ETX and self.op == _SIGN_OFF_OP) or self.seen >= _MAX_FRAME:
            self.inside = False


def _masked_bytes(data: bytes, masked: list[bool]) -> bytes:
    return bytes(_MASK if m else b for b, m in zip(data, masked, strict=True))


def _masked_hex(data: bytes, masked: list[bool]) -> str:
    return " ".join("**" if m else f"{b:02x}" for b, m in zip(data, masked, strict=True))


class RedactCommandDigits(logging.Filter):
    """Masks command-frame digits in the byte arguments of serialx log records.

    One instance serves every serialx logger and keeps one ByteStream per logger and message.
    """

    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[str, ByteStream] = {}
        self._lock = threading.Lock()  # serialx's sync backends log from their own threads

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.args, tuple) or not record.args:
            return True
        with self._lock:
            # One stream per logger and message: rfc2217 logs each chunk three times (raw,
            # parser feed, data), and sent and received bytes are separate streams anyway.
            stream = self._streams.setdefault(f"{record.name}: {record.msg}", ByteStream())
            record.args = tuple(self._redact(stream, arg) for arg in record.args)
        return True

    @staticmethod
    def _redact(stream: ByteStream, arg: object) -> object:
        if isinstance(arg, (bytes, bytearray, memoryview)):
            data = bytes(arg)
            masked = stream.feed(data)
            return _masked_bytes(data, masked) if any(masked) else arg
        if isinstance(arg, str) and _SPACED_HEX.fullmatch(arg):
            data = bytes.fromhex(arg)
            masked = stream.feed(data)
            return _masked_hex(data, masked) if any(masked) else arg
        return arg


REDACTOR: Final = RedactCommandDigits()


def protect_serialx_logs() -> None:
    """Attach the redactor to every serialx logger that exists (filters do not inherit).

    Idempotent; call it again after serialx imported a platform module lazily.
    """
    for name in list(logging.Logger.manager.loggerDict):
        if name == "serialx" or name.startswith("serialx."):
            logger = logging.getLogger(name)
            if REDACTOR not in logger.filters:
                logger.addFilter(REDACTOR)
