"""What a cloud meter's pulse inputs measure, as statistics: the pulse counts the history import
stored × each configured input's amount per pulse (the fake Push server, the real recorder)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
import re
from types import MappingProxyType
from typing import Any

from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.ekm import history
from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.statistics_compat import HAS_UNIT_CLASS

from .. import history_support
from ..history_support import register
from . import history_import_support, push_support, statistics_support
from .conftest import V4
from .history_import_support import HOUR, NY, Clock, add_entry, imported_entry, set_up, sid, unload
from .statistics_support import rows_of, start_of

loopback_http = push_support.loopback_http
push_server = push_support.push_server
exporting = history_support.exporting
auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
now = history_import_support.now
derived_reads = history_import_support.derived_reads

README = Path(__file__).resolve().parents[2] / "README.md"
WATER = {"meter": V4, "input": 1, "measures": "water", "unit": "L", "per_pulse": "0.25", "name": ""}
# Gas billed by its energy: an energy unit (V4's second input counts too).
GAS = {"meter": V4, "input": 2, "measures": "gas", "unit": "MJ", "per_pulse": "0.5", "name": "Boiler"}


async def _metadata(hass: HomeAssistant, ids: set[str]) -> dict[str, Any]:
    found = await get_instance(hass).async_add_executor_job(lambda: get_metadata(hass, statistic_ids=ids))
    return {statistic: metadata for statistic, (_, metadata) in found.items()}


def _assert_amounts(rows: list[dict[str, Any]], meter: VirtualMeter, number: int, per_pulse: float) -> None:
    """Each row: state = the pulse count at the hour's end × the amount, sum advanced by the hour's
    pulses × the amount."""
    previous = 0.0
    for row in rows:
        hour = start_of(row)
        after = register(meter, f"Pulse_Cnt_{number}", hour + HOUR)
        pulses = after - register(meter, f"Pulse_Cnt_{number}", hour)
        assert row["sum"] - previous == pytest.approx(pulses * per_pulse, abs=1e-9), hour
        assert row["state"] == pytest.approx(after * per_pulse, abs=1e-9), hour
        previous = row["sum"]


@pytest.mark.usefixtures("derived_reads")
async def test_water_backfill_follows_the_pulses_across_a_dst_day(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    await hass.config.async_set_time_zone("America/New_York")
    midnight = datetime(2026, 3, 8, tzinfo=NY)  # 23 hours
    next_midnight = datetime(2026, 3, 9, tzinfo=NY)
    now.set(next_midnight + timedelta(days=1))
    entry = await imported_entry(hass, push_server, days=3, meters=[V4], inputs=[WATER, GAS])
    water = await rows_of(hass, sid(V4, "water_1"))
    pulses = await rows_of(hass, sid(V4, "pulse_1"))
    assert [start_of(r) for r in water] == [start_of(r) for r in pulses]
    _assert_amounts(water, exporting, 1, 0.25)
    inside = [r for r in water if midnight <= start_of(r) < next_midnight]
    assert len(inside) == 23
    # The recorder's daily view of the local day: that day's pulses × the amount.
    change = register(exporting, "Pulse_Cnt_1", next_midnight) - register(exporting, "Pulse_Cnt_1", midnight)
    daily = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, midnight, next_midnight, {sid(V4, "water_1")}, "day", None, {"change"}
    )
    assert daily[sid(V4, "water_1")][0]["change"] == pytest.approx(change * 0.25)
    _assert_amounts(await rows_of(hass, sid(V4, "gas_2")), exporting, 2, 0.5)
    metadata = await _metadata(hass, {sid(V4, "water_1"), sid(V4, "gas_2")})
    assert metadata[sid(V4, "water_1")]["unit_of_measurement"] == "L"
    assert metadata[sid(V4, "water_1")]["name"] == f"EKM {V4} water (input 1)"
    assert metadata[sid(V4, "gas_2")]["unit_of_measurement"] == "MJ"
    assert metadata[sid(V4, "gas_2")]["name"] == f"EKM {V4} Boiler (input 2)"
    if HAS_UNIT_CLASS:
        assert metadata[sid(V4, "water_1")]["unit_class"] == "volume"
        assert metadata[sid(V4, "gas_2")]["unit_class"] == "energy"
    # Input 3 is not configured: no statistic for it.
    assert await _metadata(hass, {sid(V4, "water_3"), sid(V4, "gas_3"), sid(V4, "energy_3")}) == {}
    await unload(hass, entry)


async def test_an_input_configured_later_is_backfilled_from_the_stored_pulses(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    """No request to EKM: the pulse statistic already stored is enough."""
    entry = add_entry(hass, push_server, days=2, meters=[V4])
    await set_up(hass, entry)
    assert await rows_of(hass, sid(V4, "water_1")) == []
    await unload(hass, entry)
    push_server.log.clear()
    subentry = ConfigSubentry(
        data=MappingProxyType(WATER), subentry_type="pulse_input", title="Water", unique_id=f"{V4}_1"
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    await set_up(hass, entry)
    assert push_server.requests_to("/summary") == []
    water = await rows_of(hass, sid(V4, "water_1"))
    assert [start_of(r) for r in water] == [start_of(r) for r in await rows_of(hass, sid(V4, "pulse_1"))]
    _assert_amounts(water, exporting, 1, 0.25)
    await unload(hass, entry)


async def test_a_new_amount_per_pulse_recomputes_the_statistic(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    """The statistic stays pulses × amount: with a new amount it is computed anew from the first hour."""
    entry = await imported_entry(hass, push_server, days=2, meters=[V4], inputs=[WATER])
    subentry = next(iter(entry.subentries.values()))
    hass.config_entries.async_update_subentry(entry, subentry, data={**WATER, "per_pulse": "0.5"})
    await hass.async_block_till_done(wait_background_tasks=True)
    importer = history.importer_of(hass, entry.entry_id)
    assert importer is not None
    await importer.async_update()
    await async_wait_recording_done(hass)
    water = await rows_of(hass, sid(V4, "water_1"))
    assert [start_of(r) for r in water] == [start_of(r) for r in await rows_of(hass, sid(V4, "pulse_1"))]
    _assert_amounts(water, exporting, 1, 0.5)
    await unload(hass, entry)


def _readme_units() -> dict[str, str]:
    """The README's table of cloud statistics: {key of each statistic a row names: its Unit cell}
    (`ekm:<address>_energy_tariff_1` … `_4` names four)."""
    section = README.read_text().split("## Energy dashboard and long-term statistics", 1)[1]
    units = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        if not line.startswith("| `ekm:<address>_"):
            continue
        named, unit = (cell.strip() for cell in line.split("|")[1:3])
        keys = re.findall(r"`(?:ekm:<address>)?_(\w+)`", named)
        if "…" in named:
            stem, first = keys[0].rsplit("_", 1)
            keys = [f"{stem}_{n}" for n in range(int(first), int(keys[1]) + 1)]
        units.update(dict.fromkeys(keys, unit))
    return units


async def test_stored_units_agree_with_the_readme(
    hass: HomeAssistant, push_server: PushServer, now: Clock
) -> None:
    """The raw pulse statistics are unitless counts, and the README says so."""
    entry = await imported_entry(hass, push_server, days=1, meters=[V4])
    readme = _readme_units()
    keys = [series.key for series in history.SERIES]
    stored = await _metadata(hass, {sid(V4, key) for key in keys})
    assert sid(V4, "pulse_1") in stored
    for key in keys:
        if sid(V4, key) not in stored:
            continue  # a register that never moved here (tariffs 3, 4)
        unit = stored[sid(V4, key)]["unit_of_measurement"]
        assert readme[key] == (unit or "none (a count)"), key
    await unload(hass, entry)


def test_the_readme_table_names_every_series() -> None:
    readme = _readme_units()
    assert {series.key for series in history.SERIES} <= set(readme)
    assert {"energy_import_cost", "energy_export_compensation", "water_N", "gas_N"} <= set(readme)
