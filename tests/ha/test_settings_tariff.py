"""ekm.set_tariff_schedule: targets meters by device or entity, validates, writes once per meter."""

from __future__ import annotations

from datetime import time
import importlib
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.ekm import compat
from custom_components.ekm.aioekm.rs485.tariffs import TariffPeriod
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import DOMAIN

from . import push_support
from .conftest import PASSWORD, V3, V4, unique_ids
from .settings_support import entity_id, writes

cloud_entry = push_support.cloud_entry
push3_entry = push_support.push3_entry
push3_gateway = push_support.push3_gateway
live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server

PERIODS = [{"start": "07:00", "tariff": 2}, {"start": "21:30", "tariff": 1}]


async def set_schedule(hass: HomeAssistant, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, "set_tariff_schedule", data, blocking=True)


def meter_device(hass: HomeAssistant, entry: MockConfigEntry, address: str) -> str:
    device = compat.get_device(dr.async_get(hass), (DOMAIN, address), entry.entry_id)
    assert device is not None
    return device.id


async def test_device_target(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    before = fleet.meters[V3].tariffs
    await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=3, periods=PERIODS)
    assert fleet.meters[V4].tariffs.schedule(3).periods == (
        TariffPeriod(time(7, 0), 2),
        TariffPeriod(time(21, 30), 1),
    )
    assert writes(simulator) == ["070002213001" + "0" * 36]
    assert [r.register for r in simulator.log if r.kind == "write"] == ["0072"]
    assert fleet.meters[V3].tariffs == before  # only the meter targeted


async def test_confirmed_by_the_schedule_table(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """The meter's ACK is lost: its schedule table, read back, shows the write took; written once."""
    simulator.faults.lose_write_acks = True
    await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=2, periods=PERIODS)
    assert fleet.meters[V4].tariffs.schedule(2).periods == (
        TariffPeriod(time(7, 0), 2),
        TariffPeriod(time(21, 30), 1),
    )
    assert len(writes(simulator)) == 1
    assert "0070" in [r.register for r in simulator.log if r.kind == "table"]


async def test_schedule_not_taken(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The meter ACKs but its table still shows the old schedule: said so, not written again."""
    monkeypatch.setattr(
        "custom_components.ekm.aioekm.simulator.rs485.apply_write", lambda meter, register, data, t: True
    )
    before = fleet.meters[V4].tariffs
    with pytest.raises(HomeAssistantError) as err:
        await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=2, periods=PERIODS)
    assert err.value.translation_key == "setting_not_applied"
    assert fleet.meters[V4].tariffs == before
    assert len(writes(simulator)) == 1


async def test_entity_targets_and_a_v3_meter(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """Two entities of one meter and one of another: each meter written once, v3 meters too."""
    fleet.meters[V3].password = PASSWORD
    targets = [
        entity_id(entity_registry, "sensor", f"{V4}_kWh_Tot"),
        entity_id(entity_registry, "select", f"{V4}_CT_Ratio"),
        entity_id(entity_registry, "sensor", f"{V3}_kWh_Tot"),
    ]
    await set_schedule(hass, entity_id=targets, schedule=1, periods=[{"start": "00:00", "tariff": 4}])
    for address in (V4, V3):
        assert fleet.meters[address].tariffs.schedule(1).periods == (TariffPeriod(time(0, 0), 4),)
    assert writes(simulator) == ["000004" + "0" * 42] * 2


@pytest.mark.parametrize(
    ("schedule", "periods"),
    [
        (0, PERIODS),
        (7, PERIODS),
        (1, []),
        (1, [{"start": f"0{n}:00", "tariff": 1} for n in range(5)]),  # 5 periods
        (1, [{"start": "07:00", "tariff": 5}]),
        (1, [{"start": "07:00", "tariff": 0}]),
        (1, [{"start": "24:00", "tariff": 1}]),
        (1, [{"start": "07:00:30", "tariff": 1}]),  # the meter keeps no seconds
        (1, [{"start": "21:00", "tariff": 1}, {"start": "07:00", "tariff": 2}]),  # not in order
        (1, [{"start": "07:00", "tariff": 1}, {"start": "07:00", "tariff": 2}]),
        (1, [{"start": "07:00"}]),
    ],
)
async def test_out_of_range_refused_before_the_bus(  # noqa: PLR0917  (parametrized)
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    schedule: int,
    periods: list[dict[str, Any]],
) -> None:
    before = fleet.meters[V4].tariffs
    with pytest.raises(vol.Invalid):
        await set_schedule(
            hass, device_id=meter_device(hass, loaded_entry, V4), schedule=schedule, periods=periods
        )
    assert writes(simulator) == []
    assert fleet.meters[V4].tariffs == before


async def test_start_from_the_time_selector(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet
) -> None:
    """The UI's time selector sends HH:MM:SS."""
    periods = [{"start": "06:15:00", "tariff": 3}]
    await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=6, periods=periods)
    assert fleet.meters[V4].tariffs.schedule(6).periods == (TariffPeriod(time(6, 15), 3),)


async def test_wrong_password(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    fleet.meters[V4].password = "99999999"
    before = fleet.meters[V4].tariffs
    with pytest.raises(HomeAssistantError) as err:
        await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=1, periods=PERIODS)
    assert err.value.translation_key == "command_rejected"
    assert fleet.meters[V4].tariffs == before
    assert writes(simulator) == []


async def test_no_meter_targeted(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A device of another integration is no meter."""
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await set_schedule(hass, device_id=stranger.id, schedule=1, periods=PERIODS)
    assert err.value.translation_key == "no_meter_targeted"
    with pytest.raises(vol.Invalid):
        await set_schedule(hass, schedule=1, periods=PERIODS)  # no target at all


async def test_cloud_entry_takes_no_settings(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, entity_registry: er.EntityRegistry, fleet: Fleet
) -> None:
    """An entry of the wrong mode: no setting entities, and the action refuses its meters, translated."""
    await push_support.set_up(hass, cloud_entry)
    domains = {e.domain for e in er.async_entries_for_config_entry(entity_registry, cloud_entry.entry_id)}
    assert domains.isdisjoint({"select", "number", "button"})
    # still read-only sensors there
    assert {f"{V4}_CT_Ratio", f"{V4}_Pulse_Ratio_1"} <= unique_ids(hass, cloud_entry)
    before = fleet.meters[V4].tariffs
    with pytest.raises(HomeAssistantError) as err:
        await set_schedule(hass, device_id=meter_device(hass, cloud_entry, V4), schedule=1, periods=PERIODS)
    assert err.value.translation_key == "setting_needs_rs485"
    assert "only an RS-485 connection can write meter settings and tariff schedules" in str(err.value)
    assert fleet.meters[V4].tariffs == before


async def test_push3_entry_takes_no_tariffs(
    hass: HomeAssistant, push3_entry: MockConfigEntry, fleet: Fleet
) -> None:
    """A Push3 gateway reads tariffs but does not write them: the action says only RS-485 can."""
    await push_support.set_up(hass, push3_entry)
    before = fleet.meters[V4].tariffs
    with pytest.raises(HomeAssistantError) as err:
        await set_schedule(hass, device_id=meter_device(hass, push3_entry, V4), schedule=1, periods=PERIODS)
    assert err.value.translation_key == "setting_needs_rs485"
    assert fleet.meters[V4].tariffs == before


async def test_no_import_in_the_event_loop(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding the call's targets imports nothing in the event loop. HA 2025.4 has no
    helpers.target: looking it up on every call was an import HA reports as a blocking call
    (its detector is off in tests, so the imports are recorded here)."""
    imported: list[str] = []
    import_module = importlib.import_module

    def recorded(name: str, package: str | None = None) -> Any:
        imported.append(name)
        return import_module(name, package)

    monkeypatch.setattr(importlib, "import_module", recorded)
    for _ in range(2):
        await set_schedule(hass, device_id=meter_device(hass, loaded_entry, V4), schedule=1, periods=PERIODS)
    assert fleet.meters[V4].tariffs.schedule(1).periods == (
        TariffPeriod(time(7, 0), 2),
        TariffPeriod(time(21, 30), 1),
    )
    assert imported == []
