"""The virtual fleet: plausible values, exact and monotonic registers, writes that stick."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.ekm.aioekm.readings import Protocol, frame_fields, relays_closed
from custom_components.ekm.aioekm.simulator.fleet import EPOCH, Fleet

T0 = EPOCH + 300 * 86400.0


def test_parse_cli_spec() -> None:
    fleet = Fleet.parse("300000001:v4,000000017507:v3, 17")
    assert list(fleet.meters) == ["000300000001", "000000017507", "000000000017"]
    assert fleet.meters["000000017507"].protocol is Protocol.V3
    assert fleet.meters["000000000017"].protocol is Protocol.V4  # v4 by default
    assert fleet.meters["000300000001"].gateway.startswith("4016fa")


def test_values_are_plausible_and_reproducible() -> None:
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    values = meter.values(T0)
    assert values == meter.values(T0)
    assert 119.5 < float(values["RMS_Volts_Ln_1"]) < 120.5
    assert 59.9 < float(values["Line_Freq"]) < 60.1
    assert values["kWh_Scale"] == 2
    assert set(values) == frame_fields(Protocol.V4)


def test_registers_rise_with_power() -> None:
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    hour_later = T0 + 3600
    gained = meter.total_kwh(hour_later) - meter.total_kwh(T0)
    watts = [sum(line.watts(T0 + s) for line in meter.lines) for s in range(0, 3600, 60)]
    assert gained == pytest.approx(sum(watts) / 60 / 1000, rel=0.01)
    kwh = [float(meter.values(T0 + s)["kWh_Tot"]) for s in range(0, 7200, 300)]
    assert kwh == sorted(kwh) and kwh[-1] > kwh[0]
    counts = [int(meter.values(T0 + s)["Pulse_Cnt_1"]) for s in range(0, 600, 60)]
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_v3_meter_reports_only_v3_fields() -> None:
    meter = Fleet.parse("17507:v3").meters["000000017507"]
    values = meter.values(T0)
    assert "State_Out" not in values and "Line_Freq" not in values
    assert round(float(values["kWh_Tot"]) * 10) == float(values["kWh_Tot"]) * 10  # one decimal
    with pytest.raises(ValueError, match="relays"):
        meter.set_relay(1, True)


def test_relay_writes_stick_and_timed_relays_revert() -> None:
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    meter.set_relay(1, True, t=T0)
    assert relays_closed(int(meter.values(T0 + 100)["State_Out"])) == (True, False)
    meter.set_relay(2, True, seconds=5, t=T0)
    assert relays_closed(int(meter.values(T0 + 1)["State_Out"])) == (True, True)
    assert relays_closed(int(meter.values(T0 + 6)["State_Out"])) == (True, False)


def test_settings_writes() -> None:
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    meter.ct_ratio = 1500
    assert meter.values(T0)["CT_Ratio"] == 1500 and meter.values(T0)["kWh_Scale"] == 1
    meter.zero_resettable(t=T0)
    assert float(meter.values(T0)["kWh_Rst"]) == 0.0
    assert float(meter.values(T0 + 3600)["kWh_Rst"]) > 0.0
    meter.values(T0)
    assert float(meter.values(T0)["RMS_Watts_Max_Demand"]) > 0
    meter.reset_max_demand()
    assert meter.max_demand_w == 0.0
    meter.set_clock(datetime(2030, 1, 1, 0, 0, 0), t=T0)
    assert str(meter.values(T0)["Meter_Time"]).startswith("300101")


def test_reading_is_a_meter_reading() -> None:
    fleet = Fleet.parse("300000001:v4")
    reading = fleet.meters["000300000001"].reading(T0)
    assert reading.address == "000300000001"
    assert reading.protocol is Protocol.V4
    assert reading["Net_Calc_Watts_Tot"] == reading["RMS_Watts_Tot"]


def test_an_exporting_line_counts_as_reverse() -> None:
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    meter.lines[1].reverse = True
    reading = meter.reading(T0)
    assert float(reading["Rev_kWh_Tot"]) > 0
    assert reading["State_Watts_Dir"] == 3  # FRF: line 2 reversed
    assert reading["Net_Calc_Watts_Ln_2"] == -int(reading["RMS_Watts_Ln_2"])
    fwd, rev = float(reading["Fwd_kWh_Tot"]), float(reading["Rev_kWh_Tot"])
    assert reading["Net_kWh_Tot"] == pytest.approx(fwd - rev, abs=0.011)
    assert float(reading["kWh_Tot"]) == pytest.approx(fwd + rev, abs=0.011)


def test_looking_back_does_not_change_the_meter() -> None:
    """Summaries read past instants; they must not raise max demand or flip relays."""
    meter = Fleet.parse("300000001:v4").meters["000300000001"]
    meter.values(T0)
    demand = meter.max_demand_w
    for hours_back in range(1, 48):
        meter.values(T0 - 3600 * hours_back)
    assert meter.max_demand_w == demand
    meter.set_relay(1, True, seconds=5, t=T0)
    meter.values(T0 - 100)
    assert meter.relays[0] is True
    assert relays_closed(int(meter.values(T0 + 6)["State_Out"])) == (False, False)
