"""Hourly statistics from the Summary API's 15-minute or hourly rows, and fetching them window by window.

For each energy register and pulse count an hour gets `state` (the register at
the hour's end, as the meter shows it) and `sum` (what it counted since the
series began, or since a caller's baseline: imports resume). For power an hour
gets mean, min and max. Hours are on the UTC grid, so a local day of 23 or 25
hours has 23 or 25 rows. Registers mean what the integration's sensors mean:
kWh_Tot counts both directions, Rev_kWh_Tot is export, Fwd_kWh_Tot (import) is
kWh_Tot - Rev_kWh_Tot and Net_kWh_Tot is import - export (readings.add_derived).

Sums follow the register, not the rows' diffs: an hour without rows (meter
offline) has no statistic, and the next hour's sum counts the whole change
across the gap. Rows given twice or out of order count once. A register that
drops below 90 % of its last value was reset (meter replaced, counter wrapped):
its new value counts as consumed since the reset, as Home Assistant's sensors
and its opower import do. A smaller drop is a glitch: the sum holds until the
register passes its previous value again. Net_kWh_Tot may go down; it resets
when kWh_Tot or Rev_kWh_Tot does.

Impossible values (beyond what the meter can show, or count in the time) are skipped,
logged and never summed; the next hours go on from the register's last good value
(push/history_track.py, push/history_bounds.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
import itertools
import logging
import math
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import NoDataError, RateLimitedError
from ..readings import normalize_address
from .history_bounds import ENERGY_PER_HOUR, PULSES_PER_HOUR, value_range
from .history_plan import HOUR, PAGE_ROWS, HistoryWindow, first_report_of
from .history_rows import Columns, HistoryRow, history_rows, parse_history_rows
from .history_series import HourlyMeans, HourlySums
from .history_track import PLACES, Register, Skipped, Term, Track, terms_of, value_of
from .summary import Report, SummaryRow

if TYPE_CHECKING:
    from .cloud import PushClient

_LOGGER = logging.getLogger(__package__)


def _field(name: str, per_hour: float = ENERGY_PER_HOUR) -> Register:
    return Register(name, ((name, 1.0),), per_hour=per_hour)


SUM_REGISTERS: tuple[Register, ...] = (
    _field("kWh_Tot"),
    _field("Rev_kWh_Tot"),
    Register("Fwd_kWh_Tot", (("kWh_Tot", 1.0), ("Rev_kWh_Tot", -1.0)), derived=True),
    Register("Net_kWh_Tot", (("kWh_Tot", 1.0), ("Rev_kWh_Tot", -2.0)), signed=True, derived=True),
    *(_field(f"kWh_Tariff_{n}") for n in range(1, 5)),
    *(_field(f"Rev_kWh_Tariff_{n}") for n in range(1, 5)),
    _field("Reactive_Energy_Tot"),
    *(_field(f"Pulse_Cnt_{n}", PULSES_PER_HOUR) for n in range(1, 4)),
)
MEAN_FIELDS: tuple[str, ...] = ("RMS_Watts_Tot", "RMS_Watts_Ln_1", "RMS_Watts_Ln_2", "RMS_Watts_Ln_3")


def fields_for(registers: Sequence[Register], mean_fields: Sequence[str]) -> tuple[str, ...]:
    """The Summary fields these registers and means need (fewer fields, smaller pages)."""
    return tuple(dict.fromkeys([f for r in registers for f, _ in r.terms] + list(mean_fields)))


HISTORY_FIELDS = fields_for(SUM_REGISTERS, MEAN_FIELDS)
_COMPONENTS = ("kWh_Tot", "Rev_kWh_Tot")  # the derived registers reset when one of these does
ON_LOOP_ROWS = 100  # a window with more rows has its hourly statistics computed in a worker thread


@dataclass(frozen=True, slots=True)
class Baseline:
    """Where a register's statistics stopped: its last hour (start, UTC), state and sum."""

    hour: datetime
    state: float
    sum: float


@dataclass(frozen=True, slots=True)
class HourlyStatistics:
    """Hourly rows by register (field name, e.g. 'Fwd_kWh_Tot'), each list oldest first."""

    sums: Mapping[str, HourlySums]
    means: Mapping[str, HourlyMeans]

    @property
    def last_hour(self) -> datetime | None:
        hours = [rows[-1].start for rows in self.sums.values() if rows]
        hours += [rows[-1].start for rows in self.means.values() if rows]
        return max(hours, default=None)

    def baselines(self, previous: Mapping[str, Baseline] | None = None) -> dict[str, Baseline]:
        """`previous` moved on to the last hour of each register here: what the next window resumes from."""
        out = dict(previous or {})
        for name, rows in self.sums.items():
            if rows:
                out[name] = Baseline(*rows[-1])
        return out


EMPTY = HourlyStatistics(MappingProxyType({}), MappingProxyType({}))


@lru_cache(maxsize=32)
def columns_for(registers: tuple[Register, ...], mean_fields: tuple[str, ...]) -> Columns:
    """Where the numbers these registers and means need sit in a HistoryRow."""
    return Columns(tuple(f for r in registers for f, _ in r.terms), mean_fields)


def _latest(
    rows: Sequence[HistoryRow], register: Register, terms: Sequence[Term], skipped: Skipped
) -> float | None:
    for row in reversed(rows):
        value = value_of(row, register, terms, skipped)
        if value is not None:
            return value
    return None


def _earliest(
    rows: Sequence[HistoryRow], register: Register, terms: Sequence[Term], default: float, skipped: Skipped
) -> float:
    for row in rows:
        value = value_of(row, register, terms, skipped)
        if value is not None:
            return value
    return default


def _by_hour(rows: Iterable[HistoryRow]) -> Iterator[tuple[datetime, list[HistoryRow]]]:
    """Rows (sorted by start) grouped by the UTC hour their start is in."""
    key: int | None = None
    group: list[HistoryRow] = []
    for row in rows:
        this = int(row.start.timestamp() // 3600)
        if this != key:
            if group and key is not None:
                yield datetime.fromtimestamp(key * 3600, UTC), group
            key, group = this, []
        group.append(row)
    if group and key is not None:
        yield datetime.fromtimestamp(key * 3600, UTC), group


def _unique_sorted(rows: Iterable[HistoryRow]) -> list[HistoryRow]:
    """One row per start (the longest if sent twice), by start."""
    by_start: dict[datetime, HistoryRow] = {}
    for row in rows:
        seen = by_start.get(row.start)
        if seen is None or row.end > seen.end:
            by_start[row.start] = row
    return [by_start[k] for k in sorted(by_start)]


def _mean(
    hour_rows: Sequence[HistoryRow],
    weights: Sequence[float],
    name: str,
    place: int,
    skipped: Skipped,
) -> tuple[float, float, float] | None:
    """Time-weighted mean of the rows' averages; min and max of their min and max.

    `place` is that of the field's average in the rows' values; its low and high follow."""
    weighted = seconds = 0.0
    low: float | None = None
    high: float | None = None
    lowest, highest = value_range(name)
    for row, weight in zip(hour_rows, weights, strict=True):
        average, row_low, row_high = row.values[place : place + 3]
        if average is None or row_low is None or row_high is None:
            continue
        if not (
            lowest <= row_low <= highest and lowest <= row_high <= highest and lowest <= average <= highest
        ):
            skipped.note(name, row.start, f"{row_low:g}..{row_high:g} is beyond what the meter can show")
            continue
        weighted += average * weight
        seconds += weight
        low = row_low if low is None else min(low, row_low)
        high = row_high if high is None else max(high, row_high)
    if low is None or high is None:
        return None
    return round(weighted / seconds, PLACES), low, high


def _usable(baselines: Mapping[str, Baseline] | None) -> dict[str, Baseline]:
    """The baselines a sum can go on from: one that is not finite (written before values
    were checked) is dropped, and its register starts again from 0."""
    usable = {}
    for name, base in (baselines or {}).items():
        if math.isfinite(base.state) and math.isfinite(base.sum):
            usable[name] = base
        else:
            _LOGGER.warning(
                "History of %s: its last sum %s is not a number, it starts again from 0", name, base
            )
    return usable


def hourly_statistics(
    rows: Iterable[SummaryRow],
    baselines: Mapping[str, Baseline] | None = None,
    *,
    after: datetime | None = None,
    registers: Sequence[Register] = SUM_REGISTERS,
    mean_fields: Sequence[str] = MEAN_FIELDS,
) -> HourlyStatistics:
    """Hourly statistics of one meter's Summary rows (any period length up to an hour; no I/O).

    A row belongs to the UTC hour its start is in. `baselines` resume registers
    (hours up to a baseline's hour are skipped for it); a register without one
    starts with sum 0 at the register's value at the start of its first hour.
    Means skip hours up to `after`. Registers the rows do not carry are left out.
    Impossible values are skipped and logged (module docstring).
    """
    columns = columns_for(tuple(registers), tuple(mean_fields))
    return hourly_of_rows(history_rows(rows, columns), columns, baselines, after=after, registers=registers)


def hourly_of_rows(
    rows: Iterable[HistoryRow],
    columns: Columns,
    baselines: Mapping[str, Baseline] | None = None,
    *,
    after: datetime | None = None,
    registers: Sequence[Register] = SUM_REGISTERS,
) -> HourlyStatistics:
    """hourly_statistics() of rows already reduced to what it reads (push/history_rows.py);
    `columns` must hold every field of `registers`, and its means are those computed."""
    baselines = _usable(baselines)
    skipped = Skipped()
    tracks: dict[str, Track] = {}
    # By register: starts, states, sums; by mean field: starts, means, minima, maxima.
    sums: dict[str, tuple[list[datetime], list[float], list[float]]] = {}
    means: dict[str, tuple[list[datetime], list[float], list[float], list[float]]] = {}
    plans = [(r, terms_of(r, columns.at_end), terms_of(r, columns.at_start)) for r in registers]
    meter = ""
    for hour, hour_rows in _by_hour(_unique_sorted(rows)):
        last = hour_rows[-1]
        meter = meter or last.meter
        for register, at_end, at_start in plans:
            name = register.name
            base = baselines.get(name)
            if base is not None and hour <= base.hour:
                continue
            end = value_of(last, register, at_end, skipped)
            if end is None:
                end = _latest(hour_rows, register, at_end, skipped)
                if end is None:
                    continue
            track = tracks.get(name)
            if track is None:
                if base is not None:
                    track = Track(base.state, base.sum, base.hour + HOUR)
                else:
                    track = Track(_earliest(hour_rows, register, at_start, end, skipped), 0.0, hour)
                tracks[name] = track
            components_reset = register.derived and any(
                (t := tracks.get(c)) is not None and t.reset_at == hour for c in _COMPONENTS
            )
            why = track.step(hour, end, register, components_reset)
            if why is not None:
                skipped.note(name, hour, why)
                continue
            columns_of = sums.get(name) or sums.setdefault(name, ([], [], []))
            columns_of[0].append(hour)
            columns_of[1].append(track.state)
            columns_of[2].append(track.sum)
        if after is not None and hour <= after:
            continue
        weights = [max((r.end - r.start).total_seconds(), 1.0) for r in hour_rows]
        for field, place in columns.mean_at.items():
            mean = _mean(hour_rows, weights, field, place, skipped)
            if mean is not None:
                columns_of_mean = means.get(field) or means.setdefault(field, ([], [], [], []))
                columns_of_mean[0].append(hour)
                for column, number in zip(columns_of_mean[1:], mean, strict=True):
                    column.append(number)
    skipped.log(meter)
    return HourlyStatistics(
        MappingProxyType({k: HourlySums(*v) for k, v in sums.items()}),
        MappingProxyType({k: HourlyMeans(*v) for k, v in means.items()}),
    )


# --- fetching ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One window's hours, ready to write before the next window is fetched."""

    window: HistoryWindow
    statistics: HourlyStatistics
    rows: int  # Summary rows received
    # Where each register stands after this window (those without rows here keep theirs).
    baselines: Mapping[str, Baseline]
    first_report: datetime | None = None  # the meter's first report, once EKM 1002 named it


_NO_DATA = (1000, 1001, 1002, 1003)  # no data / none in range / before first / after last report
RATE_LIMIT_RETRIES = 5  # 429s waited out for one window
MAX_RATE_LIMIT_WAIT = 600.0  # seconds one fetch_hourly call waits for 429s, in all
DEFAULT_RATE_LIMIT_WAIT = 30.0  # a 429 without Retry-After


def _known_first_report(meter: str, named: datetime | None, now: datetime) -> datetime | None:
    """A first report EKM named, unless it lies in the future (nothing can be skipped for it)."""
    if named is not None and named > now:
        _LOGGER.warning(
            "History of %s: EKM says it first reported on %s, which is in the future; ignored",
            meter,
            named.isoformat(),
        )
        return None
    return named


async def probe_first_report(
    client: PushClient, meter: str, *, now: datetime | None = None
) -> datetime | None:
    """Ask EKM when `meter` first reported: one request for an hour of 2000-01-01 (EKM 1002).

    None when the answer names no date (the meter has data then, or EKM said otherwise),
    or a date after `now` (default: the system clock).
    """
    start = datetime(2000, 1, 1, tzinfo=UTC)
    try:
        await client.summary([meter], Report.HOUR, start, start + HOUR, timezone="UTC")
    except NoDataError as err:
        return _known_first_report(meter, first_report_of(err), now or datetime.now(UTC))
    return None


async def fetch_hourly(
    client: PushClient,
    meter: str,
    windows: Iterable[HistoryWindow],
    baselines: Mapping[str, Baseline] | None = None,
    *,
    registers: Sequence[Register] = SUM_REGISTERS,
    mean_fields: Sequence[str] = MEAN_FIELDS,
    report: Report = Report.MIN_15,
    page_rows: int = PAGE_ROWS,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
    now: datetime | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[WindowResult]:
    """Fetch `meter`'s 15-minute rows window by window and yield each window's hourly statistics.

    Each window continues the sums of the one before (and of `baselines`). EKM
    1000-1003 make an empty window; once a 1002 names the first report, windows
    ending before it are skipped without a request (a first report after `now`,
    default the system clock, is ignored with a warning). A 429 is waited out (its
    Retry-After) and the same window asked again, up to `rate_limit_retries` times
    per window and `max_rate_limit_wait` seconds in all: a wait beyond what is left
    is not begun, RateLimitedError says so. Other errors propagate; what was yielded
    before stays valid: resume with plan_windows(last_imported=...).

    Only the fields `registers` and `mean_fields` need are asked (fewer is cheaper:
    parsing the rows is most of the client's work).
    `report` Report.HOUR asks the Summary's hourly rows instead (a quarter of the rows
    and requests; plan the windows with rows_per_hour=1). Their hours are the same:
    the sums follow the registers either way, the means are those of whole hours.
    """
    meter = normalize_address(meter)
    now = now or datetime.now(UTC)
    columns = columns_for(tuple(registers), tuple(mean_fields))
    carry = dict(baselines or {})
    after = max((b.hour for b in carry.values()), default=None)
    first_report: datetime | None = None
    waits = _Waits(meter, rate_limit_retries, max_rate_limit_wait, sleep)
    for window in windows:
        if first_report is not None and window.end <= first_report:
            yield WindowResult(window, EMPTY, 0, MappingProxyType(dict(carry)), first_report)
            continue
        rows, named = await _window_rows(
            client, meter, window, columns=columns, report=report, page_rows=page_rows, waits=waits
        )
        first_report = _known_first_report(meter, named, now) or first_report
        statistics = EMPTY
        if rows:
            hourly = partial(hourly_of_rows, rows, columns, carry, after=after, registers=registers)
            # A window's hours are ~10 ms of CPU: off the event loop, but for a few rows.
            statistics = hourly() if len(rows) <= ON_LOOP_ROWS else await asyncio.to_thread(hourly)
        carry = statistics.baselines(carry)
        last = statistics.last_hour
        if last is not None and (after is None or last > after):
            after = last
        yield WindowResult(window, statistics, len(rows), MappingProxyType(dict(carry)), first_report)


class _Waits:
    """The 429s of one fetch_hourly call: each waited out, within a budget of tries and seconds."""

    def __init__(
        self, meter: str, retries: int, budget: float, sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        self.meter = meter
        self.retries = retries
        self.left = budget  # seconds
        self.budget = budget
        self.sleep = sleep

    async def wait(self, err: RateLimitedError, attempt: int) -> None:
        """Sleep what EKM asks, or raise RateLimitedError when that is beyond the budget."""
        asked = max(err.retry_after if err.retry_after is not None else DEFAULT_RATE_LIMIT_WAIT, 0.0)
        if attempt > self.retries:
            why = f"still rate limited after {self.retries} waits for one window"
        elif asked > self.left:
            why = f"EKM asks to wait {asked:.0f} s, beyond the {self.budget:.0f} s an import run waits in all"
        else:
            _LOGGER.debug("History of %s: rate limited, asking again in %.0f s", self.meter, asked)
            self.left -= asked
            await self.sleep(asked)
            return
        raise RateLimitedError(
            f"History of {self.meter}: {why}; stopped", retry_after=err.retry_after
        ) from None


async def _window_rows(
    client: PushClient,
    meter: str,
    window: HistoryWindow,
    *,
    columns: Columns,
    report: Report,
    page_rows: int,
    waits: _Waits,
) -> tuple[list[HistoryRow], datetime | None]:
    """A window's rows (and a first report named by EKM 1002), 429s waited out."""
    parse = partial(parse_history_rows, columns=columns)
    for attempt in itertools.count(1):
        try:
            rows = await client.summary_parsed(
                [meter],
                report,
                window.start,
                window.end,
                parse,
                timezone="UTC",
                fields=columns.fields,
                page_size=page_rows,
            )
        except RateLimitedError as err:
            await waits.wait(err, attempt)
            continue
        except NoDataError as err:
            if err.code not in _NO_DATA:
                raise
            return [], first_report_of(err)
        # Only rows starting inside the window: one touching its edge belongs to a neighbour.
        inside = [r for r in rows if r.meter in ("", meter) and window.start <= r.start < window.end]
        return inside, None
    raise AssertionError("unreachable")  # pragma: no cover
