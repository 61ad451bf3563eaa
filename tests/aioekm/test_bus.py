"""The bus client against the simulator over a real pty and a real TCP socket: reads and writes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
import logging
from typing import Any

import pytest

from custom_components.ekm.aioekm.errors import CommandRejectedError, EkmConnectionError
from custom_components.ekm.aioekm.fields import FIELDS, Kind, Layout
from custom_components.ekm.aioekm.readings import MeterReading, Protocol
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.requests import SIGN_OFF, password_frame, read_request, write_frame
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, VirtualMeter
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .conftest import V3, V4, V4_OTHER, make_bus


async def settled(sim: Rs485Simulator) -> None:
    """Wait until the simulator has heard the sign-off the client sent last."""
    for _ in range(100):
        if sim.raw_log[-1:] == [SIGN_OFF]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no sign-off seen; last requests: {sim.raw_log[-3:]}")


EXACT_KINDS = (Kind.KWH, Kind.INT, Kind.CODE, Kind.TIME, Kind.COS_THETA)


def assert_matches_meter(reading: MeterReading, meter: VirtualMeter, t: float) -> None:
    """Every field equals the virtual meter's own value at t: registers exactly."""
    expected = meter.reading(t)
    assert reading.address == meter.address
    assert reading.protocol is meter.protocol
    assert reading.model == meter.model
    assert reading.firmware == meter.firmware
    assert set(reading.values) == set(expected.values)
    for name, value in expected.values.items():
        if FIELDS[name].kind in EXACT_KINDS:
            assert reading[name] == value, name
        else:
            assert reading[name] == pytest.approx(value, abs=1e-9), name
    assert reading.meter_time == expected.meter_time


async def test_read_v4(bus: EkmBus, fleet: Fleet, clock: ManualClock) -> None:
    reading = await bus.read(V4)
    assert_matches_meter(reading, fleet.meters[V4], clock.t)
    assert reading.protocol is Protocol.V4
    assert reading["kWh_Scale"] == 2 and reading["CT_Ratio"] == 200  # B-only field present
    assert isinstance(reading["kWh_Tot"], float) and reading["kWh_Tot"] > 1000


async def test_read_v3(bus: EkmBus, fleet: Fleet, clock: ManualClock) -> None:
    reading = await bus.read(V3)
    assert_matches_meter(reading, fleet.meters[V3], clock.t)
    assert reading.protocol is Protocol.V3 and reading.model == "1017"


async def test_readings_follow_the_meter_over_time(bus: EkmBus, fleet: Fleet, clock: ManualClock) -> None:
    first = await bus.read(V4)
    clock.advance(3600)
    second = await bus.read(V4)
    assert_matches_meter(second, fleet.meters[V4], clock.t)
    assert second["kWh_Tot"] > first["kWh_Tot"]  # type: ignore[operator]


async def test_short_addresses_are_padded(bus: EkmBus) -> None:
    reading = await bus.read("300000001")
    assert reading.address == V4


async def test_protocol_detected_once_and_remembered(bus: EkmBus, sim: Rs485Simulator) -> None:
    assert await bus.detect_protocol(V3) is Protocol.V3
    assert await bus.detect_protocol(V4) is Protocol.V4
    await settled(sim)
    sim.raw_log.clear()
    await bus.read(V3)
    await settled(sim)
    # Known v3 now: one v3 read and the sign-off, no v4 attempt.
    assert sim.raw_log == [read_request(V3, Layout.V3), SIGN_OFF]


async def test_read_sends_a_then_b_then_sign_off(bus: EkmBus, sim: Rs485Simulator) -> None:
    await bus.read(V4, protocol=Protocol.V4)
    await settled(sim)
    assert sim.raw_log == [
        read_request(V4, Layout.V4A),
        read_request(V4, Layout.V4B),
        SIGN_OFF,
    ]


async def test_read_without_b_merges_the_cached_b(bus: EkmBus, sim: Rs485Simulator, fleet: Fleet) -> None:
    meter = fleet.meters[V4]
    no_b_yet = await bus.read(V4, read_b=False)
    assert "CT_Ratio" not in no_b_yet and "kWh_Tot" in no_b_yet
    await bus.read(V4)  # caches B with CT 200
    meter.ct_ratio = 400
    await settled(sim)
    sim.raw_log.clear()
    cached = await bus.read(V4, read_b=False)
    await settled(sim)
    assert sim.raw_log == [read_request(V4, Layout.V4A), SIGN_OFF]
    assert cached["CT_Ratio"] == 200  # B values are those of the last B read
    fresh = await bus.read(V4)
    assert fresh["CT_Ratio"] == 400


async def test_scan_returns_the_meters_that_answer(url: str, fleet: Fleet) -> None:
    async with make_bus(url, first_byte_timeout=0.05) as bus:
        found = await bus.scan(str(n) for n in range(300000000, 300000005))
        assert [r.address for r in found] == [V4, V4_OTHER]
        assert all(r.protocol is Protocol.V4 and "CT_Ratio" in r for r in found)
        assert [r.address for r in await bus.scan([V3, "17508"])] == [V3]


# --- writes ---------------------------------------------------------------------------


async def test_relay_on_off(bus: EkmBus, fleet: Fleet, sim: Rs485Simulator) -> None:
    meter = fleet.meters[V4]
    reading = await bus.set_relay(V4, 1, True)
    assert meter.relays == [True, False]
    assert reading.relay_closed(1) is True
    assert sim.raw_log[:4] == [
        read_request(V4, Layout.V4A),
        password_frame("00000000"),
        write_frame("0081", "10000"),
        SIGN_OFF,
    ]
    reading = await bus.set_relay(V4, 2, True)
    assert meter.relays == [True, True] and reading["State_Out"] == 4
    reading = await bus.set_relay(V4, 1, False)
    assert meter.relays == [False, True] and reading.relay_closed(1) is False


async def test_timed_relay_flips_back(bus: EkmBus, fleet: Fleet, clock: ManualClock) -> None:
    meter = fleet.meters[V4]
    reading = await bus.set_relay(V4, 2, True, seconds=30)
    assert meter.relays[1] is True and reading.relay_closed(2) is True
    assert meter.relay_until[1] == clock.t + 30
    clock.advance(31)
    assert (await bus.read(V4)).relay_closed(2) is False
    assert meter.relays[1] is False


SETTINGS: list[
    tuple[str, Callable[[EkmBus], Awaitable[MeterReading]], Callable[[VirtualMeter], Any], Any]
] = [
    ("ct_ratio", lambda b: b.set_ct_ratio(V4, 800), lambda m: m.ct_ratio, 800),
    ("pulse_input", lambda b: b.set_pulse_input_ratio(V4, 2, 50), lambda m: m.pulse_ratios, [1, 50, 1]),
    ("pulse_output", lambda b: b.set_pulse_output_ratio(V4, 1600), lambda m: m.cf_ratio, 1600),
    ("md_period", lambda b: b.set_max_demand_period(V4, 30), lambda m: m.max_demand_period, 2),
    ("md_reset", lambda b: b.set_max_demand_auto_reset(V4, "daily"), lambda m: m.max_demand_rst, 3),
    ("lcd", lambda b: b.set_lcd_items(V4, [1, 2, "RMS_Watts_Tot"]), lambda m: m.lcd_items, [1, 2, 12]),
    ("password", lambda b: b.change_password(V4, "12345678"), lambda m: m.password, "12345678"),
    ("v3_md_period", lambda b: b.set_max_demand_period(V3, 60), lambda m: m.max_demand_period, 3),
]


@pytest.mark.parametrize(("name", "call", "state", "expected"), SETTINGS, ids=[s[0] for s in SETTINGS])
async def test_settings_change_the_meter(  # noqa: PLR0917  (parametrized)
    bus: EkmBus,
    fleet: Fleet,
    name: str,
    call: Callable[[EkmBus], Awaitable[MeterReading]],
    state: Callable[[VirtualMeter], Any],
    expected: Any,
) -> None:
    meter = fleet.meters[V3 if name.startswith("v3") else V4]
    assert state(meter) != expected
    reading = await call(bus)
    assert state(meter) == expected
    assert reading.address == meter.address
    if name == "ct_ratio":
        assert reading["CT_Ratio"] == 800 and reading["kWh_Scale"] == 1  # the read-back is fresh
    if name == "pulse_output":
        assert reading["CF_Ratio"] == 1600


async def test_set_time(bus: EkmBus, fleet: Fleet) -> None:
    when = datetime(2030, 6, 2, 12, 34, 56)  # a Sunday
    reading = await bus.set_time(V3, when)
    assert reading.meter_time is not None
    assert abs((reading.meter_time - when).total_seconds()) <= 1
    assert str(reading["Meter_Time"])[6:8] == "01"  # weekday 01 = Sunday on the wire
    assert fleet.meters[V3].clock_offset_s != 0


async def test_zero_resettable_and_reset_max_demand(bus: EkmBus, fleet: Fleet) -> None:
    meter = fleet.meters[V4]
    assert (await bus.read(V4))["kWh_Rst"] > 0  # type: ignore[operator]
    reading = await bus.zero_resettable_kwh(V4)
    assert reading["kWh_Rst"] == 0.0 and meter.rst_baseline_kwh > 0
    meter.max_demand_w = 99_999.0
    reading = await bus.reset_max_demand(V4)
    assert meter.max_demand_w < 99_999.0
    assert reading["RMS_Watts_Max_Demand"] == pytest.approx(meter.max_demand_w, abs=0.1)


async def test_wrong_password_is_rejected(
    bus: EkmBus, fleet: Fleet, sim: Rs485Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    meter = fleet.meters[V4]
    meter.password = "24681357"
    caplog.set_level(logging.DEBUG, logger="custom_components.ekm")
    with pytest.raises(CommandRejectedError, match="did not answer the password") as err:
        await bus.set_relay(V4, 1, True, password="11112222")
    assert meter.relays == [False, False]
    assert "11112222" not in str(err.value) and "24681357" not in str(err.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components.ekm")]
    assert not any("11112222" in line for line in ours)
    await settled(sim)
    assert not any(r.kind == "write" for r in sim.log)  # never sent after a refused password
    assert sim.raw_log[-1] == SIGN_OFF
    reading = await bus.set_relay(V4, 1, True, password="24681357")
    assert reading.relay_closed(1) is True and meter.relays[0] is True


async def test_v4_only_settings_refused_on_a_v3_meter(bus: EkmBus, sim: Rs485Simulator) -> None:
    with pytest.raises(CommandRejectedError, match="v3 meter"):
        await bus.set_relay(V3, 1, True)
    await settled(sim)
    assert not any(r.kind in ("password", "write") for r in sim.log)


async def test_bad_arguments_fail_before_any_io(bus: EkmBus, sim: Rs485Simulator) -> None:
    with pytest.raises(ValueError, match="8 digits"):
        await bus.set_relay(V4, 1, True, password="secret")
    with pytest.raises(ValueError, match="CT ratio"):
        await bus.set_ct_ratio(V4, 333)
    with pytest.raises(ValueError, match="relay"):
        await bus.set_relay(V4, 3, True)
    with pytest.raises(ValueError, match="12 digits"):
        await bus.read("not-an-address")
    assert sim.log == []


async def test_month_table(bus: EkmBus, fleet: Fleet, clock: ManualClock) -> None:
    meter = fleet.meters[V4]
    table = await bus.read_month_table(V4)
    assert table.register == "0011" and not table.reverse and len(table.months) == 6
    totals = [month.total for month in table.months]
    assert totals == sorted(totals, reverse=True)  # newest month first, registers only rise
    assert totals[0] <= meter.total_kwh(clock.t)
    reverse = await bus.read_month_table(V4, reverse=True)
    assert reverse.register == "0012" and reverse.reverse


async def test_stats_count_good_reads(bus: EkmBus) -> None:
    assert bus.stats(V4).good_reads == 0 and bus.stats(V4).last_success is None
    await bus.read(V4)
    await bus.read(V4)
    stats = bus.stats("300000001")
    assert stats.good_reads == 2
    assert stats.last_success is not None and stats.last_error is None
    assert stats.crc_errors == stats.timeouts == stats.other_errors == 0


async def test_open_failures_are_connection_errors(socket_enabled: None) -> None:
    with pytest.raises(EkmConnectionError):
        await EkmBus("/dev/does-not-exist-ekm").open()
    with pytest.raises(EkmConnectionError):
        await EkmBus("socket://127.0.0.1:1").open()
    bus = EkmBus("socket://127.0.0.1:1")
    assert not bus.connected
    with pytest.raises(EkmConnectionError, match="not open"):
        await bus.read(V4)


async def test_bus_repr_hides_nothing_secret(bus: EkmBus) -> None:
    assert "EkmBus" in repr(bus) and "connected=True" in repr(bus)


async def test_password_never_reaches_any_log(
    bus: EkmBus, fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    """Even serialx's own debug logs of written bytes lose the password frame."""
    fleet.meters[V4].password = "86420975"
    caplog.set_level(logging.DEBUG)
    await bus.set_relay(V4, 1, True, password="86420975")
    assert fleet.meters[V4].relays[0] is True
    serialx_records = [r for r in caplog.records if r.name.startswith("serialx")]
    assert any("(********)" in r.getMessage() for r in serialx_records) or not serialx_records
    assert "86420975" not in caplog.text
    assert password_frame("86420975").hex(" ") not in caplog.text
