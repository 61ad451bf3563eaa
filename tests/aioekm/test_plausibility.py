"""Plausibility checks: CRC-valid replies holding what no meter sends are refused; real ones pass.

Each implausible reply is a valid simulator reply with one field changed and the
CRC sealed again, so only the plausibility check can refuse it.
"""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.errors import FieldValueError, FrameError, ImplausibleFrameError
from custom_components.ekm.aioekm.fields import FIELDS, Layout
from custom_components.ekm.aioekm.rs485.crc import crc_ok, seal
from custom_components.ekm.aioekm.rs485.frames import Frame, parse_reply
from custom_components.ekm.aioekm.rs485.plausibility import CODES, RESERVED
from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter, make_meter
from custom_components.ekm.aioekm.simulator.rs485 import frame_for

from . import vectors
from .conftest import T0, V3, V4

B_CAPTURE_ADDRESS = "000300000234"
HOUR = 3600.0


def meter(protocol: str, ct_ratio: int = 200) -> VirtualMeter:
    virtual = make_meter(V3 if protocol == "v3" else V4, protocol)
    virtual.ct_ratio = ct_ratio
    return virtual


def reply(layout: Layout, ct_ratio: int = 200) -> tuple[VirtualMeter, bytes]:
    virtual = meter("v3" if layout is Layout.V3 else "v4", ct_ratio)
    return virtual, frame_for(virtual, layout, T0)


def parse(virtual: VirtualMeter, layout: Layout, data: bytes, known_scale: int | None = None) -> Frame:
    scale = virtual.kwh_scale if layout is Layout.V4B else known_scale
    return parse_reply(data, address=virtual.address, layout=layout, kwh_scale=scale)


def with_field(data: bytes, layout: Layout, name: str, raw: bytes) -> bytes:
    """`data` with field `name` holding `raw`, under a valid CRC."""
    place = FIELDS[name].slice(layout)
    assert place is not None and place.stop - place.start == len(raw), name
    return with_bytes(data, place.start, raw)


def with_bytes(data: bytes, at: int, raw: bytes) -> bytes:
    changed = bytearray(data)
    changed[at : at + len(raw)] = raw
    sealed = seal(bytes(changed[:-2]))
    assert crc_ok(sealed)
    return sealed


def refused(virtual: VirtualMeter, layout: Layout, data: bytes, match: str) -> None:
    with pytest.raises(ImplausibleFrameError, match=match):
        parse(virtual, layout, data)
    # Only plausibility refuses it: the bytes themselves are a well-formed reply.
    parse_reply(
        data,
        address=virtual.address,
        layout=layout,
        kwh_scale=virtual.kwh_scale if layout is Layout.V4B else None,
        plausibility=False,
    )


# --- what must pass ---------------------------------------------------------------------


@pytest.mark.parametrize("ct_ratio", [100, 400, 1000, 5000])
@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_simulator_replies_all_pass(layout: Layout, ct_ratio: int) -> None:
    """A year of hourly replies (loads, directions, relays and clocks moving) from each kind of meter."""
    virtual = meter("v3" if layout is Layout.V3 else "v4", ct_ratio)
    if layout is not Layout.V3:
        virtual.relays[0] = True
    for hour in range(0, 24 * 365, 7):
        t = T0 + hour * HOUR
        parse(virtual, layout, frame_for(virtual, layout, t), known_scale=virtual.kwh_scale)


def test_the_real_b_capture_passes() -> None:
    """Its line 2 shows more watts than volts x amps (3608 W at 124.7 V, 28.8 A): within the margin."""
    frame = parse_reply(vectors.v4_b_frame(), address=B_CAPTURE_ADDRESS, layout=Layout.V4B, kwh_scale=2)
    assert frame.values["RMS_Watts_Ln_2"] == 3608


def test_implausible_is_a_frame_error() -> None:
    assert issubclass(ImplausibleFrameError, FrameError)


# --- each check -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_a_byte_above_0x7f_on_the_7_bit_link(layout: Layout) -> None:
    virtual, data = reply(layout)
    refused(virtual, layout, with_bytes(data, 1, b"\x90"), "above 0x7F")  # the model byte


@pytest.mark.parametrize("layout", list(Layout), ids=str)
@pytest.mark.parametrize(("at", "byte"), [(249, b"#"), (250, b"\x0c"), (251, b"\x0b")])
def test_a_broken_trailer(layout: Layout, at: int, byte: bytes) -> None:
    """'!' CR LF ETX at 249: a flip there can pass the CRC and used to pass the parser."""
    virtual, data = reply(layout)
    with pytest.raises(FieldValueError, match="not '!' CR LF ETX"):
        parse_reply(with_bytes(data, at, byte), address=virtual.address, layout=layout, plausibility=False)


@pytest.mark.parametrize(("layout", "at"), [(Layout.V4A, 231), (Layout.V4A, 232), (Layout.V4B, 200)])
@pytest.mark.parametrize("byte", [b" ", b"A", b"\x10"])
def test_v4_reserved_bytes_hold_digits(layout: Layout, at: int, byte: bytes) -> None:
    assert at in RESERVED[layout]
    virtual, data = reply(layout)
    refused(virtual, layout, with_bytes(data, at, byte), f"reserved byte {at}")


def test_v3_reserved_bytes_may_be_any_printable_but_not_control_bytes() -> None:
    """No v3 capture exists: what a real v3 meter keeps there is not known."""
    virtual, data = reply(Layout.V3)
    parse(virtual, Layout.V3, with_bytes(data, 240, b" "))
    refused(virtual, Layout.V3, with_bytes(data, 240, b"\x10"), "reserved byte 240")


@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_line_voltage_above_600_v(layout: Layout) -> None:
    virtual, data = reply(layout)
    refused(virtual, layout, with_field(data, layout, "RMS_Volts_Ln_2", b"6001"), "RMS_Volts_Ln_2 = 600.1")


@pytest.mark.parametrize(
    ("raw", "plausible"), [(b"4499", False), (b"6501", False), (b"0000", True), (b"5000", True)]
)
def test_line_frequency_is_a_grid_frequency_or_zero(raw: bytes, plausible: bool) -> None:
    virtual, data = reply(Layout.V4A)
    changed = with_field(data, Layout.V4A, "Line_Freq", raw)
    if plausible:
        parse(virtual, Layout.V4A, changed)
    else:
        refused(virtual, Layout.V4A, changed, "Line_Freq")


CODE_CASES = [
    (layout, name, value)
    for name, allowed in CODES.items()
    for layout in Layout
    if FIELDS[name].slice(layout) is not None
    for value in (allowed.start - 1, allowed.stop)
    if value >= 0
] + [(Layout.V4A, "State_Inputs", 8)]


@pytest.mark.parametrize(("layout", "name", "value"), CODE_CASES, ids=str)
def test_codes_outside_their_documented_set(layout: Layout, name: str, value: int) -> None:
    virtual, data = reply(layout)
    width = FIELDS[name].at[layout][1]
    refused(virtual, layout, with_field(data, layout, name, f"{value:0{width}d}".encode()), name)


def test_v3_state_inputs_are_not_checked() -> None:
    """v3's 3-digit State_Inputs is not documented."""
    virtual, data = reply(Layout.V3)
    assert (
        parse(virtual, Layout.V3, with_field(data, Layout.V3, "State_Inputs", b"999")).values["State_Inputs"]
        == 999
    )


@pytest.mark.parametrize(
    ("layout", "name"),
    [
        (Layout.V3, "RMS_Watts_Ln_1"),
        (Layout.V4A, "RMS_Watts_Ln_1"),
        (Layout.V4B, "RMS_Watts_Ln_1"),
        (Layout.V4A, "Reactive_Pwr_Ln_1"),
    ],
    ids=str,
)
def test_more_power_on_a_line_than_volts_times_amps(layout: Layout, name: str) -> None:
    virtual, data = reply(layout)
    frame = parse(virtual, layout, data)
    volts, amps = frame.values["RMS_Volts_Ln_1"], frame.values["Amps_Ln_1"]
    assert isinstance(volts, float) and isinstance(amps, float) and amps > 0
    too_much = round((volts + 0.1) * (amps + 0.1) * 1.25 + 3)
    refused(
        virtual, layout, with_field(data, layout, name, f"{too_much:07d}".encode()), f"{name} = {too_much}"
    )


@pytest.mark.parametrize(
    ("layout", "stem"), [(Layout.V4A, "RMS_Watts"), (Layout.V4A, "Reactive_Pwr"), (Layout.V3, "RMS_Watts")]
)
def test_a_total_above_the_sum_of_its_lines(layout: Layout, stem: str) -> None:
    virtual, data = reply(layout)
    frame = parse(virtual, layout, data)
    lines = sum(int(frame.values[f"{stem}_Ln_{n}"]) for n in (1, 2, 3))  # type: ignore[call-overload]
    total = f"{lines + 10:07d}".encode()
    refused(virtual, layout, with_field(data, layout, f"{stem}_Tot", total), f"{stem}_Tot")


@pytest.mark.parametrize("layout", list(Layout), ids=str)
@pytest.mark.parametrize(
    "clock", [b"26133105120000", b"26053207120000", b"26052805250000", b"26052805126000"]
)
def test_a_meter_time_that_is_not_a_date(layout: Layout, clock: bytes) -> None:
    virtual, data = reply(layout)
    refused(virtual, layout, with_field(data, layout, "Meter_Time", clock), "Meter_Time")


@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_an_unset_clock_passes(layout: Layout) -> None:
    virtual, data = reply(layout)
    assert (
        parse(virtual, layout, with_field(data, layout, "Meter_Time", b"0" * 14)).values["Meter_Time"]
        == "0" * 14
    )


def test_a_kwh_scale_other_than_the_meters_known_one() -> None:
    virtual, data = reply(Layout.V4A, ct_ratio=200)
    assert virtual.kwh_scale == 2
    assert parse(virtual, Layout.V4A, data, known_scale=2).kwh_scale == 2
    assert parse(virtual, Layout.V4A, data).kwh_scale == 2  # nothing known: nothing to compare
    with pytest.raises(ImplausibleFrameError, match="kWh_Scale 2, the meter had 1"):
        parse(virtual, Layout.V4A, data, known_scale=1)
    # A B reply takes the scale it is given: there is nothing in it to compare.
    _, b = reply(Layout.V4B, ct_ratio=200)
    assert parse_reply(b, address=virtual.address, layout=Layout.V4B, kwh_scale=1).kwh_scale == 1
