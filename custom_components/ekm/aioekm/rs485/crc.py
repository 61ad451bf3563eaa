"""CRC-16 of EKM frames (docs/rs485-protocol.md, section 3).

Standard CRC-16/MODBUS (reflected 0xA001, init 0xFFFF, no final XOR) over every
byte after the first, up to and including ETX. Sent low byte first, each byte
masked with 0x7F because the link is 7-bit.
"""

from __future__ import annotations

from typing import Final


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        rows.append(crc)
    return tuple(rows)


_TABLE: Final = _table()


def crc16(data: bytes) -> int:
    """Raw CRC-16/MODBUS of `data`."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def crc_bytes(covered: bytes) -> bytes:
    """The two CRC bytes as sent on the wire for `covered` (frame[1:-2])."""
    crc = crc16(covered)
    return bytes(((crc & 0xFF) & 0x7F, (crc >> 8) & 0x7F))


def seal(frame_without_crc: bytes) -> bytes:
    """Append the CRC to a frame whose first byte is SOH or STX."""
    return frame_without_crc + crc_bytes(frame_without_crc[1:])


def crc_ok(frame: bytes) -> bool:
    """Whether the last two bytes of `frame` are the CRC of frame[1:-2]."""
    return len(frame) >= 3 and frame[-2:] == crc_bytes(frame[1:-2])
