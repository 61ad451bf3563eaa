"""Value decoding shared by every connection mode."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.ekm.aioekm.readings import (
    PowerFactor,
    Protocol,
    format_cos_theta,
    format_meter_time,
    inputs_high,
    lines_reversed,
    make_reading,
    model_name,
    normalize_address,
    parse_cos_theta,
    parse_meter_time,
    protocol_of_model,
    relays_closed,
    state_inputs_code,
    state_out_code,
    watts_dir_code,
)


@pytest.mark.parametrize(
    ("text", "value", "direction"),
    [
        (" 100", 1.0, None),
        ("L083", 0.83, "lag"),
        ("C097", 0.97, "lead"),
        ("0.83 C", 0.83, "lead"),
        ("0.50 L", 0.5, "lag"),
        ("1.00", 1.0, None),
        ("0.00 C", 0.0, "lead"),
    ],
)
def test_cos_theta(text: str, value: float, direction: str | None) -> None:
    pf = parse_cos_theta(text)
    assert pf == PowerFactor(value, direction)  # type: ignore[arg-type]
    assert parse_cos_theta(format_cos_theta(pf)) == pf


@pytest.mark.parametrize("text", ["", "L", "X083", "L0a3", "1.50", "0.83 Q", "abc", "nan", "L-10"])
def test_cos_theta_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Cos_Theta"):
        parse_cos_theta(text)


def test_meter_time_weekday_is_sunday_one() -> None:
    # 2014-04-08 was a Tuesday: weekday 03 in the real capture.
    assert format_meter_time(datetime(2014, 4, 8, 0, 10, 18)) == "14040803001018"
    assert format_meter_time(datetime(2026, 11, 29, 12, 0, 0)) == "26112901120000"  # a Sunday
    assert parse_meter_time("14040803001018") == datetime(2014, 4, 8, 0, 10, 18)
    assert parse_meter_time("00000000000000") is None
    assert parse_meter_time("1404080300101") is None
    assert parse_meter_time("14x40803001018") is None


def test_state_codes_round_trip() -> None:
    assert inputs_high(0) == (True, True, True)
    assert inputs_high(3) == (True, False, False)
    assert inputs_high(7) == (False, False, False)
    assert lines_reversed(1) == (False, False, False)
    assert lines_reversed(4) == (True, False, False)
    assert lines_reversed(8) == (True, True, True)
    assert relays_closed(1) == (False, False)
    assert relays_closed(2) == (False, True)
    assert relays_closed(3) == (True, False)
    for code in range(8):
        assert state_inputs_code(inputs_high(code)) == code
    for code in range(1, 9):
        assert watts_dir_code(lines_reversed(code)) == code
    for code in range(1, 5):
        assert state_out_code(*relays_closed(code)) == code
    for bad, fn in ((8, inputs_high), (0, lines_reversed), (5, relays_closed)):
        with pytest.raises(ValueError, match="outside"):
            fn(bad)


def test_make_reading_derives_signed_watts_and_power_factor() -> None:
    reading = make_reading(
        "300000001",
        Protocol.V4,
        "1024",
        "15",
        {
            "RMS_Watts_Ln_1": 100,
            "RMS_Watts_Ln_2": 40,
            "RMS_Watts_Ln_3": 0,
            "RMS_Watts_Tot": 140,
            "State_Watts_Dir": 2,  # FFR: line 3 reversed
            "Cos_Theta_Ln_1": "0.83 L",
            "State_Out": 3,
            "State_Inputs": 5,
            "Meter_Time": "26112503120000",
        },
    )
    assert reading["Net_Calc_Watts_Ln_1"] == 100
    assert reading["Net_Calc_Watts_Tot"] == 140
    assert reading["Power_Factor_Ln_1"] == 0.83
    assert reading.power_factor(1) == PowerFactor(0.83, "lag")
    assert reading.power_factor(2) is None
    assert reading.relay_closed(1) is True and reading.relay_closed(2) is False
    assert [reading.input_high(n) for n in (1, 2, 3)] == [False, True, False]
    assert reading.meter_time == datetime(2026, 11, 25, 12, 0, 0)
    assert reading.as_dict()["Meter"] == "300000001"  # address kept as given here
    assert "kWh_Tot" not in reading and reading.get("kWh_Tot") is None


def test_make_reading_reverse_line_is_negative() -> None:
    reading = make_reading(
        "1",
        Protocol.V4,
        "1024",
        "15",
        {"RMS_Watts_Ln_1": 500, "RMS_Watts_Ln_2": 200, "RMS_Watts_Ln_3": 0, "State_Watts_Dir": 3},
    )
    assert reading["Net_Calc_Watts_Ln_2"] == -200
    assert reading["Net_Calc_Watts_Tot"] == 300


def test_v3_without_direction_is_import_only() -> None:
    reading = make_reading("17507", Protocol.V3, "1017", "15", {"RMS_Watts_Ln_1": 10, "RMS_Watts_Tot": 10})
    assert reading["Net_Calc_Watts_Tot"] == 10
    assert reading.relay_closed(1) is None and reading.input_high(1) is None


def test_models_and_addresses() -> None:
    assert protocol_of_model("1017") is Protocol.V3
    assert protocol_of_model("1024") is Protocol.V4
    assert model_name("1024") == "Omnimeter Pulse v.4"
    assert model_name("9999") == "Omnimeter (model 9999)"
    assert normalize_address("17507") == "000000017507"
    assert normalize_address(300000001) == "000300000001"
    for bad in ("", "12a", "1234567890123"):
        with pytest.raises(ValueError, match="12 digits"):
            normalize_address(bad)


def test_import_and_net_energy_from_total_and_reverse() -> None:
    """kWh_Tot counts both directions: import = total - reverse, net = import - reverse."""
    reading = make_reading("300000001", Protocol.V4, "1024", "15", {"kWh_Tot": 100.1, "Rev_kWh_Tot": 30.3})
    assert reading["Fwd_kWh_Tot"] == 69.8
    assert reading["Net_kWh_Tot"] == 39.5
    without_reverse = make_reading("17507", Protocol.V3, "1017", "15", {"kWh_Tot": 5.0})
    assert "Fwd_kWh_Tot" not in without_reverse
