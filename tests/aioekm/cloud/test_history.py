"""History import, library half: Summary 15-minute rows over real HTTP into hourly statistics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
import itertools
import json
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.ekm.aioekm.errors import NoDataError, RateLimitedError, ServerError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.history import (
    SUM_REGISTERS,
    Baseline,
    WindowResult,
    fetch_hourly,
    hourly_statistics,
    probe_first_report,
)
from custom_components.ekm.aioekm.push.history_plan import (
    HistoryWindow,
    first_report_of,
    plan_windows,
    window_hours,
)
from custom_components.ekm.aioekm.push.history_series import HourlySum
from custom_components.ekm.aioekm.push.summary import FieldStats, Report, SummaryRow
from custom_components.ekm.aioekm.simulator.fleet import EPOCH, Fleet, VirtualMeter
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from ... import history_support
from ...history_support import register
from .cloud_support import V3, V4

NY = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
CHECKED = ("kWh_Tot", "Rev_kWh_Tot", "Fwd_kWh_Tot", "Net_kWh_Tot", "kWh_Tariff_1", "Pulse_Cnt_1")
exporting = history_support.exporting  # a fixture: V4, its second line exporting


async def collect(
    client: PushClient, meter: str, windows: Sequence[HistoryWindow], **kw: object
) -> list[WindowResult]:
    return [result async for result in fetch_hourly(client, meter, windows, **kw)]  # type: ignore[arg-type]


def series(results: Sequence[WindowResult], name: str) -> list[HourlySum]:
    return [row for result in results for row in result.statistics.sums.get(name, ())]


def assert_follows_register(
    rows: Sequence[HourlySum], meter: VirtualMeter, name: str, first_sum: float
) -> None:
    """Each hour: state = register at its end, sum advanced by what the register advanced."""
    previous_sum = first_sum
    for row in rows:
        before, after = register(meter, name, row.start), register(meter, name, row.start + HOUR)
        assert row.state == pytest.approx(after, abs=1e-6), (name, row.start)
        assert row.sum - previous_sum == pytest.approx(after - before, abs=1e-6), (name, row.start)
        previous_sum = row.sum


# --- the plan -----------------------------------------------------------------------


def test_plan_pages_oldest_first_on_whole_hours() -> None:
    now = datetime(2026, 11, 25, 12, 40, tzinfo=UTC)
    windows = plan_windows(now=now, history=timedelta(days=30))
    assert window_hours() == 248  # 992 rows of 15 minutes: one page of 1000
    assert windows[0].start == datetime(2026, 10, 26, 12, tzinfo=UTC)
    assert windows[-1].end == datetime(2026, 11, 25, 12, tzinfo=UTC)  # 12:00-13:00 is not over
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert [w.hours for w in windows] == [248, 248, 224]
    assert plan_windows(now=now, history=timedelta(0)) == []


def test_plan_is_clipped_by_the_first_report_and_resumes_after_the_last_hour() -> None:
    now = datetime(2026, 11, 25, 12, 40, tzinfo=UTC)
    year = timedelta(days=365)
    [window] = plan_windows(now=now, history=year, first_report=datetime(2026, 11, 20, 7, 31, tzinfo=UTC))
    assert window == HistoryWindow(
        datetime(2026, 11, 20, 7, tzinfo=UTC), datetime(2026, 11, 25, 12, tzinfo=UTC)
    )
    [window] = plan_windows(now=now, history=year, last_imported=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert window.start == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert plan_windows(now=now, history=year, last_imported=datetime(2026, 11, 25, 11, tzinfo=UTC)) == []
    # An outage longer than `history` is still filled: the sums must stay continuous.
    long_ago = datetime(2025, 6, 1, tzinfo=UTC)
    assert (
        plan_windows(now=now, history=timedelta(days=1), last_imported=long_ago)[0].start == long_ago + HOUR
    )


def test_first_report_is_read_from_the_1002_message() -> None:
    err = NoDataError(
        "GET /summary: no data (HTTP 400, EKM 1002): There is not data for: 300000001 "
        "This meter first reported on: 2026-01-01 00:00",
        status=400,
        code=1002,
    )
    assert first_report_of(err) == datetime(2026, 1, 1, tzinfo=UTC)
    assert first_report_of(NoDataError("first reported on: 2026-02-03T04:05:06", code=1002)) == datetime(
        2026, 2, 3, 4, 5, 6, tzinfo=UTC
    )
    assert first_report_of(NoDataError("first reported on: 2026-01-01 00:00", code=1001)) is None
    assert first_report_of(NoDataError("first reported on: 2026-13-01", code=1002)) is None


# --- hourly statistics over HTTP ----------------------------------------------------------


async def test_hourly_sums_follow_the_registers_across_windows(
    client: PushClient, server: PushServer, exporting: VirtualMeter
) -> None:
    windows = plan_windows(
        now=datetime(2026, 11, 22, 0, 30, tzinfo=UTC), history=timedelta(days=2), page_rows=100
    )
    assert len(windows) == 3  # 23-hour windows: the sums carry from one to the next
    results = await collect(client, V4, windows, page_rows=100)
    assert len(server.requests_to("/summary")) == 3
    assert [r.rows for r in results] == [92, 92, 8]
    for name in CHECKED:
        rows = series(results, name)
        assert [r.start for r in rows] == [windows[0].start + i * HOUR for i in range(48)]
        assert_follows_register(rows, exporting, name, 0.0)
    assert series(results, "Rev_kWh_Tot")[-1].sum > 10  # the export moved: the test means something
    watts = results[0].statistics.means["RMS_Watts_Tot"]
    assert len(watts) == 23
    quarter = await client.summary([V4], "15", windows[0].start, windows[0].start + HOUR)
    averages = [r.stats["RMS_Watts_Tot"].average for r in quarter]
    assert watts[0].mean == pytest.approx(sum(a or 0.0 for a in averages) / 4)
    assert watts[0].min == min(r.stats["RMS_Watts_Tot"].min or 0.0 for r in quarter)
    assert watts[0].max == max(r.stats["RMS_Watts_Tot"].max or 0.0 for r in quarter)


async def test_v3_meter_tenths(client: PushClient, fleet: Fleet) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    [result] = await collect(client, V3, [HistoryWindow(start, start + 6 * HOUR)])
    assert_follows_register(series([result], "kWh_Tot"), fleet.meters[V3], "kWh_Tot", 0.0)


@pytest.mark.parametrize(("day", "hours"), [((2026, 3, 8), 23), ((2026, 11, 1), 25), ((2026, 11, 2), 24)])
async def test_local_dst_days_have_23_and_25_hours(
    client: PushClient, exporting: VirtualMeter, day: tuple[int, int, int], hours: int
) -> None:
    midnight = datetime(*day, tzinfo=NY)
    next_midnight = datetime.combine(midnight.date() + timedelta(days=1), midnight.time(), NY)
    window = HistoryWindow(midnight.astimezone(UTC), next_midnight.astimezone(UTC))
    [result] = await collect(client, V4, [window])
    for name in ("Fwd_kWh_Tot", "Rev_kWh_Tot", "kWh_Tot"):
        rows = series([result], name)
        assert len(rows) == hours
        day_change = register(exporting, name, next_midnight) - register(exporting, name, midnight)
        assert rows[-1].sum == pytest.approx(day_change, abs=1e-6)
    assert len(result.statistics.means["RMS_Watts_Tot"]) == hours


async def test_a_gap_has_no_rows_and_the_next_hour_counts_across_it(
    client: PushClient, exporting: VirtualMeter
) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    rows = await client.summary([V4], "15", start, start + 6 * HOUR)
    offline = [r for r in rows if not start + 2 * HOUR <= r.start < start + 4 * HOUR]
    stats = hourly_statistics(offline)
    fwd = stats.sums["Fwd_kWh_Tot"]
    assert [r.start for r in fwd] == [start, start + HOUR, start + 4 * HOUR, start + 5 * HOUR]
    across = register(exporting, "Fwd_kWh_Tot", start + 5 * HOUR) - register(
        exporting, "Fwd_kWh_Tot", start + 2 * HOUR
    )
    assert fwd[2].sum - fwd[1].sum == pytest.approx(across, abs=1e-6)
    assert [m.start for m in stats.means["RMS_Watts_Tot"]] == [r.start for r in fwd]


async def test_rows_twice_and_out_of_order_count_once(client: PushClient) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    rows = await client.summary([V4], "15", start, start + 6 * HOUR)
    messy = rows + rows[::3]
    random.Random(4).shuffle(messy)
    assert hourly_statistics(messy) == hourly_statistics(rows)


async def test_a_replaced_meter_never_makes_the_sum_fall(
    client: PushClient, fleet: Fleet, exporting: VirtualMeter
) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    [before] = await collect(client, V4, [HistoryWindow(start, start + 3 * HOUR)])
    # The meter is swapped for a new one reading about 5 kWh at the next hour.
    exporting.start_kwh -= exporting.total_kwh((start + 3 * HOUR).timestamp()) - 5.0
    after = [
        r
        async for r in fetch_hourly(
            client, V4, [HistoryWindow(start + 3 * HOUR, start + 6 * HOUR)], before.baselines
        )
    ]
    old, new = series([before], "kWh_Tot"), series(after, "kWh_Tot")
    assert new[0].state < 10 < old[-1].state
    assert new[0].sum == pytest.approx(old[-1].sum + new[0].state, abs=1e-6)  # the new value counts
    assert_follows_register(new[1:], exporting, "kWh_Tot", new[0].sum)
    fwd_old, fwd_new = series([before], "Fwd_kWh_Tot"), series(after, "Fwd_kWh_Tot")
    assert fwd_new[0].sum == pytest.approx(fwd_old[-1].sum + fwd_new[0].state, abs=1e-6)
    assert all(b.sum >= a.sum for a, b in itertools.pairwise(fwd_old + fwd_new))


def quarter(start: datetime, kwh_end: float, kwh_start: float) -> SummaryRow:
    return SummaryRow(
        meter=V4,
        start=start,
        end=start + timedelta(minutes=15),
        stats={"kWh_Tot": FieldStats(min=kwh_start, max=kwh_end, diff=kwh_end - kwh_start)},
    )


def test_a_small_drop_is_a_glitch_the_sum_holds() -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    values = [100.0, 101.0, 100.5, 102.0]  # hour 2 reads low once
    rows = [quarter(start + i * HOUR + timedelta(minutes=45), v, v) for i, v in enumerate(values)]
    sums = [(r.state, r.sum) for r in hourly_statistics(rows).sums["kWh_Tot"]]
    assert sums == [(100.0, 0.0), (101.0, 1.0), (100.5, 1.0), (102.0, 2.0)]


# --- resume, failures, rate limits, first report ----------------------------------------


async def test_resume_after_a_failure_mid_way_repeats_and_misses_nothing(
    client: PushClient, server: PushServer, exporting: VirtualMeter
) -> None:
    now = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
    history = timedelta(days=2)
    windows = plan_windows(now=now, history=history, page_rows=100)
    written: list[WindowResult] = []

    async def import_until_it_fails() -> None:
        async for result in fetch_hourly(client, V4, windows, page_rows=100):
            written.append(result)  # the caller writes each window before the next is fetched
            server.inject(Fault(status=503, times=3, path="/summary"))  # every retry of the next fails

    with pytest.raises(ServerError):
        await import_until_it_fails()
    assert len(written) == 1
    last = written[-1].statistics.last_hour
    assert last is not None
    baselines = written[-1].baselines
    rest = plan_windows(now=now, history=history, last_imported=last, page_rows=100)
    assert rest[0].start == last + HOUR
    written += await collect(client, V4, rest, baselines=baselines, page_rows=100)
    fresh = await collect(client, V4, windows, page_rows=100)
    for name in CHECKED:
        assert series(written, name) == series(fresh, name)
        assert_follows_register(series(written, name), exporting, name, 0.0)
    assert series(written, "RMS_Watts_Tot") == series(fresh, "RMS_Watts_Tot")
    means = [m.start for r in written for m in r.statistics.means["RMS_Watts_Tot"]]
    assert means == [windows[0].start + i * HOUR for i in range(48)]


async def test_a_later_run_fetches_only_the_new_hours(client: PushClient, server: PushServer) -> None:
    first = plan_windows(now=datetime(2026, 11, 24, 0, 30, tzinfo=UTC), history=timedelta(days=1))
    done = await collect(client, V4, first)
    last = done[-1].statistics.last_hour
    assert last == datetime(2026, 11, 23, 23, tzinfo=UTC)
    later = plan_windows(
        now=datetime(2026, 11, 24, 6, 45, tzinfo=UTC), history=timedelta(days=1), last_imported=last
    )
    assert later == [HistoryWindow(datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 24, 6, tzinfo=UTC))]
    [more] = await collect(client, V4, later, baselines=done[-1].baselines)
    kwh = series(done, "kWh_Tot") + series([more], "kWh_Tot")
    assert [r.start for r in kwh] == [first[0].start + i * HOUR for i in range(30)]
    assert [logged.param("start_date") for logged in server.requests_to("/summary")] == [
        "202611230000",
        "202611240000",
    ]


async def test_429_is_waited_out_and_the_same_window_asked_again(
    client: PushClient, server: PushServer, fleet: Fleet
) -> None:
    server.inject(Fault(status=429, retry_after="7", times=1, path="/summary"))
    server.inject(Fault(status=429, retry_after="500", times=1, path="/summary"))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    start = datetime(2026, 11, 24, tzinfo=UTC)
    [result] = await collect(client, V4, [HistoryWindow(start, start + 2 * HOUR)], sleep=sleep)
    assert slept == [7.0, 500.0]  # Retry-After, within the run's 600 s
    assert [r.param("start_date") for r in server.requests_to("/summary")] == ["202611240000"] * 3
    assert_follows_register(series([result], "kWh_Tot"), fleet.meters[V4], "kWh_Tot", 0.0)


async def test_429_without_end_gives_up(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(status=429, retry_after="1", times=None, path="/summary"))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    start = datetime(2026, 11, 24, tzinfo=UTC)
    with pytest.raises(RateLimitedError):
        await collect(client, V4, [HistoryWindow(start, start + HOUR)], sleep=sleep, rate_limit_retries=2)
    assert slept == [1.0, 1.0]
    assert len(server.requests_to("/summary")) == 3


async def test_first_report_inside_the_window(client: PushClient, server: PushServer, fleet: Fleet) -> None:
    epoch = datetime.fromtimestamp(EPOCH, UTC)
    assert await probe_first_report(client, V4) == epoch
    now = epoch + timedelta(days=2, minutes=40)
    history = timedelta(days=30)
    # Known floor: the plan starts at it.
    clipped = plan_windows(now=now, history=history, first_report=epoch)
    assert clipped[0].start == epoch
    # Unknown floor: the first window's 1002 names it and the windows before it are skipped.
    server.log.clear()
    windows = plan_windows(now=now, history=history, page_rows=100)
    results = await collect(client, V4, windows, page_rows=100)
    asked = [r.param("start_date") for r in server.requests_to("/summary")]
    assert asked[0] == f"{windows[0].start:%Y%m%d%H%M}"
    assert len(asked) == 1 + sum(1 for w in windows if w.end > epoch)
    assert all(r.first_report == epoch for r in results)
    kwh = series(results, "kWh_Tot")
    assert kwh[0].start == epoch
    assert [r.start for r in kwh] == [epoch + i * HOUR for i in range(48)]
    assert_follows_register(kwh, fleet.meters[V4], "kWh_Tot", 0.0)


async def test_resume_of_a_register_skips_hours_up_to_its_baseline(client: PushClient) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    rows = await client.summary([V4], "15", start, start + 4 * HOUR)
    whole = hourly_statistics(rows)
    kwh = whole.sums["kWh_Tot"]
    base = {"kWh_Tot": Baseline(kwh[1].start, kwh[1].state, kwh[1].sum)}
    resumed = hourly_statistics(rows, base, after=kwh[1].start)
    assert resumed.sums["kWh_Tot"] == kwh[2:]
    assert resumed.sums["Fwd_kWh_Tot"] == whole.sums["Fwd_kWh_Tot"]  # no baseline: starts afresh
    assert resumed.means["RMS_Watts_Tot"] == whole.means["RMS_Watts_Tot"][2:]


async def test_the_hourly_report_gives_the_same_sums_in_fewer_requests(
    client: PushClient, server: PushServer, exporting: VirtualMeter
) -> None:
    now = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
    quarters = await collect(client, V4, plan_windows(now=now, history=timedelta(days=20)))
    server.log.clear()
    hourly = plan_windows(now=now, history=timedelta(days=20), rows_per_hour=1)
    assert len(hourly) == 1  # 480 hours of one row: one page
    hours = await collect(client, V4, hourly, report=Report.HOUR)
    assert [r.param("report") for r in server.requests_to("/summary")] == ["hr"]
    for name in CHECKED:
        assert series(hours, name) == series(quarters, name)
        assert len(series(hours, name)) == 480
    watts = hours[0].statistics.means["RMS_Watts_Tot"]
    assert len(watts) == 480
    assert all(m.min <= m.mean <= m.max for m in watts)


async def test_a_window_without_data_is_empty_and_the_next_counts_across_it(
    client: PushClient, server: PushServer, exporting: VirtualMeter
) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    windows = [HistoryWindow(start + i * 2 * HOUR, start + (i + 1) * 2 * HOUR) for i in range(3)]
    results: list[WindowResult] = []
    async for result in fetch_hourly(client, V4, windows):
        results.append(result)
        if len(results) == 1:  # EKM has nothing for the next window (meter offline): 1001, not an error
            server.inject(Fault(status=400, code=1001, message="There is not data for: 300000001"))
    first, empty, last = results
    assert empty.rows == 0 and empty.statistics.sums == {}
    assert empty.baselines == first.baselines
    before, after = series([first], "Fwd_kWh_Tot")[-1], series([last], "Fwd_kWh_Tot")[0]
    assert after.start == start + 4 * HOUR
    change = register(exporting, "Fwd_kWh_Tot", start + 5 * HOUR) - register(
        exporting, "Fwd_kWh_Tot", start + 2 * HOUR
    )
    assert after.sum - before.sum == pytest.approx(change, abs=1e-6)


async def test_a_row_touching_the_window_edge_is_left_to_its_own_window(
    client: PushClient, server: PushServer
) -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    edge = {
        "Start_Time_Stamp_UTC_ms": int((start - timedelta(minutes=15)).timestamp() * 1000),
        "End_Time_Stamp_UTC_ms": int(start.timestamp() * 1000),
        "Meter": "300000001",
        "kWh_Tot_Min": 1.0,
        "kWh_Tot_Max": 2.0,
    }
    server.inject(Fault(body=json.dumps([edge]), path="/summary"))
    [result] = await collect(client, V4, [HistoryWindow(start, start + HOUR)])
    assert result.rows == 0
    assert result.statistics.sums == {}


async def test_only_the_fields_of_the_wanted_registers_are_asked(
    client: PushClient, server: PushServer, exporting: VirtualMeter
) -> None:
    wanted = [r for r in SUM_REGISTERS if r.name in ("Fwd_kWh_Tot", "Pulse_Cnt_1")]
    start = datetime(2026, 11, 24, tzinfo=UTC)
    [result] = await collect(
        client, V4, [HistoryWindow(start, start + 3 * HOUR)], registers=wanted, mean_fields=["RMS_Watts_Tot"]
    )
    [logged] = server.requests_to("/summary")
    assert logged.param("fields") == "kWh_Tot~Rev_kWh_Tot~Pulse_Cnt_1~RMS_Watts_Tot"
    assert set(result.statistics.sums) == {"Fwd_kWh_Tot", "Pulse_Cnt_1"}
    assert set(result.statistics.means) == {"RMS_Watts_Tot"}
    assert_follows_register(series([result], "Fwd_kWh_Tot"), exporting, "Fwd_kWh_Tot", 0.0)
