"""RS-485 month tables into a monthly statistic of their own: the simulator on a pty, the real recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time

from homeassistant.components.recorder.statistics import list_statistic_ids
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.ekm.aioekm.rs485.frames import MonthKwh, MonthTable
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.monthly import boundaries, monthly_rows

from .. import history_support
from . import statistics_support
from .conftest import V3, V4
from .statistics_support import rows_of, start_of

auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
exporting = history_support.exporting  # V4's second line exports (solar): its reverse register moves

HOUR = timedelta(hours=1)
# FROZEN_T is 2026-06-01 12:00 UTC: the tables hold the registers at the starts of June back to January.
MONTHS = [datetime(2026, m, 1, tzinfo=UTC) for m in range(1, 7)]


@pytest.fixture(autouse=True)
async def utc(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """HA and the simulated meters' clocks on UTC: month boundaries agree."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    await hass.config.async_set_time_zone("UTC")


def register_at(fleet: Fleet, address: str, when: datetime, reverse: bool = False) -> float:
    """The register as the meter's table shows it: floored to its decimals."""
    meter = fleet.meters[address]
    kwh = meter.reverse_kwh(when.timestamp()) if reverse else meter.total_kwh(when.timestamp())
    step = 10.0 if address == V3 else 10.0**meter.kwh_scale
    return int(kwh * step) / step


@pytest.mark.usefixtures("exporting")  # before the entry sets up
async def test_month_tables_become_a_monthly_statistic(
    hass: HomeAssistant, fleet: Fleet, loaded_entry: MockConfigEntry
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    for address in (V4, V3):
        sid = f"{DOMAIN}:{address}_monthly_energy"
        rows = await rows_of(hass, sid)
        # One row per month boundary, in the hour that ends at it.
        assert [start_of(r) for r in rows] == [m - HOUR for m in MONTHS]
        values = [register_at(fleet, address, m) for m in MONTHS]
        assert [r["state"] for r in rows] == pytest.approx(values)
        assert [r["sum"] for r in rows] == pytest.approx([v - values[0] for v in values])
        # The monthly view gives each month what the meter counted in it.
        months = await rows_of(hass, sid, "month", {"change"})
        change = {start_of(r).astimezone(UTC).month: r["change"] for r in months}
        for month in range(1, 6):
            assert change[month] == pytest.approx(values[month] - values[month - 1]), month
    ids = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    meta = {m["statistic_id"]: m for m in ids}
    monthly = meta[f"{DOMAIN}:{V4}_monthly_energy"]
    assert monthly["name"] == f"EKM {V4} monthly energy (month table)"
    assert monthly["statistics_unit_of_measurement"] == "kWh"
    assert monthly["has_sum"] is True
    reverse = await rows_of(hass, f"{DOMAIN}:{V4}_monthly_energy_reverse")
    values = [register_at(fleet, V4, m, reverse=True) for m in MONTHS]
    assert [start_of(r) for r in reverse] == [m - HOUR for m in MONTHS]
    assert [r["sum"] for r in reverse] == pytest.approx([v - values[0] for v in values])
    assert reverse[-1]["sum"] > 1.0  # the export moved: the test means something
    assert f"{DOMAIN}:{V3}_monthly_energy_reverse" not in meta  # never exported: no statistic
    # Never mixed into the hourly statistics of the cloud import.
    assert not [sid for sid in meta if sid.endswith("_energy_import")]


async def test_a_second_read_writes_only_new_months(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    sid = f"{DOMAIN}:{V4}_monthly_energy"
    first = await rows_of(hass, sid)
    importer_rows = monthly_rows([(m, register_at(fleet, V4, m)) for m in MONTHS], first[-1])
    assert importer_rows == []  # nothing new
    july = datetime(2026, 7, 1, tzinfo=UTC)
    [row] = monthly_rows([(m, register_at(fleet, V4, m)) for m in [*MONTHS, july]], first[-1])
    assert row["start"] == july - HOUR
    assert row["sum"] == pytest.approx(
        first[-1]["sum"] + register_at(fleet, V4, july) - register_at(fleet, V4, MONTHS[-1])
    )


def test_table_order_and_empty_months() -> None:
    now = datetime(2026, 6, 15)  # the meter's clock
    newest_first = MonthTable(
        "0011", False, tuple(MonthKwh(v, (0.0,) * 4) for v in (60.0, 50.0, 40.0, 0.0, 0.0, 0.0))
    )
    oldest_first = MonthTable(
        "0011", False, tuple(MonthKwh(v, (0.0,) * 4) for v in (0.0, 0.0, 0.0, 40.0, 50.0, 60.0))
    )
    expected = [
        (datetime(2026, 4, 1, tzinfo=UTC), 40.0),
        (datetime(2026, 5, 1, tzinfo=UTC), 50.0),
        (datetime(2026, 6, 1, tzinfo=UTC), 60.0),
    ]
    assert boundaries(newest_first, now) == expected
    assert boundaries(oldest_first, now) == expected
