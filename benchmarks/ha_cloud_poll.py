"""A cloud entry of 100 and of 1000 meters in a real Home Assistant, polling the fake Push server.

    .venv-py3.13/bin/python benchmarks/ha_cloud_poll.py [--sizes 100,1000] [--polls 5]

Home Assistant is pytest-homeassistant-custom-component's `hass` (this file runs itself
under pytest), the loop out of debug mode. The fake server runs in a child process with
a clock that moves only when told, so the event loop measured here is Home Assistant's
and the integration's alone. Per poll it prints:
  wall ms     the refresh, from its start to the last state written
  loop ms     CPU time of the event loop's thread over that span
  parse+map   CPU in JSON decoding and mapping to MeterReadings (part of loop ms)
  entity ms   CPU in the entities' coordinator callbacks, state writes included
  hold ms     the longest single callback of the event loop in that span
  gc ms       the longest garbage collection in that span (it holds the loop too)
  writes      states written (changed or reported again)
  gc runs     garbage collections of generations 0/1/2 in that span (2: a full one)
  allocs      objects the collector tracks allocated in that span, less those freed
              while young: every threshold[0] (2000) of them sets off a collection
  kept        change of the objects the collector tracks, after the poll
  old+        change of its oldest generation (what a full collection walks)
  blocks+     change of memory blocks of any kind (untracked dicts of readings too)
Polls alternate a fresh reading for every meter with the same reading again (same
Time_Stamp_UTC_ms), which writes no states. Goals at 1000 meters: no hold over 50 ms,
parse + mapping under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
from asyncio import events
from collections import Counter
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
import gc
import logging
import os
from pathlib import Path
import platform
import statistics
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if "pytest" in sys.modules:  # collected by pytest (not the launcher, not the server child)
    # Imported before pytest's fixtures run: they import HA's test `custom_components` namespace.
    import custom_components.ekm.entity  # noqa: F401

SIZES_ENV = "EKM_BENCH_SIZES"
POLLS_ENV = "EKM_BENCH_POLLS"


# --- the fake server (child process) --------------------------------------------------


def bench_fleet(size: int) -> Any:
    """`size` meters, one in five a v3, sixteen per Push3 gateway."""
    from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, make_meter  # noqa: PLC0415

    meters = []
    for n in range(size):
        v3 = n % 5 == 4
        # Addresses differ per size: HA 2026 gives a re-created entity its deleted twin's settings.
        offset = size * 100_000
        address = f"{10000 + offset + n:012d}" if v3 else f"{300000000 + offset + n:012d}"
        gateway = f"4016fa{0x100000 + n // 16:06x}"
        meters.append(make_meter(address, "v3" if v3 else "v4", gateway=gateway, index=n))
    return Fleet(meters, clock=ManualClock(time.time()))


async def serve(size: int) -> None:
    """Serve `size` meters; each line on stdin moves the clock to now (a fresh reading)."""
    from custom_components.ekm.aioekm.simulator.push import PushServer  # noqa: PLC0415

    fleet = bench_fleet(size)
    server = PushServer(fleet)
    url = await server.start()
    print(url, server.keys.account, flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        fleet.clock.t = time.time()
    await server.close()


# --- measuring the loop ------------------------------------------------------------------


class LoopMeter:
    """The longest callback of the event loop while on (Handle._run timed)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.what = ""
        self.on = False
        self.gc_longest = 0.0
        self.collections = [0, 0, 0]  # per generation, while on
        self._gc_start = 0.0
        self._young = 0

    def start(self) -> None:
        self.longest = self.gc_longest = 0.0
        self.collections = [0, 0, 0]
        self._young = gc.get_count()[0]
        self.on = True

    def allocations(self) -> int:
        """Objects the collector tracks, allocated since start less those freed young: what
        sets off collections (one of generation 0 per threshold[0] of them)."""
        return self.collections[0] * gc.get_threshold()[0] + gc.get_count()[0] - self._young

    def gc_event(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks: the longest collection, which holds the loop like any callback."""
        if phase == "start":
            self._gc_start = time.perf_counter()
        elif self.on:
            self.gc_longest = max(self.gc_longest, time.perf_counter() - self._gc_start)
            self.collections[info["generation"]] += 1

    @contextmanager
    def installed(self) -> Generator[None]:
        original = events.Handle._run
        meter = self

        def timed(handle: events.Handle) -> None:
            if not meter.on:
                original(handle)
                return
            start = time.perf_counter()
            original(handle)
            took = time.perf_counter() - start
            if took > meter.longest:
                meter.longest, meter.what = took, repr(handle)[:160]

        events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self.gc_event)
        try:
            yield
        finally:
            events.Handle._run = original  # type: ignore[method-assign]
            gc.callbacks.remove(self.gc_event)


@dataclass(frozen=True)
class Heap:
    """What the heap holds: objects the garbage collector tracks (all, and in its oldest
    generation, which a full collection walks) and memory blocks of any kind."""

    objects: int
    old: int
    blocks: int

    @classmethod
    def now(cls) -> Heap:
        return cls(len(gc.get_objects()), len(gc.get_objects(generation=2)), sys.getallocatedblocks())

    def __sub__(self, other: Heap) -> Heap:
        return Heap(self.objects - other.objects, self.old - other.old, self.blocks - other.blocks)


class CpuTally:
    """CPU time (this thread) spent inside wrapped functions."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap[**P, R](self, func: Callable[P, R]) -> Callable[P, R]:
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - start
                self.calls += 1

        return wrapped


# --- the benchmark (runs under pytest) -----------------------------------------------------


async def _measure(hass: Any, size: int, polls: int) -> list[dict[str, float]]:
    from homeassistant.const import CONF_API_KEY  # noqa: PLC0415
    from homeassistant.core import callback  # noqa: PLC0415

    @callback
    def every_event(event_data: Any) -> bool:
        return True

    from homeassistant.helpers import device_registry as dr, entity_registry as er  # noqa: PLC0415
    from homeassistant.util import dt as dt_util  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_fire_time_changed,
        flush_store,
    )

    from custom_components.ekm import entity as ekm_entity  # noqa: PLC0415
    from custom_components.ekm.aioekm.push import cloud, http  # noqa: PLC0415
    from custom_components.ekm.const import (  # noqa: PLC0415
        CONF_API_URL,
        CONF_CONNECTION,
        CONF_METERS,
        CONF_SCAN_INTERVAL,
        CONF_SUMMARY_URL,
        CONNECTION_CLOUD,
        DOMAIN,
    )

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        str(size),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    parse, entities = CpuTally(), CpuTally()
    patches = [
        (http, "decode_json", parse.wrap(http.decode_json)),
        (cloud, "realtime_result", parse.wrap(cloud.realtime_result)),
        (
            ekm_entity.EkmEntity,
            "_handle_coordinator_update",
            entities.wrap(ekm_entity.EkmEntity._handle_coordinator_update),
        ),
    ]
    originals = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        url, key = (await child.stdout.readline()).decode().split()
        addresses = sorted(bench_fleet(size).meters)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"{size} meters",
            unique_id=f"bench_{size}",
            minor_version=2,
            data={
                CONF_CONNECTION: CONNECTION_CLOUD,
                CONF_API_KEY: key,
                CONF_API_URL: url,
                CONF_SUMMARY_URL: url,
                CONF_METERS: addresses,
            },
            options={CONF_SCAN_INTERVAL: 3600},  # polls are driven below, not by the timer
        )
        entry.add_to_hass(hass)
        for obj, name, wrapper in patches:  # before setup: entities bind their callbacks then
            setattr(obj, name, wrapper)
        t0 = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        setup_s = time.perf_counter() - t0
        coordinator = entry.runtime_data.coordinator
        assert len(coordinator.data) == size, (len(coordinator.data), size)
        enabled = sum(
            1 for s in hass.states.async_all() if s.entity_id.split(".")[0] != "persistent_notification"
        )
        domains = Counter(
            s.entity_id.split(".")[0]
            for s in hass.states.async_all()
            if s.entity_id.startswith(("sensor", "bin", "sw"))
        )
        print(f"\n{size} meters: set up in {setup_s:.1f} s, {enabled} entities with a state {dict(domains)}")
        # Polls are measured, not setup's aftermath: the registries' delayed saves of the
        # thousands of entities just made, and a heap last fully collected when it was small.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
        await hass.async_block_till_done()
        for registry in (er.async_get(hass), dr.async_get(hass)):
            await flush_store(registry._store)  # a delayed save would wait for the polls
        gc.collect()
        heap_start = len(gc.get_objects())
        print(f"heap: {heap_start} objects tracked by the garbage collector")

        meter = LoopMeter()
        rows = []
        with meter.installed():
            for n in range(polls * 2):
                fresh = n % 2 == 0
                if fresh:
                    child.stdin.write(b"tick\n")
                    await child.stdin.drain()
                    await asyncio.sleep(0.05)  # let the child move its clock
                writes = 0

                # A callback: a plain function would run in HA's executor, one job (and its
                # futures, locks and closures, all garbage) per state written.
                @callback
                def count(event: Any) -> None:
                    nonlocal writes
                    writes += 1

                unsubs = [
                    hass.bus.async_listen(e, count, event_filter=every_event)
                    for e in ("state_changed", "state_reported")
                ]
                parse.seconds = entities.seconds = 0.0
                heap0 = Heap.now()
                meter.start()
                cpu0, w0 = time.thread_time(), time.perf_counter()
                await coordinator.async_refresh()
                if coordinator._slices is not None:
                    await coordinator._slices
                await hass.async_block_till_done()
                wall, cpu = time.perf_counter() - w0, time.thread_time() - cpu0
                meter.on = False
                allocations = meter.allocations()
                for unsub in unsubs:
                    unsub()
                await asyncio.sleep(0)  # counting the heap is not part of the poll's loop time
                heap = Heap.now() - heap0
                assert coordinator.last_update_success
                rows.append(
                    {
                        "fresh": fresh,
                        "wall_ms": wall * 1000,
                        "loop_ms": cpu * 1000,
                        "parse_ms": parse.seconds * 1000,
                        "entity_ms": entities.seconds * 1000,
                        "hold_ms": meter.longest * 1000,
                        "gc_ms": meter.gc_longest * 1000,
                        "what": meter.what,
                        "writes": writes,
                        "gc_runs": "/".join(map(str, meter.collections)),
                        "allocations": allocations,
                        "objects": heap.objects,
                        "old": heap.old,
                        "blocks": heap.blocks,
                    }
                )
        gc.collect()
        print(f"heap after the polls and a full collection: {len(gc.get_objects()) - heap_start:+d} objects")
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        return rows
    finally:
        for obj, name, original in originals:
            setattr(obj, name, original)
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 30)


def _print(size: int, rows: list[dict[str, Any]]) -> None:
    heads = (
        "poll", "wall ms", "loop ms", "parse+map", "entity ms", "hold ms", "gc ms", "writes",
        "gc runs", "allocs", "kept", "old+", "blocks+",
    )  # fmt: skip
    widths = (6, 8, 8, 9, 9, 8, 7, 7, 8, 7, 7, 7, 8)
    print(" ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for row in rows:
        values = (
            "fresh" if row["fresh"] else "same",
            *(f"{row[k]:.1f}" for k in ("wall_ms", "loop_ms", "parse_ms", "entity_ms", "hold_ms", "gc_ms")),
            f"{row['writes']:.0f}",
            row["gc_runs"],
            f"{row['allocations']:d}",
            *(f"{row[k]:+d}" for k in ("objects", "old", "blocks")),
        )
        print(" ".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=True)))
    fresh = [r for r in rows if r["fresh"]]
    longest = max(rows, key=lambda r: r["hold_ms"])
    full = sum(int(r["gc_runs"].split("/")[2]) for r in rows)
    print(
        f"{size} meters, fresh polls, median: {statistics.median(r['allocations'] for r in fresh):.0f} "
        f"allocations, {statistics.median(r['objects'] for r in fresh):+.0f} objects kept; "
        f"{full} full collections in {len(rows)} polls"
    )
    print(
        f"{size} meters, fresh polls, median: wall {statistics.median(r['wall_ms'] for r in fresh):.0f} ms, "
        f"loop {statistics.median(r['loop_ms'] for r in fresh):.0f} ms, "
        f"parse+map {statistics.median(r['parse_ms'] for r in fresh):.1f} ms; "
        f"longest hold {longest['hold_ms']:.1f} ms in {longest['what']}"
    )


async def test_ha_cloud_poll(hass: Any, socket_enabled: None, enable_custom_integrations: None) -> None:
    """Not a test: the benchmark, run by pytest for its `hass` fixture."""
    asyncio.get_running_loop().set_debug(False)
    for name in ("homeassistant", "custom_components", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sizes = [int(s) for s in os.environ.get(SIZES_ENV, "100,1000").split(",")]
    polls = int(os.environ.get(POLLS_ENV, "3"))
    print(f"\nPython {platform.python_version()}, Home Assistant {_ha_version()}, {os.cpu_count()} CPUs")
    for size in sizes:
        _print(size, await _measure(hass, size, polls))


def _ha_version() -> str:
    from homeassistant.const import __version__  # noqa: PLC0415

    return __version__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--polls", type=int, default=3, help="fresh polls per size (as many 'same' ones)")
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return 0
    import pytest  # noqa: PLC0415

    os.environ[SIZES_ENV] = args.sizes
    os.environ[POLLS_ENV] = str(args.polls)
    return int(
        pytest.main(
            [
                __file__,
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(ROOT),
                "-o",
                "log_level=WARNING",
                "-o",
                "timeout=0",
            ]
        )
    )


if __name__ == "__main__":
    sys.exit(main())
