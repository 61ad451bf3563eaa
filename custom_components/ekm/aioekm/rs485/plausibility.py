"""What a reply that passed its CRC can still get wrong: the checks the protocol allows.

The CRC is CRC-16 sent as two 7-bit bytes (docs/rs485-protocol.md, section 3), so
two of its bits are lost and about 3 in 65,536 random double-bit errors pass it.
Most of those land in digits that stay digits. These checks refuse what no meter
sends: bytes with the eighth bit set on a 7-bit link, reserved bytes that are not
zero-like, values outside physical ranges, codes outside their documented sets,
more watts or vars on a line than its volts times amps, a clock that is not a
date or has a weekday outside 01..07, and a kWh_Scale other than the one the meter had. Each failure is an
ImplausibleFrameError (a FrameError: the read is retried, never turned into a
reading).

Limits are wide on purpose: a real meter must never be refused for good. A load
that changes between the meter's measurements can only make one read fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# The physical bounds (ranges, codes, power within volts x amps) are every transport's: bounds.py.
from ..bounds import (
    CODES,
    LINE_FREQUENCY,
    LINES,
    MAX_VOLTS,
    POWER_MARGIN,
    POWER_SLACK,
    UNSET_CLOCK,
    V4_STATE_INPUTS,
    implausible,
)
from ..errors import ImplausibleFrameError
from ..fields import (
    ADDRESS_AT,
    FRAME_LENGTH,
    REQUEST_TYPE_AT,
    Layout,
    fields_in,
)
from ..readings import FieldValue

__all__ = [  # the bounds stay importable from here
    "CODES",
    "LINES",
    "LINE_FREQUENCY",
    "MAX_VOLTS",
    "POWER_MARGIN",
    "POWER_SLACK",
    "RESERVED",
    "UNSET_CLOCK",
    "V4_STATE_INPUTS",
    "check_reply",
]
_TRAILER_START: Final = 249  # '!' CR LF ETX, then the CRC
_WEEKDAY: Final = slice(6, 8)  # Meter_Time is 'yymmddwwhhmmss', 01 = Sunday .. 07 = Saturday
_WEEKDAYS: Final = frozenset(f"{day:02d}" for day in range(1, 8))


def _fixed_positions(layout: Layout) -> frozenset[int]:
    """Byte positions a layout gives a meaning to: header, fields, request type, trailer, CRC."""
    taken = set(range(ADDRESS_AT.stop)) | set(range(_TRAILER_START, FRAME_LENGTH))
    if layout is not Layout.V3:
        taken |= set(range(REQUEST_TYPE_AT.start, REQUEST_TYPE_AT.stop))
    for f in fields_in(layout):
        place = f.slice(layout)
        if place is not None:
            taken |= set(range(place.start, place.stop))
    return frozenset(taken)


RESERVED: Final[Mapping[Layout, tuple[int, ...]]] = {
    layout: tuple(i for i in range(FRAME_LENGTH) if i not in _fixed_positions(layout)) for layout in Layout
}
_DIGITS: Final = frozenset(b"0123456789")
_PRINTABLE: Final = frozenset(range(0x20, 0x7F))


def check_reply(
    data: bytes, layout: Layout, values: Mapping[str, FieldValue], *, known_kwh_scale: int | None = None
) -> None:
    """Raise ImplausibleFrameError unless a decoded reply could have come from a meter.

    `data` is the 255-byte reply that passed the CRC and the field checks, `values`
    its decoded fields. `known_kwh_scale` is the meter's kWh_Scale from an earlier
    A reply, if the caller knows it; an A reply with another one is refused.
    """
    what = f"{layout.value} reply"
    _check_bytes(data, layout, what)
    # Ranges, codes, power within volts x amps, a clock that is a date (bounds.py).
    reason = implausible(values, state_inputs=layout is Layout.V4A)
    if reason is not None:
        raise ImplausibleFrameError(f"{what}: {reason}")
    clock = values.get("Meter_Time")
    if isinstance(clock, str) and clock != UNSET_CLOCK and clock[_WEEKDAY] not in _WEEKDAYS:
        raise ImplausibleFrameError(f"{what}: Meter_Time {clock} has weekday {clock[_WEEKDAY]}, not 01..07")
    scale = values.get("kWh_Scale")
    if layout is Layout.V4A and known_kwh_scale is not None and scale != known_kwh_scale:
        raise ImplausibleFrameError(f"{what}: kWh_Scale {scale}, the meter had {known_kwh_scale}")


def _check_bytes(data: bytes, layout: Layout, what: str) -> None:
    if any(b > 0x7F for b in data):
        raise ImplausibleFrameError(f"{what} has bytes above 0x7F on a 7-bit link")
    # Real v4 replies carry '0' in every reserved byte; for v3 there is no capture.
    allowed = _PRINTABLE if layout is Layout.V3 else _DIGITS
    for i in RESERVED[layout]:
        if data[i] not in allowed:
            raise ImplausibleFrameError(f"{what}: reserved byte {i} is 0x{data[i]:02x}")
