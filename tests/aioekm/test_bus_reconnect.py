"""The bus reconnects by itself when the adapter (pty or TCP) goes away and comes back."""

from __future__ import annotations

import asyncio
import logging

import pytest

from custom_components.ekm.aioekm.errors import EkmConnectionError
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .conftest import V4
from .test_bus import assert_matches_meter

BUS_LOGGER = "custom_components.ekm.aioekm.rs485.port"


def is_connected(bus: EkmBus) -> bool:
    return bus.connected  # a call, so that type narrowing does not outlive an await


def bus_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == BUS_LOGGER and r.levelno == level]


async def test_reconnects_after_the_port_drops_and_returns(
    bus: EkmBus, sim: Rs485Simulator, fleet: Fleet, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=BUS_LOGGER)
    await bus.read(V4)
    await sim.disconnect()
    for _ in range(3):  # lost, then backoff / failed reopen: each a connection error
        with pytest.raises(EkmConnectionError):
            await bus.read(V4)
        await asyncio.sleep(0.06)
    assert not is_connected(bus)
    assert bus.stats(V4).other_errors >= 1
    await sim.reconnect()
    for _ in range(50):  # the backoff is at most 0.2 s in these tests
        try:
            reading = await bus.read(V4)
            break
        except EkmConnectionError:
            await asyncio.sleep(0.05)
    else:
        pytest.fail("the bus did not come back")
    assert is_connected(bus)
    assert_matches_meter(reading, fleet.meters[V4], clock.t)
    # The loss and the recovery are logged once each, however many polls failed.
    assert len(bus_records(caplog, logging.WARNING)) == 1
    assert len(bus_records(caplog, logging.INFO)) == 1
    assert "went away" in bus_records(caplog, logging.WARNING)[0]
    assert "is back" in bus_records(caplog, logging.INFO)[0]


async def test_backoff_spaces_reopen_attempts(url: str, sim: Rs485Simulator, socket_enabled: None) -> None:
    async with EkmBus(url, first_byte_timeout=0.2, reconnect_backoff=(0.3, 0.6)) as bus:
        await bus.read(V4)
        await sim.disconnect()
        for _ in range(2):  # the loss (seen mid-read or before), then a failed reopen
            with pytest.raises(EkmConnectionError):
                await bus.read(V4)
        await sim.reconnect()
        with pytest.raises(EkmConnectionError, match="next reconnect attempt"):
            await bus.read(V4)  # inside the backoff: not even tried
        await asyncio.sleep(0.35)
        assert (await bus.read(V4)).address == V4


async def test_close_is_final(bus: EkmBus) -> None:
    await bus.read(V4)
    await bus.close()
    assert not bus.connected
    with pytest.raises(EkmConnectionError, match="not open"):
        await bus.read(V4)
    await bus.open()
    assert (await bus.read(V4)).address == V4
