"""History import, library half: what a faulty cloud cannot get into the statistics (issue #18).

Impossible Summary rows, a first report in the future, rate limits beyond the cap. The fake
server answers over real HTTP; `Tampered` alters the rows it would send.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
import logging
import math
from typing import Any

import pytest

from custom_components.ekm.aioekm.errors import RateLimitedError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.history import Baseline, WindowResult, fetch_hourly
from custom_components.ekm.aioekm.push.history_bounds import ENERGY_PER_HOUR
from custom_components.ekm.aioekm.push.history_plan import HistoryWindow, plan_windows
from custom_components.ekm.aioekm.push.history_series import HourlySum
from custom_components.ekm.aioekm.simulator.fleet import EPOCH, Fleet, VirtualMeter
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from ... import history_support
from ...history_support import Tampered, register
from .cloud_support import V4

HOUR = timedelta(hours=1)
START = datetime(2026, 11, 24, tzinfo=UTC)
exporting = history_support.exporting  # a fixture: V4, its second line exporting


async def collect(client: PushClient, windows: Sequence[HistoryWindow], **kw: Any) -> list[WindowResult]:
    return [result async for result in fetch_hourly(client, V4, windows, **kw)]


def series(results: Sequence[WindowResult], name: str) -> list[HourlySum]:
    return [row for result in results for row in result.statistics.sums.get(name, ())]


def assert_counts_from(rows: Sequence[HourlySum], meter: VirtualMeter, name: str, origin: datetime) -> None:
    """Each hour there is: its state is the register at its end, its sum what the register counted
    since `origin`."""
    for row in rows:
        end = row.start + HOUR
        assert row.state == pytest.approx(register(meter, name, end), abs=1e-6), (name, row.start)
        change = register(meter, name, end) - register(meter, name, origin)
        assert row.sum == pytest.approx(change, abs=1e-6), (name, row.start)


# --- item 3: impossible rows ----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {2: {"kWh_Tot_Last": -5.0}},  # the sum fell from 2 to -3
        {2: {"kWh_Tot_Last": 1e308}, 3: {"kWh_Tot_Last": -1e308}},  # the sum was inf from then on
        {2: {"kWh_Tot_Last": 1e12}},  # +1e12 stayed in the sum
        {2: {"kWh_Tot_Last": 5e7}},  # a register the meter can show, but not reach in an hour
    ],
    ids=["negative", "1e308", "1e12", "jump"],
)
async def test_impossible_registers_are_skipped_and_the_next_hours_count_from_the_last_good_one(
    client: PushClient,
    server: PushServer,
    exporting: VirtualMeter,
    caplog: pytest.LogCaptureFixture,
    bad: dict[int, dict[str, float]],
) -> None:
    server.inject(Tampered(server.fleet, {START + hour * HOUR: values for hour, values in bad.items()}))
    results = await collect(
        client, [HistoryWindow(START, START + 3 * HOUR), HistoryWindow(START + 3 * HOUR, START + 6 * HOUR)]
    )
    for name in ("kWh_Tot", "Fwd_kWh_Tot", "Net_kWh_Tot"):
        rows = series(results, name)
        assert [r.start for r in rows] == [START + h * HOUR for h in range(6) if h not in bad], name
        assert_counts_from(rows, exporting, name, START)
        assert all(math.isfinite(r.sum) and math.isfinite(r.state) for r in rows)
    # Registers the rows did not spoil count every hour.
    assert_counts_from(series(results, "Rev_kWh_Tot"), exporting, "Rev_kWh_Tot", START)
    assert len(series(results, "Rev_kWh_Tot")) == 6
    assert results[-1].baselines["kWh_Tot"].sum == pytest.approx(
        register(exporting, "kWh_Tot", START + 6 * HOUR) - register(exporting, "kWh_Tot", START), abs=1e-6
    )
    assert "impossible values skipped, never summed" in caplog.text


async def test_an_impossible_average_is_left_out_of_the_hourly_mean(
    client: PushClient, server: PushServer, fleet: Fleet
) -> None:
    [plain] = await collect(client, [HistoryWindow(START, START + 2 * HOUR)])
    quarter = START + HOUR + timedelta(minutes=30)
    server.inject(Tampered(fleet, {quarter: {"RMS_Watts_Tot_Average": 1e308}}, span=HOUR / 4))
    [result] = await collect(client, [HistoryWindow(START, START + 2 * HOUR)])
    before, after = plain.statistics.means["RMS_Watts_Tot"], result.statistics.means["RMS_Watts_Tot"]
    assert after[0] == before[0]
    assert math.isfinite(after[1].mean) and after[1].min <= after[1].mean <= after[1].max
    assert after[1].mean == pytest.approx(before[1].mean, rel=0.2)  # three quarters of four


async def test_a_register_that_stays_after_a_jump_is_taken_without_counting_the_jump(
    client: PushClient, exporting: VirtualMeter
) -> None:
    """A meter swapped for a used one: the jump is refused, the next hour confirms it."""
    [before] = await collect(client, [HistoryWindow(START, START + 3 * HOUR)])
    exporting.start_kwh += 10 * ENERGY_PER_HOUR  # from here on the register reads that much more
    after = await collect(
        client, [HistoryWindow(START + 3 * HOUR, START + 6 * HOUR)], baselines=before.baselines
    )
    old, new = series([before], "kWh_Tot"), series(after, "kWh_Tot")
    assert [r.start for r in new] == [START + 4 * HOUR, START + 5 * HOUR]  # 3:00-4:00 jumped
    counted = register(exporting, "kWh_Tot", START + 6 * HOUR) - register(
        exporting, "kWh_Tot", START + 4 * HOUR
    )
    assert new[-1].sum - old[-1].sum == pytest.approx(counted, abs=1e-6)
    assert new[-1].state == pytest.approx(register(exporting, "kWh_Tot", START + 6 * HOUR), abs=1e-6)


async def test_a_baseline_that_is_not_a_number_is_not_carried_on(client: PushClient, fleet: Fleet) -> None:
    """Statistics written before the checks may end in inf: the sums start again, finite."""
    broken = {"kWh_Tot": Baseline(START - HOUR, math.inf, math.inf)}
    [result] = await collect(client, [HistoryWindow(START, START + 3 * HOUR)], baselines=broken)
    rows = series([result], "kWh_Tot")
    assert len(rows) == 3
    assert_counts_from(rows, fleet.meters[V4], "kWh_Tot", START)
    assert all(math.isfinite(b.sum) for b in result.baselines.values())


# --- item 4: a first report in the future --------------------------------------------


async def test_a_first_report_in_the_future_is_ignored(
    client: PushClient, server: PushServer, fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    message = "There is not data for: 300000001 This meter first reported on: 9999-12-31 00:00"
    server.inject(Fault(status=400, code=1002, message=message, path="/summary"))
    windows = [HistoryWindow(START + i * 2 * HOUR, START + (i + 1) * 2 * HOUR) for i in range(3)]
    now = datetime.fromtimestamp(fleet.clock(), UTC)
    with caplog.at_level(logging.WARNING):
        results = await collect(client, windows, now=now)
    assert len(server.requests_to("/summary")) == 3  # every window asked
    assert [r.rows for r in results] == [0, 8, 8]
    assert all(r.first_report is None for r in results)
    rows = series(results, "kWh_Tot")
    assert [r.start for r in rows] == [START + h * HOUR for h in range(2, 6)]
    assert_counts_from(rows, fleet.meters[V4], "kWh_Tot", START + 2 * HOUR)
    assert "9999-12-31T00:00:00+00:00, which is in the future; ignored" in caplog.text
    # Nor does such a date empty a plan.
    future = datetime(9999, 12, 31, tzinfo=UTC)
    assert plan_windows(now=now, history=timedelta(days=1), first_report=future) == plan_windows(
        now=now, history=timedelta(days=1)
    )
    # A first report in the past still spares the windows before it their requests.
    epoch = datetime.fromtimestamp(EPOCH, UTC)
    server.log.clear()
    early = [HistoryWindow(epoch - (3 - i) * 2 * HOUR, epoch - (2 - i) * 2 * HOUR) for i in range(3)]
    results = await collect(client, early, now=now)
    assert len(server.requests_to("/summary")) == 1
    assert [r.first_report for r in results] == [epoch] * 3


# --- item 10: a rate limit beyond the cap -----------------------------------------------


async def test_a_429_beyond_the_cap_stops_at_once_and_says_so(
    client: PushClient, server: PushServer, fleet: Fleet
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    windows = [HistoryWindow(START, START + 2 * HOUR), HistoryWindow(START + 2 * HOUR, START + 4 * HOUR)]
    results: list[WindowResult] = []

    async def import_until_limited() -> None:
        async for result in fetch_hourly(client, V4, windows, sleep=sleep):
            results.append(result)
            server.inject(Fault(status=429, retry_after="999999999", times=None, path="/summary"))

    with pytest.raises(RateLimitedError, match=r"EKM asks to wait 3600 s, beyond the 600 s .*; stopped"):
        await import_until_limited()
    assert slept == []  # not 5 x 600 s
    assert len(server.requests_to("/summary")) == 2
    assert_counts_from(series(results, "kWh_Tot"), fleet.meters[V4], "kWh_Tot", START)


async def test_429_waits_of_one_run_are_bounded_in_all(client: PushClient, server: PushServer) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    server.inject(Fault(status=429, retry_after="250", times=None, path="/summary"))
    with pytest.raises(RateLimitedError, match="beyond the 600 s"):
        await collect(client, [HistoryWindow(START, START + HOUR)], sleep=sleep)
    assert slept == [250.0, 250.0]
    assert len(server.requests_to("/summary")) == 3
