"""Meter settings as write commands (docs/rs485-protocol.md, section 5), validated before any I/O.

Each function checks its arguments (ValueError with a clear message) and
returns the (register, data) pair of the write; `frame()` turns a pair into
the bytes on the wire. A write only takes effect inside the session
read -> password -> write -> sign-off, which the bus client runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from enum import IntEnum
from types import MappingProxyType
from typing import Final

from ..readings import format_meter_time
from . import tariffs
from .frames import MONTH_TABLE_REGISTERS
from .requests import table_read_frame, write_frame
from .tariffs import (
    HOLIDAYS,
    PERIODS,
    SCHEDULES,
    SEASONS,
    Holiday,
    Season,
    TariffPeriod,
    encode_holidays,
    encode_periods,
    encode_schedule_number,
    encode_seasons,
)

type Command = tuple[str, str]
"""A write: (register, data)."""

# Registers.
CHANGE_PASSWORD: Final = "0020"
RESET_MAX_DEMAND: Final = "0040"
MAX_DEMAND_PERIOD: Final = "0050"
SET_TIME: Final = "0060"
TARIFF_SCHEDULES: Final = ("0070", "0071", "0072", "0073", "0074", "0075")
SEASON_TABLE: Final = "0080"
RELAYS: Final = ("0081", "0082")
PULSE_INPUT_RATIOS: Final = ("00A0", "00A1", "00A2")
HOLIDAY_DATES: Final = "00B0"
WEEKEND_HOLIDAY_SCHEDULES: Final = "00C0"
CT_RATIO: Final = "00D0"
LCD_ITEMS: Final = "00D2"
ZERO_RESETTABLE_KWH: Final = "00D3"
PULSE_OUTPUT_RATIO: Final = "00D4"
MAX_DEMAND_AUTO_RESET: Final = "00D5"
MONTH_KWH_FORWARD, MONTH_KWH_REVERSE = MONTH_TABLE_REGISTERS

DEFAULT_PASSWORD: Final = "00000000"  # the factory password of every meter

# Allowed values.
CT_RATIOS: Final = (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 4000, 5000)
PULSE_OUTPUT_RATIOS: Final = (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 100, 200, 400, 800, 1600)
MAX_DEMAND_PERIODS: Final[Mapping[int, str]] = MappingProxyType({15: "1", 30: "2", 60: "3"})
MAX_RELAY_SECONDS: Final = 9999  # the longest timed relay switch the meter holds
MAX_PULSE_INPUT_RATIO: Final = 9999
MAX_LCD_ITEMS: Final = 40
MAX_TARIFF_PERIODS: Final = PERIODS  # periods of one tariff schedule
TARIFFS: Final = tariffs.TARIFFS


class MaxDemandReset(IntEnum):
    """Max-demand auto-reset interval; the value is the digit sent (00D5)."""

    OFF = 0
    MONTHLY = 1
    WEEKLY = 2
    DAILY = 3
    HOURLY = 4


LCD_ITEM_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "kWh_Tot": 1,
        "Rev_kWh_Tot": 2,
        "RMS_Volts_Ln_1": 3,
        "RMS_Volts_Ln_2": 4,
        "RMS_Volts_Ln_3": 5,
        "Amps_Ln_1": 6,
        "Amps_Ln_2": 7,
        "Amps_Ln_3": 8,
        "RMS_Watts_Ln_1": 9,
        "RMS_Watts_Ln_2": 10,
        "RMS_Watts_Ln_3": 11,
        "RMS_Watts_Tot": 12,
        "Power_Factor_Ln_1": 13,
        "Power_Factor_Ln_2": 14,
        "Power_Factor_Ln_3": 15,
        "kWh_Tariff_1": 16,
        "kWh_Tariff_2": 17,
        "kWh_Tariff_3": 18,
        "kWh_Tariff_4": 19,
        "Rev_kWh_Tariff_1": 20,
        "Rev_kWh_Tariff_2": 21,
        "Rev_kWh_Tariff_3": 22,
        "Rev_kWh_Tariff_4": 23,
        "Reactive_Pwr_Ln_1": 24,
        "Reactive_Pwr_Ln_2": 25,
        "Reactive_Pwr_Ln_3": 26,
        "Reactive_Pwr_Tot": 27,
        "Line_Freq": 28,
        "Pulse_Cnt_1": 29,
        "Pulse_Cnt_2": 30,
        "Pulse_Cnt_3": 31,
        "kWh_Ln_1": 32,
        "Rev_kWh_Ln_1": 33,
        "kWh_Ln_2": 34,
        "Rev_kWh_Ln_2": 35,
        "kWh_Ln_3": 36,
        "Rev_kWh_Ln_3": 37,
        "Reactive_Energy_Tot": 38,
        "kWh_Rst": 39,
        "Rev_kWh_Rst": 40,
        "State_Inputs": 41,
        "Max_Demand": 42,
        "Raw_Pulse_1": 43,
        "Raw_Pulse_2": 44,
        "Raw_Pulse_3": 45,
        "CT_Ratio": 47,
        "Calc_Fwd_kWh": 51,
    }
)
"""LCD item codes by EKM field name (docs/rs485-protocol.md, section 5)."""

LCD_CODES: Final = frozenset(LCD_ITEM_CODES.values())


def _whole(value: object, name: str) -> int:
    """`value` as an int; bools and floats are refused rather than coerced."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


def _in_range(value: object, name: str, low: int, high: int) -> int:
    number = _whole(value, name)
    if not low <= number <= high:
        raise ValueError(f"{name} must be {low}..{high}, got {number}")
    return number


def frame(command: Command) -> bytes:
    """The write frame of a (register, data) pair."""
    register, data = command
    return write_frame(register, data)


def relay(relay: int, closed: bool, seconds: int = 0) -> Command:
    """Open or close relay 1/2; after `seconds` (1..9999) it flips back, 0 holds it."""
    number = _in_range(relay, "relay", 1, 2)
    if not isinstance(closed, bool):
        raise ValueError(f"closed must be True or False, got {closed!r}")
    duration = _in_range(seconds, "relay seconds", 0, MAX_RELAY_SECONDS)
    return RELAYS[number - 1], f"{int(closed)}{duration:04d}"


def set_time(when: datetime) -> Command:
    """Set the meter clock to the wall-clock fields of `when` (weekday 01 = Sunday)."""
    if not isinstance(when, datetime):
        raise ValueError(f"set_time needs a datetime, got {when!r}")
    if not 2000 <= when.year <= 2099:
        raise ValueError(f"the meter clock holds years 2000..2099, got {when.year}")
    return SET_TIME, format_meter_time(when)


def ct_ratio(amps: int) -> Command:
    """Set the CT ratio to one of CT_RATIOS."""
    if _whole(amps, "CT ratio") not in CT_RATIOS:
        raise ValueError(f"CT ratio must be one of {', '.join(map(str, CT_RATIOS))}; got {amps}")
    return CT_RATIO, f"{amps:04d}"


def pulse_input_ratio(input: int, ratio: int) -> Command:
    """Set the ratio of pulse input 1..3 to 1..9999."""
    line = _in_range(input, "pulse input", 1, 3)
    value = _in_range(ratio, "pulse input ratio", 1, MAX_PULSE_INPUT_RATIO)
    return PULSE_INPUT_RATIOS[line - 1], f"{value:04d}"


def pulse_output_ratio(ratio: int) -> Command:
    """Set the pulse-output (CF) ratio to one of PULSE_OUTPUT_RATIOS."""
    if _whole(ratio, "pulse output ratio") not in PULSE_OUTPUT_RATIOS:
        allowed = ", ".join(map(str, PULSE_OUTPUT_RATIOS))
        raise ValueError(f"pulse output ratio must be one of {allowed}; got {ratio}")
    return PULSE_OUTPUT_RATIO, f"{ratio:04d}"


def max_demand_period(minutes: int) -> Command:
    """Set the max-demand period to 15, 30 or 60 minutes."""
    code = MAX_DEMAND_PERIODS.get(_whole(minutes, "max demand period"))
    if code is None:
        raise ValueError(f"max demand period must be 15, 30 or 60 minutes, got {minutes}")
    return MAX_DEMAND_PERIOD, code


def max_demand_auto_reset(mode: MaxDemandReset | str) -> Command:
    """Set the max-demand auto-reset: off, monthly, weekly, daily or hourly."""
    if isinstance(mode, MaxDemandReset):
        return MAX_DEMAND_AUTO_RESET, str(mode.value)
    names = [m.name.lower() for m in MaxDemandReset]
    if not isinstance(mode, str) or mode.lower() not in names:
        raise ValueError(f"max demand auto reset must be one of {', '.join(names)}; got {mode!r}")
    return MAX_DEMAND_AUTO_RESET, str(MaxDemandReset[mode.upper()].value)


def reset_max_demand() -> Command:
    """Reset the max demand now."""
    return RESET_MAX_DEMAND, "000000"


def zero_resettable_kwh() -> Command:
    """Zero the resettable kWh registers (kWh_Rst, Rev_kWh_Rst)."""
    return ZERO_RESETTABLE_KWH, ""


def change_password(new: str) -> Command:
    """Change the meter password (8 digits; a lost password cannot be recovered)."""
    if not isinstance(new, str) or len(new) != 8 or not (new.isascii() and new.isdigit()):
        raise ValueError("the new meter password must be exactly 8 digits")
    return CHANGE_PASSWORD, new


def lcd_items(items: Sequence[int | str]) -> Command:
    """Choose what the LCD cycles through: 1..40 item codes or field names, in order."""
    if isinstance(items, str) or not 1 <= len(items) <= MAX_LCD_ITEMS:
        raise ValueError(f"LCD list must hold 1..{MAX_LCD_ITEMS} items")
    codes: list[int] = []
    for item in items:
        if isinstance(item, str):
            code = LCD_ITEM_CODES.get(item)
            if code is None:
                raise ValueError(f"unknown LCD item {item!r}")
        else:
            code = _whole(item, "LCD item code")
            if code not in LCD_CODES:
                raise ValueError(f"unknown LCD item code {code}")
        codes.append(code)
    codes += [0] * (MAX_LCD_ITEMS - len(codes))
    return LCD_ITEMS, "".join(f"{code:02d}" for code in codes)


type PeriodLike = TariffPeriod | tuple[int, int, int]
"""A period as a TariffPeriod or as (hour, minute, tariff): from then on the meter counts into that tariff."""

type SeasonLike = Season | tuple[int, int, int]
"""A season as a Season or as (month, day, schedule)."""

type HolidayLike = Holiday | tuple[int, int]
"""A holiday as a Holiday or as (month, day)."""


def _period(period: PeriodLike) -> TariffPeriod:
    if isinstance(period, TariffPeriod):
        return period
    hour, minute, tariff = period
    start = time(_in_range(hour, "hour", 0, 23), _in_range(minute, "minute", 0, 59))
    return TariffPeriod(start, _in_range(tariff, "tariff", 1, TARIFFS))


def tariff_schedule(schedule: int, periods: Sequence[PeriodLike]) -> Command:
    """Schedule 1..6: 1..4 periods, each `hhmmtt`, padded with 0 to 48 characters."""
    number = _in_range(schedule, "schedule", 1, len(TARIFF_SCHEDULES))
    if not 1 <= len(periods) <= MAX_TARIFF_PERIODS:
        raise ValueError(f"a schedule holds 1..{MAX_TARIFF_PERIODS} periods, got {len(periods)}")
    typed = [_period(p) for p in periods]
    starts = [p.start for p in typed]
    if starts != sorted(set(starts)):
        raise ValueError("the periods of a schedule must start at different times, in order")
    return TARIFF_SCHEDULES[number - 1], encode_periods(typed)


def _season(season: SeasonLike) -> Season:
    if isinstance(season, Season):
        return season
    month, day, schedule = season
    return Season(month, day, schedule)


def seasons(seasons: Sequence[SeasonLike]) -> Command:
    """1..4 seasons (start date, schedule), in date order: `mmddss` each, padded with 0 to 48."""
    if not 1 <= len(seasons) <= SEASONS:
        raise ValueError(f"the meter takes 1..{SEASONS} seasons, got {len(seasons)}")
    typed = [_season(s) for s in seasons]
    starts = [(s.month, s.day) for s in typed]
    if starts != sorted(set(starts)):
        raise ValueError("seasons must start on different dates, in date order")
    return SEASON_TABLE, encode_seasons(typed).ljust(48, "0")


def _holiday(holiday: HolidayLike) -> Holiday:
    if isinstance(holiday, Holiday):
        return holiday
    month, day = holiday
    return Holiday(month, day)


def holidays(holidays: Sequence[HolidayLike]) -> Command:
    """0..20 holiday dates as `mmdd`, padded with 0 to 80 characters (none clears them)."""
    if len(holidays) > HOLIDAYS:
        raise ValueError(f"the meter takes up to {HOLIDAYS} holidays, got {len(holidays)}")
    typed = [_holiday(h) for h in holidays]
    if len(set(typed)) != len(typed):
        raise ValueError("holidays must be different dates")
    return HOLIDAY_DATES, encode_holidays(typed)


def weekend_holiday_schedules(weekend: int, holiday: int) -> Command:
    """The schedules (1..6) that weekends and holidays follow: 2 digits each."""
    weekend = _in_range(weekend, "weekend schedule", 1, SCHEDULES)
    holiday = _in_range(holiday, "holiday schedule", 1, SCHEDULES)
    return WEEKEND_HOLIDAY_SCHEDULES, encode_schedule_number(weekend) + encode_schedule_number(holiday)


def month_table_read(*, reverse: bool = False) -> bytes:
    """The R1 frame reading the last six months of forward (0011) or reverse (0012) kWh."""
    return table_read_frame(MONTH_KWH_REVERSE if reverse else MONTH_KWH_FORWARD)
