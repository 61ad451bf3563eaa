"""Statistics derived from a cloud meter's imported ones: costs, and what pulse inputs measure.

A derived statistic `ekm:<address>_<key>` is a weighted sum of the changes of statistics
the history import has stored for the same meter (history.py):
- `energy_import_cost`: each tariff's kWh (`energy_tariff_1` … `_4`) × that tariff's price;
- `energy_export_compensation`: the returned kWh (`energy_export`) × the return price;
- `<measures>_<n>` (e.g. `water_1`): a pulse input's count (`pulse_<n>`) × its amount per
  pulse, in the input's unit.

They are computed from the recorder rather than from the Summary rows, so a statistic that
is new (a price just set, an input just configured) is back-filled from everything already
stored, with no request to EKM. Each run goes on from the derived statistic's last row with
the weights of now: a new price counts from the next hour on and the hours written keep
theirs; `ekm.import_history` recomputes from its `start` up to the last stored hour, so the
later sums stay continuous. A pulse input's statistic is its pulses × the amount per pulse,
always: a new amount (or unit) computes it anew from the first stored hour.

A derived row is written for every hour in which one of its sources has a row (the import
writes only hours in which a register moved); a source without a row in an hour did not
move, its last sum is carried on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticData
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    statistics_during_period,
)
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .prices import TARIFFS, Prices
from .pulse_inputs import PulseInput
from .statistics_compat import (
    async_first_hour,
    async_last_row,
    async_rows_before,
    async_units,
    external_metadata,
)

HOUR: Final = timedelta(hours=1)
# Rows queued in the recorder at once: it writes them one by one, and other work (the
# states of every entity) waits in its queue meanwhile.
WRITE_ROWS: Final = 500
READ: Final = timedelta(days=31)  # hours of the sources read at a time
_TYPES: Final[set[Any]] = {"state", "sum"}


@dataclass(frozen=True, slots=True)
class Derived:
    """One derived statistic of a meter: Σ factor × change of a source statistic."""

    key: str  # statistic_id is ekm:<address>_<key>
    name: str
    unit: str
    unit_class: str | None
    terms: tuple[tuple[str, float], ...]  # (source key, factor)
    # True: a row's state is Σ factor × the sources' states (a pulse input's reading in its
    # unit); False: the state is the sum (money has no register).
    state_of_sources: bool = False


def derived_series(
    address: str, prices: Prices, inputs: Sequence[PulseInput], currency: str
) -> list[Derived]:
    """The derived statistics of one meter that the entry's configuration asks for."""
    series = []
    if prices.tariffs is not None:
        terms = tuple((f"energy_tariff_{n}", prices.tariffs[n]) for n in TARIFFS)
        series.append(Derived("energy_import_cost", "import energy cost", currency, None, terms))
    if prices.returned is not None:
        terms = (("energy_export", prices.returned),)
        series.append(Derived("energy_export_compensation", "export compensation", currency, None, terms))
    for pulse in inputs:
        if pulse.meter != address:
            continue
        unit_class = "energy" if pulse.device_class is SensorDeviceClass.ENERGY else "volume"
        name = f"{pulse.name or pulse.measures} (input {pulse.number})"
        terms = ((f"pulse_{pulse.number}", float(pulse.per_pulse)),)
        series.append(
            Derived(pulse.statistic_key, name, pulse.unit, unit_class, terms, state_of_sources=True)
        )
    return series


def _sid(address: str, key: str) -> str:
    return f"{DOMAIN}:{address}_{key}"


async def async_update_derived(
    hass: HomeAssistant, address: str, series: Sequence[Derived], since: datetime | None = None
) -> int:
    """Bring a meter's derived statistics up to the last stored hour of their sources; rows
    written. With `since`, recompute from that hour on (from their sources' first hour for a
    statistic without a row before it).

    A statistic stored in another unit (the input's unit or HA's currency changed) is
    computed anew from the first hour: its old values would mean something else.
    """
    units = await async_units(hass, [_sid(address, d.key) for d in series])
    rows = 0
    for derived in series:
        sid = _sid(address, derived.key)
        anew = sid in units and units[sid] != derived.unit
        rows += await _async_update_one(hass, address, derived, None if anew else since, anew)
    return rows


async def _async_start(
    hass: HomeAssistant, sid: str, derived: Derived, sources: Mapping[str, float], since: datetime | None
) -> tuple[datetime | None, float]:
    """The first hour to compute (None: the sources' first) and the derived sum before it."""
    if since is None:
        before = await async_last_row(hass, sid)
        start = None if before is None else dt_util.utc_from_timestamp(before["start"]) + HOUR
    else:
        before, start = (await async_rows_before(hass, [sid], since)).get(sid), since
    if before is None or start is None:
        return None, 0.0
    if derived.state_of_sources and not await _async_same_weights(hass, sources, start, before):
        return None, 0.0
    return start, float(before["sum"] or 0.0)


async def _async_same_weights(
    hass: HomeAssistant, sources: Mapping[str, float], start: datetime, last: Mapping[str, Any]
) -> bool:
    """Whether the derived row before `start` is its sources' states × today's factors.

    Not so after a pulse input's amount per pulse changed: its statistic is then computed
    anew, as pulses × the new amount (flow_pulse_input.py tells the user so)."""
    rows = await async_rows_before(hass, list(sources), start)
    expected = sum(factor * float(rows[s]["state"] or 0.0) for s, factor in sources.items() if s in rows)
    return math.isclose(expected, float(last["state"] or 0.0), rel_tol=1e-9, abs_tol=1e-9)


async def _async_update_one(
    hass: HomeAssistant, address: str, derived: Derived, since: datetime | None, anew: bool
) -> int:
    sid = _sid(address, derived.key)
    sources = {_sid(address, key): factor for key, factor in derived.terms}
    start, base = (None, 0.0) if anew else await _async_start(hass, sid, derived, sources, since)
    # Where each source stood before `start`: a series starts with sum 0 before its first row.
    standing = dict.fromkeys(sources, (0.0, 0.0))
    if start is not None:
        for s, row in (await async_rows_before(hass, list(sources), start)).items():
            standing[s] = (float(row["sum"] or 0.0), float(row["state"] or 0.0))
    begin = start or await async_first_hour(hass, sources)
    lasts = [await async_last_row(hass, source) for source in sources]
    ends = [dt_util.utc_from_timestamp(last["start"]) + HOUR for last in lasts if last is not None]
    if begin is None or not ends:
        return 0
    end = max(ends)
    metadata = external_metadata(
        sid, f"EKM {address} {derived.name}", derived.unit, derived.unit_class, mean=False
    )
    merge = _Merge(derived, sources, standing, base)
    written = 0
    # A month of the sources at a time: a year's rows read at once were ~100,000 objects the
    # garbage collector moved to its oldest generation, and full collections followed.
    while begin < end:
        stop = min(begin + READ, end)
        found = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, begin, stop, set(sources), "hour", None, _TYPES
        )
        data = await hass.async_add_executor_job(merge.rows, found)
        for first in range(0, len(data), WRITE_ROWS):
            async_add_external_statistics(hass, metadata, data[first : first + WRITE_ROWS])
            await get_instance(hass).async_block_till_done()
        written += len(data)
        begin = stop
    return written


class _Merge:
    """A derived statistic's rows from its sources' rows, read a stretch at a time, oldest first."""

    def __init__(
        self,
        derived: Derived,
        sources: Mapping[str, float],
        standing: Mapping[str, tuple[float, float]],
        base: float,
    ) -> None:
        self.derived = derived
        self.names = list(sources)
        self.factors = [sources[s] for s in self.names]
        self.first_sum = [standing[s][0] for s in self.names]
        # Where each source stands: its last sum and state (carried from one stretch to the next).
        self.sums = list(self.first_sum)
        self.states = [standing[s][1] for s in self.names]
        self.base = base

    def rows(self, found: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[StatisticData]:
        """The derived rows for every hour in which a source has a row in `found`."""
        # One flat tuple of numbers per source row, sorted by hour: the collector stops tracking
        # such tuples at its next pass (a list per hour would be objects it follows).
        changes = sorted(
            (row["start"], index, float(row["sum"] or 0.0), float(row["state"] or 0.0))
            for index, s in enumerate(self.names)
            for row in found.get(s, ())
        )
        factors, sums, states = self.factors, self.sums, self.states
        data = []
        for at, (hour, index, total, state) in enumerate(changes):
            sums[index], states[index] = total, state
            if at + 1 < len(changes) and changes[at + 1][0] == hour:
                continue  # another source's row of the same hour follows
            derived_sum = self.base + sum(
                f * (now - first) for f, now, first in zip(factors, sums, self.first_sum, strict=True)
            )
            derived_state = (
                sum(f * st for f, st in zip(factors, states, strict=True))
                if self.derived.state_of_sources
                else derived_sum
            )
            data.append(
                StatisticData(start=dt_util.utc_from_timestamp(hour), state=derived_state, sum=derived_sum)
            )
        return data
