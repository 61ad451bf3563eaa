"""Sans-IO reply parsing against the real v4 B capture, and its validation one failure at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.ekm.aioekm.errors import (
    AddressMismatchError,
    CrcError,
    FieldValueError,
    FrameError,
    FrameLengthError,
    FrameStartError,
    RequestTypeError,
)
from custom_components.ekm.aioekm.fields import FIELDS, Layout, fields_in
from custom_components.ekm.aioekm.readings import FieldValue, Protocol
from custom_components.ekm.aioekm.rs485.crc import crc_ok
from custom_components.ekm.aioekm.rs485.frames import (
    WILDCARD_ADDRESS,
    parse_reply,
    to_reading,
)
from custom_components.ekm.aioekm.simulator.meter_codec import (
    build_reply,
)

from . import vectors
from .codec_support import B_ADDRESS, V4_ADDRESS, tamper, v4_frames

# --- the real v4 B capture ------------------------------------------------------

EXPECTED_B: dict[str, FieldValue] = {
    "kWh_Tariff_1": 3110.88,
    "kWh_Tariff_2": 1820.74,
    "kWh_Tariff_3": 0.0,
    "kWh_Tariff_4": 0.0,
    "Rev_kWh_Tariff_1": 47.93,
    "Rev_kWh_Tariff_2": 27.97,
    "Rev_kWh_Tariff_3": 0.0,
    "Rev_kWh_Tariff_4": 0.0,
    "RMS_Volts_Ln_1": 125.0,
    "RMS_Volts_Ln_2": 124.7,
    "RMS_Volts_Ln_3": 0.0,
    "Amps_Ln_1": 22.8,
    "Amps_Ln_2": 28.8,
    "Amps_Ln_3": 0.0,
    "RMS_Watts_Ln_1": 2848,
    "RMS_Watts_Ln_2": 3608,
    "RMS_Watts_Ln_3": 0,
    "RMS_Watts_Tot": 6456,
    "Cos_Theta_Ln_1": "1.00",
    "Cos_Theta_Ln_2": "1.00",
    "Cos_Theta_Ln_3": "0.00 C",
    "RMS_Watts_Max_Demand": 22640.0,
    "Max_Demand_Period": 1,
    "Pulse_Ratio_1": 1000,
    "Pulse_Ratio_2": 3,
    "Pulse_Ratio_3": 1000,
    "CT_Ratio": 400,
    "Max_Demand_Rst": 0,
    "CF_Ratio": 800,
    "Meter_Status_Code_A": "0",
    "Meter_Status_Code_B": "0",
    "Meter_Status_Code_C": "0",
    "Meter_Time": "14040803001018",
}


def _raw(entry: dict[str, object]) -> bytes:
    """A breakdown entry's raw bytes, from its Python-escaped text."""
    return str(entry["raw_ascii_repr"]).encode("latin-1").decode("unicode_escape").encode("latin-1")


def test_capture_breakdown_matches_the_frame_bytes() -> None:
    frame = vectors.v4_b_frame()
    for entry in vectors.v4_b_breakdown():
        offset, length = int(entry["offset"]), int(entry["length"])
        assert frame[offset : offset + length] == _raw(entry), entry["name"]


def test_field_table_places_every_b_field_of_the_breakdown() -> None:
    breakdown = {e["name"]: (e["offset"], e["length"]) for e in vectors.v4_b_breakdown()}
    b_fields = {f.name for f in fields_in(Layout.V4B)}
    assert b_fields == set(EXPECTED_B)
    assert b_fields <= set(breakdown)
    for name in b_fields:
        assert FIELDS[name].at[Layout.V4B] == breakdown[name], name


def test_real_b_capture_parses_to_its_breakdown() -> None:
    frame = parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    assert frame.layout is Layout.V4B
    assert frame.address == B_ADDRESS
    assert frame.model == "1024"
    assert frame.firmware == "15"
    assert frame.kwh_scale == 2
    assert dict(frame.values) == EXPECTED_B
    for name, value in EXPECTED_B.items():
        assert type(frame.values[name]) is type(value), name


def test_real_b_capture_with_other_kwh_scales() -> None:
    data = vectors.v4_b_frame()
    raw = parse_reply(data, address=B_ADDRESS, layout=Layout.V4B)
    assert raw.kwh_scale == 0
    assert raw.values["kWh_Tariff_1"] == 311088.0
    one = parse_reply(data, address=B_ADDRESS, layout=Layout.V4B, kwh_scale=1)
    assert one.values["kWh_Tariff_1"] == 31108.8
    assert one.values["RMS_Volts_Ln_2"] == 124.7  # not a kWh field: unaffected


@pytest.mark.parametrize("scale", [3, -1, 10])
def test_bad_kwh_scale_argument(scale: int) -> None:
    with pytest.raises(ValueError, match="kWh_Scale"):
        parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B, kwh_scale=scale)


def test_build_reply_reproduces_the_real_capture_byte_for_byte() -> None:
    frame = parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    values = {**frame.values, "kWh_Scale": 2}
    assert build_reply(Layout.V4B, B_ADDRESS, "1024", "15", values) == vectors.v4_b_frame()


def test_b_capture_reading_merged_with_a_synthesized_a() -> None:
    """A (scale 2) + the real B: tariffs scaled by A's kWh_Scale, meter time decoded."""
    a_values: dict[str, FieldValue] = {"kWh_Scale": 2, "kWh_Tot": 5007.35, "Meter_Time": "14040803001018"}
    a_values.update({k: EXPECTED_B[k] for k in ("RMS_Volts_Ln_1", "RMS_Watts_Ln_1", "Cos_Theta_Ln_1")})
    a = parse_reply(
        build_reply(Layout.V4A, B_ADDRESS, "1024", "15", a_values),
        address=B_ADDRESS,
        layout=Layout.V4A,
        plausibility=False,  # made up from a few fields: no amps behind its watts
    )
    b = parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B)  # scale unknown yet
    stamp = datetime(2014, 4, 8, 5, 0, tzinfo=UTC)
    reading = to_reading(a, b, timestamp=stamp)
    assert reading.protocol is Protocol.V4
    assert reading["kWh_Tariff_1"] == 3110.88
    assert reading["Rev_kWh_Tariff_2"] == 27.97
    assert reading["kWh_Tot"] == 5007.35
    assert reading["CT_Ratio"] == 400
    assert reading.meter_time == datetime(2014, 4, 8, 0, 10, 18)
    assert reading.timestamp == stamp
    assert reading.model == "1024"
    assert reading.firmware == "15"


# --- validation, one failure at a time -------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 17, 254, 256, 510])
def test_wrong_length(length: int) -> None:
    data = (vectors.v4_b_frame() * 2)[:length]
    with pytest.raises(FrameLengthError, match=f"is {length} bytes, expected 255"):
        parse_reply(data, address=B_ADDRESS, layout=Layout.V4B)


def test_missing_stx() -> None:
    """Byte 0 is outside the CRC, so only the STX check can catch it."""
    data = b"\x06" + vectors.v4_b_frame()[1:]
    assert crc_ok(data)
    with pytest.raises(FrameStartError, match="0x06"):
        parse_reply(data, address=B_ADDRESS, layout=Layout.V4B)


@pytest.mark.parametrize("at", [1, 20, 150, 250, 252, 253, 254])
def test_bad_crc(at: int) -> None:
    data = vectors.v4_b_frame()
    changed = data[:at] + bytes((data[at] ^ 0x01,)) + data[at + 1 :]
    with pytest.raises(CrcError, match="CRC"):
        parse_reply(changed, address=B_ADDRESS, layout=Layout.V4B)


def test_reply_from_another_meter() -> None:
    with pytest.raises(AddressMismatchError, match="asked meter 000300000235, reply comes from 000300000234"):
        parse_reply(vectors.v4_b_frame(), address="000300000235", layout=Layout.V4B)


def test_reply_with_a_garbled_address() -> None:
    data = tamper(vectors.v4_b_frame(), 4, b"0003000\xff0234")
    with pytest.raises(AddressMismatchError, match="no valid address"):
        parse_reply(data, address=B_ADDRESS, layout=Layout.V4B)


def test_wildcard_address_accepts_the_real_address() -> None:
    frame = parse_reply(vectors.v4_b_frame(), address=WILDCARD_ADDRESS, layout=Layout.V4B)
    assert frame.address == B_ADDRESS


def test_b_reply_to_an_a_request() -> None:
    with pytest.raises(RequestTypeError, match="expected b'00'"):
        parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4A)


def test_a_reply_to_a_b_request() -> None:
    a, _, _ = v4_frames()
    with pytest.raises(RequestTypeError, match="expected b'01'"):
        parse_reply(a, address=V4_ADDRESS, layout=Layout.V4B)


def test_garbled_request_type_echo() -> None:
    data = tamper(vectors.v4_b_frame(), 247, b"0\x00")
    with pytest.raises(RequestTypeError):
        parse_reply(data, address=B_ADDRESS, layout=Layout.V4B)


@pytest.mark.parametrize(
    ("at", "new", "field"),
    [
        (16, b"0031108x", "kWh_Tariff_1"),
        (80, b"12 0", "RMS_Volts_Ln_1"),
        (107, b"-002848", "RMS_Watts_Ln_1"),
        (135, b"X100", "Cos_Theta_Ln_1"),
        (135, b"L101", "Cos_Theta_Ln_1"),
        (135, b"L 99", "Cos_Theta_Ln_1"),
        (230, b"\x00", "Meter_Status_Code_A"),
        (233, b"1404080300101:", "Meter_Time"),
    ],
)
def test_bad_field_characters(at: int, new: bytes, field: str) -> None:
    data = tamper(vectors.v4_b_frame(), at, new)
    with pytest.raises(FieldValueError, match=field):
        parse_reply(data, address=B_ADDRESS, layout=Layout.V4B, kwh_scale=2)


@pytest.mark.parametrize("scale", [b"3", b"9", b"x"])
def test_bad_kwh_scale_byte_in_a(scale: bytes) -> None:
    a, _, _ = v4_frames()
    with pytest.raises(FieldValueError, match="kWh_Scale"):
        parse_reply(tamper(a, 230, scale), address=V4_ADDRESS, layout=Layout.V4A)


def test_checks_run_in_order() -> None:
    """With several faults the first check in the documented order reports."""
    good = vectors.v4_b_frame()
    no_stx_bad_crc = b"\x00" + good[1:100] + b"x" + good[101:]
    with pytest.raises(FrameLengthError):
        parse_reply(no_stx_bad_crc[:-1], address="1", layout=Layout.V4B)
    with pytest.raises(FrameStartError):
        parse_reply(no_stx_bad_crc, address="1", layout=Layout.V4B)
    bad_crc_wrong_meter = good[:100] + b"x" + good[101:]
    with pytest.raises(CrcError):
        parse_reply(bad_crc_wrong_meter, address="1", layout=Layout.V4A)
    wrong_meter_wrong_type = good
    with pytest.raises(AddressMismatchError):
        parse_reply(wrong_meter_wrong_type, address="1", layout=Layout.V4A)
    wrong_type_bad_digits = tamper(good, 16, b"x")
    with pytest.raises(RequestTypeError):
        parse_reply(wrong_type_bad_digits, address=B_ADDRESS, layout=Layout.V4A)


def test_every_error_is_a_frame_error() -> None:
    for error in (
        FrameLengthError,
        FrameStartError,
        CrcError,
        AddressMismatchError,
        RequestTypeError,
        FieldValueError,
    ):
        assert issubclass(error, FrameError)
