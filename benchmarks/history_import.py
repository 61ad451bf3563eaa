"""History import into a real recorder: N meters x D days of 15-minute Summary rows, end to end.

    .venv-py3.13/bin/python benchmarks/history_import.py [--meters 10] [--days 365] [--servers 2]
                          [--tracemalloc] [--no-write] [--costs]

Home Assistant runs here with only its recorder (SQLite in a temporary directory);
the integration's HistoryImporter (custom_components/ekm/history.py) imports every
meter's statistics as a first setup does: windows of one Summary page, 2 meters at a
time, each window written to the recorder before the next is asked. The fake Push
server runs in child processes (benchmarks/history_fetch.py --serve, which renders
the first meter's answers once and replays them for the others), so this process's
CPU time is the importer's and the recorder's: HTTP, JSON, the hourly statistics and
the SQLite writes (--no-write: the importer's alone). The recorder writes each imported
row on its own (a lookup, then an insert), about a millisecond per row here: that is
most of the time. Peak memory is this process's maximum RSS (Home Assistant
included; its RSS before the import is printed too). --costs adds each meter's cost and
compensation statistics (history_derived.py), computed from the stored rows after the import.

Measured 2026-11-26 on this 2-core machine, shared with other work (load 3-4):
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
import asyncio
from datetime import timedelta
from pathlib import Path
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aiohttp  # noqa: E402
from history_fetch import bench_fleet, now_after, start_servers, stop_servers  # noqa: E402
from homeassistant import bootstrap, config_entries, loader  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from homeassistant.helpers import recorder as recorder_helper  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402

from custom_components.ekm import history, history_derived  # noqa: E402
from custom_components.ekm.aioekm.push.cloud import PushClient  # noqa: E402
from custom_components.ekm.prices import Prices  # noqa: E402

PRICES = Prices({1: 0.30, 2: 0.12, 3: 0.30, 4: 0.30}, 0.08)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


async def measure(args: argparse.Namespace) -> None:
    now = now_after(args.days)
    addresses = sorted(bench_fleet(args.meters, now.timestamp()).meters)
    history.utcnow = lambda: now  # the fleet's clock: a year after its first report
    if not args.write:  # the importer alone: rows counted, the recorder left idle
        history.async_add_external_statistics = lambda hass, metadata, rows: None
        history_derived.async_add_external_statistics = lambda hass, metadata, rows: None

    def derived(address: str) -> list[history_derived.Derived]:
        return history_derived.derived_series(address, PRICES, [], "USD") if args.costs else []

    children, ends = await start_servers(args.servers, args.meters, args.days)
    try:
        with tempfile.TemporaryDirectory() as config_dir:
            hass = await start_hass(config_dir)
            before = rss_mib()
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
                if args.tracemalloc:
                    tracemalloc.start()
                c0, w0 = time.process_time(), time.perf_counter()
                rows = sum(await asyncio.gather(*(i.async_update() for i in importers)))
                await history.get_instance(hass).async_block_till_done()
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
                tracemalloc.stop()
                requests = sum(c.requests for c in clients)
            await hass.async_stop()
            db_size = (Path(config_dir) / "home-assistant_v2.db").stat().st_size
    finally:
        await stop_servers(children)
    server = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"python {platform.python_version()} on {platform.machine()}, uptime: {uptime()}")
    print(f"meters {args.meters}, days {args.days}, {args.servers} fake servers (child processes)")
    written = "written" if args.write else "counted, NOT written (--no-write)"
    costs = " + cost, compensation" if args.costs else ""
    print(
        f"series per meter {len(history.SERIES)}{costs}, requests {requests}, statistic rows {written} {rows}"
    )
    print(f"wall {wall:.1f} s, this process CPU (importer + recorder) {cpu:.1f} s", end=", ")
    print(f"fake servers CPU {server.ru_utime + server.ru_stime:.1f} s")
    print(f"max RSS {rss_mib():.0f} MiB (HA with the recorder before the import: {before:.0f} MiB)")
    if args.tracemalloc:
        print(f"peak traced memory {peak / 2**20:.1f} MiB (tracemalloc on: CPU inflated)")
    print(f"database {db_size / 2**20:.1f} MiB")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--costs", action="store_true", help="also the cost and compensation statistics")
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="count the rows instead of writing them"
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
