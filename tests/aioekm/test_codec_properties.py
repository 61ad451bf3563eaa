"""Property tests: bad bytes only ever raise FrameError; build -> parse round trips exactly."""

from __future__ import annotations

import contextlib
from typing import Literal

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ekm.aioekm.errors import FrameError
from custom_components.ekm.aioekm.fields import Field, Kind, Layout, fields_in
from custom_components.ekm.aioekm.readings import FieldValue, PowerFactor, format_cos_theta
from custom_components.ekm.aioekm.rs485 import commands
from custom_components.ekm.aioekm.rs485.crc import seal
from custom_components.ekm.aioekm.rs485.frames import Frame, MonthKwh, parse_reply, parse_table
from custom_components.ekm.aioekm.rs485.requests import (
    MAX_REQUEST_LENGTH,
    SIGN_OFF,
    password_frame,
    read_request,
    table_read_frame,
)
from custom_components.ekm.aioekm.simulator.meter_codec import (
    build_reply,
    build_table,
    parse_request,
    request_length,
)

from . import vectors

ADDRESS = "000300000001"
MODEL = {Layout.V3: "1017", Layout.V4A: "1024", Layout.V4B: "1024"}
PROPERTY = settings(max_examples=200, deadline=None)
LAYOUTS = list(Layout)
SCALED = [(Layout.V3, 1)] + [(layout, s) for layout in (Layout.V4A, Layout.V4B) for s in (0, 1, 2)]
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_DIRECTIONS: dict[str, Literal["lag", "lead"] | None] = {" ": None, "L": "lag", "C": "lead"}


def _cos_theta(flag: str, hundredths: int) -> str:
    direction = _DIRECTIONS[flag] if hundredths < 100 else None
    return format_cos_theta(PowerFactor(hundredths / 100, direction))


def field_values(f: Field, layout: Layout, scale: int) -> st.SearchStrategy[FieldValue]:
    """Every value a field can carry on the wire, as parse_reply returns it."""
    place = f.at[layout]
    width = place[1]
    raw = st.integers(0, 10**width - 1)
    match f.kind:
        case Kind.KWH:
            return raw.map(lambda n: n / 10**scale)
        case Kind.DECIMAL:
            return raw.map(lambda n: n / f.divisor)
        case Kind.INT:
            return st.just(scale) if f.name == "kWh_Scale" else raw
        case Kind.TIME:
            return st.text("0123456789", min_size=width, max_size=width)
        case Kind.COS_THETA:
            return st.builds(_cos_theta, st.sampled_from(" LC"), st.integers(0, 100))
        case Kind.CODE:
            return st.text(_PRINTABLE, min_size=width, max_size=width)
        case Kind.DERIVED:
            raise AssertionError(f.name)


def frame_values(layout: Layout, scale: int) -> st.SearchStrategy[dict[str, FieldValue]]:
    return st.fixed_dictionaries({f.name: field_values(f, layout, scale) for f in fields_in(layout)})


def reply(layout: Layout, values: dict[str, FieldValue], scale: int) -> bytes:
    if layout is Layout.V4B:
        values = {**values, "kWh_Scale": scale}
    return build_reply(layout, ADDRESS, MODEL[layout], "15", values)


def parse(data: bytes, layout: Layout, scale: int | None = 2) -> Frame | None:
    """parse_reply, or None when it refuses the bytes with a FrameError (nothing else allowed)."""
    try:
        frame = parse_reply(data, address=ADDRESS, layout=layout, kwh_scale=scale)
    except FrameError:
        return None
    for value in frame.values.values():
        assert isinstance(value, (int, float, str))
    return frame


# --- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize(("layout", "scale"), SCALED, ids=str)
@PROPERTY
@given(data=st.data())
def test_build_then_parse_round_trips(layout: Layout, scale: int, data: st.DataObject) -> None:
    values = data.draw(frame_values(layout, scale))
    wire = reply(layout, values, scale)
    # Every value the wire can carry, plausible for a meter or not.
    frame = parse_reply(wire, address=ADDRESS, layout=layout, kwh_scale=scale, plausibility=False)
    assert dict(frame.values) == values
    assert frame.kwh_scale == scale
    assert frame.address == ADDRESS
    assert frame.model == MODEL[layout]
    # ...and back to the same bytes.
    assert reply(layout, dict(frame.values), scale) == wire


@PROPERTY
@given(
    months=st.lists(st.tuples(*[st.integers(0, 10**8 - 1)] * 5), min_size=6, max_size=6),
    scale=st.sampled_from((0, 1, 2)),
)
def test_month_table_round_trips(months: list[tuple[int, ...]], scale: int) -> None:
    table = tuple(
        MonthKwh(m[0] / 10**scale, (m[1] / 10**scale, m[2] / 10**scale, m[3] / 10**scale, m[4] / 10**scale))
        for m in months
    )
    parsed = parse_table(build_table("0012", table, kwh_scale=scale), register="0012", kwh_scale=scale)
    assert parsed.months == table


# --- nothing but FrameError ------------------------------------------------------------


@PROPERTY
@given(data=st.binary(max_size=300))
def test_random_bytes_only_raise_frame_errors(data: bytes) -> None:
    for layout in LAYOUTS:
        assert parse(data, layout) is None or len(data) == 255


@PROPERTY
@given(body=st.binary(min_size=254, max_size=254), layout=st.sampled_from(LAYOUTS))
def test_random_frames_with_a_valid_crc_only_raise_frame_errors(body: bytes, layout: Layout) -> None:
    """Past STX and CRC, with the right address and request type: the field checks must hold."""
    frame = bytearray(b"\x02" + body)
    frame[4:16] = ADDRESS.encode()
    frame[247:249] = b"01" if layout is Layout.V4B else b"00"
    parse(seal(bytes(frame[:-2])), layout)


@PROPERTY
@given(body=st.binary(min_size=250, max_size=250), layout=st.sampled_from(LAYOUTS))
def test_random_digits_frames(body: bytes, layout: Layout) -> None:
    """Mostly-digit frames reach deep into the field decoders."""
    digits = bytes(b"0123456789 LC"[b % 13] if b < 200 else b for b in body)
    frame = bytearray(b"\x02" + digits[:3] + ADDRESS.encode() + digits[15:] + b"\x00" * 4)
    frame[247:249] = b"01" if layout is Layout.V4B else b"00"
    frame[249:253] = b"!\r\n\x03"
    parse(seal(bytes(frame[:253])), layout)


def _valid_frames() -> list[tuple[Layout, bytes]]:
    values: dict[str, FieldValue] = {
        "kWh_Tot": 1234.56,
        "kWh_Scale": 2,
        "Cos_Theta_Ln_1": "0.83 L",
        "Meter_Time": "14040803001018",
    }
    out = [(layout, build_reply(layout, ADDRESS, MODEL[layout], "15", values)) for layout in LAYOUTS]
    capture = bytearray(vectors.v4_b_frame())
    capture[4:16] = ADDRESS.encode()
    out.append((Layout.V4B, seal(bytes(capture[:-2]))))
    return out


VALID = _valid_frames()


@PROPERTY
@given(
    which=st.integers(0, len(VALID) - 1),
    edits=st.lists(st.tuples(st.integers(0, 254), st.integers(0, 255)), min_size=1, max_size=6),
    reseal=st.booleans(),
    cut=st.integers(-3, 3),
)
def test_mutated_valid_frames_only_raise_frame_errors(
    which: int, edits: list[tuple[int, int]], reseal: bool, cut: int
) -> None:
    layout, good = VALID[which]
    frame = bytearray(good)
    for at, byte in edits:
        frame[at] = byte
    data = seal(bytes(frame[:-2])) if reseal else bytes(frame)
    data = data[:cut] if cut < 0 else data + b"\x00" * cut
    if parse(data, layout) is not None:
        assert len(data) == 255


@PROPERTY
@given(data=st.binary(max_size=300))
def test_random_bytes_as_tables(data: bytes) -> None:
    for register in ("0011", "0012"):
        with contextlib.suppress(FrameError):
            parse_table(data, register=register, kwh_scale=2)


# --- requests --------------------------------------------------------------------------

REQUESTS = [
    read_request(ADDRESS, Layout.V3),
    read_request(ADDRESS, Layout.V4A),
    read_request(ADDRESS, Layout.V4B),
    SIGN_OFF,
    password_frame("00000000"),
    commands.frame(commands.relay(1, True, 30)),
    commands.frame(commands.zero_resettable_kwh()),
    commands.frame(commands.lcd_items([1, 2, 3])),
    table_read_frame("0011"),
]


@PROPERTY
@given(data=st.binary(max_size=300))
def test_random_requests_only_raise_frame_errors(data: bytes) -> None:
    length = request_length(data)
    assert length is None or 1 <= length <= max(MAX_REQUEST_LENGTH, 19)
    with contextlib.suppress(FrameError):
        parse_request(data)


@PROPERTY
@given(
    which=st.integers(0, len(REQUESTS) - 1),
    edits=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_requests_only_raise_frame_errors(which: int, edits: list[tuple[int, int]]) -> None:
    frame = bytearray(REQUESTS[which])
    for at, byte in edits:
        frame[at % len(frame)] = byte
    request_length(bytes(frame))
    with contextlib.suppress(FrameError):
        parse_request(bytes(frame))


@PROPERTY
@given(order=st.lists(st.integers(0, len(REQUESTS) - 1), max_size=12), noise=st.binary(max_size=3))
def test_request_length_splits_a_stream(order: list[int], noise: bytes) -> None:
    """A reader that drops leading noise and cuts by request_length recovers every request."""
    stream = b"".join(REQUESTS[i] for i in order)
    clean = bytes(b for b in noise if b not in (0x01, ord("/")))
    buffer, got = clean + stream, []
    while buffer:
        length = request_length(buffer)
        assert length is not None
        chunk, buffer = buffer[:length], buffer[length:]
        try:
            got.append(parse_request(chunk))
        except FrameError:
            assert chunk in (bytes((b,)) for b in clean)
    assert got == [parse_request(REQUESTS[i]) for i in order]
