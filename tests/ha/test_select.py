"""Setting selects: each option reaches the virtual meter, the state is what the meter reports."""

from __future__ import annotations

from homeassistant.components.select import ATTR_OPTION, DOMAIN as SELECT_DOMAIN, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.rs485.commands import CT_RATIOS
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator

from .conftest import PASSWORD, V3, V4


def entity_id(registry: er.EntityRegistry, domain: str, unique_id: str) -> str:
    found = registry.async_get_entity_id(domain, "ekm", unique_id)
    assert found is not None, unique_id
    return found


def writes(simulator: Rs485Simulator) -> list[str | None]:
    return [request.data for request in simulator.log if request.kind == "write"]


async def select(hass: HomeAssistant, target: str, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: target, ATTR_OPTION: option}, blocking=True
    )


def state(hass: HomeAssistant, target: str) -> str:
    current = hass.states.get(target)
    assert current is not None, target
    return current.state


async def test_selects_per_meter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """v4: CT ratio, demand period and auto-reset; v3 has no auto-reset. Config entities, enabled."""
    selects = {
        e.unique_id: e
        for e in er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
        if e.domain == SELECT_DOMAIN
    }
    assert set(selects) == {
        f"{V4}_CT_Ratio",
        f"{V4}_Max_Demand_Period",
        f"{V4}_Max_Demand_Rst",
        f"{V3}_CT_Ratio",
        f"{V3}_Max_Demand_Period",
    }
    assert all(e.entity_category is EntityCategory.CONFIG and e.disabled_by is None for e in selects.values())
    ct = hass.states.get(selects[f"{V4}_CT_Ratio"].entity_id)
    assert ct is not None
    assert ct.state == "200"  # the virtual meter's
    assert ct.attributes["options"] == [str(amps) for amps in CT_RATIOS]
    assert ct.attributes["friendly_name"] == f"Omnimeter {V4} CT ratio"
    period = hass.states.get(selects[f"{V4}_Max_Demand_Period"].entity_id)
    assert period is not None
    assert (period.state, period.attributes["options"]) == ("15", ["15", "30", "60"])
    reset = hass.states.get(selects[f"{V4}_Max_Demand_Rst"].entity_id)
    assert reset is not None
    assert (reset.state, reset.attributes["options"]) == (
        "off",
        ["off", "monthly", "weekly", "daily", "hourly"],
    )
    assert reset.attributes["friendly_name"] == f"Omnimeter {V4} Max demand auto reset"


@pytest.mark.usefixtures("loaded_entry")
@pytest.mark.parametrize("address", [V4, V3])
async def test_ct_ratio(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    address: str,
) -> None:
    """One write with the entry's password; the meter takes it; the state is its read-back."""
    fleet.meters[address].password = PASSWORD  # the entry's, for every meter of the bus
    target = entity_id(entity_registry, SELECT_DOMAIN, f"{address}_CT_Ratio")
    simulator.log.clear()
    await select(hass, target, "400")
    assert fleet.meters[address].ct_ratio == 400
    assert writes(simulator) == ["0400"]
    assert [r.data for r in simulator.log if r.kind == "password"] == [PASSWORD]
    assert state(hass, target) == "400"


async def test_max_demand_period_and_auto_reset(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    meter = fleet.meters[V4]
    period = entity_id(entity_registry, SELECT_DOMAIN, f"{V4}_Max_Demand_Period")
    await select(hass, period, "30")
    assert meter.max_demand_period == 2  # the meter's code for 30 minutes
    assert state(hass, period) == "30"
    reset = entity_id(entity_registry, SELECT_DOMAIN, f"{V4}_Max_Demand_Rst")
    await select(hass, reset, "weekly")
    assert meter.max_demand_rst == 2
    assert state(hass, reset) == "weekly"
    assert writes(simulator) == ["2", "2"]


async def test_state_follows_the_meter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry, fleet: Fleet
) -> None:
    """Changed at the meter (its buttons, EKM's software): the next B frame shows it."""
    target = entity_id(entity_registry, SELECT_DOMAIN, f"{V4}_CT_Ratio")
    fleet.meters[V4].ct_ratio = 1500
    coordinator = loaded_entry.runtime_data
    for _ in range(3):  # the B frame is read every third poll (OPTIONS)
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert state(hass, target) == "1500"


async def test_wrong_password(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """The meter refuses the password: translated error, no write, the meter and the state unchanged."""
    fleet.meters[V4].password = "99999999"
    target = entity_id(entity_registry, SELECT_DOMAIN, f"{V4}_CT_Ratio")
    with pytest.raises(HomeAssistantError) as err:
        await select(hass, target, "400")
    assert err.value.translation_key == "command_rejected"
    assert str(err.value) == f"Meter {V4} refused the command. Is the meter password right?"
    assert PASSWORD not in str(err.value)
    assert fleet.meters[V4].ct_ratio == 200
    assert writes(simulator) == []
    assert state(hass, target) == "200"


async def test_lost_ack_confirmed_by_read_back(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> None:
    """The meter took the setting but its ACK was lost: the read-back shows it; written once."""
    simulator.faults.lose_write_acks = True
    target = entity_id(entity_registry, SELECT_DOMAIN, f"{V4}_Max_Demand_Period")
    await select(hass, target, "60")
    assert fleet.meters[V4].max_demand_period == 3
    assert writes(simulator) == ["3"]
    assert state(hass, target) == "60"
