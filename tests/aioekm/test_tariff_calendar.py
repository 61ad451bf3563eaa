"""The tariff in force, from a meter's schedules, seasons, weekends and holidays."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest

from custom_components.ekm.aioekm.rs485.tariff_calendar import next_change, schedule_on, tariff_at
from custom_components.ekm.aioekm.rs485.tariffs import (
    Holiday,
    Season,
    TariffPeriod,
    TariffSchedule,
    TariffTables,
    empty_schedules,
)
from custom_components.ekm.aioekm.simulator.fleet import FACTORY_TARIFFS

# Winter (from 1 October): day tariff 1 from 07:00, night tariff 2 from 23:00 (schedule 1).
# Summer (from 1 June): tariff 1 until 12:00, peak tariff 3 from 12:00, 4 from 18:00, night 2
# from 22:00 (schedule 3). Weekends and holidays: tariff 2 all day (schedule 2).
TABLES = TariffTables(
    schedules=(
        TariffSchedule(1, (TariffPeriod(time(7, 0), 1), TariffPeriod(time(23, 0), 2))),
        TariffSchedule(2, (TariffPeriod(time(0, 0), 2),)),
        TariffSchedule(
            3,
            (
                TariffPeriod(time(6, 0), 1),
                TariffPeriod(time(12, 0), 3),
                TariffPeriod(time(18, 0), 4),
                TariffPeriod(time(22, 0), 2),
            ),
        ),
        *empty_schedules()[3:],
    ),
    seasons=(Season(10, 1, 1), Season(6, 1, 3)),  # out of date order, as a meter may hold them
    holidays=(Holiday(1, 1), Holiday(12, 25)),
    weekend_schedule=2,
    holiday_schedule=2,
)


@pytest.mark.parametrize(
    ("when", "tariff"),
    [
        ("2026-05-29 06:59:59", 2),  # Friday, winter schedule, the night from Thursday 23:00 goes on
        ("2026-05-29 07:00:00", 1),
        ("2026-05-29 23:00:00", 2),
        ("2026-05-30 12:30:00", 2),  # Saturday: the weekend schedule
        ("2026-06-01 05:59:00", 2),  # Monday, first summer day: Sunday's tariff 2 until 06:00
        ("2026-06-01 06:00:00", 1),
        ("2026-06-01 12:00:00", 3),  # the season boundary: summer peaks
        ("2026-06-01 18:00:00", 4),
        ("2026-06-01 22:00:00", 2),
        ("2026-09-30 13:00:00", 3),  # the last summer day
        ("2026-10-01 13:00:00", 1),  # winter again
        ("2026-12-24 13:00:00", 1),  # Thursday
        ("2026-12-25 13:00:00", 2),  # a holiday on a Friday
        ("2027-01-01 08:00:00", 2),  # New Year: a holiday, in the season that began last October
        ("2027-01-04 08:00:00", 1),  # the Monday after: winter
        ("2027-03-15 13:00:00", 1),  # before the year's first season start: last year's last season
    ],
)
def test_tariff_at(when: str, tariff: int) -> None:
    assert tariff_at(TABLES, datetime.fromisoformat(when)) == tariff


def test_the_factory_setup() -> None:
    """The simulator's meters: day and night on weekdays, tariff 2 on weekends and holidays."""
    assert tariff_at(FACTORY_TARIFFS, datetime(2026, 3, 4, 12)) == 1  # a Wednesday
    assert tariff_at(FACTORY_TARIFFS, datetime(2026, 3, 4, 23, 30)) == 2
    assert tariff_at(FACTORY_TARIFFS, datetime(2026, 3, 7, 12)) == 2  # a Saturday
    assert tariff_at(FACTORY_TARIFFS, datetime(2026, 12, 25, 12)) == 2


def test_without_seasons_schedule_1() -> None:
    tables = replace(TABLES, seasons=())
    assert schedule_on(tables, datetime(2026, 7, 1).date()).number == 1
    assert tariff_at(tables, datetime(2026, 7, 1, 13)) == 1


def test_unset_weekend_and_holiday_follow_the_season() -> None:
    tables = replace(TABLES, weekend_schedule=None, holiday_schedule=None)
    assert tariff_at(tables, datetime(2026, 6, 6, 13)) == 3  # a summer Saturday
    assert tariff_at(tables, datetime(2026, 12, 25, 13)) == 1  # Christmas, winter weekday schedule


def test_a_day_without_periods_says_nothing() -> None:
    tables = replace(TABLES, schedules=empty_schedules())
    assert tariff_at(tables, datetime(2026, 6, 1, 13)) is None
    assert next_change(tables, datetime(2026, 6, 1, 13)) is None


def test_next_change() -> None:
    friday_evening = datetime(2026, 5, 29, 20, 0)
    assert next_change(TABLES, friday_evening) == datetime(2026, 5, 29, 23, 0)
    # Friday 23:00 tariff 2 runs through the weekend (schedule 2 is tariff 2 all day) to Monday,
    # the first summer day, 06:00.
    assert next_change(TABLES, datetime(2026, 5, 29, 23, 0)) == datetime(2026, 6, 1, 6, 0)
    flat = replace(
        TABLES, schedules=(TariffSchedule(1, (TariffPeriod(time(0, 0), 1),)), *empty_schedules()[1:])
    )
    flat = replace(flat, seasons=(), weekend_schedule=None, holiday_schedule=None)
    assert next_change(flat, friday_evening) is None
    assert next_change(flat, friday_evening, within=timedelta(days=30)) is None
