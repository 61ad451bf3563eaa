"""Cloud history in long-term statistics: what a faulty cloud cannot store (issue #18, items 3 and 4).

The fake Push server over HTTP (its rows altered by `Tampered`), the real recorder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
import logging
import math

from homeassistant.core import HomeAssistant
import pytest

from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter
from custom_components.ekm.aioekm.simulator.push import PushServer

from .. import history_support
from ..history_support import SummaryFault, Tampered, register
from . import history_import_support, push_support, statistics_support
from .conftest import V4
from .history_import_support import FIRST, HOUR, Clock, hours, imported_entry, sid, unload
from .statistics_support import rows_of, start_of

loopback_http = push_support.loopback_http
push_server = push_support.push_server
exporting = history_support.exporting
auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
now = history_import_support.now

LAST = datetime(2026, 1, 5, tzinfo=UTC) - HOUR  # the last whole hour at `now`
BAD_HOURS = {
    FIRST + 30 * HOUR: {"kWh_Tot_Last": -5.0},  # the sum fell by the register and 5
    FIRST + 40 * HOUR: {"kWh_Tot_Last": 1e308},  # inf from here on, in every later window
    FIRST + 41 * HOUR: {"kWh_Tot_Last": -1e308},
    FIRST + 50 * HOUR: {"kWh_Tot_Last": 1e12},  # +1e12 in the sum
    FIRST + 60 * HOUR: {"kWh_Tot_Last": 5e7},  # a register the meter can show, not reach in an hour
}


async def test_impossible_rows_are_never_stored(
    hass: HomeAssistant,
    push_server: PushServer,
    now: Clock,
    exporting: VirtualMeter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    push_server.inject(Tampered(push_server.fleet, BAD_HOURS))
    quarter = FIRST + 70 * HOUR + timedelta(minutes=15)
    push_server.inject(Tampered(push_server.fleet, {quarter: {"RMS_Watts_Tot_Average": 1e308}}, HOUR / 4))
    entry = await imported_entry(hass, push_server, meters=[V4])
    for key, name in (
        ("energy_total", "kWh_Tot"),
        ("energy_import", "Fwd_kWh_Tot"),
        ("energy_net", "Net_kWh_Tot"),
    ):
        rows = await rows_of(hass, sid(V4, key))
        # The spoilt hours are skipped, every other hour is there (but net hours that add nothing).
        wanted = [h for h in hours(FIRST, LAST) if h not in BAD_HOURS]
        assert [start_of(r) for r in rows] == wanted or key == "energy_net", key
        assert {start_of(r) for r in rows} <= set(wanted), key
        for row in rows:
            end = start_of(row) + HOUR
            assert math.isfinite(row["sum"]) and math.isfinite(row["state"])
            assert row["state"] == pytest.approx(register(exporting, name, end), abs=1e-6), (key, end)
            # What the register counted since the first report: the hours after a skipped one count
            # from the last good value.
            change = register(exporting, name, end) - register(exporting, name, FIRST)
            assert row["sum"] == pytest.approx(change, abs=1e-6), (key, end)
        if key != "energy_net":
            assert all(a["sum"] <= b["sum"] for a, b in itertools.pairwise(rows))
    power = await rows_of(hass, sid(V4, "power"), types={"mean", "min", "max"})
    assert len(power) == len(hours(FIRST, LAST))
    assert all(math.isfinite(r["mean"]) and r["min"] <= r["mean"] <= r["max"] < 1e7 for r in power)
    assert "impossible values skipped, never summed" in caplog.text
    await unload(hass, entry)


async def test_a_first_report_in_the_future_skips_nothing(
    hass: HomeAssistant,
    push_server: PushServer,
    now: Clock,
    exporting: VirtualMeter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """EKM says 'first reported on 9999-12-31' once: the later windows are still asked and imported."""
    message = "There is not data for: 300000001 This meter first reported on: 9999-12-31 00:00"
    push_server.inject(SummaryFault(status=400, code=1002, message=message))
    caplog.set_level(logging.WARNING)
    entry = await imported_entry(hass, push_server, meters=[V4])
    rows = await rows_of(hass, sid(V4, "energy_import"))
    assert [start_of(r) for r in rows] == hours(FIRST, LAST)
    history_import_support.assert_follows(rows, exporting, "Fwd_kWh_Tot")
    assert "first reported on 9999-12-31T00:00:00+00:00, which is in the future; ignored" in caplog.text
    await unload(hass, entry)
