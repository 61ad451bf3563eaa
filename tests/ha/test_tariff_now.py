"""'Tariff now' and 'Price now': from a bus meter's own time-of-use tables in its own clock, and
observed from the tariff registers of cloud and Push3 meters; only where prices are set."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.const import CONF_PRICE, CONF_PRICE_TARIFF, DOMAIN

from ..aioekm.test_tariff_calendar import TABLES  # winter/summer seasons, weekends, holidays
from . import push_support
from .conftest import V4
from .push_support import set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
cloud_entry = push_support.cloud_entry

PRICES = {CONF_PRICE: 0.30, CONF_PRICE_TARIFF.format(3): 0.50, CONF_PRICE_TARIFF.format(4): 0.45}
TARIFF_NOW = f"sensor.omnimeter_{V4}_tariff_now"
PRICE_NOW = f"sensor.omnimeter_{V4}_price_now"


def shown(hass: HomeAssistant) -> tuple[str, float]:
    tariff, price = hass.states.get(TARIFF_NOW), hass.states.get(PRICE_NOW)
    assert tariff is not None and price is not None
    return tariff.state, float(price.state)


async def show_meter_time(hass: HomeAssistant, entry: MockConfigEntry, when: str) -> None:
    """Publish V4's reading as if its clock showed `when` (the tables stay the meter's own)."""
    coordinator = entry.runtime_data.coordinator
    reading = coordinator.reading(V4)
    assert reading is not None
    coordinator.async_set_updated_data(
        {**coordinator.data, V4: replace(reading, meter_time=datetime.fromisoformat(when))}
    )
    await hass.async_block_till_done()


async def test_from_the_meter_s_tables_in_its_clock(
    hass: HomeAssistant, entry: MockConfigEntry, fleet: Fleet
) -> None:
    fleet.meters[V4].tariffs = TABLES
    hass.config_entries.async_update_entry(entry, options={**entry.options, **PRICES})
    await set_up(hass, entry)
    coordinator = entry.runtime_data.coordinator
    for _ in range(2):  # one meter's tables per poll
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    # The simulated meter's clock: Monday 1 June 2026, 08:00, the first summer day.
    assert shown(hass) == ("t1", 0.30)
    for when, expected in [
        ("2026-06-01 12:30:00", ("t3", 0.50)),  # summer peak
        ("2026-06-01 18:00:00", ("t4", 0.45)),
        ("2026-06-06 12:30:00", ("t2", 0.30)),  # Saturday: the weekend schedule
        ("2026-09-30 13:00:00", ("t3", 0.50)),  # the last summer day
        ("2026-10-01 13:00:00", ("t1", 0.30)),  # winter
        ("2026-12-25 13:00:00", ("t2", 0.30)),  # a holiday (a Friday)
        ("2027-01-04 06:59:00", ("t2", 0.30)),  # Monday before 07:00: the night of Sunday goes on
    ]:
        await show_meter_time(hass, entry, when)
        assert shown(hass) == expected, when


async def test_a_schedule_write_is_read_again(
    hass: HomeAssistant, entry: MockConfigEntry, fleet: Fleet
) -> None:
    hass.config_entries.async_update_entry(entry, options={**entry.options, **PRICES})
    await set_up(hass, entry)
    coordinator = entry.runtime_data.coordinator
    for _ in range(2):
        await coordinator.async_refresh()
    assert shown(hass) == ("t1", 0.30)  # the factory setup: weekdays T1 from 07:00
    device = er.async_get(hass).async_get(TARIFF_NOW)
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "set_tariff_schedule",
        {"device_id": device.device_id, "schedule": 1, "periods": [{"start": "00:00", "tariff": 4}]},
        blocking=True,
    )
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert shown(hass) == ("t4", 0.45)


async def test_no_prices_no_sensors(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await set_up(hass, entry)
    assert hass.states.get(TARIFF_NOW) is None
    assert hass.states.get(PRICE_NOW) is None


async def test_observed_on_a_cloud_meter(hass: HomeAssistant, cloud_entry: MockConfigEntry) -> None:
    """The cloud gives no tables: the tariff is the register that moved since the last reading."""
    hass.config_entries.async_update_entry(cloud_entry, options={**cloud_entry.options, **PRICES})
    await set_up(hass, cloud_entry)
    coordinator = cloud_entry.runtime_data.coordinator
    assert hass.states.get(TARIFF_NOW).state == "unknown"  # type: ignore[union-attr]

    async def publish(**registers: Any) -> None:
        reading = coordinator.reading(V4)
        assert reading is not None
        values = {**reading.values, **registers}
        coordinator.async_set_updated_data({**coordinator.data, V4: replace(reading, values=values)})
        await hass.async_block_till_done()

    await publish(kWh_Tariff_1=100.0, kWh_Tariff_2=50.0, kWh_Tariff_3=0.0, kWh_Tariff_4=0.0)
    await publish(kWh_Tariff_1=100.0, kWh_Tariff_2=50.5, kWh_Tariff_3=0.0, kWh_Tariff_4=0.0)
    assert shown(hass) == ("t2", 0.30)
    await publish(kWh_Tariff_1=100.0, kWh_Tariff_2=50.5, kWh_Tariff_3=0.2, kWh_Tariff_4=0.0)
    assert shown(hass) == ("t3", 0.50)
    await publish(kWh_Tariff_1=100.0, kWh_Tariff_2=50.5, kWh_Tariff_3=0.2, kWh_Tariff_4=0.0)
    assert shown(hass) == ("t3", 0.50)  # nothing moved: the last one observed goes on
