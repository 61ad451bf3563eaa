"""Settings commands: argument validation, exact frame bytes, and the simulator applying them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from custom_components.ekm.aioekm.rs485 import commands
from custom_components.ekm.aioekm.rs485.commands import MaxDemandReset, frame
from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter, make_meter
from custom_components.ekm.aioekm.simulator.meter_codec import parse_request
from custom_components.ekm.aioekm.simulator.writes import apply_write

from . import vectors

T = 1_780_000_000.0


def real(name_start: str) -> bytes:
    (data,) = [f.data for f in vectors.qtreadekm_frames() if f.name.startswith(name_start)]
    return data


# --- relays -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relay", "closed", "vector"),
    [(1, True, "Output1On"), (1, False, "Output1Off"), (2, True, "Output2On"), (2, False, "Output2Off")],
)
def test_relay_hold_frames_match_the_real_ones(relay: int, closed: bool, vector: str) -> None:
    assert frame(commands.relay(relay, closed)) == real(vector)


def test_timed_relay() -> None:
    assert commands.relay(1, True, 10) == ("0081", "10010")
    assert frame(commands.relay(1, True, 10)) == vectors.computed_frame("relay 1 close 10 s")
    assert commands.relay(2, False, 9999) == ("0082", "09999")
    assert frame(commands.relay(2, False, 0)) == vectors.computed_frame("relay 2 open hold")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, True), "relay must be 1..2"),
        ((3, True), "relay must be 1..2"),
        ((True, True), "relay must be a whole number"),
        (("1", True), "relay must be a whole number"),
        ((1, 1), "closed must be True or False"),
        ((1, "on"), "closed must be True or False"),
        ((1, True, -1), "relay seconds must be 0..9999"),
        ((1, True, 10000), "relay seconds must be 0..9999"),
        ((1, True, 1.5), "relay seconds must be a whole number"),
    ],
)
def test_relay_rejects(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commands.relay(*args)


# --- clock ----------------------------------------------------------------------------


def test_set_time_matches_the_real_frame() -> None:
    """2015-09-01 was a Tuesday: weekday 03 with 01 = Sunday."""
    assert frame(commands.set_time(datetime(2015, 9, 1, 10, 6, 20))) == real("SetTimeMsg")


def test_set_time_matches_the_computed_frame() -> None:
    command = commands.set_time(datetime(2024, 3, 5, 14, 30, 0))
    assert command == ("0060", "24030503143000")
    assert frame(command) == vectors.computed_frame("set time 2024-03-05")


@pytest.mark.parametrize(
    ("day", "weekday"),
    [(3, "01"), (4, "02"), (5, "03"), (6, "04"), (7, "05"), (8, "06"), (9, "07")],
)
def test_set_time_weekday_starts_on_sunday(day: int, weekday: str) -> None:
    """2024-03-03 was a Sunday."""
    _, data = commands.set_time(datetime(2024, 3, day, 0, 0, 0))
    assert data[6:8] == weekday


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (datetime(1999, 12, 31, 23, 59, 59), "2000..2099"),
        (datetime(2100, 1, 1), "2000..2099"),
        (date(2024, 3, 5), "needs a datetime"),
        ("2024-03-05 14:30:00", "needs a datetime"),
    ],
)
def test_set_time_rejects(when: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commands.set_time(when)


# --- CT and pulse ratios -----------------------------------------------------------------


@pytest.mark.parametrize(("amps", "vector"), [(200, "set CT ratio 200"), (1200, "set CT ratio 1200")])
def test_ct_ratio_frames(amps: int, vector: str) -> None:
    assert frame(commands.ct_ratio(amps)) == vectors.computed_frame(vector)


@pytest.mark.parametrize("amps", commands.CT_RATIOS)
def test_ct_ratio_accepts_the_allowed_set(amps: int) -> None:
    assert commands.ct_ratio(amps) == ("00D0", f"{amps:04d}")


@pytest.mark.parametrize("amps", [0, 150, 250, 6000, -200, True, 200.0, "200"])
def test_ct_ratio_rejects(amps: Any) -> None:
    with pytest.raises(ValueError, match="CT ratio"):
        commands.ct_ratio(amps)


def test_pulse_input_ratio() -> None:
    assert frame(commands.pulse_input_ratio(1, 1000)) == vectors.computed_frame("pulse input ratio line 1")
    assert commands.pulse_input_ratio(2, 1) == ("00A1", "0001")
    assert commands.pulse_input_ratio(3, 9999) == ("00A2", "9999")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 10), "pulse input must be 1..3"),
        ((4, 10), "pulse input must be 1..3"),
        ((1, 0), "pulse input ratio must be 1..9999"),
        ((1, 10000), "pulse input ratio must be 1..9999"),
        ((1, 2.0), "whole number"),
    ],
)
def test_pulse_input_ratio_rejects(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commands.pulse_input_ratio(*args)


def test_pulse_output_ratio() -> None:
    assert frame(commands.pulse_output_ratio(800)) == vectors.computed_frame("pulse output ratio 800")
    for ratio in commands.PULSE_OUTPUT_RATIOS:
        assert commands.pulse_output_ratio(ratio) == ("00D4", f"{ratio:04d}")


@pytest.mark.parametrize("ratio", [0, 3, 1000, 3200, True, "800"])
def test_pulse_output_ratio_rejects(ratio: Any) -> None:
    with pytest.raises(ValueError, match="pulse output ratio"):
        commands.pulse_output_ratio(ratio)


# --- demand -----------------------------------------------------------------------------


def test_max_demand_period() -> None:
    assert frame(commands.max_demand_period(15)) == vectors.computed_frame("max demand period 15 min")
    assert commands.max_demand_period(30) == ("0050", "2")
    assert commands.max_demand_period(60) == ("0050", "3")


@pytest.mark.parametrize("minutes", [0, 1, 10, 45, 90, "15"])
def test_max_demand_period_rejects(minutes: Any) -> None:
    with pytest.raises(ValueError, match="max demand period"):
        commands.max_demand_period(minutes)


def test_max_demand_auto_reset() -> None:
    computed = vectors.computed_frame("max demand auto reset monthly")
    assert frame(commands.max_demand_auto_reset("monthly")) == computed
    assert frame(commands.max_demand_auto_reset(MaxDemandReset.MONTHLY)) == computed
    assert commands.max_demand_auto_reset("Hourly") == ("00D5", "4")
    for code, mode in enumerate(("off", "monthly", "weekly", "daily", "hourly")):
        assert commands.max_demand_auto_reset(mode) == ("00D5", str(code))


@pytest.mark.parametrize("mode", ["yearly", "", 1, None])
def test_max_demand_auto_reset_rejects(mode: Any) -> None:
    with pytest.raises(ValueError, match="off, monthly, weekly, daily, hourly"):
        commands.max_demand_auto_reset(mode)


def test_reset_max_demand_and_zero_resettable() -> None:
    assert frame(commands.reset_max_demand()) == vectors.computed_frame("max demand reset now")
    assert frame(commands.zero_resettable_kwh()) == vectors.computed_frame("zero resettable kWh")


# --- password, LCD, schedules, tables ---------------------------------------------------


def test_change_password_is_the_corrected_known_bad_frame() -> None:
    """The flagged frame had a copied CRC; ours ends with the documented correct one."""
    (bad,) = [f for f in vectors.qtreadekm_frames() if not f.crc_valid]
    assert frame(commands.change_password("00000000")) == bad.data[:-2] + bytes.fromhex("600b")


@pytest.mark.parametrize("new", ["", "1234567", "123456789", "abcdefgh", "１２３４５６７８", 12345678])
def test_change_password_rejects_without_echo(new: Any) -> None:
    with pytest.raises(ValueError, match="8 digits") as caught:
        commands.change_password(new)
    if new:
        assert str(new) not in str(caught.value)


def test_lcd_items_by_code_and_by_name() -> None:
    computed = vectors.computed_frame("LCD: kWh_Tot, RMS_Watts_Tot, Line_Freq")
    assert frame(commands.lcd_items([1, 12, 28])) == computed
    assert frame(commands.lcd_items(["kWh_Tot", "RMS_Watts_Tot", "Line_Freq"])) == computed


def test_lcd_items_forty_items() -> None:
    codes = sorted(commands.LCD_CODES)[:40]
    register, data = commands.lcd_items(codes)
    assert register == "00D2"
    assert data == "".join(f"{c:02d}" for c in codes)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "1..40 items"),
        ([1] * 41, "1..40 items"),
        ("0112", "1..40 items"),
        ([46], "unknown LCD item code 46"),
        ([0], "unknown LCD item code 0"),
        ([52], "unknown LCD item code 52"),
        (["Volts"], "unknown LCD item 'Volts'"),
        ([1.0], "whole number"),
    ],
)
def test_lcd_items_rejects(items: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commands.lcd_items(items)


def test_month_table_reads() -> None:
    assert commands.month_table_read() == vectors.computed_frame("read month kWh fwd")
    assert commands.month_table_read(reverse=True) == vectors.computed_frame("read month kWh rev")


# --- the simulator applying writes (bytes -> parse_request -> apply_write) ----------------


def apply(meter: VirtualMeter, command: commands.Command, t: float = T) -> bool:
    """Send a command through its wire bytes, as the RS-485 face does."""
    request = parse_request(frame(command))
    assert request.kind == "write"
    assert request.register is not None
    assert request.data is not None
    return apply_write(meter, request.register, request.data, t)


@pytest.fixture
def v4() -> VirtualMeter:
    return make_meter("300000001", "v4")


@pytest.fixture
def v3() -> VirtualMeter:
    return make_meter("17507", "v3")


def test_apply_relay(v4: VirtualMeter) -> None:
    assert apply(v4, commands.relay(2, True))
    assert v4.relays == [False, True]
    assert v4.values(T + 3600)["State_Out"] == 2
    assert apply(v4, commands.relay(1, True, 10))
    assert v4.values(T + 5)["State_Out"] == 4
    assert v4.values(T + 11)["State_Out"] == 2  # relay 1 flipped back after 10 s


def test_apply_settings(v4: VirtualMeter) -> None:
    assert apply(v4, commands.ct_ratio(1500))
    assert apply(v4, commands.pulse_input_ratio(3, 250))
    assert apply(v4, commands.pulse_output_ratio(1600))
    assert apply(v4, commands.max_demand_period(60))
    assert apply(v4, commands.max_demand_auto_reset("daily"))
    assert apply(v4, commands.lcd_items(["kWh_Tot", "Line_Freq"]))
    assert apply(v4, commands.change_password("13572468"))
    values = v4.values(T)
    assert values["CT_Ratio"] == 1500
    assert values["kWh_Scale"] == 1
    assert values["Pulse_Ratio_3"] == 250
    assert values["CF_Ratio"] == 1600
    assert values["Max_Demand_Period"] == 3
    assert values["Max_Demand_Rst"] == 3
    assert v4.lcd_items == [1, 28]
    assert v4.password == "13572468"


def test_apply_clock(v4: VirtualMeter) -> None:
    assert apply(v4, commands.set_time(datetime(2015, 9, 1, 10, 6, 20)))
    assert v4.values(T)["Meter_Time"] == "15090103100620"
    assert v4.values(T + 61)["Meter_Time"] == "15090103100721"


def test_apply_resets(v4: VirtualMeter) -> None:
    v4.values(T)
    assert v4.max_demand_w > 0
    assert apply(v4, commands.reset_max_demand())
    assert v4.max_demand_w == 0.0
    assert float(v4.values(T)["kWh_Rst"]) > 0
    assert apply(v4, commands.zero_resettable_kwh())
    assert v4.values(T)["kWh_Rst"] == 0.0


def test_v3_accepts_its_registers_only(v3: VirtualMeter) -> None:
    assert apply(v3, commands.max_demand_period(30))
    assert v3.max_demand_period == 2
    assert apply(v3, commands.change_password("11112222"))
    assert apply(v3, commands.ct_ratio(400))
    assert v3.ct_ratio == 400
    for command in (commands.relay(1, True), commands.zero_resettable_kwh()):
        assert not apply(v3, command)
    assert v3.relays == [False, False]


@pytest.mark.parametrize(
    ("register", "data"),
    [
        ("0081", "20000"),
        ("0081", "1000"),
        ("0081", "1000a"),
        ("00D0", "0150"),
        ("00D0", "200"),
        ("00A0", "0000"),
        ("00D4", "0003"),
        ("0050", "4"),
        ("00D5", "5"),
        ("0060", "15023003100620"),  # 30 February
        ("0060", "1509010310062"),
        ("0020", "1234"),
        ("0040", "0"),
        ("00D3", "0"),
        ("00D2", "01"),
        ("00D2", "46" + "00" * 39),
        ("0099", "1"),
        ("0070", "0" * 48),  # a schedule without a period
    ],
)
def test_apply_refuses_bad_writes_and_changes_nothing(v4: VirtualMeter, register: str, data: str) -> None:
    before = v4.values(T)
    settings = (v4.password, v4.relays[:], v4.lcd_items[:], v4.clock_offset_s)
    assert not apply_write(v4, register, data, T)
    assert v4.values(T) == before
    assert (v4.password, v4.relays, v4.lcd_items, v4.clock_offset_s) == settings
