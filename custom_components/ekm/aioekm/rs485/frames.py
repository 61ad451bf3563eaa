"""The meter's replies: 255-byte frames validated and decoded (docs/rs485-protocol.md, section 4).

Sans-IO: bytes in, values out. Every frame position comes from the one field
table. Parsers raise only `errors.FrameError` subclasses for bad bytes, and
ValueError for bad arguments of the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final

from ..errors import (
    AddressMismatchError,
    CrcError,
    FieldValueError,
    FrameLengthError,
    FrameStartError,
    RequestTypeError,
)
from ..fields import (
    ADDRESS_AT,
    FIRMWARE_AT,
    FRAME_LENGTH,
    MODEL_AT,
    REQUEST_TYPE_AT,
    Field,
    Kind,
    Layout,
    fields_in,
)
from ..readings import (
    FieldValue,
    MeterReading,
    Protocol,
    cos_theta_from_wire,
    format_cos_theta,
    make_reading,
    normalize_address,
)
from .crc import crc_ok
from .plausibility import check_reply

# Control characters of the link.
SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
ACK: Final = 0x06
NAK: Final = 0x15

WILDCARD_ADDRESS: Final = "999999999999"  # a lone meter answers it with its real address (v3; [U] v4)

TRAILER_AT: Final = slice(249, 253)
TRAILER: Final = b"!\r\n\x03"
REQUEST_TYPES: Final[Mapping[Layout, bytes]] = MappingProxyType({Layout.V4A: b"00", Layout.V4B: b"01"})
KWH_SCALES: Final = (0, 1, 2)
V3_KWH_SCALE: Final = 1  # v3 registers always carry one decimal
TEN_TO: Final = (1, 10, 100)  # 10**kWh_Scale
PRINTABLE: Final = frozenset(range(0x20, 0x7F))


@dataclass(frozen=True, slots=True)
class Frame:
    """One validated 255-byte reply."""

    layout: Layout
    address: str  # 12 digits
    model: str  # hex of the 2 model bytes, e.g. "1024"
    firmware: str  # hex of the firmware byte, e.g. "15"
    values: Mapping[str, FieldValue]  # every field of the layout, scaled
    # Decimals applied to this frame's kWh fields (v3: 1; B: the scale it was parsed with).
    kwh_scale: int = V3_KWH_SCALE


def _digits(raw: bytes, name: str) -> int:
    if not raw.isdigit():  # bytes.isdigit is ASCII-only
        raise FieldValueError(f"{name} must be ASCII digits, got {raw!r}")
    return int(raw)


def _cos_theta(raw: bytes, name: str) -> str:
    try:
        return format_cos_theta(cos_theta_from_wire(raw.decode("latin-1")))
    except ValueError:
        raise FieldValueError(f"{name} must be ' ', 'L' or 'C' and 3 digits up to 100, got {raw!r}") from None


def _decode(f: Field, raw: bytes, kwh_scale: int) -> FieldValue:
    match f.kind:
        case Kind.KWH:
            return _digits(raw, f.name) / TEN_TO[kwh_scale]
        case Kind.DECIMAL:
            return _digits(raw, f.name) / f.divisor
        case Kind.INT:
            return _digits(raw, f.name)
        case Kind.TIME:
            _digits(raw, f.name)
            return raw.decode("ascii")
        case Kind.COS_THETA:
            return _cos_theta(raw, f.name)
        case Kind.CODE:
            if not raw or any(b not in PRINTABLE for b in raw):
                raise FieldValueError(f"{f.name} must be printable ASCII, got {raw!r}")
            return raw.decode("ascii")
        case Kind.DERIVED:  # never placed in a frame
            raise FieldValueError(f"{f.name} is derived and cannot be read from a frame")


def check_frame(data: bytes, what: str) -> None:
    """Length, STX and CRC: the checks every 255-byte reply gets first."""
    if len(data) != FRAME_LENGTH:
        raise FrameLengthError(f"{what} is {len(data)} bytes, expected {FRAME_LENGTH}")
    if data[0] != STX:
        raise FrameStartError(f"{what} starts with 0x{data[0]:02x}, expected STX 0x02")
    if not crc_ok(data):
        raise CrcError(f"{what} fails its CRC (carried {data[-2:].hex(' ')})")


def check_kwh_scale(scale: int) -> None:
    if scale not in KWH_SCALES:
        raise ValueError(f"kWh_Scale must be 0, 1 or 2, got {scale!r}")


def parse_reply(
    data: bytes, *, address: str, layout: Layout, kwh_scale: int | None = None, plausibility: bool = True
) -> Frame:
    """Validate a 255-byte reply to a read of `address` and decode every field of `layout`.

    Checks, in order: length, STX, CRC, echoed address (`WILDCARD_ADDRESS` accepts
    any), v4 request-type echo, trailer, field characters, then what the CRC can miss
    (plausibility.check_reply; `plausibility=False` skips it, to decode made-up
    frames exactly); each failure raises its own errors.FrameError subclass, and
    nothing else escapes for any input bytes.

    kWh scaling: v3 always /10; a v4 A frame uses its own kWh_Scale byte (and is
    implausible if `kwh_scale` is given and differs); a v4 B frame uses
    `kwh_scale` (take it from the latest A frame). With None, B kWh
    fields are left as raw register counts (scale 0); to_reading() rescales them
    with the A frame's kWh_Scale, so a B parsed early is still merged correctly.
    `address` and `kwh_scale` are the caller's and raise ValueError when invalid.
    """
    wanted = normalize_address(address)
    data = bytes(data)
    if kwh_scale is not None:
        check_kwh_scale(kwh_scale)
    what = f"{layout.value} reply from {wanted}"
    check_frame(data, what)
    echoed = data[ADDRESS_AT]
    if not echoed.isdigit():
        raise AddressMismatchError(f"{what} carries no valid address: {echoed!r}")
    got = echoed.decode("ascii")
    if wanted not in (got, WILDCARD_ADDRESS):
        raise AddressMismatchError(f"asked meter {wanted}, reply comes from {got}")
    expected_type = REQUEST_TYPES.get(layout)
    if expected_type is not None and data[REQUEST_TYPE_AT] != expected_type:
        raise RequestTypeError(
            f"{what} echoes request type {data[REQUEST_TYPE_AT]!r}, expected {expected_type!r}"
        )
    if data[TRAILER_AT] != TRAILER:  # the CRC misses some corruptions of it
        raise FieldValueError(f"{what} ends {data[TRAILER_AT]!r}, not '!' CR LF ETX")
    fields = fields_in(layout)
    if layout is Layout.V3:
        scale = V3_KWH_SCALE
    elif layout is Layout.V4A:
        scale = _digits(data[_slice_of("kWh_Scale", layout)], "kWh_Scale")
        if scale not in KWH_SCALES:
            raise FieldValueError(f"{what}: kWh_Scale {scale} is not 0, 1 or 2")
    else:
        scale = kwh_scale if kwh_scale is not None else 0
    values = {f.name: _decode(f, data[field_slice(f, layout)], scale) for f in fields}
    if plausibility:
        check_reply(data, layout, values, known_kwh_scale=kwh_scale)
    return Frame(
        layout=layout,
        address=got,
        model=data[MODEL_AT].hex(),
        firmware=data[FIRMWARE_AT : FIRMWARE_AT + 1].hex(),
        values=MappingProxyType(values),
        kwh_scale=scale,
    )


def field_slice(f: Field, layout: Layout) -> slice:
    """Where field `f` sits in a frame of `layout` (it must have a place there)."""
    place = f.slice(layout)
    if place is None:  # fields_in(layout) only yields placed fields
        raise AssertionError(f"{f.name} has no place in {layout}")
    return place


def _slice_of(name: str, layout: Layout) -> slice:
    for f in fields_in(layout):
        if f.name == name:
            return field_slice(f, layout)
    raise AssertionError(f"{name} has no place in {layout}")


def _rescaled_b(b: Frame, a_scale: int) -> dict[str, FieldValue]:
    """B's values with its kWh fields brought to the A frame's kWh_Scale."""
    values = dict(b.values)
    if b.kwh_scale == a_scale:
        return values
    for f in fields_in(Layout.V4B):
        value = values[f.name]
        if f.kind is Kind.KWH and isinstance(value, float):
            raw = round(value * TEN_TO[b.kwh_scale])
            values[f.name] = raw / TEN_TO[a_scale]
    return values


def to_reading(a_or_v3: Frame, b: Frame | None = None, *, timestamp: datetime | None = None) -> MeterReading:
    """One reading from a v3 frame, or from a v4 A frame plus an optional B frame.

    On v4 A wins on the fields both carry (volts, amps, watts, Cos_Theta, time).
    B kWh fields parsed with another scale than A's kWh_Scale are rescaled.
    `timestamp` is stored as given (no clock is read here).
    """
    first = a_or_v3
    if first.layout is Layout.V3:
        if b is not None:
            raise ValueError("a v3 reading is made from one v3 frame only")
        return make_reading(
            first.address, Protocol.V3, first.model, first.firmware, dict(first.values), timestamp=timestamp
        )
    if first.layout is not Layout.V4A:
        raise ValueError(f"a v4 reading starts from an A frame, got {first.layout.value}")
    values: dict[str, FieldValue] = {}
    if b is not None:
        if b.layout is not Layout.V4B:
            raise ValueError(f"the second frame must be a v4 B frame, got {b.layout.value}")
        if b.address != first.address:
            raise ValueError(f"A frame from {first.address} and B frame from {b.address} differ")
        values.update(_rescaled_b(b, first.kwh_scale))
    values.update(first.values)
    return make_reading(first.address, Protocol.V4, first.model, first.firmware, values, timestamp=timestamp)


# --- month tables (R1 0011 / 0012) --------------------------------------------------

MONTH_TABLE_REGISTERS: Final = ("0011", "0012")  # forward, reverse
TABLE_DATA_AT: Final = 6  # after STX, reg4, '('
TABLE_MONTHS: Final = 6
TABLE_MONTH_FIELDS: Final = 5  # Tot, T1..T4
TABLE_FIELD_WIDTH: Final = 8
TABLE_CLOSE_AT: Final = 251  # ')' then ETX at 252; the exact spot is not documented [U]


@dataclass(frozen=True, slots=True)
class MonthKwh:
    """One month of a month table: total and tariffs 1..4, kWh."""

    total: float
    tariffs: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class MonthTable:
    """The last six months of kWh (0011 forward, 0012 reverse), in frame order."""

    register: str
    reverse: bool
    months: tuple[MonthKwh, ...]


def check_table_register(register: str) -> None:
    if register not in MONTH_TABLE_REGISTERS:
        raise ValueError(f"month tables are registers 0011 and 0012, got {register!r}")


def check_table_header(data: bytes, register: str) -> None:
    """Length, STX and CRC of an R1 reply, then its register echo (RequestTypeError) and '('."""
    what = f"table {register} reply"
    check_frame(data, what)
    echo = data[1:5]
    if echo != register.encode("ascii"):
        raise RequestTypeError(f"{what} echoes register {echo!r}")
    if data[5:6] != b"(":
        raise FieldValueError(f"{what} has no '(' after the register")


def parse_table(data: bytes, *, register: str, kwh_scale: int) -> MonthTable:
    """Validate and decode a 255-byte R1 reply for 0011/0012 (kWh scaled by `kwh_scale`).

    Length, STX and CRC as for reads; the register echo mismatching raises
    RequestTypeError; bad characters FieldValueError.
    """
    check_table_register(register)
    check_kwh_scale(kwh_scale)
    check_table_header(data, register)
    months = []
    for month in range(TABLE_MONTHS):
        numbers = []
        for i in range(TABLE_MONTH_FIELDS):
            start = TABLE_DATA_AT + (month * TABLE_MONTH_FIELDS + i) * TABLE_FIELD_WIDTH
            raw = data[start : start + TABLE_FIELD_WIDTH]
            numbers.append(_digits(raw, f"month {month + 1} field {i + 1}") / TEN_TO[kwh_scale])
        months.append(MonthKwh(numbers[0], (numbers[1], numbers[2], numbers[3], numbers[4])))
    return MonthTable(register, register == "0012", tuple(months))
