"""RS-485 meters' month tables into long-term statistics: the months before the install.

A meter keeps its forward and reverse kWh registers at the start of each of the last six
months (tables 0011/0012, docs/rs485-protocol.md section 4.7). Each becomes a statistic of
its own, `ekm:<address>_monthly_energy` and `ekm:<address>_monthly_energy_reverse`, never
mixed with the hourly ones: one row per month boundary. A row's sum is the count at the
end of its hour, so the register read at 00:00 on the 1st (local time) is the row of the
hour before it, the month's last hour: the monthly view then gives each month what the
meter counted in it. Read after setup and then daily; months already written are skipped
and the sums continue from the recorder's last row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticData
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .aioekm import EkmError, MonthTable
from .bus_coordinator import BusCoordinator
from .const import DOMAIN, LOGGER
from .runtime import EkmConfigEntry
from .statistics_compat import async_last_row, external_metadata

READ_EVERY: Final = timedelta(days=1)
RESET_FRACTION: Final = 0.9  # a register below this share of the last one was reset (as hourly)
HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class MonthlySeries:
    key: str
    name: str
    reverse: bool


MONTHLY: Final = (
    MonthlySeries("monthly_energy", "monthly energy (month table)", reverse=False),
    MonthlySeries("monthly_energy_reverse", "monthly reverse energy (month table)", reverse=True),
)


def monthly_id(address: str, series: MonthlySeries) -> str:
    return f"{DOMAIN}:{address}_{series.key}"


def month_starts(current: datetime, count: int) -> list[datetime]:
    """Midnight on the 1st (HA's time zone) of `current`'s month and the months before, newest first."""
    zone = dt_util.get_default_time_zone()
    year, month = current.year, current.month
    starts = []
    for _ in range(count):
        starts.append(datetime(year, month, 1, tzinfo=zone))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts


def boundaries(table: MonthTable, current: datetime) -> list[tuple[datetime, float]]:
    """(month start, register then) oldest first, months the meter has no reading for (0) left out.

    `current` is in the meter's current month (its own clock: the meter turns its months).

    The meter's rows are its registers at the starts of the last months; a counting register
    grows, so rows that grow in frame order came oldest first, else newest first (the
    order is unsure: docs/rs485-protocol.md, section 4.7).
    """
    values = [month.total for month in table.months]
    present = [v for v in values if v > 0]
    oldest_first = (
        len(present) > 1 and present == sorted(present) and present != sorted(present, reverse=True)
    )
    if oldest_first:
        values.reverse()
    pairs = zip(month_starts(current, len(values)), values, strict=True)
    return sorted((start, value) for start, value in pairs if value > 0)


def monthly_rows(
    points: Sequence[tuple[datetime, float]], last: Mapping[str, Any] | None
) -> list[StatisticData]:
    """Statistic rows for `points`, continuing `last` (the recorder's last row) if any."""
    rows: list[StatisticData] = []
    after = None
    if last is not None:
        after = dt_util.utc_from_timestamp(last["start"])
        state, total = float(last.get("state") or 0.0), float(last.get("sum") or 0.0)
    for start, value in points:
        hour = dt_util.as_utc(start) - HOUR
        if after is not None and hour <= after:
            continue
        if after is None and not rows:
            state, total = value, 0.0  # the first month boundary: the sums start here
        elif value < RESET_FRACTION * state:
            total += value  # the register was reset (meter replaced): the new count is new energy
        else:
            total += max(0.0, value - state)
        state = value
        rows.append(StatisticData(start=hour, state=value, sum=round(total, 6)))
    return rows


class MonthlyImporter:
    """Reads the month tables of a bus entry's meters into their monthly statistics."""

    def __init__(self, hass: HomeAssistant, coordinator: BusCoordinator) -> None:
        self.hass = hass
        self.coordinator = coordinator

    async def async_update(self) -> int:
        """Read every meter's tables once; rows written."""
        written = 0
        if not await get_instance(self.hass).async_db_ready:  # the recorder failed to start
            return 0
        for address in sorted(self.coordinator.meters):
            reading = self.coordinator.reading(address)
            current = reading.meter_time if reading and reading.meter_time else dt_util.now()
            for series in MONTHLY:
                try:
                    table = await self.coordinator.bus.read_month_table(address, reverse=series.reverse)
                except EkmError as err:
                    LOGGER.debug("Month table of %s unavailable: %s", address, err)
                    break
                written += await self._async_write(address, series, boundaries(table, current))
        return written

    async def _async_write(
        self, address: str, series: MonthlySeries, points: list[tuple[datetime, float]]
    ) -> int:
        sid = monthly_id(address, series)
        rows = monthly_rows(points, await async_last_row(self.hass, sid))
        if rows:
            metadata = external_metadata(
                sid, f"EKM {address} {series.name}", UnitOfEnergy.KILO_WATT_HOUR, "energy", mean=False
            )
            async_add_external_statistics(self.hass, metadata, rows)
        return len(rows)


@callback
def async_start_monthly_import(
    hass: HomeAssistant, entry: EkmConfigEntry, coordinator: BusCoordinator
) -> MonthlyImporter | None:
    """Read the month tables in the background after setup, then daily; None without a recorder."""
    if "recorder" not in hass.config.components:
        return None
    importer = MonthlyImporter(hass, coordinator)

    @callback
    def start(now: datetime | None = None) -> None:
        entry.async_create_background_task(hass, importer.async_update(), f"{DOMAIN} month tables")

    start()
    entry.async_on_unload(async_track_time_interval(hass, start, READ_EVERY, cancel_on_shutdown=True))
    return importer
