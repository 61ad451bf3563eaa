"""Sans-IO replies: synthesized v3 / v4 frames and their readings, build_reply, month tables."""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.errors import (
    CrcError,
    FieldValueError,
    FrameLengthError,
    FrameStartError,
    RequestTypeError,
)
from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.readings import FieldValue, Protocol
from custom_components.ekm.aioekm.rs485.crc import crc_ok
from custom_components.ekm.aioekm.rs485.frames import (
    STX,
    Frame,
    MonthKwh,
    parse_reply,
    parse_table,
    to_reading,
)
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.meter_codec import (
    build_reply,
    build_table,
)

from . import vectors
from .codec_support import B_ADDRESS, V3_ADDRESS, V4_ADDRESS, T, tamper, v3_frame, v4_frames

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
