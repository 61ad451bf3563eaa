"""Keeps meter passwords out of serialx's debug logs of the bytes on the wire.

serialx logs written and received bytes at DEBUG, as bytes (`%r`) or as spaced
hex (rfc2217), in whatever pieces the OS delivers. Received bytes may hold an
adapter's echo of a password frame, split anywhere and with any byte corrupted or
lost, so no reading of the received stream can tell its password digits from a
reply's: every ASCII digit of received bytes is masked. The byte structure (STX,
'(', ')', ETX, ACK, lengths) stays visible.

Sent bytes are exactly what the bus wrote, and one write is one frame, so one
pattern is certain there: a read request ('/?' + 12 address digits + 2 digits +
'!' CR LF, docs/rs485-protocol.md, section 2) holds no secret and stays readable
when a record holds it whole. No other frame the bus sends has '/?' followed by a
digit. Every other digit of sent bytes (password, writes, table reads, the
unsent tail of a write) is masked.

Anything else serialx may log with bytes (a message this module does not know)
is treated as received: safe by default.
"""

from __future__ import annotations

import logging
import re
from typing import Final

_MASK: Final = ord("*")
_DIGITS: Final = frozenset(b"0123456789")
_SPACED_HEX: Final = re.compile(r"[0-9a-fA-F]{2}( [0-9a-fA-F]{2})*")
_READ_REQUEST: Final = re.compile(rb"/\?[0-9]{14}!\r\n")
# serialx's messages for bytes it writes (descriptor transport, sync posix backend).
SENT_MESSAGES: Final = frozenset({"Immediately writing %r", "Buffering %r", "Writing %d bytes: %r"})


def masked_digits(data: bytes, *, sent: bool) -> list[bool]:
    """Which bytes of `data` (one record's bytes) are to be masked."""
    masked = [b in _DIGITS for b in data]
    if sent:
        for match in _READ_REQUEST.finditer(data):
            masked[match.start() : match.end()] = [False] * (match.end() - match.start())
    return masked


def _masked_bytes(data: bytes, masked: list[bool]) -> bytes:
    return bytes(_MASK if m else b for b, m in zip(data, masked, strict=True))


def _masked_hex(data: bytes, masked: list[bool]) -> str:
    return " ".join("**" if m else f"{b:02x}" for b, m in zip(data, masked, strict=True))


class RedactWireDigits(logging.Filter):
    """Masks the digits of the bytes in serialx's log records, but for whole read requests sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            sent = record.msg in SENT_MESSAGES
            record.args = tuple(self._redact(arg, sent=sent) for arg in record.args)
        return True

    @staticmethod
    def _redact(arg: object, *, sent: bool) -> object:
        if isinstance(arg, (bytes, bytearray, memoryview)):
            data = bytes(arg)
            masked = masked_digits(data, sent=sent)
            return _masked_bytes(data, masked) if any(masked) else arg
        if isinstance(arg, str) and _SPACED_HEX.fullmatch(arg):
            data = bytes.fromhex(arg)
            masked = masked_digits(data, sent=sent)
            return _masked_hex(data, masked) if any(masked) else arg
        return arg


REDACTOR: Final = RedactWireDigits()


def protect_serialx_logs() -> None:
    """Attach the redactor to every serialx logger that exists (filters do not inherit).

    Idempotent; call it again after serialx imported a platform module lazily.
    """
    for name in list(logging.Logger.manager.loggerDict):
        if name == "serialx" or name.startswith("serialx."):
            logger = logging.getLogger(name)
            if REDACTOR not in logger.filters:
                logger.addFilter(REDACTOR)
