"""Cost statistics of cloud meters: each tariff's kWh × its price, hour by hour, from the imported
statistics in the real recorder (the fake Push server over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import math

from homeassistant.components.recorder.statistics import get_metadata
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.ekm.aioekm.simulator.fleet import DAY, EPOCH, VirtualMeter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_PRICE, CONF_PRICE_RETURN, CONF_PRICE_TARIFF, DOMAIN
from custom_components.ekm.statistics_compat import HAS_UNIT_CLASS

from .. import history_support
from ..history_support import register
from . import history_import_support, push_support, statistics_support
from .conftest import V4
from .history_import_support import FIRST, HOUR, Clock, import_history, imported_entry, set_up, sid, unload
from .statistics_support import rows_of, start_of

loopback_http = push_support.loopback_http
push_server = push_support.push_server
exporting = history_support.exporting
auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
now = history_import_support.now
derived_reads = history_import_support.derived_reads

# Tariff 1 from 06:30 to 22:30 UTC, tariff 2 the rest of the day: the hours 06:00 and 22:00
# count in both, the others in one.
T1_FROM, T1_TO = 6.5 * 3600, 22.5 * 3600
PRICES = {CONF_PRICE: 0.30, CONF_PRICE_TARIFF.format(2): 0.12, CONF_PRICE_RETURN: 0.08}
TARIFF_PRICE = {1: 0.30, 2: 0.12, 3: 0.30, 4: 0.30}


@pytest.fixture
def scheduled(exporting: VirtualMeter, monkeypatch: pytest.MonkeyPatch) -> VirtualMeter:
    """V4 (exporting) with its tariff registers following a daily schedule instead of the fake's
    fixed 60/40 split: a window of hours crosses tariff changes."""
    meter = exporting
    plain = meter.values

    def in_tariff_1(t: float) -> float:
        counted, day = 0.0, EPOCH
        while day + T1_FROM < t:
            counted += meter.total_kwh(min(t, day + T1_TO)) - meter.total_kwh(day + T1_FROM)
            day += DAY
        return counted

    def values(t: float | None = None) -> dict[str, object]:
        out = dict(plain(t))
        assert t is not None  # the Summary API asks for past instants
        start = meter.total_kwh(EPOCH)
        tariff_1 = 0.6 * start + in_tariff_1(t)
        out["kWh_Tariff_1"] = _shown(tariff_1)
        out["kWh_Tariff_2"] = _shown(meter.total_kwh(t) - tariff_1)
        return out

    monkeypatch.setattr(meter, "values", values)
    return meter


def _shown(kwh: float) -> float:
    """As the v4 meter shows a register: truncated to 2 decimals."""
    return round(math.floor(kwh * 100) / 100, 2)


def _moved(meter: VirtualMeter, name: str, hour: datetime) -> float:
    return register(meter, name, hour + HOUR) - register(meter, name, hour)


def _cost(meter: VirtualMeter, hour: datetime, price: Callable[[int], float]) -> float:
    return sum(price(n) * _moved(meter, f"kWh_Tariff_{n}", hour) for n in (1, 2, 3, 4))


def _assert_costs(
    rows: list[dict], meter: VirtualMeter, price: Callable[[int], float], first_sum: float
) -> None:
    """Each row's sum advanced by that hour's kWh of each tariff × its price; state = sum."""
    previous = first_sum
    for row in rows:
        hour = start_of(row)
        assert row["sum"] - previous == pytest.approx(_cost(meter, hour, price), abs=1e-9), hour
        assert row["state"] == pytest.approx(row["sum"])
        previous = row["sum"]


@pytest.mark.usefixtures("derived_reads")
async def test_cost_is_each_tariffs_kwh_times_its_price(
    hass: HomeAssistant, push_server: PushServer, now: Clock, scheduled: VirtualMeter
) -> None:
    entry = await imported_entry(hass, push_server, meters=[V4], options=PRICES)
    last = datetime(2026, 1, 5, tzinfo=UTC) - HOUR
    cost = await rows_of(hass, sid(V4, "energy_import_cost"))
    tariffs = {n: await rows_of(hass, sid(V4, f"energy_tariff_{n}")) for n in (1, 2)}
    # A row for every hour in which a tariff moved: every hour since the first report.
    assert [start_of(r) for r in cost] == history_import_support.hours(FIRST, last)
    assert {start_of(r) for rows in tariffs.values() for r in rows} == {start_of(r) for r in cost}
    _assert_costs(cost, scheduled, TARIFF_PRICE.__getitem__, 0.0)
    # The window crosses tariff changes: hours in one tariff each, and hours in both.
    both = [
        start_of(r) for r in cost if all(_moved(scheduled, f"kWh_Tariff_{n}", start_of(r)) for n in (1, 2))
    ]
    assert {h.hour for h in both} == {6, 22}
    only = {n: [start_of(r) for r in tariffs[n] if start_of(r) not in both] for n in (1, 2)}
    assert only[1] and only[2]
    assert cost[-1]["sum"] == pytest.approx(
        sum(
            TARIFF_PRICE[n]
            * (
                register(scheduled, f"kWh_Tariff_{n}", last + HOUR)
                - register(scheduled, f"kWh_Tariff_{n}", FIRST)
            )
            for n in (1, 2)
        ),
        abs=1e-9,
    )
    # Returned energy at the return price.
    compensation = await rows_of(hass, sid(V4, "energy_export_compensation"))
    export = await rows_of(hass, sid(V4, "energy_export"))
    assert [start_of(r) for r in compensation] == [start_of(r) for r in export]
    previous = 0.0
    for row in compensation:
        moved = _moved(scheduled, "Rev_kWh_Tot", start_of(row))
        assert row["sum"] - previous == pytest.approx(0.08 * moved, abs=1e-9)
        previous = row["sum"]
    assert previous > 0.0
    # Metadata: money in HA's currency, a sum, no unit class.
    ids = {sid(V4, "energy_import_cost"), sid(V4, "energy_export_compensation")}
    found = await get_instance(hass).async_add_executor_job(lambda: get_metadata(hass, statistic_ids=ids))
    assert set(found) == ids
    for _, metadata in found.values():
        assert metadata["unit_of_measurement"] == hass.config.currency
        assert metadata["has_sum"] is True
        assert metadata["source"] == DOMAIN
        if HAS_UNIT_CLASS:
            assert metadata.get("unit_class") is None
    assert found[sid(V4, "energy_import_cost")][1]["name"] == f"EKM {V4} import energy cost"
    await unload(hass, entry)


async def test_no_price_no_cost_statistic(hass: HomeAssistant, push_server: PushServer, now: Clock) -> None:
    entry = await imported_entry(hass, push_server, days=1, meters=[V4], options={CONF_PRICE_RETURN: 0.1})
    ids = {sid(V4, "energy_import_cost"), sid(V4, "energy_export_compensation"), sid(V4, "energy_import")}
    found = await get_instance(hass).async_add_executor_job(lambda: get_metadata(hass, statistic_ids=ids))
    # V4 does not export here: no compensation either (nothing to write), and no cost without a price.
    assert set(found) == {sid(V4, "energy_import")}
    await unload(hass, entry)


async def test_a_new_price_counts_from_the_next_hour(
    hass: HomeAssistant, push_server: PushServer, now: Clock, scheduled: VirtualMeter
) -> None:
    """Hours written keep their cost; the hours imported after the change cost the new price."""
    entry = await imported_entry(hass, push_server, days=2, meters=[V4], options={CONF_PRICE: 0.30})
    before = await rows_of(hass, sid(V4, "energy_import_cost"))
    await unload(hass, entry)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_PRICE: 0.50})
    now.set(now.now() + 5 * HOUR)
    await set_up(hass, entry)
    rows = await rows_of(hass, sid(V4, "energy_import_cost"))
    assert rows[: len(before)] == before
    assert len(rows) == len(before) + 5
    _assert_costs(rows[len(before) :], scheduled, lambda n: 0.50, before[-1]["sum"])
    _assert_costs(before[1:], scheduled, lambda n: 0.30, before[0]["sum"])
    await unload(hass, entry)


async def test_import_history_recomputes_costs_with_todays_prices(
    hass: HomeAssistant, push_server: PushServer, now: Clock, scheduled: VirtualMeter
) -> None:
    """From `start` up to the last imported hour, not only up to `end`: the sums after the range go
    on from the recomputed ones, without a step at `end`."""
    entry = await imported_entry(hass, push_server, meters=[V4], options={CONF_PRICE: 0.30})
    before = await rows_of(hass, sid(V4, "energy_import_cost"))
    await unload(hass, entry)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_PRICE: 0.50})
    await set_up(hass, entry)
    start = FIRST + timedelta(days=1, hours=5)
    end = start + 10 * HOUR
    response = await import_history(hass, entry.entry_id, start.isoformat(), end.isoformat())
    await async_wait_recording_done(hass)
    rows = await rows_of(hass, sid(V4, "energy_import_cost"))
    assert [start_of(r) for r in rows] == [start_of(r) for r in before]
    kept = [r for r in rows if start_of(r) < start]
    assert kept == before[: len(kept)]
    redone = rows[len(kept) :]
    assert start_of(redone[0]) == start
    assert start_of(redone[-1]) > end  # beyond the range, to the last imported hour
    _assert_costs(redone, scheduled, lambda n: 0.50, kept[-1]["sum"])
    assert response["rows"] >= len(redone)
    await unload(hass, entry)
