"""Which tariff a meter counts into at a moment of its own clock, from its time-of-use tables.

The A and B replies carry no "active tariff" field, so the tariff in force is worked out the
way the meter's tables describe it (docs/rs485-protocol.md, "Which tariff is in force"):

- the day's schedule: the holiday schedule on a listed holiday, else the weekend schedule on
  Saturday and Sunday, else the schedule of the season in force (the season with the latest
  start date on or before the day; before the year's first season start, the last season of
  the year before); where the tables leave one of these unset, the next rule applies, and a
  meter without seasons follows schedule 1;
- within the day: the period with the latest start at or before the time of day; before the
  day's first period, the last period of the day before goes on (a night tariff that began
  at 23:00 runs past midnight);
- a day whose schedule has no periods gives no answer (None): such a meter's behaviour is
  not documented.

Times are the meter's own (naive: the meter keeps local time with no zone). Weekends are
those of the date, not the weekday digits of Meter_Time, which a careless clock set can get
wrong; the sync clock write sets both.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Final

from .tariffs import TariffSchedule, TariffTables

DEFAULT_SCHEDULE: Final = 1  # a meter without seasons
SATURDAY: Final = 5  # date.weekday()
_DAY: Final = timedelta(days=1)


def schedule_on(tables: TariffTables, day: date) -> TariffSchedule:
    """The schedule the meter follows on `day`."""
    if tables.holiday_schedule is not None and any(
        (h.month, h.day) == (day.month, day.day) for h in tables.holidays
    ):
        return tables.schedule(tables.holiday_schedule)
    if tables.weekend_schedule is not None and day.weekday() >= SATURDAY:
        return tables.schedule(tables.weekend_schedule)
    return tables.schedule(_season_schedule(tables, day))


def _season_schedule(tables: TariffTables, day: date) -> int:
    if not tables.seasons:
        return DEFAULT_SCHEDULE
    starts = sorted(tables.seasons, key=lambda s: (s.month, s.day))
    in_force = starts[-1]  # before this year's first start: last year's last season goes on
    for season in starts:
        if (season.month, season.day) <= (day.month, day.day):
            in_force = season
    return in_force.schedule


def tariff_at(tables: TariffTables, when: datetime) -> int | None:
    """The tariff (1..4) in force at `when` (the meter's clock), None if the tables do not say."""
    today = sorted(schedule_on(tables, when.date()).periods, key=lambda p: p.start)
    if not today:
        return None
    started = [p for p in today if p.start <= when.time()]
    if started:
        return started[-1].tariff
    yesterday = sorted(schedule_on(tables, when.date() - _DAY).periods, key=lambda p: p.start)
    # The day before has no periods: today's last period is the best guess of what runs on.
    return (yesterday or today)[-1].tariff


def next_change(
    tables: TariffTables, when: datetime, *, within: timedelta = timedelta(days=8)
) -> datetime | None:
    """The first moment after `when` at which the tariff differs from that at `when`
    (the meter's clock); None if none comes within `within` (a flat tariff)."""
    current = tariff_at(tables, when)
    day = when.date()
    while datetime.combine(day, time()) <= when + within:
        for period in sorted(schedule_on(tables, day).periods, key=lambda p: p.start):
            moment = datetime.combine(day, period.start)
            if when < moment <= when + within and tariff_at(tables, moment) != current:
                return moment
        day += _DAY
    return None
