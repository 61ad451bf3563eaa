"""Sans-IO protocol code, both sides: requests, reply parsing, the meter's replies and tables."""

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
from custom_components.ekm.aioekm.rs485.crc import crc_ok, seal
from custom_components.ekm.aioekm.rs485.frames import (
    STX,
    WILDCARD_ADDRESS,
    Frame,
    MonthKwh,
    parse_reply,
    parse_table,
    to_reading,
)
from custom_components.ekm.aioekm.rs485.requests import (
    MAX_REQUEST_LENGTH,
    MAX_WRITE_DATA,
    SIGN_OFF,
    password_frame,
    read_request,
    table_read_frame,
    write_frame,
)
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.meter_codec import (
    Request,
    build_reply,
    build_table,
    parse_request,
    request_length,
)

from . import vectors

B_ADDRESS = "000300000234"
V4_ADDRESS = "000300000001"
V3_ADDRESS = "000000017507"
T = 1_780_000_000.0  # a pinned instant for simulator values


def tamper(frame: bytes, at: int, new: bytes, *, reseal: bool = True) -> bytes:
    """`frame` with bytes at `at` replaced; resealed so only the content is wrong."""
    changed = frame[:at] + new + frame[at + len(new) :]
    return seal(changed[:-2]) if reseal else changed


def v4_frames(ct: int = 200) -> tuple[bytes, bytes, dict[str, FieldValue]]:
    """A and B replies of a simulated v4 meter at T, plus the values they carry."""
    meter = make_meter(V4_ADDRESS, "v4")
    meter.ct_ratio = ct
    values = meter.values(T)
    a = build_reply(Layout.V4A, meter.address, meter.model, meter.firmware, values)
    b = build_reply(Layout.V4B, meter.address, meter.model, meter.firmware, values)
    return a, b, values


def v3_frame() -> tuple[bytes, dict[str, FieldValue]]:
    meter = make_meter(V3_ADDRESS, "v3")
    values = meter.values(T)
    return build_reply(Layout.V3, meter.address, meter.model, meter.firmware, values), values


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


# --- synthesized v3 / v4 A frames and readings -----------------------------------


def test_v3_frame_layout_and_reading() -> None:
    data, values = v3_frame()
    assert len(data) == 255
    assert data[0] == STX
    assert data[1:3] == b"\x10\x17"
    assert data[4:16] == V3_ADDRESS.encode()
    assert data[249:253] == b"!\r\n\x03"
    assert crc_ok(data)
    frame = parse_reply(data, address=V3_ADDRESS, layout=Layout.V3)
    assert frame.model == "1017"
    assert frame.kwh_scale == 1
    assert dict(frame.values) == values
    reading = to_reading(frame)
    assert reading.protocol is Protocol.V3
    assert reading["Net_Calc_Watts_Tot"] == values["RMS_Watts_Tot"]
    assert reading.values == make_meter(V3_ADDRESS, "v3").reading(T).values


def test_v3_kwh_is_tenths_on_the_wire() -> None:
    data = build_reply(Layout.V3, V3_ADDRESS, "1017", "15", {"kWh_Tot": 1234.5, "kWh_Scale": 2})
    assert data[16:24] == b"00012345"
    frame = parse_reply(data, address=V3_ADDRESS, layout=Layout.V3, plausibility=False)  # made up
    assert frame.values["kWh_Tot"] == 1234.5


@pytest.mark.parametrize(("ct", "scale"), [(200, 2), (1000, 1), (5000, 0)])
def test_v4_a_and_b_make_the_simulators_reading(ct: int, scale: int) -> None:
    a, b, values = v4_frames(ct)
    assert values["kWh_Scale"] == scale
    assert a[247:249] == b"00"
    assert b[247:249] == b"01"
    frame_a = parse_reply(a, address=V4_ADDRESS, layout=Layout.V4A)
    frame_b = parse_reply(b, address=V4_ADDRESS, layout=Layout.V4B, kwh_scale=scale)
    assert frame_a.kwh_scale == scale
    reading = to_reading(frame_a, frame_b)
    meter = make_meter(V4_ADDRESS, "v4")
    meter.ct_ratio = ct
    assert reading.values == meter.reading(T).values
    assert reading.protocol is Protocol.V4


def test_kwh_scale_in_the_a_frame_scales_its_kwh() -> None:
    values: dict[str, FieldValue] = {"kWh_Tot": 123.45, "kWh_Scale": 2}
    data = build_reply(Layout.V4A, V4_ADDRESS, "1024", "15", values)
    assert data[16:24] == b"00012345"
    assert data[230:231] == b"2"
    data0 = build_reply(Layout.V4A, V4_ADDRESS, "1024", "15", {"kWh_Tot": 12345, "kWh_Scale": 0})
    assert data0[16:24] == b"00012345"
    frame = parse_reply(data0, address=V4_ADDRESS, layout=Layout.V4A, plausibility=False)
    assert frame.values["kWh_Tot"] == 12345.0


def test_a_wins_over_b_on_shared_fields() -> None:
    a = parse_reply(
        build_reply(Layout.V4A, V4_ADDRESS, "1024", "15", {"RMS_Volts_Ln_1": 121.5, "kWh_Scale": 2}),
        address=V4_ADDRESS,
        layout=Layout.V4A,
        plausibility=False,  # made-up frames: codes left at 0
    )
    b = parse_reply(
        build_reply(Layout.V4B, V4_ADDRESS, "1024", "15", {"RMS_Volts_Ln_1": 119.0, "CT_Ratio": 200}),
        address=V4_ADDRESS,
        layout=Layout.V4B,
        kwh_scale=2,
        plausibility=False,
    )
    reading = to_reading(a, b)
    assert reading["RMS_Volts_Ln_1"] == 121.5
    assert reading["CT_Ratio"] == 200


def test_a_alone_makes_a_reading_without_b_fields() -> None:
    a, _, _ = v4_frames()
    reading = to_reading(parse_reply(a, address=V4_ADDRESS, layout=Layout.V4A))
    assert "kWh_Tot" in reading
    assert "CT_Ratio" not in reading
    assert reading.timestamp is None


def test_to_reading_refuses_mismatched_frames() -> None:
    a_bytes, b_bytes, _ = v4_frames()
    a = parse_reply(a_bytes, address=V4_ADDRESS, layout=Layout.V4A)
    b = parse_reply(b_bytes, address=V4_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    v3 = parse_reply(v3_frame()[0], address=V3_ADDRESS, layout=Layout.V3)
    other_b = parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    with pytest.raises(ValueError, match="v3 frame only"):
        to_reading(v3, b)
    with pytest.raises(ValueError, match="starts from an A frame"):
        to_reading(b)
    with pytest.raises(ValueError, match="must be a v4 B frame"):
        to_reading(a, a)
    with pytest.raises(ValueError, match="differ"):
        to_reading(a, other_b)


def test_frame_is_immutable() -> None:
    frame = parse_reply(vectors.v4_b_frame(), address=B_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    with pytest.raises(AttributeError):
        frame.address = "1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        frame.values["CT_Ratio"] = 1  # type: ignore[index]
    assert isinstance(frame, Frame)


# --- build_reply ------------------------------------------------------------------


def test_missing_fields_read_zero() -> None:
    data = build_reply(Layout.V4A, V4_ADDRESS, "1024", "15", {})
    assert data[16:159] == b"0" * 143
    assert data[159:171] == b"C000" * 3
    assert data[247:253] == b"00!\r\n\x03"
    frame = parse_reply(data, address=V4_ADDRESS, layout=Layout.V4A, plausibility=False)
    assert frame.values["kWh_Tot"] == 0.0
    assert frame.values["Cos_Theta_Ln_2"] == "0.00 C"
    assert frame.values["Meter_Time"] == "0" * 14


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kWh_Tot": 1_000_000.0, "kWh_Scale": 2}, "does not fit 8 digits"),
        ({"kWh_Tot": -0.4}, "does not fit"),
        ({"kWh_Tot": float("inf")}, "does not fit"),
        ({"kWh_Tot": float("nan")}, "does not fit"),
        ({"RMS_Watts_Ln_1": 10_000_000}, "RMS_Watts_Ln_1"),
        ({"RMS_Watts_Ln_1": 12.5}, "whole number"),
        ({"RMS_Volts_Ln_1": "120"}, "must be a number"),
        ({"RMS_Volts_Ln_1": True}, "must be a number"),
        ({"Cos_Theta_Ln_1": "1.20"}, "Cos_Theta"),
        ({"Cos_Theta_Ln_1": 0.9}, "Cos_Theta_Ln_1"),
        ({"Meter_Time": "1404080300101"}, "Meter_Time"),
        ({"State_Out": 10}, "State_Out"),
        ({"kWh_Scale": 3}, "kWh_Scale"),
    ],
)
def test_build_reply_rejects_values_that_do_not_fit(values: dict[str, FieldValue], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_reply(Layout.V4A, V4_ADDRESS, "1024", "15", values)


@pytest.mark.parametrize(
    ("address", "model", "firmware"),
    [("x", "1024", "15"), (V4_ADDRESS, "10", "15"), (V4_ADDRESS, "10zz", "15"), (V4_ADDRESS, "1024", "1515")],
)
def test_build_reply_rejects_a_bad_header(address: str, model: str, firmware: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (three different messages)
        build_reply(Layout.V4A, address, model, firmware, {})


def test_build_reply_v3_status_code_and_trailer() -> None:
    data = build_reply(Layout.V3, V3_ADDRESS, "1017", "15", {"Meter_Status_Code": "7"})
    assert data[248:249] == b"7"
    assert data[229:248] == b"0" * 19
    assert data[249:253] == b"!\r\n\x03"
    with pytest.raises(ValueError, match="Meter_Status_Code"):
        build_reply(Layout.V3, V3_ADDRESS, "1017", "15", {"Meter_Status_Code": "77"})


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


# --- month tables --------------------------------------------------------------------

MONTHS = tuple(MonthKwh(1000.0 + m, (600.25 + m, 399.75, 0.0, float(m))) for m in range(6))


@pytest.mark.parametrize("register", ["0011", "0012"])
def test_month_table_round_trip(register: str) -> None:
    data = build_table(register, MONTHS, kwh_scale=2)
    assert len(data) == 255
    assert data[:6] == b"\x02" + register.encode() + b"("
    assert data[6:14] == b"00100000"
    assert data[14:22] == b"00060025"
    assert data[251:253] == b")\x03"
    assert crc_ok(data)
    table = parse_table(data, register=register, kwh_scale=2)
    assert table.register == register
    assert table.reverse is (register == "0012")
    assert table.months == MONTHS


def test_month_table_other_scale() -> None:
    data = build_table("0011", MONTHS, kwh_scale=2)
    table = parse_table(data, register="0011", kwh_scale=0)
    assert table.months[0].total == 100000.0


def test_month_table_validation() -> None:
    data = build_table("0011", MONTHS, kwh_scale=1)
    with pytest.raises(FrameLengthError):
        parse_table(data[:-1], register="0011", kwh_scale=1)
    with pytest.raises(FrameStartError):
        parse_table(b"\x01" + data[1:], register="0011", kwh_scale=1)
    with pytest.raises(CrcError):
        parse_table(data[:-1] + b"\x00", register="0011", kwh_scale=1)
    with pytest.raises(RequestTypeError, match="0011"):
        parse_table(data, register="0012", kwh_scale=1)
    with pytest.raises(FieldValueError, match="'\\('"):
        parse_table(tamper(data, 5, b"["), register="0011", kwh_scale=1)
    with pytest.raises(FieldValueError, match="month 2 field 3"):
        parse_table(tamper(data, 6 + 7 * 8, b"0000x000"), register="0011", kwh_scale=1)
    with pytest.raises(ValueError, match="0011 and 0012"):
        parse_table(data, register="0070", kwh_scale=1)
    with pytest.raises(ValueError, match="6 months"):
        build_table("0011", MONTHS[:5], kwh_scale=1)
    with pytest.raises(ValueError, match="does not fit"):
        build_table("0011", (MonthKwh(1e8, (0.0, 0.0, 0.0, 0.0)), *MONTHS[1:]), kwh_scale=1)
