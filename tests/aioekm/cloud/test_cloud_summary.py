"""Summary (legacy) and Summary V2 through the Push client against the fake server's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import MalformedResponseError, NoDataError, UnknownMeterError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.dates import format_api_time, parse_api_time
from custom_components.ekm.aioekm.push.summary import split_stat
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from .cloud_support import GW1, GW2, V3, V4, V4_B, make_client

NY = ZoneInfo("America/New_York")
HOUR = 3600.0


def register_diff(fleet: Fleet, address: str, start: datetime, end: datetime, name: str = "kWh_Tot") -> float:
    """What the meter's register advanced between two instants, as the register shows it."""
    meter = fleet.meters[address]
    a, b = meter.values(start.timestamp())[name], meter.values(end.timestamp())[name]
    assert isinstance(a, float) and isinstance(b, float)
    return round(b - a, 2 if address != V3 else 1)


async def test_daily_diff_is_what_the_register_advanced(client: PushClient, fleet: Fleet) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    end = datetime(2026, 11, 23, tzinfo=UTC)
    rows = await client.summary([V4, V3], "dy", start, end)
    assert [(r.meter, r.start.day) for r in rows] == [
        (V3, 20),
        (V3, 21),
        (V3, 22),
        (V4, 20),
        (V4, 21),
        (V4, 22),
    ]
    for row in rows:
        assert row.end - row.start == timedelta(days=1)
        assert row.count == 1440
        assert row.diff("kWh_Tot") == register_diff(fleet, row.meter, row.start, row.end)
        assert (row.diff("kWh_Tot") or 0.0) > 0
        kwh = row.stats["kWh_Tot"]
        assert kwh.min is not None and kwh.max is not None
        assert kwh.min < kwh.max
        volts = row.stats["RMS_Volts_Ln_1"]
        assert volts.average is not None and volts.min is not None and volts.max is not None
        assert volts.min <= volts.average <= volts.max
        assert 115 < volts.average < 125
        assert volts.std_dev is not None and volts.std_dev >= 0


async def test_dates_are_sent_on_the_requested_wall_clock(client: PushClient, server: PushServer) -> None:
    start = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # midnight in New York (EST)
    end = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # midnight in New York (EDT)
    await client.summary([V4], "dy", start, end, timezone="America/New_York")
    [logged] = server.requests_to("/summary")
    assert logged.param("start_date") == "202603070000"
    assert logged.param("end_date") == "202603100000"
    assert logged.param("timezone") == "America~New_York"
    assert logged.param("meters") == "300000001"
    assert logged.param("report") == "dy"


@pytest.mark.parametrize(
    ("day", "hours"),
    [((2026, 3, 8), 23), ((2026, 3, 9), 24), ((2026, 11, 1), 25), ((2026, 11, 2), 24)],
)
async def test_days_across_dst_changes(
    client: PushClient, fleet: Fleet, day: tuple[int, int, int], hours: int
) -> None:
    local_start = datetime(*day, tzinfo=NY)
    next_midnight = datetime.combine(local_start.date() + timedelta(days=1), local_start.time(), NY)
    rows = await client.summary([V4], "dy", local_start, next_midnight, timezone=NY)
    [row] = rows
    assert row.start == local_start
    assert (row.end - row.start).total_seconds() == hours * HOUR
    assert row.count == hours * 60
    assert row.diff("kWh_Tot") == register_diff(fleet, V4, row.start, row.end)


async def test_hours_of_the_short_day(client: PushClient, fleet: Fleet) -> None:
    start = datetime(2026, 3, 8, tzinfo=NY)
    end = datetime(2026, 3, 9, tzinfo=NY)
    rows = await client.summary([V4], "hr", start, end, timezone=NY)
    assert len(rows) == 23
    assert all(r.end - r.start == timedelta(hours=1) for r in rows)
    total = round(sum(r.diff("kWh_Tot") or 0.0 for r in rows), 2)
    assert abs(total - register_diff(fleet, V4, start, end)) <= 0.01 * 23


async def test_paging_fetches_every_row_once(client: PushClient, server: PushServer, fleet: Fleet) -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    end = datetime(2026, 11, 25, tzinfo=UTC)
    rows = await client.summary([V4], "15", start, end, page_size=50)
    logged = server.requests_to("/summary")
    assert [r.param("offset") for r in logged] == ["0", "50", "100", "150"]
    assert all(r.param("limit") == "50" for r in logged)
    assert len(rows) == 192
    assert [r.start for r in rows] == [start + timedelta(minutes=15 * i) for i in range(192)]
    assert rows[0].diff("kWh_Tot") == register_diff(fleet, V4, rows[0].start, rows[0].end)


async def test_weeks_and_months_follow_the_local_calendar(client: PushClient) -> None:
    months = await client.summary(
        [V4], "mo", datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 5, 1, tzinfo=NY), timezone=NY
    )
    assert [(r.start.astimezone(NY).date(), r.end.astimezone(NY).date()) for r in months] == [
        (datetime(2026, 3, 1).date(), datetime(2026, 4, 1).date()),
        (datetime(2026, 4, 1).date(), datetime(2026, 5, 1).date()),
    ]
    weeks = await client.summary(
        [V4], "wk", datetime(2026, 11, 1, tzinfo=NY), datetime(2026, 11, 15, tzinfo=NY), timezone=NY
    )
    assert [r.start.astimezone(NY).strftime("%a %d") for r in weeks] == ["Sun 01", "Sun 08"]
    assert (weeks[0].end - weeks[0].start).total_seconds() == 7 * 24 * HOUR + HOUR  # DST ends that week


async def test_fields_are_passed_and_only_those_come_back(client: PushClient, server: PushServer) -> None:
    rows = await client.summary(
        [V4],
        "hr",
        datetime(2026, 11, 24, tzinfo=UTC),
        datetime(2026, 11, 24, 2, tzinfo=UTC),
        fields=["kWh_Tot", "Pulse_Cnt*"],
    )
    assert server.requests_to("/summary")[0].param("fields") == "kWh_Tot~Pulse_Cnt*"
    assert set(rows[0].stats) == {"kWh_Tot", "Pulse_Cnt_1", "Pulse_Cnt_2", "Pulse_Cnt_3"}
    assert rows[0].diff("Pulse_Cnt_1") == 1800  # 0.5 Hz for an hour


async def test_no_data_before_the_first_report_and_after_now(client: PushClient) -> None:
    with pytest.raises(NoDataError) as early:
        await client.summary([V4], "dy", datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 3, tzinfo=UTC))
    assert early.value.code == 1002
    with pytest.raises(NoDataError) as late:
        await client.summary([V4], "dy", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC))
    assert late.value.code == 1003


async def test_summary_of_a_meter_the_key_cannot_see(server: PushServer) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, server, server.keys.gateways[GW2])
        with pytest.raises(UnknownMeterError):
            await client.summary(
                [V4], "dy", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
            )


async def test_summary_rejects_bad_arguments_before_sending(client: PushClient, server: PushServer) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.summary([V4], "dy", datetime(2026, 11, 1), datetime(2026, 11, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown timezone"):
        await client.summary(
            [V4],
            "dy",
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 2, tzinfo=UTC),
            timezone="Mars/Olympus",
        )
    with pytest.raises(ValueError, match="not a valid Report"):
        await client.summary([V4], "yr", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert server.log == []


async def test_summary_row_without_times_is_malformed(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(body='[{"kWh_Tot_Diff": 1.5}]'))
    with pytest.raises(MalformedResponseError):
        await client.summary([V4], "dy", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))


# --- Summary V2 -------------------------------------------------------------------


async def test_v2_range_first_last_diff(client: PushClient, server: PushServer, fleet: Fleet) -> None:
    start, end = datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    rows = await client.summary_v2([V4, V4_B], start, end, fields=["kWh_Tot", "Pulse_Cnt_1"])
    [logged] = server.requests_to("/summary/api/v2/meter")
    assert logged.param("devices") == "300000001~300000002"
    assert logged.param("report") == "range"
    assert [r.meter for r in rows] == [V4, V4_B]
    for row in rows:
        kwh = row.stats["kWh_Tot"]
        first, last = (fleet.meters[row.meter].values(t.timestamp())["kWh_Tot"] for t in (start, end))
        assert (kwh.first, kwh.last) == (first, last)
        assert kwh.diff == register_diff(fleet, row.meter, start, end)
        assert kwh.delta_max is not None and 0 < kwh.delta_max <= (kwh.diff or 0)
        assert row.protocol == "v4"


async def test_v2_gateway_status(client: PushClient, server: PushServer, clock: ManualClock) -> None:
    server.offline_gateways.add(GW2)
    statuses = await client.gateway_status([GW1, GW2])
    assert [(s.mac, s.online) for s in statuses] == [(GW1, True), (GW2, False)]
    assert statuses[0].last_seen == datetime.fromtimestamp(clock.t, UTC)
    assert statuses[0].extra["Meters"] == 3


async def test_v2_iostack_without_iostacks_is_no_data(client: PushClient) -> None:
    with pytest.raises(NoDataError) as caught:
        await client.iostack_summary(
            ["1"], datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
        )
    assert caught.value.code == 1000


# --- pure helpers -------------------------------------------------------------------


def test_api_time_round_trip_in_dst_gap_and_overlap() -> None:
    summer = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    assert format_api_time(summer, NY) == "202607011230"
    assert parse_api_time("202607011230", NY) == summer
    with pytest.raises(ValueError, match="YYYYMMDDhhmm"):
        parse_api_time("2026-07-01", NY)
    # 01:30 happens twice on 2026-11-01 in New York; both instants print the same wall time.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert format_api_time(first, NY) == format_api_time(first + timedelta(hours=1), NY) == "202611010130"


def test_split_stat() -> None:
    assert split_stat("kWh_Tot_Diff") == ("kWh_Tot", "diff")
    assert split_stat("Pulse_Cnt_1_DeltaMax") == ("Pulse_Cnt_1", "delta_max")
    assert split_stat("RMS_Volts_Ln_1_StdDev") == ("RMS_Volts_Ln_1", "std_dev")
    assert split_stat("Meter") is None


def test_tolerant_v2_parsers() -> None:
    from custom_components.ekm.aioekm.push.summary import (
        parse_gateway_status,
        parse_iostack_row,
        parse_rows,
    )

    wrapped = {
        "data": [{"Start_Time_Stamp_UTC_ms": "0", "End_Time_Stamp_UTC_ms": 900000, "kWh_Tot_Diff": "1.5"}]
    }
    [row] = parse_rows(wrapped, "test")
    assert row.meter == ""
    assert row.diff("kWh_Tot") == 1.5
    assert row.end == datetime.fromtimestamp(900, UTC)
    odd = parse_rows([{**wrapped["data"][0], "Note_Max": "high", "Color": "red"}], "test")[0]
    assert dict(odd.extra) == {"Note_Max": "high", "Color": "red"}
    with pytest.raises(MalformedResponseError):
        parse_rows({"a": [], "b": []}, "test")
    with pytest.raises(MalformedResponseError):
        parse_rows([{"Start_Time_Stamp_UTC_ms": 0, "End_Time_Stamp_UTC_ms": 1, "Meter": "x"}], "test")
    status = parse_gateway_status({"mac_address": "4016FA0500CD", "Online": True}, "test")
    assert (status.mac, status.online, status.last_seen) == ("4016fa0500cd", True, None)
    assert parse_gateway_status({"Gateway": "x", "Status": "weird"}, "test").online is None
    with pytest.raises(MalformedResponseError):
        parse_gateway_status("nope", "test")
    iostack = parse_iostack_row({"IOStack": "42", "Analog_1_Average": 3.3}, "test")
    assert (iostack.device, iostack.start, iostack.values["Analog_1_Average"]) == ("42", None, 3.3)
