"""The bus coordinator against a misbehaving bus: silent meters, a lost port, corrupted frames."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
import logging
from types import MappingProxyType

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ekm.aioekm.errors import (
    AddressMismatchError,
    CrcError,
    EkmTimeoutError,
    FieldValueError,
)
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.fleet import ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.guard import CONFIRM_READS, MonotonicGuard
from custom_components.ekm.helpers import failure_reason

from .conftest import FROZEN_T, OPTIONS, V3, V4


async def _poll(hass: HomeAssistant) -> None:
    """Let the coordinator's timer fire once."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=OPTIONS["scan_interval"] + 1))
    # The refresh runs as a background task; firing timers while it reads would cut its timeouts short.
    await hass.async_block_till_done(wait_background_tasks=True)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """How many records at INFO or above (what a user's log shows) contain `text`."""
    return sum(1 for r in caplog.records if r.levelno >= logging.INFO and text in r.getMessage())


def _states(hass: HomeAssistant, entry: MockConfigEntry, address: str) -> dict[str, str]:
    registry = er.async_get(hass)
    out: dict[str, str] = {}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        if entity.entity_category is EntityCategory.CONFIG:
            continue  # settings: their states are options, not the reading's values
        if entity.unique_id.startswith(address) and state is not None:
            out[entity.unique_id.removeprefix(f"{address}_")] = state.state
    return out


async def test_one_silent_meter(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Rs485Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the silent meter's entities go unavailable; it is logged once down and once up."""
    simulator.faults.silent_meters.add(V3)
    await _poll(hass)
    await _poll(hass)
    v3, v4 = _states(hass, loaded_entry, V3), _states(hass, loaded_entry, V4)
    assert v3.pop("communicating") == STATE_OFF
    assert set(v3.values()) == {STATE_UNAVAILABLE}
    assert v4.pop("communicating") == STATE_ON
    assert STATE_UNAVAILABLE not in v4.values()
    assert loaded_entry.runtime_data.coordinator.failures == {V3: "timeout"}
    assert _logged(caplog, f"Meter {V3} is unavailable (timeout)") == 1

    simulator.faults.silent_meters.clear()
    await _poll(hass)
    await _poll(hass)
    v3 = _states(hass, loaded_entry, V3)
    assert v3["communicating"] == STATE_ON
    assert STATE_UNAVAILABLE not in v3.values()
    assert _logged(caplog, f"Meter {V3} is answering again") == 1


async def test_bus_lost_and_back(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Rs485Simulator,
    fleet: Fleet,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The adapter vanishes: every entity is unavailable; it returns: the bus reconnects by itself.

    The loss and the recovery are logged once each, however many polls fail.
    """
    await simulator.disconnect()
    await _poll(hass)
    await _poll(hass)
    assert _logged(caplog, f"The RS-485 bus {loaded_entry.data['port']} is unavailable") == 1
    coordinator = loaded_entry.runtime_data.coordinator
    assert not coordinator.last_update_success
    for address in (V4, V3):
        states = _states(hass, loaded_entry, address)
        assert states.pop("communicating") == STATE_OFF
        assert set(states.values()) == {STATE_UNAVAILABLE}

    await simulator.reconnect()
    await asyncio.sleep(1.1)  # the library's first reconnect backoff (real time)
    await _poll(hass)
    await _poll(hass)
    assert coordinator.last_update_success
    assert coordinator.bus.connected
    assert _logged(caplog, "Fetching ekm data recovered") == 1
    states = _states(hass, loaded_entry, V4)
    assert states["communicating"] == STATE_ON
    assert float(states["kWh_Tot"]) == fleet.meters[V4].values(FROZEN_T)["kWh_Tot"]


async def test_corrupted_frames_never_published(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator, fleet: Fleet
) -> None:
    """With half the frames corrupted, every published value is still exactly the meter's."""
    simulator.faults.crc_error_rate = 0.5
    truth = {address: fleet.meters[address].reading(FROZEN_T) for address in (V4, V3)}
    checked = 0
    for _ in range(6):
        await _poll(hass)
        for address, reading in truth.items():
            for name, state in _states(hass, loaded_entry, address).items():
                if state == STATE_UNAVAILABLE or name not in reading:
                    continue
                value = reading[name]
                assert (state == value) if isinstance(value, str) else (float(state) == value), name
                checked += 1
    assert checked > 20  # some polls did get through
    assert loaded_entry.runtime_data.coordinator.bus.stats(V4).crc_errors > 0


async def test_all_frames_corrupted(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """Nothing valid arrives: nothing is published, the meters are unavailable for CRC errors."""
    simulator.faults.crc_error_rate = 1.0
    await _poll(hass)
    coordinator = loaded_entry.runtime_data.coordinator
    assert not coordinator.last_update_success
    assert coordinator.failures == {V4: "crc", V3: "crc"}
    states = _states(hass, loaded_entry, V4)
    assert states.pop("communicating") == STATE_OFF
    assert set(states.values()) == {STATE_UNAVAILABLE}


async def test_energy_never_goes_down(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, clock: ManualClock
) -> None:
    """A register reading lower is held; only a drop that persists is published (a real reset)."""
    meter = fleet.meters[V4]
    before = float(_states(hass, loaded_entry, V4)["kWh_Tot"])
    meter.start_kwh -= 100
    for _ in range(CONFIRM_READS - 1):
        await _poll(hass)
        assert float(_states(hass, loaded_entry, V4)["kWh_Tot"]) == before
    await _poll(hass)
    assert float(_states(hass, loaded_entry, V4)["kWh_Tot"]) == meter.values(FROZEN_T)["kWh_Tot"]
    assert loaded_entry.runtime_data.coordinator.diagnostics()["held_values"][V4] > 0


async def test_b_frame_every_nth_cycle(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """v4: the A frame every cycle, the B frame every 3rd (OPTIONS); v3 has one frame."""
    simulator.log.clear()
    for _ in range(6):
        await _poll(hass)
    reads = [r.layout.value for r in simulator.log if r.kind == "read" and r.address == V4 and r.layout]
    assert reads.count("v4a") == 6
    assert reads.count("v4b") == 2


def test_failure_reasons() -> None:
    assert failure_reason(EkmTimeoutError("x")) == "timeout"
    assert failure_reason(CrcError("x")) == "crc"
    assert failure_reason(AddressMismatchError("x")) == "wrong_address"
    assert failure_reason(FieldValueError("x")) == "bad_reply"


def test_guard() -> None:
    """A lower register is held until it has been lower CONFIRM_READS times in a row."""
    guard = MonotonicGuard()
    base = Fleet.parse("300000001:v4").meters[V4].reading(FROZEN_T)

    def with_kwh(value: float) -> float:
        reading = replace(base, values=MappingProxyType({**base.values, "kWh_Tot": value, "Pulse_Cnt_1": 5}))
        published = guard.apply(reading)
        assert published["Pulse_Cnt_1"] == 5
        return float(published["kWh_Tot"])

    assert with_kwh(100.0) == 100.0
    assert with_kwh(101.0) == 101.0
    assert with_kwh(50.0) == 101.0  # one bad read
    assert with_kwh(102.0) == 102.0  # and the count starts again
    assert [with_kwh(10.0) for _ in range(CONFIRM_READS)] == [102.0] * (CONFIRM_READS - 1) + [10.0]
    assert with_kwh(10.5) == 10.5
    assert guard.apply(base) is not None


def test_guard_holds_a_leap_the_meter_cannot_count() -> None:
    """A register that rose by more than the meter can count between two reads (one bad cloud
    answer, 1234.5 -> 99999999 kWh) is held: HA would add the leap to its statistics for good.
    A leap the following reads go on from (a replaced meter) is taken after CONFIRM_READS."""
    guard = MonotonicGuard()
    base = Fleet.parse("300000001:v4").meters[V4].reading(FROZEN_T)
    start = base.timestamp
    assert start is not None

    def read(seconds: float, kwh: float, pulses: int) -> tuple[float, int]:
        values = {**base.values, "kWh_Tot": kwh, "Pulse_Cnt_1": pulses, "CT_Ratio": 200}
        reading = replace(base, values=values, timestamp=start + timedelta(seconds=seconds))
        published = guard.apply(reading)
        return float(published["kWh_Tot"]), int(published["Pulse_Cnt_1"])

    assert read(0, 1234.5, 100) == (1234.5, 100)
    assert read(60, 99999999.0, 99999999) == (1234.5, 100)  # held
    assert read(120, 1234.6, 102) == (1234.6, 102)  # and the next true read goes on
    # CT 200: at most 3 x 600 V x 400 A = 720 kW, i.e. 12 kWh in a minute (+1 of slack).
    assert read(180, 1247.5, 103) == (1247.5, 103)
    assert read(240, 1300.0, 104) == (1247.5, 104)
    assert read(250, 1248.0, 104) == (1248.0, 104)
    # A real leap (another meter put in): the reads after it go on from it.
    assert [read(300 + 60 * n, 5000.0 + n, 105 + n)[0] for n in range(CONFIRM_READS)] == [1248.0] * (
        CONFIRM_READS - 1
    ) + [5000.0 + CONFIRM_READS - 1]
