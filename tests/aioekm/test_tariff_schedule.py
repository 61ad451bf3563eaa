"""Tariff schedules: the write frame, its validation, and the simulator keeping what is written."""

from __future__ import annotations

from datetime import time

import pytest

from custom_components.ekm.aioekm.errors import CommandRejectedError
from custom_components.ekm.aioekm.rs485 import commands
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.tariffs import TariffPeriod
from custom_components.ekm.aioekm.simulator.fleet import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from . import vectors
from .conftest import V3, V4


def test_frame_matches_the_lua_example() -> None:
    command = commands.tariff_schedule(5, [(3, 0, 1), (4, 0, 2), (7, 0, 3), (11, 0, 4)])
    assert commands.frame(command) == vectors.lua_schedule_frame()
    assert commands.tariff_schedule(1, [(0, 30, 2)]) == ("0070", "003002" + "0" * 42)


@pytest.mark.parametrize(
    ("schedule", "periods", "message"),
    [
        (0, [(0, 0, 1)], "schedule must be 1..6"),
        (7, [(0, 0, 1)], "schedule must be 1..6"),
        (1, [], "1..4 periods"),
        (1, [(0, 0, 1)] * 5, "1..4 periods"),
        (1, [(24, 0, 1)], "hour must be 0..23"),
        (1, [(0, 60, 1)], "minute must be 0..59"),
        (1, [(0, 0, 5)], "tariff must be 1..4"),
        (1, [(0, 0, 0)], "tariff must be 1..4"),
        (1, [(8, 0, 1), (7, 0, 2)], "in order"),
        (1, [(8, 0, 1), (8, 0, 2)], "different times"),
    ],
)
def test_rejects(schedule: int, periods: list[tuple[int, int, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        commands.tariff_schedule(schedule, periods)


@pytest.mark.parametrize("address", [V4, V3])
async def test_written_schedule_is_kept_by_the_meter(
    bus: EkmBus, fleet: Fleet, sim: Rs485Simulator, address: str
) -> None:
    reading = await bus.set_tariff_schedule(address, 2, [(6, 0, 1), (22, 30, 2)])
    assert reading.address == address
    assert fleet.meters[address].tariffs.schedule(2).periods == (
        TariffPeriod(time(6, 0), 1),
        TariffPeriod(time(22, 30), 2),
    )
    assert [r.data for r in sim.log if r.kind == "write"] == ["060001223002" + "0" * 36]


async def test_wrong_password_leaves_the_schedules(bus: EkmBus, fleet: Fleet) -> None:
    fleet.meters[V4].password = "99999999"
    before = fleet.meters[V4].tariffs
    with pytest.raises(CommandRejectedError):
        await bus.set_tariff_schedule(V4, 1, [(0, 0, 1)])
    assert fleet.meters[V4].tariffs == before
