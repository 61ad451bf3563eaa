"""Time-of-use tables: tariff schedules, seasons and holidays (docs/rs485-protocol.md, sections 4.7 and 5).

Typed models; their digits on the wire, which the writes (0070-0075, 0080, 00B0,
00C0) and the R1 tables (0070, 0071, 00B0) share; and the parsers of those tables.
A slot of zeros is an unused period, season or holiday, and is decoded as absent.
Sans-IO: parsers raise only `errors.FrameError` subclasses for bad bytes; the
models raise ValueError for values that cannot be.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from types import MappingProxyType
from typing import Final

from ..errors import FieldValueError
from .frames import check_table_header

SCHEDULES: Final = 6  # ekmmeters warns that more "results in onboard meter issues"
TARIFFS: Final = 4
PERIODS: Final = 4  # per schedule
SEASONS: Final = 4
HOLIDAYS: Final = 20

SCHEDULE_TABLES: Final = ("0070", "0071")
HOLIDAY_TABLE: Final = "00B0"
# Where each schedule's 48-byte slot starts in the R1 replies: 4 periods of hhmmtt, then padding.
SCHEDULE_SLOTS: Final[Mapping[str, Mapping[int, int]]] = MappingProxyType(
    {
        "0070": MappingProxyType({1: 6, 2: 54, 3: 102, 4: 150}),
        "0071": MappingProxyType({5: 6, 6: 54}),
    }
)
SLOT_WIDTH: Final = 48
PERIOD_WIDTH: Final = 6  # hhmmtt
SEASON_WIDTH: Final = 6  # mmddss
HOLIDAY_WIDTH: Final = 4  # mmdd
SEASONS_AT: Final = 198  # in 0070; reported by one source, not checked on hardware
HOLIDAYS_AT: Final = 6  # in 00B0
WEEKEND_SCHEDULE_AT: Final = 86  # in 00B0
HOLIDAY_SCHEDULE_AT: Final = 88  # in 00B0


def _whole(value: object, name: str, low: int, high: int) -> int:
    """`value` as an int in low..high; bools and floats are refused rather than coerced."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}, got {value}")
    return value


def _check_date(month: object, day: object) -> None:
    number = _whole(month, "month", 1, 12)
    _whole(day, "day", 1, calendar.monthrange(2000, number)[1])  # a leap year: 29 February is a date


# --- models ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """From `start` (time of day, whole minutes) on, the meter counts into `tariff` (1..4)."""

    start: time
    tariff: int

    def __post_init__(self) -> None:
        if not isinstance(self.start, time):
            raise ValueError(f"a period starts at a time of day, got {self.start!r}")
        if self.start.second or self.start.microsecond or self.start.tzinfo is not None:
            raise ValueError(f"a period starts on a whole minute of local time, got {self.start}")
        _whole(self.tariff, "tariff", 1, TARIFFS)


@dataclass(frozen=True, slots=True)
class TariffSchedule:
    """Schedule 1..6: up to 4 periods, in the meter's order; no periods means unused."""

    number: int
    periods: tuple[TariffPeriod, ...] = ()

    def __post_init__(self) -> None:
        _whole(self.number, "schedule", 1, SCHEDULES)
        periods = tuple(self.periods)
        if len(periods) > PERIODS or not all(isinstance(p, TariffPeriod) for p in periods):
            raise ValueError(f"a schedule holds up to {PERIODS} TariffPeriod, got {self.periods!r}")
        object.__setattr__(self, "periods", periods)


@dataclass(frozen=True, slots=True)
class Season:
    """From `month`/`day` on (every year), weekdays follow `schedule` (1..6)."""

    month: int
    day: int
    schedule: int

    def __post_init__(self) -> None:
        _check_date(self.month, self.day)
        _whole(self.schedule, "season schedule", 1, SCHEDULES)


@dataclass(frozen=True, slots=True)
class Holiday:
    """A date (every year) that follows the holiday schedule."""

    month: int
    day: int

    def __post_init__(self) -> None:
        _check_date(self.month, self.day)


@dataclass(frozen=True, slots=True)
class TariffTables:
    """A meter's whole time-of-use setup, as read from tables 0070, 0071 and 00B0."""

    schedules: tuple[TariffSchedule, ...]  # numbers 1..6, in order
    seasons: tuple[Season, ...]  # the used ones, in the meter's order
    holidays: tuple[Holiday, ...]  # the used ones, in the meter's order
    weekend_schedule: int | None  # None: 00, not set
    holiday_schedule: int | None

    def __post_init__(self) -> None:
        if [s.number for s in self.schedules] != list(range(1, SCHEDULES + 1)):
            raise ValueError(f"tariff tables hold schedules 1..{SCHEDULES} in order")
        if len(self.seasons) > SEASONS or len(self.holidays) > HOLIDAYS:
            raise ValueError(f"a meter holds up to {SEASONS} seasons and {HOLIDAYS} holidays")
        for name in ("weekend_schedule", "holiday_schedule"):
            value = getattr(self, name)
            if value is not None:
                _whole(value, name.replace("_", " "), 1, SCHEDULES)

    def schedule(self, number: int) -> TariffSchedule:
        """Schedule `number` (1..6)."""
        return self.schedules[_whole(number, "schedule", 1, SCHEDULES) - 1]

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (times as 'HH:MM'), for diagnostics and CLI output."""
        return {
            "schedules": [
                {
                    "number": s.number,
                    "periods": [{"start": p.start.strftime("%H:%M"), "tariff": p.tariff} for p in s.periods],
                }
                for s in self.schedules
            ],
            "seasons": [{"month": s.month, "day": s.day, "schedule": s.schedule} for s in self.seasons],
            "holidays": [{"month": h.month, "day": h.day} for h in self.holidays],
            "weekend_schedule": self.weekend_schedule,
            "holiday_schedule": self.holiday_schedule,
        }


def empty_schedules() -> tuple[TariffSchedule, ...]:
    return tuple(TariffSchedule(n) for n in range(1, SCHEDULES + 1))


# --- digits on the wire -----------------------------------------------------------------


def encode_periods(periods: Iterable[TariffPeriod]) -> str:
    """A schedule's 48 digits: hhmmtt per period, then '0' up to 48."""
    text = "".join(f"{p.start.hour:02d}{p.start.minute:02d}{p.tariff:02d}" for p in periods)
    if len(text) > PERIOD_WIDTH * PERIODS:
        raise ValueError(f"a schedule holds up to {PERIODS} periods")
    return text.ljust(SLOT_WIDTH, "0")


def encode_seasons(seasons: Iterable[Season]) -> str:
    """The 24 digits of four seasons: mmddss each, '0' for unused ones."""
    text = "".join(f"{s.month:02d}{s.day:02d}{s.schedule:02d}" for s in seasons)
    if len(text) > SEASON_WIDTH * SEASONS:
        raise ValueError(f"a meter holds up to {SEASONS} seasons")
    return text.ljust(SEASON_WIDTH * SEASONS, "0")


def encode_holidays(holidays: Iterable[Holiday]) -> str:
    """The 80 digits of twenty holidays: mmdd each, '0' for unused ones."""
    text = "".join(f"{h.month:02d}{h.day:02d}" for h in holidays)
    if len(text) > HOLIDAY_WIDTH * HOLIDAYS:
        raise ValueError(f"a meter holds up to {HOLIDAYS} holidays")
    return text.ljust(HOLIDAY_WIDTH * HOLIDAYS, "0")


def encode_schedule_number(number: int | None) -> str:
    """A weekend or holiday schedule as 2 digits ('00': not set)."""
    return f"{0 if number is None else number:02d}"


def _numbers(text: str, what: str, width: int) -> list[tuple[int, ...]]:
    """`text` cut into slots of `width` digits, each as 2-digit numbers."""
    if not (text.isascii() and text.isdigit()) or len(text) % width:
        raise FieldValueError(f"{what} must be ASCII digits in slots of {width}, got {text!r}")
    return [
        tuple(int(text[i + j : i + j + 2]) for j in range(0, width, 2)) for i in range(0, len(text), width)
    ]


def decode_periods(text: str, number: int) -> TariffSchedule:
    """Schedule `number` from the 24 digits of its four hhmmtt periods."""
    what = f"schedule {number}"
    periods = []
    for hour, minute, tariff in _numbers(text, what, PERIOD_WIDTH):
        if hour == minute == tariff == 0:
            continue
        try:
            periods.append(TariffPeriod(time(hour, minute), tariff))
        except ValueError as err:
            raise FieldValueError(f"{what}: period {hour:02d}{minute:02d}{tariff:02d}: {err}") from None
    return TariffSchedule(number, tuple(periods))


def decode_seasons(text: str) -> tuple[Season, ...]:
    """The used seasons among the mmddss slots of `text`."""
    seasons = []
    for month, day, schedule in _numbers(text, "seasons", SEASON_WIDTH):
        if month == day == schedule == 0:
            continue
        try:
            seasons.append(Season(month, day, schedule))
        except ValueError as err:
            raise FieldValueError(f"season {month:02d}{day:02d}{schedule:02d}: {err}") from None
    return tuple(seasons)


def decode_holidays(text: str) -> tuple[Holiday, ...]:
    """The used holidays among the mmdd slots of `text`."""
    holidays = []
    for month, day in _numbers(text, "holidays", HOLIDAY_WIDTH):
        if month == day == 0:
            continue
        try:
            holidays.append(Holiday(month, day))
        except ValueError as err:
            raise FieldValueError(f"holiday {month:02d}{day:02d}: {err}") from None
    return tuple(holidays)


def decode_schedule_number(text: str, what: str) -> int | None:
    """A weekend or holiday schedule from 2 digits: 1..6, or None for 00."""
    ((number,),) = _numbers(text, what, 2)
    if number > SCHEDULES:
        raise FieldValueError(f"{what} must be 00..{SCHEDULES:02d}, got {text!r}")
    return number or None


# --- R1 replies -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleTable:
    """One R1 reply of schedules: 0070 (schedules 1-4 and the seasons) or 0071 (5-6)."""

    register: str
    schedules: tuple[TariffSchedule, ...]
    seasons: tuple[Season, ...]  # always empty for 0071


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """The R1 reply 00B0: holidays, and the schedules of weekends and holidays."""

    holidays: tuple[Holiday, ...]
    weekend_schedule: int | None
    holiday_schedule: int | None


def _text(data: bytes, at: int, width: int) -> str:
    return data[at : at + width].decode("latin-1")


def parse_schedule_table(data: bytes, *, register: str) -> ScheduleTable:
    """Validate and decode a 255-byte R1 reply for 0070 or 0071.

    Length, STX and CRC as for reads; a wrong register echo raises RequestTypeError;
    non-digits or impossible values (hour 24, tariff 5, 31 April) FieldValueError.
    The padding after each schedule's periods is not looked at.
    """
    if register not in SCHEDULE_TABLES:
        raise ValueError(f"schedule tables are registers 0070 and 0071, got {register!r}")
    data = bytes(data)
    check_table_header(data, register)
    schedules = tuple(
        decode_periods(_text(data, at, PERIOD_WIDTH * PERIODS), number)
        for number, at in SCHEDULE_SLOTS[register].items()
    )
    seasons = decode_seasons(_text(data, SEASONS_AT, SEASON_WIDTH * SEASONS)) if register == "0070" else ()
    return ScheduleTable(register, schedules, seasons)


def parse_holiday_table(data: bytes) -> HolidayTable:
    """Validate and decode a 255-byte R1 reply for 00B0 (checks as parse_schedule_table)."""
    data = bytes(data)
    check_table_header(data, HOLIDAY_TABLE)
    return HolidayTable(
        decode_holidays(_text(data, HOLIDAYS_AT, HOLIDAY_WIDTH * HOLIDAYS)),
        decode_schedule_number(_text(data, WEEKEND_SCHEDULE_AT, 2), "weekend schedule"),
        decode_schedule_number(_text(data, HOLIDAY_SCHEDULE_AT, 2), "holiday schedule"),
    )


def tariff_tables(first: ScheduleTable, second: ScheduleTable, holidays: HolidayTable) -> TariffTables:
    """The whole setup from the replies to 0070, 0071 and 00B0."""
    if (first.register, second.register) != SCHEDULE_TABLES:
        raise ValueError("tariff tables are made from the 0070 and the 0071 replies, in that order")
    return TariffTables(
        schedules=first.schedules + second.schedules,
        seasons=first.seasons,
        holidays=holidays.holidays,
        weekend_schedule=holidays.weekend_schedule,
        holiday_schedule=holidays.holiday_schedule,
    )


__all__ = [
    "Holiday",
    "HolidayTable",
    "ScheduleTable",
    "Season",
    "TariffPeriod",
    "TariffSchedule",
    "TariffTables",
    "parse_holiday_table",
    "parse_schedule_table",
    "tariff_tables",
]
