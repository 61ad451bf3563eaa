"""Diagnostics of a bus entry show each meter's time-of-use tables, read from the meter."""

from __future__ import annotations

from datetime import time
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yaml

from custom_components.ekm.aioekm.rs485.tariffs import (
    Holiday,
    Season,
    TariffPeriod,
    TariffSchedule,
    TariffTables,
)
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.services import SET_TARIFF_SCHEDULE_SCHEMA

from . import push_support
from .conftest import V3, V4
from .test_settings_tariff import meter_device

cloud_entry = push_support.cloud_entry
live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server

# A setup unlike the simulator's factory one, so the test sees this meter's own tables.
TABLES = TariffTables(
    schedules=(
        TariffSchedule(1, (TariffPeriod(time(6, 0), 2), TariffPeriod(time(22, 0), 1))),
        TariffSchedule(2, (TariffPeriod(time(0, 0), 3),)),
        *(TariffSchedule(n) for n in range(3, 7)),
    ),
    seasons=(Season(1, 1, 1), Season(6, 1, 2)),
    holidays=(Holiday(12, 25), Holiday(1, 1)),
    weekend_schedule=2,
    holiday_schedule=2,
)


async def download(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: MockConfigEntry
) -> dict[str, Any]:
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    return diagnostics


async def test_tables_of_each_meter(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    fleet.meters[V4].tariffs = TABLES
    simulator.log.clear()
    tariffs = (await download(hass, hass_client, loaded_entry))["tariffs"]
    assert set(tariffs) == {V4, V3}
    assert tariffs[V4]["schedules"][0] == {
        "number": 1,
        "periods": [{"start": "06:00", "tariff": 2}, {"start": "22:00", "tariff": 1}],
    }
    assert tariffs[V4]["schedules"][1] == {"number": 2, "periods": [{"start": "00:00", "tariff": 3}]}
    assert [s["periods"] for s in tariffs[V4]["schedules"][2:]] == [[]] * 4
    assert tariffs[V4]["seasons"] == [
        {"month": 1, "day": 1, "schedule": 1},
        {"month": 6, "day": 1, "schedule": 2},
    ]
    assert tariffs[V4]["holidays"] == [{"month": 12, "day": 25}, {"month": 1, "day": 1}]
    assert tariffs[V4]["weekend_schedule"] == 2
    assert tariffs[V4]["holiday_schedule"] == 2
    # The v3 meter keeps the simulator's factory setup, as read over the wire.
    assert tariffs[V3] == fleet.meters[V3].tariffs.as_dict()
    assert {r.register for r in simulator.log if r.kind == "table"} >= {"0070", "0071", "00B0"}
    # Each session opens in the meter's known protocol: no v4 read of the v3 meter timing out.
    assert [r.layout.value for r in simulator.log if r.kind == "read" and r.layout] == ["v4a", "v3"]
    assert loaded_entry.runtime_data.coordinator.bus.stats(V3).timeouts == 0


async def test_after_set_tariff_schedule(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    """The schedule written by the action is what the next download shows."""
    periods = [{"start": "07:00", "tariff": 2}, {"start": "21:30", "tariff": 1}]
    await hass.services.async_call(
        DOMAIN,
        "set_tariff_schedule",
        {"device_id": meter_device(hass, loaded_entry, V4), "schedule": 3, "periods": periods},
        blocking=True,
    )
    tariffs = (await download(hass, hass_client, loaded_entry))["tariffs"]
    assert tariffs[V4]["schedules"][2] == {"number": 3, "periods": periods}


async def test_meter_that_does_not_answer(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """A silent meter shows the error's text; the other meter's tables are still there."""
    simulator.faults.silent_meters.add(V3)
    diagnostics = await download(hass, hass_client, loaded_entry)
    error = diagnostics["tariffs"][V3]["error"]
    assert isinstance(error, str) and error
    assert "Timeout" in error
    assert diagnostics["tariffs"][V4] == fleet.meters[V4].tariffs.as_dict()


async def test_cloud_entry_has_none(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, cloud_entry: MockConfigEntry
) -> None:
    """Cloud meters' tables cannot be read over the Push APIs."""
    await push_support.set_up(hass, cloud_entry)
    assert (await download(hass, hass_client, cloud_entry))["tariffs"] is None


def test_readme_example() -> None:
    """The README's ekm.set_tariff_schedule example is valid as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Action `ekm.set_tariff_schedule`", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    example = yaml.safe_load(block)
    assert example["action"] == "ekm.set_tariff_schedule"
    data = SET_TARIFF_SCHEDULE_SCHEMA({**example["target"], **example["data"]})
    assert [p["tariff"] for p in data["periods"]] == [2, 1]
