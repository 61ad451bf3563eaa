"""CRC-16 of EKM frames against every worked example of docs/rs485-protocol.md section 3 and the vectors."""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.rs485.crc import crc16, crc_bytes, crc_ok, seal

from . import vectors


@pytest.mark.parametrize(("data", "expected"), vectors.crc_check_values())
def test_crc16_modbus_check_values(data: bytes, expected: int) -> None:
    assert crc16(data) == expected


def test_crc16_standard_check_value() -> None:
    assert crc16(b"123456789") == 0x4B37


# Section 3 worked examples: (covered bytes, raw CRC or None, bytes sent).
WORKED = [
    (b"P1\x02(00000000)\x03", 0xC4B2, b"\x32\x44"),
    (b"R1\x020011()\x03", 0x9693, b"\x13\x16"),
    (b"W1\x020081(10000)\x03", 0xE131, b"\x31\x61"),
    (b"W1\x020074(030001040002070003110004" + b"0" * 24 + b")\x03", None, b"\x67\x4c"),
    (b"W1\x0200D0(0200)\x03", 0x607C, b"\x7c\x60"),
]


@pytest.mark.parametrize(("covered", "raw", "sent"), WORKED)
def test_worked_examples(covered: bytes, raw: int | None, sent: bytes) -> None:
    if raw is not None:
        assert crc16(covered) == raw
    assert crc_bytes(covered) == sent
    assert seal(b"\x01" + covered) == b"\x01" + covered + sent


def test_real_v4_b_response_crc() -> None:
    frame = vectors.v4_b_frame()
    assert crc16(frame[1:253]) == 0x7FF8
    assert crc_bytes(frame[1:253]) == b"\x78\x7f"
    assert frame[253:] == b"\x78\x7f"
    assert crc_ok(frame)


def test_published_bytes_are_the_frame_body() -> None:
    """The forum's decimal list is bytes 1..252 of the reconstructed frame."""
    assert vectors.v4_b_published_bytes() == vectors.v4_b_frame()[1:253]


def test_masking_drops_the_high_bit() -> None:
    """0x7FF8: low byte 0xF8 goes out as 0x78, never unmasked."""
    covered = vectors.v4_b_frame()[1:253]
    assert crc16(covered) & 0xFF == 0xF8
    assert crc_bytes(covered)[0] == 0x78


def test_leaving_out_the_etx_gives_another_crc() -> None:
    """The common bug of stopping one byte early is caught."""
    assert crc_bytes(b"P1\x02(00000000)") != b"\x32\x44"


@pytest.mark.parametrize("frame", vectors.qtreadekm_frames(), ids=lambda f: f.name)
def test_qtreadekm_frames(frame: vectors.NamedFrame) -> None:
    """Every real frame checks out, except the one flagged known-bad, which must fail."""
    assert crc_ok(frame.data) is frame.crc_valid


def test_known_bad_frame_has_the_documented_correct_crc() -> None:
    (bad,) = [f for f in vectors.qtreadekm_frames() if not f.crc_valid]
    assert bad.data[-2:] == b"\x55\x62"
    assert crc_bytes(bad.data[1:-2]) == bytes.fromhex("600b")


@pytest.mark.parametrize(
    "frame",
    [f for f in vectors.computed_frames() if f.data[:1] == b"\x01" and f.data != vectors.close_string()],
    ids=lambda f: f.name,
)
def test_computed_command_frames(frame: vectors.NamedFrame) -> None:
    assert crc_ok(frame.data)
    assert seal(frame.data[:-2]) == frame.data


def test_lua_schedule_frame() -> None:
    frame = vectors.lua_schedule_frame()
    assert frame[-2:] == b"\x67\x4c"
    assert crc_ok(frame)


def test_ruby_table_read() -> None:
    frame = vectors.ruby_table_read()
    assert frame[-2:] == b"\x13\x16"
    assert crc_ok(frame)


def test_close_string_is_not_crc_sealed() -> None:
    """The sign-off's last byte 0x75 is a constant, not the EKM CRC."""
    close = vectors.close_string()
    assert close == b"\x01B0\x03u"
    assert not crc_ok(close)


def test_crc_ok_rejects_short_input() -> None:
    assert not crc_ok(b"")
    assert not crc_ok(b"\x01\x03")


def test_every_crc_byte_is_seven_bit() -> None:
    for n in range(512):
        assert all(b < 0x80 for b in crc_bytes(n.to_bytes(2, "big") * 3))
