"""Setting selects: each option reaches the virtual meter, the state is what the meter reports."""

from __future__ import annotations

from homeassistant.components.select import ATTR_OPTION, DOMAIN as SELECT_DOMAIN, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ekm.aioekm.rs485.commands import CT_RATIOS

from . import settings_support
from .conftest import PASSWORD, V3, V4
from .settings_support import LoadedBus, refused, unique_ids

bus = settings_support.bus


async def select(hass: HomeAssistant, target: str, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: target, ATTR_OPTION: option}, blocking=True
    )


async def test_selects_per_meter(bus: LoadedBus) -> None:
    """v4: CT ratio, demand period and auto-reset; v3 has no auto-reset. Config entities, enabled."""
    selects = bus.registered(SELECT_DOMAIN)
    assert set(selects) == unique_ids(
        {V4: ("CT_Ratio", "Max_Demand_Period", "Max_Demand_Rst"), V3: ("CT_Ratio", "Max_Demand_Period")}
    )
    assert all(e.entity_category is EntityCategory.CONFIG and e.disabled_by is None for e in selects.values())
    ct = bus.hass.states.get(selects[f"{V4}_CT_Ratio"].entity_id)
    assert ct is not None
    assert ct.state == "200"  # the virtual meter's
    assert ct.attributes["options"] == [str(amps) for amps in CT_RATIOS]
    assert ct.attributes["friendly_name"] == f"Omnimeter {V4} CT ratio"
    period = bus.hass.states.get(selects[f"{V4}_Max_Demand_Period"].entity_id)
    assert period is not None
    assert (period.state, period.attributes["options"]) == ("15", ["15", "30", "60"])
    reset = bus.hass.states.get(selects[f"{V4}_Max_Demand_Rst"].entity_id)
    assert reset is not None
    assert (reset.state, reset.attributes["options"]) == (
        "off",
        ["off", "monthly", "weekly", "daily", "hourly"],
    )
    assert reset.attributes["friendly_name"] == f"Omnimeter {V4} Max demand auto reset"


@pytest.mark.parametrize("address", [V4, V3])
async def test_ct_ratio(bus: LoadedBus, address: str) -> None:
    """One write with the entry's password; the meter takes it; the state is its read-back."""
    bus.fleet.meters[address].password = PASSWORD  # the entry's, for every meter of the bus
    target = bus.entity_id(SELECT_DOMAIN, f"{address}_CT_Ratio")
    bus.simulator.log.clear()
    await select(bus.hass, target, "400")
    assert bus.fleet.meters[address].ct_ratio == 400
    assert bus.writes() == ["0400"]
    assert [r.data for r in bus.simulator.log if r.kind == "password"] == [PASSWORD]
    assert bus.state(target) == "400"


async def test_max_demand_period_and_auto_reset(bus: LoadedBus) -> None:
    meter = bus.fleet.meters[V4]
    period = bus.entity_id(SELECT_DOMAIN, f"{V4}_Max_Demand_Period")
    await select(bus.hass, period, "30")
    assert meter.max_demand_period == 2  # the meter's code for 30 minutes
    assert bus.state(period) == "30"
    reset = bus.entity_id(SELECT_DOMAIN, f"{V4}_Max_Demand_Rst")
    await select(bus.hass, reset, "weekly")
    assert meter.max_demand_rst == 2
    assert bus.state(reset) == "weekly"
    assert bus.writes() == ["2", "2"]


async def test_state_follows_the_meter(bus: LoadedBus) -> None:
    """Changed at the meter (its buttons, EKM's software): the next B frame shows it."""
    target = bus.entity_id(SELECT_DOMAIN, f"{V4}_CT_Ratio")
    bus.fleet.meters[V4].ct_ratio = 1500
    await bus.read_options()
    assert bus.state(target) == "1500"


async def test_wrong_password(bus: LoadedBus) -> None:
    """The meter refuses the password: translated error, no write, the meter and the state unchanged."""
    bus.fleet.meters[V4].password = "99999999"
    target = bus.entity_id(SELECT_DOMAIN, f"{V4}_CT_Ratio")
    err = await refused(select(bus.hass, target, "400"), "command_rejected")
    assert str(err) == f"Meter {V4} refused the command. Is the meter password right?"
    assert PASSWORD not in str(err)
    assert bus.fleet.meters[V4].ct_ratio == 200
    assert bus.writes() == []
    assert bus.state(target) == "200"


async def test_lost_ack_confirmed_by_read_back(bus: LoadedBus) -> None:
    """The meter took the setting but its ACK was lost: the read-back shows it; written once."""
    bus.simulator.faults.lose_write_acks = True
    target = bus.entity_id(SELECT_DOMAIN, f"{V4}_Max_Demand_Period")
    await select(bus.hass, target, "60")
    assert bus.fleet.meters[V4].max_demand_period == 3
    assert bus.writes() == ["3"]
    assert bus.state(target) == "60"
