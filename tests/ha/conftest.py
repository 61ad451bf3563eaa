"""Fixtures for the Home Assistant tests: a virtual fleet on a real pty, entries, snapshots."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant import block_async_io
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ekm import flow_bus
from custom_components.ekm.aioekm.simulator import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator
from custom_components.ekm.const import (
    CONF_B_FRAME_EVERY,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_TIMEOUT,
    DOMAIN,
)

from .loop_holds import LoopHolds

V4 = "000300000001"
V3 = "000000017507"
BUS_UNIQUE_ID = f"rs485_{V3}"  # the bus is named after its lowest meter address
FLEET_SPEC = "300000001:v4,000000017507:v3"
# Simulated time is frozen here unless a test moves it: readings are reproducible.
FROZEN_T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()
METER_CLOCK = datetime(2026, 6, 1, 8, 0, 0)  # what the meters' own clocks show at FROZEN_T
PASSWORD = "12345678"
OPTIONS = {CONF_SCAN_INTERVAL: 5, CONF_B_FRAME_EVERY: 3, CONF_TIMEOUT: 0.2, CONF_RETRIES: 1}


# A step of the event loop may use this much CPU time (tests/ha/loop_holds.py says why CPU,
# not wall, time). A blocking read or sleep in our code is HA's blocking-call detector's.
SLOW_CALLBACK = 0.5


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components.ekm in every HA test."""


@pytest.fixture(autouse=True)
def blocking_call_detector(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Generator[None]:
    """HA's detector of blocking calls in the event loop, on for every test; it must stay quiet.

    No step of the loop may hold it longer than SLOW_CALLBACK, except those of the test
    function's own task (between two awaits it runs test code, not the integration).
    HA's reports of deprecated API use by this integration fail the test too.
    """
    block_async_io.enable()
    try:
        with LoopHolds(SLOW_CALLBACK) as holds:
            yield
    finally:
        for call in block_async_io._BLOCKED_CALLS.calls:
            setattr(call.object, call.function, call.original_func)
        block_async_io._BLOCKED_CALLS.calls.clear()
    noisy = [
        r.getMessage()
        for r in caplog.get_records("call")
        if "Detected blocking call" in r.getMessage()
        or "Detected that custom integration 'ekm'" in r.getMessage()  # deprecated HA API use
    ]
    noisy += holds.held(not_of=f"coro=<{request.node.originalname}()")
    assert not noisy, noisy


@pytest.fixture(autouse=True)
def short_flow_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Meters that do not answer cost little time in the config flow."""
    monkeypatch.setattr(flow_bus, "PROBE_TIMEOUT", 0.2)
    monkeypatch.setattr(flow_bus, "SCAN_TIMEOUT", 0.1)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled (HA core's fixture of the same name)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FROZEN_T)


@pytest.fixture
def fleet(clock: ManualClock) -> Fleet:
    """A v4 meter (password PASSWORD) and a v3 meter."""
    fleet = Fleet.parse(FLEET_SPEC)
    fleet.clock = clock
    fleet.meters[V4].password = PASSWORD
    for meter in fleet.meters.values():  # meter clocks independent of the machine's time zone
        meter.set_clock(METER_CLOCK, t=FROZEN_T)
    return fleet


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
async def simulator(fleet: Fleet, faults: Faults) -> AsyncGenerator[Rs485Simulator]:
    sim = Rs485Simulator(fleet, turnaround=0.002, faults=faults, seed=1)
    await sim.start_pty()
    yield sim
    await sim.stop()


@pytest.fixture
async def port(simulator: Rs485Simulator) -> str:
    """The pty path of the simulated bus."""
    return await simulator.start_pty()


def entry_data(port: str, **extra: Any) -> dict[str, Any]:
    return {
        CONF_PORT: port,
        CONF_METERS: {V4: "v4", V3: "v3"},
        CONF_PASSWORD: PASSWORD,
        **extra,
    }


@pytest.fixture
def entry(hass: HomeAssistant, port: str) -> MockConfigEntry:
    """A bus entry with both meters, not set up yet."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"RS-485 {port}",
        unique_id=BUS_UNIQUE_ID,
        minor_version=2,
        data=entry_data(port),
        options=OPTIONS,
    )
    entry.add_to_hass(hass)
    return entry


def unique_ids(
    hass: HomeAssistant, entry: MockConfigEntry, *domains: str, enabled_only: bool = False
) -> set[str]:
    """The unique IDs of `entry`'s entities: of `domains` only, if any are given; of the enabled
    ones only, if asked."""
    return {
        e.unique_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if (not domains or e.domain in domains) and (e.disabled_by is None or not enabled_only)
    }


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, entry: MockConfigEntry) -> AsyncGenerator[MockConfigEntry]:
    """The bus entry, set up; unloaded at the end so the port closes."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Snapshots per HA minor version: entity and state reprs differ between releases."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        minor = ".".join(HA_VERSION.split(".")[:2])
        return str(Path(test_location.filepath).parent / "snapshots" / f"ha-{minor}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(VersionedSnapshotExtension)
