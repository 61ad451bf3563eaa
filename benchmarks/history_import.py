"""History import into a real recorder: N meters x D days of Summary rows, end to end.

    .venv-py3.13/bin/python benchmarks/history_import.py [--meters 10] [--days 365] [--servers 2]
                          [--tracemalloc] [--no-write] [--costs] [--water] [--no-floor]

Home Assistant runs here with only its recorder (SQLite in a temporary directory);
the integration's HistoryImporter (custom_components/ekm/history.py) imports every
meter's statistics as a first setup does: the Summary's hourly rows in windows of one
page (500 rows), 2 meters at a time, each window written to the recorder before the next
is asked. The fake Push server runs in child processes (benchmarks/history_fetch.py
--serve, which renders the first meter's answers once and replays them for the others),
so this process's CPU time is the importer's and the recorder's. --costs adds each
meter's cost and compensation statistics, --water a water meter on pulse input 1
(history_derived.py), computed from the stored rows after the import.

Three runs, each in a fresh Home Assistant with a fresh database (issue #19, Performance):
1. whole import: the importer writing into the recorder. Wall time; what stopped the
   event loop (LoopWatch: the longest callbacks, less the garbage collections that ran
   meanwhile; the longest a 10 ms timer fired late; the full collections and the threads
   they ran in); the maximum RSS of the process (this run comes first, so the maximum is
   its own; HA's RSS before the import is printed too).
2. integration alone: the same import with the rows captured instead of written (the
   derived statistics read their sources from the capture, whose CPU is left out): the
   integration's CPU for fetch, parse, hourly sums and the derived statistics.
3. recorder floor: the captured rows, call by call, straight into
   async_add_external_statistics with nothing else going on (a few calls kept queued).
   Import wall / floor wall is the import's overhead over what the recorder needs anyway.
--no-write: only run 2; --no-floor: no run 3. The recorder writes each imported row on
its own (a lookup, then an insert), about 0.3 ms per row here: that is most of the time.
The load (uptime) is printed before and after each run.

Measured 2026-12-05 on a 2-core AMD EPYC, nothing else running, --meters 10 --days 365
--costs --water (876,000 rows: 613,200 imported + 262,800 cost, compensation, water; 180
requests of 500 hourly rows):
- HA 2025.4.4 / Python 3.13.0, 07:07-07:16, load 1.0-1.2: integration CPU 4.2 s [<= 10 s];
  wall import / floor 281.0 / 278.2 s = 1.010 [<= 1.15] (recorder thread CPU 272.8 / 274.4
  s); longest loop hold by the import 25.5 ms [<= 50 ms]; full collections 6 during the
  import, 3 in the floor (all in the recorder's thread, up to 155 ms: the timer lateness is
  137 / 160 ms); max RSS 191 MiB [< 238 MiB] (152 before the import).
- HA 2026.10.4 / Python 3.14.10, 07:16-07:25, load 1.0-1.1: integration CPU 3.6 s; wall
  257.9 / 248.9 s = 1.036; longest hold 18.6 ms; full collections 16 / 13 (up to 178 ms:
  Python 3.14 tracks every StatisticData dict handed to the recorder); max RSS 230 MiB
  (186 before the import).
Where the CPU went before (cProfile, 15-minute rows): parsing the rows 2/3 (now 1/5 of the
work a row, and a quarter of the rows), the secrets search of each body (19 ms a page, now
2), the hourly sums 1/5; the loop holds were full collections set off by a year of
HourlySum NamedTuples promoted to the oldest generation (now held by column) and by the
derived statistics reading a year of rows at once (now a month).

Before issue #19's work on speed (2026-12-05 03:28, the same command, HA 2025.4.4 / Python
3.13.0, load 1.2-2.8; 15-minute rows in 360 requests): integration CPU 21.8 s, wall import
/ floor 1.195, longest loop hold 369 ms, max RSS 227 MiB.

Earlier, 2026-11-26 on this 2-core machine, shared with other work (load 3-4):
- 10 meters x 365 days, HA 2025.4 / Python 3.13: 360 requests, 700 800 rows written,
  CPU 607 s (wall 1353 s under load), max RSS 195 MiB (153 MiB before the import).
- the same with --no-write: CPU 25 s (the importer: HTTP, JSON, rows, hourly sums);
  again at 15:24 (load 1-3): CPU 26.0 s, wall 65.5 s, max RSS 174 MiB.
- 10 meters x 30 days, HA 2025.4 / Python 3.13 (15:25, load 2.5): 57 600 rows, CPU 41.5 s,
  wall 50.8 s, max RSS 178 MiB: about 0.7 ms of recorder CPU per row.
- 10 meters x 30 days, HA 2026.10 / Python 3.14: 57 600 rows, CPU 41 s, max RSS 217 MiB.
The goal (under 30 s) holds for the importer, not for the recorder's writes.
"""

from __future__ import annotations

import argparse
from array import array
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
import gc
import math
import os
from pathlib import Path
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aiohttp  # noqa: E402
from history_fetch import bench_fleet, now_after, start_servers, stop_servers  # noqa: E402
from homeassistant import bootstrap, config_entries, loader  # noqa: E402
from homeassistant.components.recorder.models import StatisticData  # noqa: E402
from homeassistant.components.recorder.statistics import async_add_external_statistics  # noqa: E402
from homeassistant.const import __version__ as HA_VERSION  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from homeassistant.helpers import recorder as recorder_helper  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from homeassistant.util import dt as dt_util  # noqa: E402

from custom_components.ekm import history, history_derived  # noqa: E402
from custom_components.ekm.aioekm.push.cloud import PushClient  # noqa: E402
from custom_components.ekm.prices import Prices  # noqa: E402
from custom_components.ekm.pulse_inputs import Measures, PulseInput  # noqa: E402

PRICES = Prices({1: 0.30, 2: 0.12, 3: 0.30, 4: 0.30}, 0.08)
# --water: input 1 of every meter counts a water meter's pulses, one litre each.
WATER = "1"
FEED_AHEAD = 16  # recorder floor: calls kept queued (a call is 0.1-1 s of the recorder's work)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_status(key: str) -> float | None:
    """VmRSS (now) or VmHWM (peak since the last reset) in MiB; None where /proc has none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> float | None:
    """Start measuring the peak RSS again (Linux: /proc/self/clear_refs); the RSS now."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return None
    return rss_status("VmRSS")


def thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds of a running thread (the recorder's)."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


async def start_hass(config_dir: str) -> HomeAssistant:
    """Home Assistant with its recorder on SQLite, started."""
    hass = HomeAssistant(config_dir)
    hass.config.skip_pip = True
    await hass.config.async_set_time_zone("UTC")
    loader.async_setup(hass)
    hass.config_entries = config_entries.ConfigEntries(hass, {})
    await bootstrap.async_load_base_functionality(hass)
    recorder_helper.async_initialize_recorder(hass)
    db_url = f"sqlite:///{config_dir}/home-assistant_v2.db"
    assert await async_setup_component(hass, "recorder", {"recorder": {"db_url": db_url}})
    await hass.async_start()
    await hass.async_block_till_done()
    return hass


class LoopWatch:
    """What stopped the event loop while on (async context manager).

    - holds: the longest callbacks it ran, each less the garbage collections (any thread's:
      they hold the GIL) that ran meanwhile: the work of the callback itself. Every
      Handle._run is timed; a task's step is named after its coroutine.
    - lateness: the longest a 10 ms timer fired late: the loop stopped by anything (a long
      callback, a collection, another thread holding the GIL).
    - full collections (oldest generation), each with its duration and the thread it ran in.
    """

    TICK = 0.01

    def __init__(self) -> None:
        self.holds: list[tuple[float, str]] = []
        self.lateness = 0.0
        self.full_collections: list[tuple[float, str]] = []
        self._collecting = 0.0  # seconds of every collection so far
        self._began = 0.0
        self._real = asyncio.events.Handle._run
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopWatch:
        real, top = self._real, self.holds
        floor = [0.0]

        def timed(handle: asyncio.Handle) -> None:
            t0, c0 = time.perf_counter(), self._collecting
            real(handle)
            held = time.perf_counter() - t0 - (self._collecting - c0)
            if held > floor[0]:
                top.append((held, _name(handle)))
                top.sort(reverse=True)
                del top[5:]
                floor[0] = top[-1][0] if len(top) == 5 else 0.0

        gc.callbacks.append(self._collection)
        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._real  # type: ignore[method-assign]
        gc.callbacks.remove(self._collection)
        if self._task is not None:
            self._task.cancel()

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.lateness = max(self.lateness, time.perf_counter() - asked - self.TICK)

    def _collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self._collecting += took
        if info["generation"] == 2:
            self.full_collections.append((took, threading.current_thread().name))


def _name(handle: asyncio.Handle) -> str:
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task {getattr(coro, '__qualname__', coro)}"
    name = getattr(callback, "__qualname__", None) or type(callback).__qualname__
    return str(name)[:80]


@dataclass
class Run:
    """What one phase measured."""

    rows: int = 0
    requests: int = 0
    cpu: float = 0.0  # this process
    wall: float = 0.0
    loop_cpu: float = 0.0  # the event loop's thread
    recorder_cpu: float = 0.0  # the recorder's thread
    excluded_cpu: float = 0.0  # the benchmark's stand-in for the recorder's reads (own run)
    watch: LoopWatch = field(default_factory=LoopWatch)
    peak_traced: int = 0
    db_size: int = 0
    rss_before: float = 0.0
    rss_growth: float | None = None  # peak RSS during the run less the RSS at its start
    load: tuple[str, str] = ("", "")


@dataclass
class Captured:
    """The rows the integration hands the recorder, call by call, packed (floats in arrays)."""

    calls: list[tuple[Any, array, array, array, array | None]] = field(default_factory=list)
    sums: dict[str, list[tuple[array, array, array]]] = field(default_factory=dict)
    rows: int = 0

    def add(self, hass: HomeAssistant, metadata: Any, data: list[Any]) -> None:
        starts = array("d", [r["start"].timestamp() for r in data])
        self.rows += len(data)
        if "mean" in data[0]:
            means = (array("d", [r[k] for r in data]) for k in ("mean", "min", "max"))
            self.calls.append((metadata, starts, *means))
            return
        states = array("d", [r["state"] for r in data])
        sums = array("d", [r["sum"] for r in data])
        self.calls.append((metadata, starts, states, sums, None))
        self.sums.setdefault(metadata["statistic_id"], []).append((starts, states, sums))

    def read(
        self, ids: Collection[str], start: float = 0.0, end: float = math.inf
    ) -> dict[str, list[dict[str, float]]]:
        """statistics_during_period's answer (start, state, sum) from the captured sums, rows
        starting in [start, end) (seconds)."""
        found = {
            sid: [
                {"start": t, "state": st, "sum": su}
                for starts, states, sums in self.sums[sid]
                for t, st, su in zip(starts, states, sums, strict=True)
                if start <= t < end
            ]
            for sid in ids
            if sid in self.sums
        }
        return {sid: rows for sid, rows in found.items() if rows}

    def batches(self) -> Iterator[tuple[Any, list[Any]]]:
        """Each call's metadata and rows, rebuilt (StatisticData) one call at a time."""
        utc = dt_util.utc_from_timestamp
        for metadata, starts, a, b, c in self.calls:
            if c is None:
                rows = [
                    StatisticData(start=utc(t), state=x, sum=y) for t, x, y in zip(starts, a, b, strict=True)
                ]
            else:
                rows = [
                    StatisticData(start=utc(t), mean=x, min=y, max=z)
                    for t, x, y, z in zip(starts, a, b, c, strict=True)
                ]
            yield metadata, rows


@asynccontextmanager
async def measuring(run: Run, recorder: threading.Thread) -> AsyncIterator[None]:
    """Measure what runs inside into `run`: the load before and after, wall time, CPU of the
    process, the event loop's and the recorder's threads, what stopped the loop, RSS growth."""
    run.load = (uptime(), "")
    gc.collect()
    started = reset_peak_rss()
    async with run.watch:
        c0, w0, l0 = time.process_time(), time.perf_counter(), time.thread_time()
        r0 = thread_cpu(recorder)
        yield
        run.cpu, run.wall = time.process_time() - c0, time.perf_counter() - w0
        run.loop_cpu, run.recorder_cpu = time.thread_time() - l0, thread_cpu(recorder) - r0
    run.rss_growth = growth(started)
    run.load = (run.load[0], uptime())


async def import_run(
    args: argparse.Namespace,
    ends: list[list[str]],
    addresses: list[str],
    capture: Captured | None = None,
) -> Run:
    """The whole import of every meter into a fresh recorder, as a first setup does.

    With `capture`, the rows go there instead of to the recorder: the integration alone
    (the derived statistics read their sources from the capture, not from the recorder)."""
    inputs = (
        [PulseInput("bench", "", a, int(WATER), Measures.WATER, "L", Decimal(1)) for a in addresses]
        if args.water
        else []
    )

    def derived(address: str) -> list[history_derived.Derived]:
        return history_derived.derived_series(
            address, PRICES if args.costs else Prices(None, None), inputs, "USD"
        )

    run = Run()
    patched = (history.async_add_external_statistics, history_derived.async_add_external_statistics)
    reads = (
        history_derived.statistics_during_period,
        history_derived.async_last_row,
        history_derived.async_first_hour,
    )
    if capture is not None:
        excluded: list[float] = []

        def stand_in(hass: HomeAssistant, start: Any, end: Any, ids: set[str], *rest: Any) -> Any:
            t0 = time.thread_time()
            try:
                return capture.read(ids, start.timestamp(), end.timestamp() if end else math.inf)
            finally:
                excluded.append(time.thread_time() - t0)

        # In a worker thread, as the recorder's reads are: a read of the capture is its size.
        async def last_row(hass: HomeAssistant, sid: str) -> dict[str, float] | None:
            found = await asyncio.to_thread(stand_in, hass, dt_util.utc_from_timestamp(0), None, {sid})
            rows = found.get(sid)
            return rows[-1] if rows else None

        async def first_hour(hass: HomeAssistant, ids: Collection[str]) -> Any:
            found = await asyncio.to_thread(stand_in, hass, dt_util.utc_from_timestamp(0), None, set(ids))
            starts = [rows[0]["start"] for rows in found.values()]
            return dt_util.utc_from_timestamp(min(starts)) if starts else None

        history.async_add_external_statistics = capture.add
        history_derived.async_add_external_statistics = capture.add
        history_derived.statistics_during_period = stand_in  # type: ignore[assignment]
        history_derived.async_last_row = last_row
        history_derived.async_first_hour = first_hour
    elif not args.write:  # the importer alone: rows counted, the recorder left idle
        history.async_add_external_statistics = lambda hass, metadata, rows: None
        history_derived.async_add_external_statistics = lambda hass, metadata, rows: None
    try:
        with tempfile.TemporaryDirectory() as config_dir:
            hass = await start_hass(config_dir)
            recorder = history.get_instance(hass)
            run.rss_before = rss_mib()
            async with aiohttp.ClientSession() as session:
                clients = [
                    PushClient(session, key, api_url=url, summary_url=url, timeout=120) for url, key in ends
                ]
                # Meters split between the servers: one importer per server (as one entry per key).
                importers = [
                    history.HistoryImporter(
                        hass,
                        client,
                        (lambda i=i: addresses[i :: len(clients)]),
                        timedelta(days=args.days),
                        derived,
                    )
                    for i, client in enumerate(clients)
                ]
                history.CONCURRENCY = 2
                if args.tracemalloc and capture is None:
                    tracemalloc.start()
                async with measuring(run, recorder):
                    run.rows = sum(await asyncio.gather(*(i.async_update() for i in importers)))
                    await recorder.async_block_till_done()
                if tracemalloc.is_tracing():
                    run.peak_traced = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                run.requests = sum(c.requests for c in clients)
            await hass.async_stop()
            run.db_size = (Path(config_dir) / "home-assistant_v2.db").stat().st_size
    finally:
        history.async_add_external_statistics, history_derived.async_add_external_statistics = patched
        (
            history_derived.statistics_during_period,
            history_derived.async_last_row,
            history_derived.async_first_hour,
        ) = reads
    if capture is not None:
        run.excluded_cpu = sum(excluded)
    return run


async def floor_run(captured: Captured) -> Run:
    """The recorder's floor: the captured rows, call by call, straight into a fresh recorder
    through async_add_external_statistics, nothing else going on.

    Each call's rows are built when it is made, as the importer builds them (about a
    microsecond a row): prebuilt, the 876,000 StatisticData dicts, which Python 3.14's
    collector tracks, made its full collections rare and the floor incomparable. The loop
    wakes 20 times a second to keep FEED_AHEAD calls queued."""
    run = Run()
    with tempfile.TemporaryDirectory() as config_dir:
        hass = await start_hass(config_dir)
        recorder = history.get_instance(hass)
        async with measuring(run, recorder):
            for metadata, rows in captured.batches():
                while recorder.backlog >= FEED_AHEAD:  # noqa: ASYNC110 (the recorder has no event for it)
                    await asyncio.sleep(0.05)
                async_add_external_statistics(hass, metadata, rows)
                run.rows += len(rows)
            await recorder.async_block_till_done()
        await hass.async_stop()
        run.db_size = (Path(config_dir) / "home-assistant_v2.db").stat().st_size
    return run


async def measure(args: argparse.Namespace) -> None:
    now = now_after(args.days)
    addresses = sorted(bench_fleet(args.meters, now.timestamp()).meters)
    history.utcnow = lambda: now  # the fleet's clock: a year after its first report
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"python {platform.python_version()}, home assistant {HA_VERSION}, {platform.machine()}, "
        f"{os.cpu_count()} cores"
    )
    print(f"meters {args.meters}, days {args.days}, {args.servers} fake servers (child processes)")
    extra = [*(["cost", "compensation"] if args.costs else []), *(["water (input 1)"] if args.water else [])]
    print(f"series per meter {len(history.SERIES)}{''.join(f' + {x}' for x in extra)}", flush=True)
    children, ends = await start_servers(args.servers, args.meters, args.days)
    try:
        whole = floor = None
        if args.write:
            # First, so that the maximum RSS is the import's (the later runs hold the rows).
            whole = await import_run(args, ends, addresses)
            report("whole import (HA + recorder)", whole)
            whole_rss = rss_mib()
            print(
                f"  max RSS {whole_rss:.0f} MiB"
                f" (HA with the recorder before the import: {whole.rss_before:.0f} MiB)"
            )
            if whole.peak_traced:
                print(
                    f"  peak traced memory {whole.peak_traced / 2**20:.1f} MiB (tracemalloc on: CPU inflated)"
                )
            print(f"  database {whole.db_size / 2**20:.1f} MiB", flush=True)
        captured = Captured()
        own = await import_run(args, ends, addresses, captured)
        report("integration alone (rows captured, recorder idle)", own)
        own_cpu = own.cpu - own.excluded_cpu
        print(
            f"  integration CPU (fetch, parse, hourly sums, derived) {own_cpu:.1f} s  [goal <= 10 s]"
            f"  ({own.excluded_cpu:.1f} s of stand-in recorder reads left out)"
        )
        if not args.write:
            print(f"  max RSS {rss_mib():.0f} MiB (before the import: {own.rss_before:.0f} MiB)")
        elif args.floor:
            floor = await floor_run(captured)
            report("recorder floor (the same rows straight to async_add_external_statistics)", floor)
        if whole is not None and floor is not None:
            print("summary:")
            print(
                f"  rows {whole.rows} (import) / {floor.rows} (floor) / {own.rows} (captured); "
                f"requests {whole.requests}"
            )
            print(f"  integration CPU {own_cpu:.1f} s  [goal <= 10 s]")
            print(
                f"  wall import / floor {whole.wall:.1f} / {floor.wall:.1f} s"
                f" = {whole.wall / floor.wall:.3f}  "
                f"[goal <= 1.15]; recorder thread CPU {whole.recorder_cpu:.1f} / {floor.recorder_cpu:.1f} s"
            )
            print(
                f"  longest loop hold by the import {whole.watch.holds[0][0] * 1000:.1f} ms  [goal <= 50 ms] "
                "(a callback; the collections meanwhile left out)"
            )
            for what, run in (("import", whole), ("floor", floor)):
                late = run.watch.lateness * 1000
                print(f"  {what}: {collected(run.watch)}; longest timer lateness {late:.1f} ms")
            print(f"  max RSS of the import {whole_rss:.0f} MiB  [goal < 250 MB = 238 MiB]")
            if whole.rss_growth is not None:
                # The recorder's share (SQLite's page cache of 16 MiB per connection, sessions) is
                # in it; the floor runs in a process that has freed more than that already.
                print(
                    f"  RSS growth during the import {whole.rss_growth:.0f} MiB (peak less RSS at the start)"
                )
    finally:
        await stop_servers(children)
    server = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"fake servers CPU {server.ru_utime + server.ru_stime:.1f} s")


def report(what: str, run: Run) -> None:
    print(f"{what}:")
    print(f"  load before: {run.load[0]}")
    print(f"  load after:  {run.load[1]}")
    print(f"  rows {run.rows}, requests {run.requests}, wall {run.wall:.1f} s, process CPU {run.cpu:.1f} s")
    print(f"  event loop thread CPU {run.loop_cpu:.1f} s, recorder thread CPU {run.recorder_cpu:.1f} s")
    holds = ", ".join(f"{held * 1000:.1f} ms {name}" for held, name in run.watch.holds[:3])
    print(f"  longest loop holds (collections left out): {holds}")
    print(f"  {collected(run.watch)}; longest timer lateness {run.watch.lateness * 1000:.1f} ms", flush=True)


def growth(started: float | None) -> float | None:
    """The peak RSS since reset_peak_rss() less the RSS it found."""
    peak = rss_status("VmHWM")
    return None if started is None or peak is None else peak - started


def collected(watch: LoopWatch) -> str:
    """The full collections a run saw: how many, the longest, and the threads they ran in."""
    if not watch.full_collections:
        return "no full collection"
    threads = Counter(re.sub(r"_\d+$", "", name) for _, name in watch.full_collections)
    longest = max(took for took, _ in watch.full_collections)
    where = ", ".join(f"{n} in {thread}" for thread, n in threads.most_common())
    return f"{len(watch.full_collections)} full collections (longest {longest * 1000:.0f} ms; {where})"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--costs", action="store_true", help="also the cost and compensation statistics")
    parser.add_argument("--water", action="store_true", help="pulse input 1 a water meter (1 L per pulse)")
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the recorder floor (the same rows again)"
    )
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="count the rows instead of writing them"
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
