"""Sans-IO requests, both sides: the frames the bus sends, and the same frames as the meter parses them."""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.errors import (
    CrcError,
    FieldValueError,
    FrameError,
    FrameStartError,
)
from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.rs485.crc import seal
from custom_components.ekm.aioekm.rs485.requests import (
    MAX_REQUEST_LENGTH,
    MAX_WRITE_DATA,
    SIGN_OFF,
    password_frame,
    read_request,
    table_read_frame,
    write_frame,
)
from custom_components.ekm.aioekm.simulator.meter_codec import (
    Request,
    parse_request,
    request_length,
)

from . import vectors
from .codec_support import B_ADDRESS

# --- request frames ------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "layout", "vector"),
    [
        ("000000000026", Layout.V3, "v3 read request"),
        ("26", Layout.V3, "v3 read request"),
        (B_ADDRESS, Layout.V4A, "v4 A read request"),
        ("300000234", Layout.V4A, "v4 A read request"),
        (B_ADDRESS, Layout.V4B, "v4 B read request"),
    ],
)
def test_read_requests(address: str, layout: Layout, vector: str) -> None:
    frame = read_request(address, layout)
    assert frame == vectors.computed_frame(vector)
    assert len(frame) == (17 if layout is Layout.V3 else 19)


@pytest.mark.parametrize("address", ["", "abc", "1234567890123", "12 34"])
def test_read_request_rejects_bad_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        read_request(address, Layout.V4A)


def test_sign_off_is_the_close_string() -> None:
    assert vectors.close_string() == SIGN_OFF
    assert vectors.computed_frame("close/sign-off") == SIGN_OFF


@pytest.mark.parametrize("password", ["00000000", "12345678"])
def test_password_frames(password: str) -> None:
    assert password_frame(password) == vectors.computed_frame(f"password {password}")


def test_password_frame_matches_the_real_capture() -> None:
    (real,) = [f.data for f in vectors.qtreadekm_frames() if f.name.startswith("PasswordMsg")]
    assert password_frame("00000000") == real


@pytest.mark.parametrize("password", ["", "1234567", "123456789", "1234567a", "１２３４５６７８", "1234 678"])
def test_password_frame_rejects_bad_passwords_without_showing_them(password: str) -> None:
    with pytest.raises(ValueError, match="8 digits") as caught:
        password_frame(password)
    if password:
        assert password not in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [f.name for f in vectors.qtreadekm_frames() if f.crc_valid and f.data[1:2] == b"W"],
)
def test_write_frame_rebuilds_every_real_write(name: str) -> None:
    (data,) = [f.data for f in vectors.qtreadekm_frames() if f.name == name]
    register, body = data[4:8].decode(), data[9:-4].decode()
    assert write_frame(register, body) == data


def test_write_frame_rebuilds_the_lua_schedule_write() -> None:
    frame = vectors.lua_schedule_frame()
    assert write_frame("0074", "030001040002070003110004" + "0" * 24) == frame


def test_write_frame_length_limit() -> None:
    """The longest write still fits what a meter-side reader splits off."""
    longest = write_frame("0070", "0" * MAX_WRITE_DATA)
    assert request_length(longest) == len(longest) == MAX_REQUEST_LENGTH
    with pytest.raises(ValueError, match="longer than"):
        write_frame("0070", "0" * (MAX_WRITE_DATA + 1))


def test_write_frame_with_empty_data() -> None:
    assert write_frame("00D3", "") == vectors.computed_frame("zero resettable kWh")


@pytest.mark.parametrize("register", ["81", "00810", "00d0", "00G0", "0 81"])
def test_write_frame_rejects_bad_registers(register: str) -> None:
    with pytest.raises(ValueError, match="register"):
        write_frame(register, "1")


@pytest.mark.parametrize("data", ["1a", "(1)", "1)", "١٢"])
def test_write_frame_rejects_bad_data(data: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        write_frame("0081", data)


@pytest.mark.parametrize(
    ("register", "vector"),
    [
        ("0011", "read month kWh fwd"),
        ("0012", "read month kWh rev"),
        ("0070", "read schedules 1-4"),
        ("0071", "read schedules 5-6"),
        ("00B0", "read holidays"),
    ],
)
def test_table_read_frames(register: str, vector: str) -> None:
    assert table_read_frame(register) == vectors.computed_frame(vector)


def test_table_read_matches_the_ruby_example() -> None:
    assert table_read_frame("0011") == vectors.ruby_table_read()


def test_table_read_rejects_a_bad_register() -> None:
    with pytest.raises(ValueError, match="register"):
        table_read_frame("11")


# --- requests as the meter sees them ---------------------------------------------------


def _all_valid_request_vectors() -> list[vectors.NamedFrame]:
    frames = [f for f in vectors.qtreadekm_frames() if f.crc_valid]
    frames += vectors.computed_frames()
    frames.append(vectors.NamedFrame("lua schedule 5", vectors.lua_schedule_frame()))
    frames.append(vectors.NamedFrame("ruby 0011", vectors.ruby_table_read()))
    return frames


@pytest.mark.parametrize("vector", _all_valid_request_vectors(), ids=lambda f: f.name)
def test_every_vector_request_parses_and_splits(vector: vectors.NamedFrame) -> None:
    data = vector.data
    request = parse_request(data)
    assert request.kind in ("read", "password", "write", "table", "sign_off")
    # A stream reader can split it: no length before the end, exact length after it.
    for cut in range(1, len(data)):
        assert request_length(data[:cut]) in (None, len(data)), cut
    assert request_length(data) == len(data)
    assert request_length(data + b"/?0000") == len(data)


def test_parse_request_kinds() -> None:
    assert parse_request(read_request("26", Layout.V3)) == Request(
        "read", address="000000000026", layout=Layout.V3
    )
    assert parse_request(read_request(B_ADDRESS, Layout.V4B)) == Request(
        "read", address=B_ADDRESS, layout=Layout.V4B
    )
    assert parse_request(SIGN_OFF) == Request("sign_off")
    assert parse_request(password_frame("12345678")) == Request("password", data="12345678")
    assert parse_request(write_frame("0081", "10010")) == Request("write", register="0081", data="10010")
    assert parse_request(write_frame("00D3", "")) == Request("write", register="00D3", data="")
    assert parse_request(table_read_frame("0012")) == Request("table", register="0012", data="")


def test_request_repr_hides_passwords() -> None:
    request = parse_request(password_frame("87654321"))
    assert "87654321" not in repr(request)
    assert "87654321" not in repr(parse_request(write_frame("0020", "87654321")))


def test_known_bad_vector_is_refused() -> None:
    (bad,) = [f for f in vectors.qtreadekm_frames() if not f.crc_valid]
    assert request_length(bad.data) == len(bad.data)
    with pytest.raises(CrcError):
        parse_request(bad.data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"/?00030000023x00!\r\n", FieldValueError),
        (b"/?00030000023402!\r\n", FrameError),
        (b"/?000300000234!\r", FrameError),
        (b"/?000300000234!\r\n\r\n", FrameError),
        (b"\x06", FrameStartError),
        (b"", FrameStartError),
        (b"\x01W1\x020081(10000)\x03\x31\x62", CrcError),
        (seal(b"\x01X1\x020081(1)\x03"), FrameError),
        (seal(b"\x01P1\x020081(12345678)\x03"), FrameError),
        (seal(b"\x01W1\x02008(1)\x03"), FieldValueError),
        (seal(b"\x01W1\x020081(1(2)\x03"), FrameError),
        (seal(b"\x01W1\x0200811\x03"), FrameError),
        (seal(b"\x01W1\x020081(\x07)\x03"), FieldValueError),
        (b"\x01W1", FrameError),
    ],
)
def test_parse_request_refuses_bad_frames(data: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        parse_request(data)


def test_request_length_edges() -> None:
    assert request_length(b"") is None
    assert request_length(b"\x01") is None
    assert request_length(b"\x01B") is None
    assert request_length(b"\x01B0\x03") is None
    assert request_length(b"x/?") == 1  # noise: one byte the reader drops
    assert request_length(b"/?" + b"0" * 17) == 19  # no LF where one must be
    assert request_length(b"\x01W1\x02" + b"0" * 300) == MAX_REQUEST_LENGTH
    assert request_length(b"\x01W1\x020081(10000)\x03\x31") is None
