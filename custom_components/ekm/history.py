"""Cloud meters' history, from the Summary API into Home Assistant's long-term statistics.

Each meter gets external statistics `ekm:<address>_<key>` (SERIES): hourly sum and state
for the energy registers and pulse inputs, hourly mean/min/max for power. The first run
back-fills up to the entry's history_days (0 = off), never before the meter's first report
(EKM 1002). Every later run (hourly, and at each setup) asks only for the hours after the
last one in the recorder, so an HA outage is filled and a stopped import resumes where it
stopped: each window's hours are written, and the recorder has them, before the next
window is fetched. The library does the fetching and the sums (aioekm/push/history.py).
After each run, the statistics derived from these (costs, what pulse inputs measure) are
brought up to date from the recorder (history_derived.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticData
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .aioekm import (
    HOUR,
    PAGE_ROWS,
    SUM_REGISTERS,
    Baseline,
    EkmError,
    HistoryWindow,
    HourlyStatistics,
    PushClient,
    Report,
    fetch_hourly,
    floor_hour,
    plan_windows,
    window_hours,
)
from .const import CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS, DOMAIN, LOGGER
from .history_derived import Derived, async_update_derived, derived_series
from .prices import Prices
from .pulse_inputs import pulse_inputs
from .runtime import EkmConfigEntry
from .statistics_compat import async_last_row, async_rows_before, external_metadata

CONCURRENCY: Final = 2  # meters fetched at once (per entry): the Summary API is shared
RUN_EVERY: Final = timedelta(hours=1)
PROGRESS_STEP: Final = 10  # percent between two progress lines in the log
# Summary rows asked per request (EKM's page holds 1000); a window of hours fits one page.
# A page of 1000 hourly rows is a megabyte of JSON: decoding one kept ~25 MiB more of
# Home Assistant's memory resident than pages of 500 (benchmarks/history_import.py).
page_rows = PAGE_ROWS // 2
# The Summary's hourly report: EKM combines its 15-minute summaries into hours, so an hour
# is one row instead of four: a quarter of the rows to parse, and with pages of 500 half the
# requests of 15-minute pages of 1000. The sums follow the registers either way; an hour's
# mean is EKM's mean of the hour.
REPORT: Final = Report.HOUR
ROWS_PER_HOUR: Final = 1


@dataclass(frozen=True, slots=True)
class Series:
    """One statistic per meter: a library register (sums) or a Summary field (means)."""

    register: str
    key: str  # statistic_id is ekm:<address>_<key>
    name: str
    unit: str | None
    unit_class: str | None
    mean: bool = False


_ENERGY = (UnitOfEnergy.KILO_WATT_HOUR, "energy")
# Export per tariff (Rev_kWh_Tariff_1..4) is left out: rarely needed, and its four fields
# would add a third to the rows parsed and to the rows the recorder writes.
SERIES: Final[tuple[Series, ...]] = (
    Series("Fwd_kWh_Tot", "energy_import", "import energy", *_ENERGY),
    Series("Rev_kWh_Tot", "energy_export", "export energy", *_ENERGY),
    Series("Net_kWh_Tot", "energy_net", "net energy", *_ENERGY),
    Series("kWh_Tot", "energy_total", "total energy", *_ENERGY),
    *(Series(f"kWh_Tariff_{n}", f"energy_tariff_{n}", f"energy tariff {n}", *_ENERGY) for n in range(1, 5)),
    *(Series(f"Pulse_Cnt_{n}", f"pulse_{n}", f"pulse count {n}", None, None) for n in range(1, 4)),
    Series("RMS_Watts_Tot", "power", "power", UnitOfPower.WATT, "power", mean=True),
)
SUMS: Final = {s.register: s for s in SERIES if not s.mean}
MEANS: Final = {s.register: s for s in SERIES if s.mean}
REGISTERS: Final = tuple(r for r in SUM_REGISTERS if r.name in SUMS)
MEAN_FIELDS: Final = tuple(MEANS)


def statistic_id(address: str, series: Series) -> str:
    return f"{DOMAIN}:{address}_{series.key}"


def utcnow() -> datetime:
    """Now (a module function so tests can move the importer's clock alone)."""
    return dt_util.utcnow()


@dataclass(slots=True)
class _Progress:
    """Windows done of a run, logged every PROGRESS_STEP percent."""

    total: int
    loud: bool  # a back-fill logs at info, an hourly top-up at debug
    done: int = 0
    logged: int = 0
    rows: int = 0

    def step(self) -> None:
        self.done += 1
        percent = self.done * 100 // max(self.total, 1)
        if percent >= self.logged + PROGRESS_STEP and self.done < self.total:
            self.logged = percent - percent % PROGRESS_STEP
            LOGGER.log(
                20 if self.loud else 10,
                "History import: %d%% (%d of %d windows, %d rows written)",
                self.logged,
                self.done,
                self.total,
                self.rows,
            )


@dataclass(slots=True)
class _MeterPlan:
    address: str
    windows: list[HistoryWindow]
    baselines: dict[str, Baseline]


class HistoryImporter:
    """The history import of one cloud entry: automatic runs, and ranges on demand."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: PushClient,
        meters: Callable[[], Collection[str]],
        history: timedelta,
        derived: Callable[[str], Sequence[Derived]] = lambda address: (),
    ) -> None:
        self.hass = hass
        self.client = client
        self.history = history
        self._meters = meters
        self._derived = derived  # a meter's derived statistics, as configured now
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        # statistic_id -> start of its last hour in the recorder (diagnostics).
        self.last_hours: dict[str, datetime] = {}
        # meter -> end of the windows asked this session without finding rows (an offline
        # meter): the next runs do not ask them again.
        self._asked_until: dict[str, datetime] = {}

    @property
    def busy(self) -> bool:
        """A run or a re-import is going on."""
        return self._lock.locked()

    # --- runs ---------------------------------------------------------------------

    async def async_update(self) -> int:
        """Import the hours missing since the last imported one (all of history_days on the
        first run) for every meter; rows written."""
        if self.history <= timedelta(0):
            return 0
        # At Home Assistant's start the recorder may still be migrating its database.
        if not await get_instance(self.hass).async_db_ready:
            return 0
        async with self._lock:
            now = utcnow()
            plans = []
            addresses = sorted(self._meters())
            for address in addresses:
                baselines, last = await self._async_resume_point(address)
                if last is None:
                    last = self._asked_until.get(address)
                elif (asked := self._asked_until.get(address)) is not None and asked - HOUR > last:
                    last = asked - HOUR
                windows = plan_windows(
                    now=now,
                    history=self.history,
                    last_imported=last,
                    page_rows=page_rows,
                    rows_per_hour=ROWS_PER_HOUR,
                )
                if windows:
                    plans.append(_MeterPlan(address, windows, baselines))
            rows = await self._async_run(plans, "History import")
            # Every meter, even one without new hours: a derived statistic just configured
            # is back-filled from what is stored.
            return rows + await self._async_derive(addresses)

    async def async_import_range(self, start: datetime, end: datetime) -> int:
        """Import [start, end) again for every meter; rows written.

        The sums continue from the hour before `start`. A meter without statistics
        before `start` starts its sums at 0 there: every later sum changes with it, so
        the range must reach the meter's last imported hour; a shorter one is refused
        (ServiceValidationError, translated) before anything is asked or written. The
        derived statistics are recomputed from `start` up to the last stored hour.
        """
        start, end = floor_hour(start), floor_hour(end)
        end = min(end, floor_hour(utcnow()))
        async with self._lock:
            plans = []
            addresses = sorted(self._meters())
            for address in addresses:
                baselines = await self._async_baselines_before(address, start)
                if not baselines:
                    _, last = await self._async_resume_point(address)
                    if last is not None and last + HOUR > end:
                        raise _range_too_short(address, start, last + HOUR)
                windows = _split(start, end)
                if windows:
                    plans.append(_MeterPlan(address, windows, baselines))
            rows = await self._async_run(plans, "History re-import")
            # Derived statistics from `start` up to the last stored hour, with today's
            # weights: a recompute that stopped at `end` would leave a step there.
            return rows + await self._async_derive(addresses, since=start)

    async def _async_derive(self, addresses: Sequence[str], since: datetime | None = None) -> int:
        """Bring the meters' derived statistics up to date (from `since` on); rows written."""
        rows = 0
        for address in addresses:
            if series := self._derived(address):
                rows += await async_update_derived(self.hass, address, series, since)
        return rows

    async def _async_run(self, plans: Sequence[_MeterPlan], what: str) -> int:
        total = sum(len(p.windows) for p in plans)
        if not total:
            return 0
        progress = _Progress(total, loud=total > len(plans))
        LOGGER.log(
            20 if progress.loud else 10,
            "%s: %d meters, %d windows from %s",
            what,
            len(plans),
            total,
            min(p.windows[0].start for p in plans).isoformat(),
        )
        began = time.monotonic()
        await asyncio.gather(*(self._async_import_meter(plan, progress) for plan in plans))
        LOGGER.log(
            20 if progress.loud else 10,
            "%s done: %d rows written in %.0f s",
            what,
            progress.rows,
            time.monotonic() - began,
        )
        return progress.rows

    async def _async_import_meter(self, plan: _MeterPlan, progress: _Progress) -> None:
        """One meter, window after window; an error ends this meter's run (the next run resumes)."""
        # The sum each register's statistic has reached: hours that add nothing are not written.
        sums = {register: baseline.sum for register, baseline in plan.baselines.items()}
        async with self._slots:
            results = fetch_hourly(
                self.client,
                plan.address,
                plan.windows,
                plan.baselines,
                registers=REGISTERS,
                mean_fields=MEAN_FIELDS,
                report=REPORT,
                page_rows=page_rows,
                now=utcnow(),
            )
            try:
                async for result in results:
                    written = await self._async_write(plan.address, result.statistics, sums)
                    progress.rows += written  # not `+= await`: other meters add meanwhile
                    if not result.statistics.sums and not result.statistics.means:
                        self._asked_until[plan.address] = result.window.end
                    # The recorder has these hours before the next window is asked: a stop
                    # loses nothing, and the queue never holds more than one window.
                    await get_instance(self.hass).async_block_till_done()
                    progress.step()
            except EkmError as err:
                LOGGER.warning(
                    "History import of meter %s stopped, it resumes on the next run: %s", plan.address, err
                )

    async def _async_write(self, address: str, statistics: HourlyStatistics, sums: dict[str, float]) -> int:
        """Queue a window's rows in the recorder, a series at a time; rows queued.

        A sum's hour that adds nothing (a tariff not in use, no export at night, an idle
        pulse input) is left out: the Energy dashboard counts the change between rows, so
        nothing is lost, and the recorder, which writes rows one by one, has less to do.
        The event loop runs other work between two series (a window is up to 1,000 hours).
        """
        rows = 0
        for register, hours in statistics.sums.items():
            series = SUMS.get(register)
            if series is None:
                continue
            reached = sums.get(register, 0.0)  # a new series starts when it first counts
            data = []
            for start, state, total in zip(hours.starts, hours.states, hours.sums, strict=True):
                if total != reached:
                    data.append(StatisticData(start=start, state=state, sum=total))
                    reached = total
            if data:
                sums[register] = data[-1]["sum"]
                rows += self._add(address, series, data, data[-1]["start"])
                await asyncio.sleep(0)
        for field, means in statistics.means.items():
            series = MEANS.get(field)
            if series is None or not means:
                continue
            data = [StatisticData(start=m.start, mean=m.mean, min=m.min, max=m.max) for m in means]
            rows += self._add(address, series, data, means[-1].start)
            await asyncio.sleep(0)
        return rows

    def _add(self, address: str, series: Series, data: list[StatisticData], last: datetime) -> int:
        sid = statistic_id(address, series)
        metadata = external_metadata(
            sid, f"EKM {address} {series.name}", series.unit, series.unit_class, mean=series.mean
        )
        async_add_external_statistics(self.hass, metadata, data)
        if sid not in self.last_hours or last > self.last_hours[sid]:
            self.last_hours[sid] = last
        return len(data)

    # --- what the recorder has ------------------------------------------------------

    async def _async_resume_point(self, address: str) -> tuple[dict[str, Baseline], datetime | None]:
        """Where each of the meter's sums stands, and the last hour imported."""
        baselines: dict[str, Baseline] = {}
        hours: list[datetime] = []
        for series in SERIES:
            sid = statistic_id(address, series)
            if (row := await async_last_row(self.hass, sid)) is None:
                continue
            hour = dt_util.utc_from_timestamp(row["start"])
            self.last_hours[sid] = hour
            hours.append(hour)
            if not series.mean:
                baselines[series.register] = _baseline(hour, row)
        # The newest hour any series has: a series without a row in an hour did not move in
        # it (see _write). Were a stop to lose some series' rows of the last window, their
        # sums still continue from their last rows: the change lands in a later hour, whole.
        return baselines, max(hours, default=None)

    async def _async_baselines_before(self, address: str, start: datetime) -> dict[str, Baseline]:
        """Where the meter's sums stood before `start`: each series' last row before it."""
        ids = {statistic_id(address, s): s for s in SUMS.values()}
        found = await async_rows_before(self.hass, list(ids), start)
        return {
            ids[sid].register: _baseline(dt_util.utc_from_timestamp(row["start"]), row)
            for sid, row in found.items()
        }

    def diagnostics(self) -> dict[str, Any]:
        return {
            "history_days": self.history.days,
            "running": self.busy,
            "last_imported_hour": {sid: hour.isoformat() for sid, hour in sorted(self.last_hours.items())},
        }


def _range_too_short(address: str, start: datetime, needed: datetime) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="history_range_too_short",
        translation_placeholders={
            "meter": address,
            "start": start.isoformat(),
            "end": needed.isoformat(),
        },
    )


def _baseline(hour: datetime, row: Mapping[str, Any]) -> Baseline:
    return Baseline(hour, float(row.get("state") or 0.0), float(row.get("sum") or 0.0))


def _split(start: datetime, end: datetime) -> list[HistoryWindow]:
    """[start, end) in windows of one page each."""
    step = window_hours(page_rows, ROWS_PER_HOUR) * HOUR
    windows = []
    while start < end:
        windows.append(HistoryWindow(start, min(start + step, end)))
        start += step
    return windows


def history_of(entry: EkmConfigEntry) -> timedelta:
    return timedelta(days=int(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)))


@callback
def async_start_history_import(
    hass: HomeAssistant, entry: EkmConfigEntry, client: PushClient, meters: Callable[[], Iterable[str]]
) -> HistoryImporter | None:
    """Start the history import of a cloud entry in the background (now, then every hour).

    None when the recorder is not running. The import stops with the entry, which keeps the
    importer in its runtime data.
    """
    if "recorder" not in hass.config.components:
        LOGGER.debug("No recorder: no history import for %s", entry.title)
        return None

    def derived(address: str) -> list[Derived]:
        # Read at each run: pulse inputs (subentries) change without a reload.
        inputs = pulse_inputs(entry.subentries)
        return derived_series(address, Prices.of(entry.options), inputs, hass.config.currency)

    importer = HistoryImporter(hass, client, lambda: list(meters()), history_of(entry), derived)
    if importer.history <= timedelta(0):
        return importer

    @callback
    def start_run(now: datetime | None = None) -> None:
        if not importer.busy:
            entry.async_create_background_task(hass, importer.async_update(), f"{DOMAIN} history import")

    start_run()
    entry.async_on_unload(async_track_time_interval(hass, start_run, RUN_EVERY, cancel_on_shutdown=True))
    return importer


def importer_of(hass: HomeAssistant, entry_id: str) -> HistoryImporter | None:
    """The history importer of a loaded cloud entry of this integration."""
    entry: EkmConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    return entry.runtime_data.history
