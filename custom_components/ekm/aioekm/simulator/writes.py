"""Apply a received write (register, data) to a virtual meter, as a real one would.

The RS-485 face checks the password first; this module only decodes the data.
Unknown registers, registers the meter's protocol lacks, and bad data leave the
meter untouched and return False (the face then answers NAK or nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import replace

from ..errors import FrameError
from ..readings import Protocol, parse_meter_time
from ..rs485 import commands, tariffs
from ..rs485.tariffs import TariffTables
from .fleet import VirtualMeter

# Registers a v3 meter has; the rest are v4+ only (docs/rs485-protocol.md, section 5). v3 meters report
# CT_Ratio and the notes do not mark 00D0 v4-only, so a v3 meter takes it too; the same for the
# time-of-use registers (v3 frames carry the kWh_Tariff_N fields).
_V3_REGISTERS = frozenset(
    {
        commands.CHANGE_PASSWORD,
        commands.RESET_MAX_DEMAND,
        commands.MAX_DEMAND_PERIOD,
        commands.SET_TIME,
        commands.CT_RATIO,
        *commands.TARIFF_SCHEDULES,
        commands.SEASON_TABLE,
        commands.HOLIDAY_DATES,
        commands.WEEKEND_HOLIDAY_SCHEDULES,
    }
)


def _number(data: str, width: int) -> int | None:
    """`data` as an int if it is exactly `width` ASCII digits."""
    if len(data) != width or not (data.isascii() and data.isdigit()):
        return None
    return int(data)


def _password(meter: VirtualMeter, data: str, t: float) -> bool:
    if _number(data, 8) is None:
        return False
    meter.password = data
    return True


def _reset_max_demand(meter: VirtualMeter, data: str, t: float) -> bool:
    if _number(data, 6) is None:
        return False
    meter.reset_max_demand()
    return True


def _setting(
    attribute: str, width: int, allowed: Container[int]
) -> Callable[[VirtualMeter, str, float], bool]:
    """A setting the meter stores as sent: `width` digits naming one of the `allowed` values."""

    def apply(meter: VirtualMeter, data: str, t: float) -> bool:
        value = _number(data, width)
        if value is None or value not in allowed:
            return False
        setattr(meter, attribute, value)
        return True

    return apply


def _set_time(meter: VirtualMeter, data: str, t: float) -> bool:
    when = parse_meter_time(data) if _number(data, 14) is not None else None
    if when is None:
        return False
    meter.set_clock(when, t)
    return True


def _relay(index: int) -> Callable[[VirtualMeter, str, float], bool]:
    def apply(meter: VirtualMeter, data: str, t: float) -> bool:
        if _number(data, 5) is None or data[0] not in "01":
            return False
        meter.set_relay(index + 1, data[0] == "1", int(data[1:]), t)
        return True

    return apply


def _pulse_input_ratio(index: int) -> Callable[[VirtualMeter, str, float], bool]:
    def apply(meter: VirtualMeter, data: str, t: float) -> bool:
        ratio = _number(data, 4)
        if not ratio:
            return False
        meter.pulse_ratios[index] = ratio
        return True

    return apply


def _lcd_items(meter: VirtualMeter, data: str, t: float) -> bool:
    if len(data) != 2 * commands.MAX_LCD_ITEMS or not (data.isascii() and data.isdigit()):
        return False
    codes = [int(data[i : i + 2]) for i in range(0, len(data), 2)]
    if any(code and code not in commands.LCD_CODES for code in codes):
        return False
    meter.lcd_items = [code for code in codes if code]
    return True


# What a write does to the time-of-use tables: the meter's tables and the data in, the new
# tables out; None (or a FrameError) where the meter would refuse the data.
type _TablesChange = Callable[[TariffTables, str], TariffTables | None]


def _tables(width: int, change: _TablesChange) -> Callable[[VirtualMeter, str, float], bool]:
    """A write of `width` digits to the time-of-use tables, applied as `change` says."""

    def apply(meter: VirtualMeter, data: str, t: float) -> bool:
        if _number(data, width) is None:
            return False
        try:
            changed = change(meter.tariffs, data)
        except FrameError:
            return False
        if changed is None:
            return False
        meter.tariffs = changed
        return True

    return apply


def _tariff_schedule(number: int) -> _TablesChange:
    """48 digits: four `hhmmtt` periods (zeros for unused ones), then 24 zeros; one period at least."""

    def change(tables: TariffTables, data: str) -> TariffTables | None:
        if data[24:] != "0" * 24:
            return None
        schedule = tariffs.decode_periods(data[:24], number)
        if not schedule.periods:
            return None
        schedules = list(tables.schedules)
        schedules[number - 1] = schedule
        return replace(tables, schedules=tuple(schedules))

    return change


def _seasons(tables: TariffTables, data: str) -> TariffTables | None:
    """48 digits: four `mmddss` seasons (zeros for unused ones), then 24 zeros."""
    if data[24:] != "0" * 24:
        return None
    return replace(tables, seasons=tariffs.decode_seasons(data[:24]))


def _holidays(tables: TariffTables, data: str) -> TariffTables:
    """80 digits: twenty `mmdd` dates, zeros for unused ones."""
    return replace(tables, holidays=tariffs.decode_holidays(data))


def _weekend_holiday_schedules(tables: TariffTables, data: str) -> TariffTables | None:
    """4 digits: the weekend schedule, then the holiday schedule (01..06 each)."""
    weekend = tariffs.decode_schedule_number(data[:2], "weekend schedule")
    holiday = tariffs.decode_schedule_number(data[2:], "holiday schedule")
    if weekend is None or holiday is None:
        return None
    return replace(tables, weekend_schedule=weekend, holiday_schedule=holiday)


def _zero_resettable(meter: VirtualMeter, data: str, t: float) -> bool:
    if data:
        return False
    meter.zero_resettable(t)
    return True


_HANDLERS: dict[str, Callable[[VirtualMeter, str, float], bool]] = {
    commands.CHANGE_PASSWORD: _password,
    commands.RESET_MAX_DEMAND: _reset_max_demand,
    commands.MAX_DEMAND_PERIOD: _setting("max_demand_period", 1, (1, 2, 3)),  # 15/30/60 min
    commands.SET_TIME: _set_time,
    **{reg: _tables(48, _tariff_schedule(i + 1)) for i, reg in enumerate(commands.TARIFF_SCHEDULES)},
    commands.SEASON_TABLE: _tables(48, _seasons),
    commands.HOLIDAY_DATES: _tables(80, _holidays),
    commands.WEEKEND_HOLIDAY_SCHEDULES: _tables(4, _weekend_holiday_schedules),
    commands.RELAYS[0]: _relay(0),
    commands.RELAYS[1]: _relay(1),
    **{reg: _pulse_input_ratio(i) for i, reg in enumerate(commands.PULSE_INPUT_RATIOS)},
    commands.CT_RATIO: _setting("ct_ratio", 4, commands.CT_RATIOS),
    commands.LCD_ITEMS: _lcd_items,
    commands.ZERO_RESETTABLE_KWH: _zero_resettable,
    commands.PULSE_OUTPUT_RATIO: _setting("cf_ratio", 4, commands.PULSE_OUTPUT_RATIOS),
    commands.MAX_DEMAND_AUTO_RESET: _setting("max_demand_rst", 1, frozenset(commands.MaxDemandReset)),
}


def apply_write(meter: VirtualMeter, register: str, data: str, t: float) -> bool:
    """Apply write `register`(`data`) to `meter` at time t; False if the meter would refuse it."""
    handler = _HANDLERS.get(register)
    if handler is None:
        return False
    if meter.protocol is Protocol.V3 and register not in _V3_REGISTERS:
        return False
    return handler(meter, data, t)
