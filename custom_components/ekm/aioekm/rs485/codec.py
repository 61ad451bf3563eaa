"""Sans-IO codec of the Omnimeter RS-485 protocol (ekm-rs485.md sections 2-4).

Builds request frames, validates and parses the 255-byte replies into typed
values, and writes replies and month tables for the simulator. No I/O here:
bytes in, values out. Every frame position comes from the one field table.

Parsers raise only `errors.FrameError` subclasses for bad bytes; builders raise
ValueError for bad arguments (before anything can reach the wire).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import math
from types import MappingProxyType
from typing import Final, Literal

from ..errors import (
    AddressMismatchError,
    CrcError,
    FieldValueError,
    FrameError,
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
    PowerFactor,
    Protocol,
    format_cos_theta,
    make_reading,
    normalize_address,
    parse_cos_theta,
)
from .crc import crc_ok, seal

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
ACK: Final = 0x06
NAK: Final = 0x15

SIGN_OFF: Final = bytes((SOH, 0x42, 0x30, ETX, 0x75))  # SOH 'B0' ETX 'u', a fixed constant
WILDCARD_ADDRESS: Final = "999999999999"  # a lone meter answers it with its real address (v3; [U] v4)

TRAILER_AT: Final = slice(249, 253)
TRAILER: Final = b"!\r\n\x03"
REQUEST_TYPES: Final[Mapping[Layout, bytes]] = MappingProxyType({Layout.V4A: b"00", Layout.V4B: b"01"})
KWH_SCALES: Final = (0, 1, 2)
V3_KWH_SCALE: Final = 1  # v3 registers always carry one decimal
_TEN_TO: Final = (1, 10, 100)  # 10**kWh_Scale

MAX_REQUEST_LENGTH: Final = 256  # longer than any command we know (LCD list: 93 bytes)
MAX_WRITE_DATA: Final = MAX_REQUEST_LENGTH - 13  # SOH W1 STX reg4 ( ) ETX crc2 around it
_READ_PREFIX: Final = b"/?"
_READ_TAILS: Final[Mapping[bytes, Layout]] = MappingProxyType(
    {b"!\r\n": Layout.V3, b"00!\r\n": Layout.V4A, b"01!\r\n": Layout.V4B}
)
_PRINTABLE: Final = frozenset(range(0x20, 0x7F))

# --- requests -------------------------------------------------------------------


def read_request(address: str, layout: Layout) -> bytes:
    """The read request for `layout`: v3 17 bytes, v4 A/B 19 bytes. No CRC."""
    addr = normalize_address(address).encode("ascii")
    if layout is Layout.V3:
        return _READ_PREFIX + addr + b"!\r\n"
    return _READ_PREFIX + addr + REQUEST_TYPES[layout] + b"!\r\n"


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


# --- replies ----------------------------------------------------------------------


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


def _decode_cos_theta(raw: bytes, name: str) -> str:
    flag, digits = raw[:1], raw[1:]
    if flag not in (b" ", b"L", b"C") or len(digits) != 3 or not digits.isdigit():
        raise FieldValueError(f"{name} must be ' ', 'L' or 'C' and 3 digits, got {raw!r}")
    hundredths = int(digits)
    if hundredths > 100:
        raise FieldValueError(f"{name} above 1.00: {raw!r}")
    direction: Literal["lag", "lead"] | None = None
    if hundredths < 100:
        direction = "lag" if flag == b"L" else "lead" if flag == b"C" else None
    return format_cos_theta(PowerFactor(hundredths / 100, direction))


def _decode(f: Field, raw: bytes, kwh_scale: int) -> FieldValue:
    match f.kind:
        case Kind.KWH:
            return _digits(raw, f.name) / _TEN_TO[kwh_scale]
        case Kind.DECIMAL:
            return _digits(raw, f.name) / f.divisor
        case Kind.INT:
            return _digits(raw, f.name)
        case Kind.TIME:
            _digits(raw, f.name)
            return raw.decode("ascii")
        case Kind.COS_THETA:
            return _decode_cos_theta(raw, f.name)
        case Kind.CODE:
            if not raw or any(b not in _PRINTABLE for b in raw):
                raise FieldValueError(f"{f.name} must be printable ASCII, got {raw!r}")
            return raw.decode("ascii")
        case Kind.DERIVED:  # never placed in a frame
            raise FieldValueError(f"{f.name} is derived and cannot be read from a frame")


def _check_frame(data: bytes, what: str) -> None:
    """Length, STX and CRC: the checks every 255-byte reply gets first."""
    if len(data) != FRAME_LENGTH:
        raise FrameLengthError(f"{what} is {len(data)} bytes, expected {FRAME_LENGTH}")
    if data[0] != STX:
        raise FrameStartError(f"{what} starts with 0x{data[0]:02x}, expected STX 0x02")
    if not crc_ok(data):
        raise CrcError(f"{what} fails its CRC (carried {data[-2:].hex(' ')})")


def _check_kwh_scale(scale: int) -> None:
    if scale not in KWH_SCALES:
        raise ValueError(f"kWh_Scale must be 0, 1 or 2, got {scale!r}")


def parse_reply(data: bytes, *, address: str, layout: Layout, kwh_scale: int | None = None) -> Frame:
    """Validate a 255-byte reply to a read of `address` and decode every field of `layout`.

    Checks, in order: length, STX, CRC, echoed address (`WILDCARD_ADDRESS` accepts
    any), v4 request-type echo, field characters; each failure raises its own
    errors.FrameError subclass, and nothing else escapes for any input bytes.

    kWh scaling: v3 always /10; a v4 A frame uses its own kWh_Scale byte; a v4 B
    frame uses `kwh_scale` (take it from the latest A frame). With None, B kWh
    fields are left as raw register counts (scale 0); to_reading() rescales them
    with the A frame's kWh_Scale, so a B parsed early is still merged correctly.
    `address` and `kwh_scale` are the caller's and raise ValueError when invalid.
    """
    wanted = normalize_address(address)
    data = bytes(data)
    if kwh_scale is not None:
        _check_kwh_scale(kwh_scale)
    what = f"{layout.value} reply from {wanted}"
    _check_frame(data, what)
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
    fields = fields_in(layout)
    if layout is Layout.V3:
        scale = V3_KWH_SCALE
    elif layout is Layout.V4A:
        scale = _digits(data[_slice_of("kWh_Scale", layout)], "kWh_Scale")
        if scale not in KWH_SCALES:
            raise FieldValueError(f"{what}: kWh_Scale {scale} is not 0, 1 or 2")
    else:
        scale = kwh_scale if kwh_scale is not None else 0
    values = {f.name: _decode(f, data[_slice(f, layout)], scale) for f in fields}
    return Frame(
        layout=layout,
        address=got,
        model=data[MODEL_AT].hex(),
        firmware=data[FIRMWARE_AT : FIRMWARE_AT + 1].hex(),
        values=MappingProxyType(values),
        kwh_scale=scale,
    )


def _slice(f: Field, layout: Layout) -> slice:
    place = f.slice(layout)
    if place is None:  # fields_in(layout) only yields placed fields
        raise AssertionError(f"{f.name} has no place in {layout}")
    return place


def _slice_of(name: str, layout: Layout) -> slice:
    for f in fields_in(layout):
        if f.name == name:
            return _slice(f, layout)
    raise AssertionError(f"{name} has no place in {layout}")


def _rescaled_b(b: Frame, a_scale: int) -> dict[str, FieldValue]:
    """B's values with its kWh fields brought to the A frame's kWh_Scale."""
    values = dict(b.values)
    if b.kwh_scale == a_scale:
        return values
    for f in fields_in(Layout.V4B):
        value = values[f.name]
        if f.kind is Kind.KWH and isinstance(value, float):
            raw = round(value * _TEN_TO[b.kwh_scale])
            values[f.name] = raw / _TEN_TO[a_scale]
    return values


def to_reading(a_or_v3: Frame, b: Frame | None = None, *, timestamp: datetime | None = None) -> MeterReading:
    """One reading from a v3 frame, or from a v4 A frame plus an optional B frame.

    On v4 A wins on the fields both carry (volts, amps, watts, Cos_Theta, time).
    B kWh fields parsed with another scale than A's kWh_Scale are rescaled.
    `timestamp` is stored as given (the codec reads no clock).
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


# --- reply writer (the simulator's side) -------------------------------------------


def _number(value: FieldValue, name: str) -> float:
    """A field value as a number the wire can carry: finite and not negative."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} = {value} does not fit an unsigned field")
    return value


def _fixed(number: int, width: int, name: str) -> bytes:
    if not 0 <= number < 10**width:
        raise ValueError(f"{name} = {number} does not fit {width} digits")
    return f"{number:0{width}d}".encode("ascii")


def _encode_cos_theta(value: FieldValue, name: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text like '0.83 L', got {value!r}")
    pf = parse_cos_theta(value)
    flag = {"lag": "L", "lead": "C", None: " "}[pf.direction]
    return f"{flag}{round(pf.value * 100):03d}".encode("ascii")


def _encode(f: Field, value: FieldValue | None, width: int, kwh_scale: int) -> bytes:
    """The wire bytes of one field; a missing value is zero (Cos_Theta: 'C000', as unused lines read)."""
    if value is None:
        return b"C000" if f.kind is Kind.COS_THETA else b"0" * width
    match f.kind:
        case Kind.KWH:
            return _fixed(round(_number(value, f.name) * _TEN_TO[kwh_scale]), width, f.name)
        case Kind.DECIMAL:
            return _fixed(round(_number(value, f.name) * f.divisor), width, f.name)
        case Kind.INT:
            number = _number(value, f.name)
            if number != int(number):
                raise ValueError(f"{f.name} must be a whole number, got {value!r}")
            return _fixed(int(number), width, f.name)
        case Kind.TIME:
            if (
                not isinstance(value, str)
                or len(value) != width
                or not value.isascii()
                or not value.isdigit()
            ):
                raise ValueError(f"{f.name} must be {width} digits, got {value!r}")
            return value.encode("ascii")
        case Kind.COS_THETA:
            return _encode_cos_theta(value, f.name)
        case Kind.CODE:
            text = value if isinstance(value, str) else ""
            if len(text) != width or any(ord(c) not in _PRINTABLE for c in text):
                raise ValueError(f"{f.name} must be {width} printable ASCII characters, got {value!r}")
            return text.encode("ascii")
        case Kind.DERIVED:
            raise ValueError(f"{f.name} is derived and has no place in a frame")


def _header(address: str, model: str, firmware: str) -> bytes:
    addr = normalize_address(address).encode("ascii")
    try:
        model_bytes, firmware_bytes = bytes.fromhex(model), bytes.fromhex(firmware)
    except ValueError:
        raise ValueError(f"model and firmware must be hex, got {model!r} / {firmware!r}") from None
    if len(model_bytes) != 2 or len(firmware_bytes) != 1:
        raise ValueError(f"model is 2 bytes and firmware 1 byte, got {model!r} / {firmware!r}")
    return bytes((STX,)) + model_bytes + firmware_bytes + addr


def build_reply(
    layout: Layout, address: str, model: str, firmware: str, values: Mapping[str, FieldValue]
) -> bytes:
    """The 255-byte reply a meter sends for `layout`: the exact inverse of parse_reply.

    Every field of the layout is encoded at its place from the field table; fields
    missing from `values` read zero. kWh fields use values["kWh_Scale"] on v4 (0 when
    absent) and /10 on v3. Reserved bytes are '0'; v4 frames echo the request type
    at 247; the trailer '!' CR LF ETX sits at 249, then the CRC. ValueError when a
    value does not fit its field.
    """
    if layout is Layout.V3:
        scale = V3_KWH_SCALE
    else:
        raw_scale = values.get("kWh_Scale", 0)
        scale = int(_number(raw_scale, "kWh_Scale"))
        _check_kwh_scale(scale)
    frame = bytearray(b"0" * FRAME_LENGTH)
    header = _header(address, model, firmware)
    frame[: len(header)] = header
    for f in fields_in(layout):
        place = _slice(f, layout)
        width = place.stop - place.start
        frame[place] = _encode(f, values.get(f.name), width, scale)
    expected_type = REQUEST_TYPES.get(layout)
    if expected_type is not None:
        frame[REQUEST_TYPE_AT] = expected_type
    frame[TRAILER_AT] = TRAILER
    return seal(bytes(frame[:-2]))


# --- requests as a meter sees them ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One request frame as a meter sees it (the simulator decodes with this)."""

    kind: Literal["read", "password", "write", "table", "sign_off"]
    address: str | None = None  # read only
    layout: Layout | None = None  # read only
    register: str | None = None  # write / table
    # Write data or password: kept out of repr, it may be a (new) password.
    data: str | None = field(default=None, repr=False)


def request_length(buffer: bytes) -> int | None:
    """How many bytes the request at the start of `buffer` takes, or None if more are needed.

    A read ends at its LF (17 or 19 bytes), the sign-off is 5 bytes, and a SOH
    command ends 2 CRC bytes after its ETX (payload is printable, so the first ETX
    is the one). A buffer that cannot be a request start, or one that runs past
    MAX_REQUEST_LENGTH without ending, yields a length so the reader can hand it
    to parse_request (which rejects it) and move on.
    """
    if not buffer:
        return None
    first = buffer[0]
    if first == _READ_PREFIX[0]:
        end = buffer.find(b"\n", 0, 19)
        if end >= 0:
            return end + 1
        return 19 if len(buffer) >= 19 else None
    if first != SOH:
        return 1
    if len(buffer) < 2:
        return None
    if buffer[1] == SIGN_OFF[1]:
        return len(SIGN_OFF) if len(buffer) >= len(SIGN_OFF) else None
    end = buffer.find(bytes((ETX,)), 1, MAX_REQUEST_LENGTH)
    if end >= 0:
        return end + 3 if len(buffer) >= end + 3 else None
    return MAX_REQUEST_LENGTH if len(buffer) >= MAX_REQUEST_LENGTH else None


def _parse_read(data: bytes) -> Request:
    address = data[2:14]
    layout = _READ_TAILS.get(data[14:])
    if layout is None or len(data) not in (17, 19):
        raise FrameError(f"not a read request: {data[:24]!r}")
    if not address.isdigit():
        raise FieldValueError(f"read request address must be 12 digits, got {address!r}")
    return Request("read", address=address.decode("ascii"), layout=layout)


def _parse_command(data: bytes) -> Request:
    if len(data) < 7 or data[3] != STX or data[-3] != ETX:
        raise FrameError(f"not a command frame: {data[:16]!r}...")
    if not crc_ok(data):
        raise CrcError(f"command frame fails its CRC (carried {data[-2:].hex(' ')})")
    op = data[1:3]
    body = data[4:-3]
    if any(b not in _PRINTABLE for b in body):
        raise FieldValueError("command body holds non-printable bytes")
    text = body.decode("ascii")
    head, paren, rest = text.partition("(")
    if not paren or not rest.endswith(")") or ")" in rest[:-1] or "(" in rest:
        raise FrameError(f"command body must be reg4 '(' data ')', got {len(text)} characters")
    content = rest[:-1]
    if op == b"P1":
        if head:
            raise FrameError("a password frame has no register")
        return Request("password", data=content)
    if op not in (b"W1", b"R1"):
        raise FrameError(f"unknown command {op!r}")
    if len(head) != 4 or not head.isalnum():
        raise FieldValueError(f"register must be 4 characters, got {head!r}")
    return Request("write" if op == b"W1" else "table", register=head, data=content)


def parse_request(data: bytes) -> Request:
    """Decode one complete request frame; FrameError (CrcError on a bad CRC) otherwise."""
    if data == SIGN_OFF:
        return Request("sign_off")
    if data.startswith(_READ_PREFIX):
        return _parse_read(data)
    if data[:1] == bytes((SOH,)):
        return _parse_command(data)
    raise FrameStartError(f"a request starts with '/?' or SOH, got {data[:4]!r}")


# --- month tables (R1 0011 / 0012) --------------------------------------------------

MONTH_TABLE_REGISTERS: Final = ("0011", "0012")  # forward, reverse
_TABLE_DATA_AT: Final = 6  # after STX, reg4, '('
_MONTHS: Final = 6
_MONTH_FIELDS: Final = 5  # Tot, T1..T4
_TABLE_FIELD_WIDTH: Final = 8
_TABLE_CLOSE_AT: Final = 251  # ')' then ETX at 252; the doc leaves the exact spot [U]


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


def parse_table(data: bytes, *, register: str, kwh_scale: int) -> MonthTable:
    """Validate and decode a 255-byte R1 reply for 0011/0012 (kWh scaled by `kwh_scale`).

    Length, STX and CRC as for reads; the register echo mismatching raises
    RequestTypeError; bad characters FieldValueError.
    """
    if register not in MONTH_TABLE_REGISTERS:
        raise ValueError(f"month tables are registers 0011 and 0012, got {register!r}")
    _check_kwh_scale(kwh_scale)
    what = f"table {register} reply"
    _check_frame(data, what)
    echo = data[1:5]
    if echo != register.encode("ascii"):
        raise RequestTypeError(f"{what} echoes register {echo!r}")
    if data[5:6] != b"(":
        raise FieldValueError(f"{what} has no '(' after the register")
    months = []
    for month in range(_MONTHS):
        numbers = []
        for i in range(_MONTH_FIELDS):
            start = _TABLE_DATA_AT + (month * _MONTH_FIELDS + i) * _TABLE_FIELD_WIDTH
            raw = data[start : start + _TABLE_FIELD_WIDTH]
            numbers.append(_digits(raw, f"month {month + 1} field {i + 1}") / _TEN_TO[kwh_scale])
        months.append(MonthKwh(numbers[0], (numbers[1], numbers[2], numbers[3], numbers[4])))
    return MonthTable(register, register == "0012", tuple(months))


def build_table(register: str, months: tuple[MonthKwh, ...], *, kwh_scale: int) -> bytes:
    """The 255-byte R1 reply for 0011/0012 (the simulator's side); inverse of parse_table."""
    if register not in MONTH_TABLE_REGISTERS:
        raise ValueError(f"month tables are registers 0011 and 0012, got {register!r}")
    _check_kwh_scale(kwh_scale)
    if len(months) != _MONTHS:
        raise ValueError(f"a month table holds {_MONTHS} months, got {len(months)}")
    frame = bytearray(b"0" * FRAME_LENGTH)
    frame[0:6] = bytes((STX,)) + register.encode("ascii") + b"("
    at = _TABLE_DATA_AT
    for month in months:
        for kwh in (month.total, *month.tariffs):
            frame[at : at + _TABLE_FIELD_WIDTH] = _fixed(
                round(_number(kwh, "month kWh") * _TEN_TO[kwh_scale]), _TABLE_FIELD_WIDTH, "month kWh"
            )
            at += _TABLE_FIELD_WIDTH
    frame[_TABLE_CLOSE_AT : _TABLE_CLOSE_AT + 2] = bytes((0x29, ETX))
    return seal(bytes(frame[:-2]))
