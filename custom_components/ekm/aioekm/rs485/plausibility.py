"""What a reply that passed its CRC can still get wrong: the checks the protocol allows.

The CRC is CRC-16 sent as two 7-bit bytes (docs/rs485-protocol.md, section 3), so
two of its bits are lost and about 3 in 65,536 random double-bit errors pass it.
Most of those land in digits that stay digits. These checks refuse what no meter
sends: bytes with the eighth bit set on a 7-bit link, reserved bytes that are not
zero-like, values outside physical ranges, codes outside their documented sets,
more watts or vars on a line than its volts times amps, a clock that is not a
date, and a kWh_Scale other than the one the meter had. Each failure is an
ImplausibleFrameError (a FrameError: the read is retried, never turned into a
reading).

Limits are wide on purpose: a real meter must never be refused for good. A load
that changes between the meter's measurements can only make one read fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..errors import ImplausibleFrameError
from ..fields import (
    ADDRESS_AT,
    FRAME_LENGTH,
    REQUEST_TYPE_AT,
    Layout,
    fields_in,
)
from ..readings import FieldValue, parse_meter_time

MAX_VOLTS: Final = 600.0  # above any service voltage an Omnimeter is wired to (480 V line to line)
LINE_FREQUENCY: Final = (45.0, 65.0)  # Hz, 50 and 60 Hz grids with margin; 0 reads as "no voltage"
# The documented codes (docs/rs485-protocol.md, sections 4.3 to 4.6). v3's 3-digit
# State_Inputs is not documented, so only the v4 one is checked.
CODES: Final[Mapping[str, range]] = {
    "Max_Demand_Period": range(1, 4),
    "Max_Demand_Rst": range(0, 5),
    "State_Watts_Dir": range(1, 9),
    "State_Out": range(1, 5),
}
V4_STATE_INPUTS: Final = range(0, 8)
# Real power on a line cannot exceed volts times amps. The margin covers rounding of
# the three values and a load that moved between the meter's measurements.
POWER_MARGIN: Final = 1.25
POWER_SLACK: Final = 2.0  # W or var
LINES: Final = (1, 2, 3)
_TRAILER_START: Final = 249  # '!' CR LF ETX, then the CRC
UNSET_CLOCK: Final = "0" * 14


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
    _check_ranges(layout, values, what)
    _check_power(values, what)
    meter_time = values.get("Meter_Time")
    if isinstance(meter_time, str) and meter_time != UNSET_CLOCK and parse_meter_time(meter_time) is None:
        raise ImplausibleFrameError(f"{what}: Meter_Time {meter_time} is not a date")
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


def _number(values: Mapping[str, FieldValue], name: str) -> float | None:
    value = values.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check_ranges(layout: Layout, values: Mapping[str, FieldValue], what: str) -> None:
    for line in LINES:
        volts = _number(values, f"RMS_Volts_Ln_{line}")
        if volts is not None and volts > MAX_VOLTS:
            raise ImplausibleFrameError(f"{what}: RMS_Volts_Ln_{line} = {volts} V")
    frequency = _number(values, "Line_Freq")
    if frequency and not LINE_FREQUENCY[0] <= frequency <= LINE_FREQUENCY[1]:
        raise ImplausibleFrameError(f"{what}: Line_Freq = {frequency} Hz")
    codes = dict(CODES, State_Inputs=V4_STATE_INPUTS) if layout is Layout.V4A else CODES
    for name, allowed in codes.items():
        code = values.get(name)
        if isinstance(code, int) and code not in allowed:
            raise ImplausibleFrameError(f"{what}: {name} = {code}, not {allowed.start}..{allowed.stop - 1}")


def _check_power(values: Mapping[str, FieldValue], what: str) -> None:
    for stem in ("RMS_Watts", "Reactive_Pwr"):
        lines = []
        for line in LINES:
            power = _number(values, f"{stem}_Ln_{line}")
            volts = _number(values, f"RMS_Volts_Ln_{line}")
            amps = _number(values, f"Amps_Ln_{line}")
            if power is None or volts is None or amps is None:
                continue
            # +0.1: volts and amps come in tenths, and may be cut rather than rounded.
            limit = (volts + 0.1) * (amps + 0.1) * POWER_MARGIN + POWER_SLACK
            if power > limit:
                raise ImplausibleFrameError(
                    f"{what}: {stem}_Ln_{line} = {power:g} above {volts:g} V x {amps:g} A"
                )
            lines.append(power)
        total = _number(values, f"{stem}_Tot")
        if total is not None and len(lines) == len(LINES) and total > sum(lines) + POWER_SLACK * 3:
            raise ImplausibleFrameError(f"{what}: {stem}_Tot = {total:g} above its lines' sum {sum(lines):g}")
