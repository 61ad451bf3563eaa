"""The settings a meter takes over RS-485: thin calls of the bus's one write session.

Each setter validates its arguments through `commands` (ValueError before any
I/O) and names the fields that show the setting, so that a write whose ACK was
lost can say what the meter reads back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime

from ..readings import MeterReading
from . import commands
from .commands import DEFAULT_PASSWORD

# What to say about a meter after a write whose ACK was lost: the fields that show it.
type Describe = Callable[[MeterReading], str]


def _fields(*names: str) -> Describe:
    def describe(reading: MeterReading) -> str:
        return ", ".join(f"{name} is {reading.get(name)}" for name in names)

    return describe


def _relay_state(relay: int) -> Describe:
    def describe(reading: MeterReading) -> str:
        closed = reading.relay_closed(relay)
        state = "unknown" if closed is None else "closed (on)" if closed else "open (off)"
        return f"relay {relay} is {state}"

    return describe


def _not_readable(what: str) -> Describe:
    def describe(reading: MeterReading) -> str:
        return f"the meter answers, but its {what} cannot be read back"

    return describe


def _in_tables(what: str) -> Describe:
    def describe(reading: MeterReading) -> str:
        return f"the meter answers; its {what} show in its tariff tables (read_tariffs)"

    return describe


class MeterSettings(ABC):
    """Setters of one meter's settings; every one is a single write session."""

    @abstractmethod
    async def _write(
        self,
        address: str,
        command: commands.Command,
        password: str,
        describe: Describe,
        *,
        v4_only: bool = False,
    ) -> MeterReading:
        """read (select) -> password -> write -> sign-off -> read back."""

    async def set_relay(
        self, address: str, relay: int, closed: bool, seconds: int = 0, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Close (on) or open (off) relay 1/2; with seconds > 0 it flips back after that long."""
        return await self._write(
            address, commands.relay(relay, closed, seconds), password, _relay_state(relay), v4_only=True
        )

    async def set_time(
        self, address: str, when: datetime | None = None, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Set the meter clock (default: this computer's local time)."""
        when = when or datetime.now()
        return await self._write(address, commands.set_time(when), password, _fields("Meter_Time"))

    async def set_ct_ratio(
        self, address: str, amps: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(address, commands.ct_ratio(amps), password, _fields("CT_Ratio"))

    async def set_pulse_input_ratio(
        self, address: str, input_: int, ratio: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address,
            commands.pulse_input_ratio(input_, ratio),
            password,
            _fields(f"Pulse_Ratio_{input_}"),
            v4_only=True,
        )

    async def set_pulse_output_ratio(
        self, address: str, ratio: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.pulse_output_ratio(ratio), password, _fields("CF_Ratio"), v4_only=True
        )

    async def set_max_demand_period(
        self, address: str, minutes: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.max_demand_period(minutes), password, _fields("Max_Demand_Period")
        )

    async def set_max_demand_auto_reset(
        self, address: str, mode: commands.MaxDemandReset | str, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.max_demand_auto_reset(mode), password, _fields("Max_Demand_Rst"), v4_only=True
        )

    async def reset_max_demand(self, address: str, *, password: str = DEFAULT_PASSWORD) -> MeterReading:
        return await self._write(
            address, commands.reset_max_demand(), password, _fields("RMS_Watts_Max_Demand")
        )

    async def zero_resettable_kwh(self, address: str, *, password: str = DEFAULT_PASSWORD) -> MeterReading:
        return await self._write(
            address, commands.zero_resettable_kwh(), password, _fields("kWh_Rst", "Rev_kWh_Rst"), v4_only=True
        )

    async def change_password(
        self, address: str, new_password: str, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.change_password(new_password), password, _not_readable("password")
        )

    async def set_tariff_schedule(
        self,
        address: str,
        schedule: int,
        periods: Sequence[commands.PeriodLike],
        *,
        password: str = DEFAULT_PASSWORD,
    ) -> MeterReading:
        """Write schedule 1..6: 1..4 periods (TariffPeriod or (hour, minute, tariff 1..4)), in order."""
        return await self._write(
            address, commands.tariff_schedule(schedule, periods), password, _in_tables("tariff schedule")
        )

    async def set_seasons(
        self, address: str, seasons: Sequence[commands.SeasonLike], *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Write the 1..4 seasons (Season or (month, day, schedule 1..6)), in date order."""
        return await self._write(address, commands.seasons(seasons), password, _in_tables("seasons"))

    async def set_holidays(
        self, address: str, holidays: Sequence[commands.HolidayLike], *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Write the 0..20 holiday dates (Holiday or (month, day)); the others are cleared."""
        return await self._write(address, commands.holidays(holidays), password, _in_tables("holidays"))

    async def set_weekend_holiday_schedules(
        self, address: str, weekend: int, holiday: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Choose the schedules (1..6) that weekends and holidays follow."""
        return await self._write(
            address,
            commands.weekend_holiday_schedules(weekend, holiday),
            password,
            _in_tables("weekend and holiday schedules"),
        )

    async def set_lcd_items(
        self, address: str, items: Sequence[int | str], *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.lcd_items(items), password, _not_readable("LCD list"), v4_only=True
        )
