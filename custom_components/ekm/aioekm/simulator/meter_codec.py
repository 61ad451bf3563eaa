"""The meter's side of the RS-485 protocol: decoding requests, building replies.

The simulator's half of docs/rs485-protocol.md, sections 2 and 4: the exact
inverse of what the client builds (rs485.requests) and parses (rs485.frames).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import math
from types import MappingProxyType
from typing import Final, Literal

from ..errors import CrcError, FieldValueError, FrameError, FrameStartError
from ..fields import FRAME_LENGTH, REQUEST_TYPE_AT, Field, Kind, Layout, fields_in
from ..readings import FieldValue, cos_theta_to_wire, normalize_address, parse_cos_theta
from ..rs485 import tariffs
from ..rs485.crc import crc_ok, seal
from ..rs485.frames import (
    ETX,
    PRINTABLE,
    REQUEST_TYPES,
    SOH,
    STX,
    TABLE_CLOSE_AT,
    TABLE_DATA_AT,
    TABLE_FIELD_WIDTH,
    TABLE_MONTHS,
    TEN_TO,
    TRAILER,
    TRAILER_AT,
    V3_KWH_SCALE,
    MonthKwh,
    check_kwh_scale,
    check_table_register,
    field_slice,
)
from ..rs485.requests import MAX_REQUEST_LENGTH, READ_PREFIX, SIGN_OFF
from ..rs485.tariffs import Holiday, Season, TariffSchedule, TariffTables

_READ_TAILS: Final[Mapping[bytes, Layout]] = MappingProxyType(
    {b"!\r\n": Layout.V3, b"00!\r\n": Layout.V4A, b"01!\r\n": Layout.V4B}
)

# --- replies ------------------------------------------------------------------------


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


def _encode(f: Field, value: FieldValue | None, width: int, kwh_scale: int) -> bytes:
    """The wire bytes of one field; a missing value is zero (Cos_Theta: 'C000', as unused lines read)."""
    if value is None:
        return b"C000" if f.kind is Kind.COS_THETA else b"0" * width
    match f.kind:
        case Kind.KWH:
            return _fixed(round(_number(value, f.name) * TEN_TO[kwh_scale]), width, f.name)
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
            if not isinstance(value, str):
                raise ValueError(f"{f.name} must be text like '0.83 L', got {value!r}")
            return cos_theta_to_wire(parse_cos_theta(value)).encode("ascii")
        case Kind.CODE:
            text = value if isinstance(value, str) else ""
            if len(text) != width or any(ord(c) not in PRINTABLE for c in text):
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
    """The 255-byte reply a meter sends for `layout`: the exact inverse of frames.parse_reply.

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
        check_kwh_scale(scale)
    frame = bytearray(b"0" * FRAME_LENGTH)
    header = _header(address, model, firmware)
    frame[: len(header)] = header
    for f in fields_in(layout):
        place = field_slice(f, layout)
        width = place.stop - place.start
        frame[place] = _encode(f, values.get(f.name), width, scale)
    expected_type = REQUEST_TYPES.get(layout)
    if expected_type is not None:
        frame[REQUEST_TYPE_AT] = expected_type
    frame[TRAILER_AT] = TRAILER
    return seal(bytes(frame[:-2]))


def build_table(register: str, months: tuple[MonthKwh, ...], *, kwh_scale: int) -> bytes:
    """The 255-byte R1 reply for 0011/0012; the inverse of frames.parse_table."""
    check_table_register(register)
    check_kwh_scale(kwh_scale)
    if len(months) != TABLE_MONTHS:
        raise ValueError(f"a month table holds {TABLE_MONTHS} months, got {len(months)}")
    frame = bytearray(b"0" * FRAME_LENGTH)
    frame[0:6] = bytes((STX,)) + register.encode("ascii") + b"("
    at = TABLE_DATA_AT
    for month in months:
        for kwh in (month.total, *month.tariffs):
            frame[at : at + TABLE_FIELD_WIDTH] = _fixed(
                round(_number(kwh, "month kWh") * TEN_TO[kwh_scale]), TABLE_FIELD_WIDTH, "month kWh"
            )
            at += TABLE_FIELD_WIDTH
    frame[TABLE_CLOSE_AT : TABLE_CLOSE_AT + 2] = bytes((0x29, ETX))
    return seal(bytes(frame[:-2]))


def _table_frame(register: str, parts: Mapping[int, str]) -> bytes:
    """An R1 reply: STX reg '(' then each digit string at its offset, ')' ETX near the end, CRC."""
    frame = bytearray(b"0" * FRAME_LENGTH)
    frame[0:6] = bytes((STX,)) + register.encode("ascii") + b"("
    for at, digits in parts.items():
        frame[at : at + len(digits)] = digits.encode("ascii")
    frame[TABLE_CLOSE_AT : TABLE_CLOSE_AT + 2] = bytes((0x29, ETX))
    return seal(bytes(frame[:-2]))


def build_schedule_table(
    register: str, schedules: Sequence[TariffSchedule], seasons: Sequence[Season] = ()
) -> bytes:
    """The 255-byte R1 reply for 0070 (schedules 1-4, seasons) or 0071 (schedules 5-6).

    The inverse of tariffs.parse_schedule_table: `schedules` are the ones the table
    holds, in order; unused periods, seasons and padding are '0'.
    """
    slots = tariffs.SCHEDULE_SLOTS.get(register)
    if slots is None:
        raise ValueError(f"schedule tables are registers 0070 and 0071, got {register!r}")
    if [s.number for s in schedules] != list(slots):
        raise ValueError(f"table {register} holds schedules {', '.join(map(str, slots))}")
    if seasons and register != "0070":
        raise ValueError("seasons are in table 0070")
    parts = {slots[s.number]: tariffs.encode_periods(s.periods) for s in schedules}
    if register == "0070":
        parts[tariffs.SEASONS_AT] = tariffs.encode_seasons(seasons)
    return _table_frame(register, parts)


def build_holiday_table(
    holidays: Sequence[Holiday], weekend_schedule: int | None, holiday_schedule: int | None
) -> bytes:
    """The 255-byte R1 reply for 00B0; the inverse of tariffs.parse_holiday_table."""
    return _table_frame(
        tariffs.HOLIDAY_TABLE,
        {
            tariffs.HOLIDAYS_AT: tariffs.encode_holidays(holidays),
            tariffs.WEEKEND_SCHEDULE_AT: tariffs.encode_schedule_number(weekend_schedule),
            tariffs.HOLIDAY_SCHEDULE_AT: tariffs.encode_schedule_number(holiday_schedule),
        },
    )


def build_tariff_tables(tables: TariffTables) -> dict[str, bytes]:
    """The replies to R1 0070, 0071 and 00B0 of a meter set up with `tables`, by register."""
    first, second = tariffs.SCHEDULE_TABLES
    return {
        first: build_schedule_table(first, tables.schedules[:4], tables.seasons),
        second: build_schedule_table(second, tables.schedules[4:]),
        tariffs.HOLIDAY_TABLE: build_holiday_table(
            tables.holidays, tables.weekend_schedule, tables.holiday_schedule
        ),
    }


# --- requests as a meter sees them ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One request frame as a meter sees it."""

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
    if first == READ_PREFIX[0]:
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
    if any(b not in PRINTABLE for b in body):
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
    if data.startswith(READ_PREFIX):
        return _parse_read(data)
    if data[:1] == bytes((SOH,)):
        return _parse_command(data)
    raise FrameStartError(f"a request starts with '/?' or SOH, got {data[:4]!r}")
