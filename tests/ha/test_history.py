"""Cloud history into long-term statistics: the fake Push server over HTTP, the real recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from aiohttp import web
from homeassistant.components.recorder.statistics import list_statistic_ids, statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.ekm import history
from custom_components.ekm.aioekm.push.history_plan import HistoryWindow, plan_windows
from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.const import DOMAIN
from custom_components.ekm.diagnostics import async_get_config_entry_diagnostics

from .. import history_support
from ..history_support import register
from . import history_import_support, push_support, statistics_support
from .conftest import V3, V4
from .history_import_support import (
    FIRST,
    HOUR,
    NY,
    Clock,
    add_entry,
    assert_follows,
    hours,
    import_history,
    imported_entry,
    set_up,
    sid,
    unload,
)
from .statistics_support import rows_of, start_of

loopback_http = push_support.loopback_http
push_server = push_support.push_server
exporting = history_support.exporting
auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
now = history_import_support.now


# --- back-fill -------------------------------------------------------------------------


async def test_backfill_from_the_first_report(
    hass: HomeAssistant,
    push_server: PushServer,
    now: Clock,
    exporting: VirtualMeter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A year asked, the meters first reported 4 days ago: every hour since then, sums = register changes."""
    caplog.set_level(logging.INFO, logger="custom_components.ekm")
    entry = await imported_entry(hass, push_server)
    logged = [r.getMessage() for r in caplog.records if r.name == "custom_components.ekm"]
    assert any(m.startswith("History import: 2 meters, ") for m in logged), logged
    assert any(m.startswith("History import: 50% (") for m in logged), logged
    [done] = [m for m in logged if m.startswith("History import done: ")]
    # The rows said are the rows written (the two meters' windows are written side by side).
    stored = 0
    for address in (V4, V3):
        for series in history.SERIES:
            types: set[Any] = {"mean"} if series.mean else {"sum"}
            stored += len(await rows_of(hass, sid(address, series.key), types=types))
    assert done.startswith(f"History import done: {stored} rows written in "), done
    last = datetime(2026, 1, 5, tzinfo=UTC) - HOUR  # 00:40 now: the hour 23:00-24:00 is the last whole one
    for address, meter in ((V4, exporting), (V3, push_server.fleet.meters[V3])):
        for key, name in (("energy_import", "Fwd_kWh_Tot"), ("energy_total", "kWh_Tot")):
            rows = await rows_of(hass, sid(address, key))
            assert [start_of(r) for r in rows] == hours(FIRST, last), key  # consumption every hour
            assert_follows(rows, meter, name)
        for key, name in (
            ("energy_export", "Rev_kWh_Tot"),
            ("energy_net", "Net_kWh_Tot"),
            ("energy_tariff_1", "kWh_Tariff_1"),
            ("energy_tariff_2", "kWh_Tariff_2"),
        ):
            # Hours that add nothing (a tariff not in use, V3 never exports) are left out.
            rows = await rows_of(hass, sid(address, key))
            assert rows or address == V3, key
            assert_follows(rows, meter, name)
            assert not rows or start_of(rows[-1]) <= last
    # Tariffs 3 and 4 never counted: no statistic at all.
    assert await rows_of(hass, sid(V4, "energy_tariff_3")) == []
    rows = await rows_of(hass, sid(V4, "energy_export"))
    assert rows[-1]["sum"] > 1.0  # the export moved: the test means something
    assert_follows(await rows_of(hass, sid(V4, "pulse_1")), exporting, "Pulse_Cnt_1")
    power = await rows_of(hass, sid(V4, "power"), types={"mean", "min", "max"})
    assert [start_of(r) for r in power] == hours(FIRST, last)
    assert all(r["min"] <= r["mean"] <= r["max"] for r in power)
    # Nothing was asked before the first report but the one request EKM answered with 1002.
    asked = [r.param("start_date") for r in push_server.requests_to("/summary")]
    windows = year_windows(now)
    assert len(asked) == 2 * (1 + len(windows))
    # Metadata: names, units, sums and means.
    ids = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    meta = {m["statistic_id"]: m for m in ids}
    imported = meta[sid(V4, "energy_import")]
    assert imported["source"] == DOMAIN
    assert imported["name"] == f"EKM {V4} import energy"
    assert imported["statistics_unit_of_measurement"] == "kWh"
    assert imported["has_sum"] is True
    assert meta[sid(V4, "power")]["statistics_unit_of_measurement"] == "W"
    assert meta[sid(V4, "power")]["has_sum"] is False
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["history"]["last_imported_hour"][sid(V4, "energy_import")] == last.isoformat()
    await unload(hass, entry)


async def test_history_days_zero_imports_nothing(
    hass: HomeAssistant, push_server: PushServer, now: Clock
) -> None:
    entry = await imported_entry(hass, push_server, days=0)
    assert entry.state is ConfigEntryState.LOADED
    assert push_server.requests_to("/summary") == []
    assert await rows_of(hass, sid(V4, "energy_import")) == []
    await unload(hass, entry)


async def test_setup_does_not_wait_for_the_import(
    hass: HomeAssistant, push_server: PushServer, now: Clock
) -> None:
    push_server.inject(Fault(delay=1.0, times=None, path="/summary"))  # a slow Summary API
    entry = add_entry(hass, push_server, meters=[V4])
    await push_support.set_up(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    importer = history.importer_of(hass, entry.entry_id)
    assert importer is not None and importer.busy
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert not importer.busy
    assert await rows_of(hass, sid(V4, "energy_import"))
    await unload(hass, entry)


@pytest.mark.parametrize("case", [((2026, 3, 8), 23), ((2026, 11, 1), 25)])
async def test_dst_days_have_23_and_25_hours(
    hass: HomeAssistant,
    push_server: PushServer,
    now: Clock,
    exporting: VirtualMeter,
    case: tuple[tuple[int, int, int], int],
) -> None:
    day, count = case
    await hass.config.async_set_time_zone("America/New_York")
    midnight = datetime(*day, tzinfo=NY)
    next_midnight = datetime.combine(midnight.date() + timedelta(days=1), midnight.time(), NY)
    now.set(next_midnight + timedelta(days=1))
    entry = await imported_entry(hass, push_server, days=3, meters=[V4])
    for key, name in (("energy_import", "Fwd_kWh_Tot"), ("energy_export", "Rev_kWh_Tot")):
        rows = await rows_of(hass, sid(V4, key))
        inside = [r for r in rows if midnight <= start_of(r) < next_midnight]
        assert len(inside) == count
        before = [r for r in rows if start_of(r) < midnight][-1]
        change = register(exporting, name, next_midnight) - register(exporting, name, midnight)
        assert inside[-1]["sum"] - before["sum"] == pytest.approx(change, abs=1e-6)
        # The recorder's own daily view of the local day agrees.
        daily = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, midnight, next_midnight, {sid(V4, key)}, "day", None, {"change"}
        )
        assert daily[sid(V4, key)][0]["change"] == pytest.approx(change, abs=1e-6)
    await unload(hass, entry)


# --- later runs --------------------------------------------------------------------------


async def test_an_outage_is_filled_on_the_next_start(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    entry = await imported_entry(hass, push_server, days=2, meters=[V4])
    first = await rows_of(hass, sid(V4, "energy_import"))
    push_server.log.clear()
    await unload(hass, entry)
    now.set(now.now() + timedelta(days=3))  # HA was off for three days
    await set_up(hass, entry)
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert rows[: len(first)] == first
    assert [start_of(r) for r in rows] == hours(start_of(first[0]), datetime(2026, 1, 8, tzinfo=UTC) - HOUR)
    assert_follows(rows, exporting, "Fwd_kWh_Tot")
    asked = [r.param("start_date") for r in push_server.requests_to("/summary")]
    assert asked[0] == f"{start_of(first[-1]) + HOUR:%Y%m%d%H%M}"  # only what was missing
    assert len(asked) == 4  # 72 hours in windows of 23
    await unload(hass, entry)


async def test_the_hourly_run_adds_the_new_hours(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    entry = await imported_entry(hass, push_server, days=1, meters=[V4])
    before = await rows_of(hass, sid(V4, "energy_import"))
    now.set(now.now() + 2 * HOUR)
    push_server.log.clear()
    await push_support.poll(hass, seconds=3601)
    await async_wait_recording_done(hass)
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert len(rows) == len(before) + 2
    assert_follows(rows, exporting, "Fwd_kWh_Tot")
    assert len(push_server.requests_to("/summary")) == 1
    await unload(hass, entry)


def year_windows(now: Clock) -> list[HistoryWindow]:
    """The windows a first import of 365 days asks (those before the first report aside)."""
    windows = plan_windows(
        now=now.now(),
        history=timedelta(days=365),
        page_rows=history.page_rows,
        rows_per_hour=history.ROWS_PER_HOUR,
    )
    return [w for w in windows if w.end > FIRST]


class FailAfter(Fault):
    """503 for every Summary request of windows starting at or after `start` (EKM down half-way)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(status=503, times=None, path="/summary")
        self.start = f"{start:%Y%m%d%H%M}"

    def matches(self, request: web.Request) -> bool:
        return super().matches(request) and request.query.get("start_date", "") >= self.start


async def test_a_stopped_import_resumes_without_duplicate_or_missing_hour(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    windows = year_windows(now)
    third = windows[2]
    fault = push_server.inject(FailAfter(third.start))  # EKM fails from the third window with data on
    entry = await imported_entry(hass, push_server, meters=[V4])
    half = await rows_of(hass, sid(V4, "energy_import"))
    assert [start_of(r) for r in half] == hours(FIRST, third.start - HOUR)
    await unload(hass, entry)
    push_server.faults.remove(fault)
    await set_up(hass, entry)
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert [start_of(r) for r in rows] == hours(FIRST, datetime(2026, 1, 5, tzinfo=UTC) - HOUR)
    assert rows[: len(half)] == half
    for key, name in (
        ("energy_import", "Fwd_kWh_Tot"),
        ("energy_export", "Rev_kWh_Tot"),
        ("pulse_2", "Pulse_Cnt_2"),
    ):
        assert_follows(await rows_of(hass, sid(V4, key)), exporting, name)
    power = await rows_of(hass, sid(V4, "power"), types={"mean"})
    assert [start_of(r) for r in power] == [start_of(r) for r in rows]
    await unload(hass, entry)


async def test_429_is_waited_out(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    fault = push_server.inject(Fault(status=429, retry_after="1", times=2, path="/summary"))
    entry = await imported_entry(hass, push_server, meters=[V4])
    assert fault.times == 0
    asked = [r.param("start_date") for r in push_server.requests_to("/summary")]
    windows = year_windows(now)
    wanted = [f"{w.start:%Y%m%d%H%M}" for w in windows]
    assert asked[0] == asked[1]  # the first window asked again after the 429s
    assert list(dict.fromkeys(asked[1:])) == [asked[0], *wanted]
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert [start_of(r) for r in rows] == hours(FIRST, datetime(2026, 1, 5, tzinfo=UTC) - HOUR)
    assert_follows(rows, exporting, "Fwd_kWh_Tot")
    await unload(hass, entry)


# --- the action ------------------------------------------------------------------------------


async def test_import_history_action_reimports_a_range(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    entry = await imported_entry(hass, push_server, meters=[V4])
    keys = [series.key for series in history.SERIES if not series.mean]
    before = {key: await rows_of(hass, sid(V4, key)) for key in keys}
    push_server.log.clear()
    # A range after an hour in which some series has no row (a tariff not in use): its sums
    # continue from its last row before the range.
    written = {key: {start_of(r) for r in rows} for key, rows in before.items() if rows}
    start = next(
        hour
        for hour in hours(FIRST + 2 * HOUR, FIRST + 80 * HOUR)
        if any(hour - HOUR not in starts and min(starts) < hour for starts in written.values())
    )
    end = start + 6 * HOUR
    response = await import_history(hass, entry.entry_id, start.isoformat(), end.isoformat())
    await async_wait_recording_done(hass)
    ids = {sid(V4, series.key) for series in history.SERIES}
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, end, ids, "hour", None, {"sum", "mean"}
    )
    assert response == {"rows": sum(len(rows) for rows in found.values())}
    assert len(found[sid(V4, "energy_import")]) == len(found[sid(V4, "power")]) == 6
    asked = [(r.param("start_date"), r.param("end_date")) for r in push_server.requests_to("/summary")]
    assert asked == [(f"{start:%Y%m%d%H%M}", f"{end:%Y%m%d%H%M}")]
    assert {key: await rows_of(hass, sid(V4, key)) for key in keys} == before
    await unload(hass, entry)


async def test_import_history_action_reaches_further_back(
    hass: HomeAssistant, push_server: PushServer, now: Clock, exporting: VirtualMeter
) -> None:
    """Two days imported; the action asks from the first report to the last imported hour: the sums are
    redone up to then."""
    entry = await imported_entry(hass, push_server, days=2, meters=[V4])
    last = datetime(2026, 1, 5, tzinfo=UTC) - HOUR
    assert start_of((await rows_of(hass, sid(V4, "energy_import")))[0]) == last - 47 * HOUR
    await import_history(hass, entry.entry_id, FIRST.isoformat(), (last + HOUR).isoformat())
    await async_wait_recording_done(hass)
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert [start_of(r) for r in rows] == hours(FIRST, last)
    assert_follows(rows, exporting, "Fwd_kWh_Tot")
    await unload(hass, entry)


async def test_import_history_action_refuses_a_range_before_the_statistics_that_ends_early(
    hass: HomeAssistant, push_server: PushServer, now: Clock
) -> None:
    """A start before a meter's first imported hour changes every later sum: an end before its last
    imported hour is refused, saying which end it needs, and nothing is asked or written (it used to
    re-import everything up to the last hour)."""
    entry = await imported_entry(hass, push_server, days=2, meters=[V4])
    before = await rows_of(hass, sid(V4, "energy_import"))
    push_server.log.clear()
    with pytest.raises(ServiceValidationError) as raised:
        await import_history(hass, entry.entry_id, FIRST.isoformat(), (FIRST + 24 * HOUR).isoformat())
    assert raised.value.translation_key == "history_range_too_short"
    assert raised.value.translation_placeholders == {
        "meter": V4,
        "start": FIRST.isoformat(),
        "end": datetime(2026, 1, 5, tzinfo=UTC).isoformat(),
    }
    assert push_server.requests_to("/summary") == []
    await async_wait_recording_done(hass)
    assert await rows_of(hass, sid(V4, "energy_import")) == before
    await unload(hass, entry)


async def test_import_history_action_refuses_other_entries(
    hass: HomeAssistant, push_server: PushServer, now: Clock
) -> None:
    entry = await imported_entry(hass, push_server, days=0, meters=[V4])
    with pytest.raises(ServiceValidationError):
        await import_history(hass, "nope", FIRST.isoformat(), (FIRST + HOUR).isoformat())
    await unload(hass, entry)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00", "2026-01-02T00:00:00"),  # OverflowError before
        ("0001-01-01T00:00:00+01:00", "0001-01-01T05:00:00+01:00"),
        ("2026-01-01T00:00:00", "9999-12-31T23:00:00"),
    ],
)
async def test_import_history_action_refuses_a_range_out_of_reach(
    hass: HomeAssistant, push_server: PushServer, now: Clock, start: str, end: str
) -> None:
    """Before 2000 or after tomorrow: a translated error, nothing asked or written."""
    entry = await imported_entry(hass, push_server, days=0, meters=[V4])
    push_server.log.clear()
    with pytest.raises(ServiceValidationError) as raised:
        await import_history(hass, entry.entry_id, start, end)
    assert raised.value.translation_key == "history_out_of_range"
    assert push_server.requests_to("/summary") == []
    await unload(hass, entry)
