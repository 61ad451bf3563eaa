"""What the client sends: read requests, command frames and the sign-off (docs/rs485-protocol.md, section 2).

Builders check their arguments and raise ValueError before anything can reach the wire.
"""

from __future__ import annotations

from typing import Final

from ..fields import Layout
from ..readings import normalize_address
from .crc import seal
from .frames import ETX, REQUEST_TYPES, SOH, STX

SIGN_OFF: Final = bytes((SOH, 0x42, 0x30, ETX, 0x75))  # SOH 'B0' ETX 'u', a fixed constant
READ_PREFIX: Final = b"/?"
MAX_REQUEST_LENGTH: Final = 256  # longer than any command we know (LCD list: 93 bytes)
MAX_WRITE_DATA: Final = MAX_REQUEST_LENGTH - 13  # SOH W1 STX reg4 ( ) ETX crc2 around it


def read_request(address: str, layout: Layout) -> bytes:
    """The read request for `layout`: v3 17 bytes, v4 A/B 19 bytes. No CRC."""
    addr = normalize_address(address).encode("ascii")
    if layout is Layout.V3:
        return READ_PREFIX + addr + b"!\r\n"
    return READ_PREFIX + addr + REQUEST_TYPES[layout] + b"!\r\n"


def _command(op: bytes, body: str) -> bytes:
    return seal(bytes((SOH,)) + op + bytes((STX,)) + body.encode("ascii") + bytes((ETX,)))


def _check_register(register: str) -> None:
    if len(register) != 4 or any(c not in "0123456789ABCDEF" for c in register):
        raise ValueError(f"register must be 4 upper-case hex characters, got {register!r}")


def password_frame(password: str) -> bytes:
    """SOH 'P1' STX '(' pw8 ')' ETX crc2. The message of a bad password never shows it."""
    if len(password) != 8 or not password.isascii() or not password.isdigit():
        raise ValueError("meter password must be exactly 8 digits")
    return _command(b"P1", f"({password})")


def write_frame(register: str, data: str) -> bytes:
    """SOH 'W1' STX reg4 '(' data ')' ETX crc2. Data is ASCII digits (may be empty)."""
    _check_register(register)
    if not data.isascii() or (data and not data.isdigit()):
        raise ValueError(f"write data for register {register} must be ASCII digits")
    if len(data) > MAX_WRITE_DATA:
        raise ValueError(f"write data for register {register} is longer than {MAX_WRITE_DATA} digits")
    return _command(b"W1", f"{register}({data})")


def table_read_frame(register: str) -> bytes:
    """SOH 'R1' STX reg4 '()' ETX crc2; the empty parentheses are required."""
    _check_register(register)
    return _command(b"R1", f"{register}()")
