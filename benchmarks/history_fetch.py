"""History import, library half: N meters x D days of 15-minute Summary rows through fetch_hourly.

    .venv-py3.13/bin/python benchmarks/history_fetch.py [--meters 10] [--days 365] [--servers 2]
                          [--concurrency 4] [--report 15|hr] [--energy] [--distinct] [--no-tracemalloc]

The fake Push server runs in child processes (the meters split between them), so
time.process_time() here is the client's own CPU: HTTP, JSON decoding, SummaryRow
parsing and the hourly statistics. The fake server computes a row from the
fleet's closed form in about 1 ms, far more than the client spends on it; so by
default each server renders the first meter's answers once and replays them for
the other meters (their Meter field swapped): the client gets the same bytes a
fleet of identical meters would send. --distinct computes every meter (slow).
Peak memory is the client's, by tracemalloc (which slows the client down;
--no-tracemalloc for its CPU alone). The cost of hourly_statistics alone is
measured on rows fetched once.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import platform
import resource
import sys
import time
import tracemalloc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from custom_components.ekm.aioekm.push.cloud import PushClient  # noqa: E402
from custom_components.ekm.aioekm.push.history import (  # noqa: E402
    MEAN_FIELDS,
    SUM_REGISTERS,
    fetch_hourly,
    fields_for,
    hourly_statistics,
)
from custom_components.ekm.aioekm.push.history_plan import plan_windows  # noqa: E402
from custom_components.ekm.aioekm.push.summary import Report  # noqa: E402
from custom_components.ekm.aioekm.readings import normalize_address  # noqa: E402
from custom_components.ekm.aioekm.simulator.fleet import EPOCH, Fleet, ManualClock, make_meter  # noqa: E402
from custom_components.ekm.aioekm.simulator.push import (  # noqa: E402
    PushServer,
    summary as summary_handlers,
)


def bench_fleet(size: int, now: float) -> Fleet:
    """`size` v4 meters, sixteen per gateway, the clock pinned at `now`."""
    meters = [
        make_meter(f"{300000000 + n:012d}", "v4", gateway=f"4016fa{0x100000 + n // 16:06x}", index=n)
        for n in range(size)
    ]
    return Fleet(meters, clock=ManualClock(now))


def now_after(days: int) -> datetime:
    """A clock `days` days (and half an hour) after the fleet's first report."""
    return datetime.fromtimestamp(EPOCH, UTC) + timedelta(days=days, minutes=30)


def replay_summaries(template: str) -> None:
    """Make GET /summary render `template`'s answer once per query and replay it for other meters."""
    real = summary_handlers.summary
    bodies: dict[str, bytes] = {}
    locks: dict[str, asyncio.Lock] = {}
    quoted = f'"{template}"'.encode()

    async def replayed(server: PushServer, request: web.Request) -> web.Response:
        meter = normalize_address(request.query.get("meters", "0"))
        as_template = request.rel_url.update_query(meters=template)
        key = str(as_template)
        async with locks.setdefault(key, asyncio.Lock()):
            if key not in bodies:
                answer = await real(server, request.clone(rel_url=as_template))
                if answer.status != 200 or not isinstance(answer.body, bytes):
                    return answer
                bodies[key] = answer.body
        body = bodies[key].replace(quoted, f'"{meter}"'.encode())
        return web.Response(body=body, content_type="application/json")

    summary_handlers.summary = replayed


async def serve(size: int, days: int, distinct: bool) -> None:
    fleet = bench_fleet(size, now_after(days).timestamp())
    if not distinct:
        replay_summaries(min(fleet.meters))
    server = PushServer(fleet)
    url = await server.start()
    print(url, server.keys.account, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await server.close()


async def start_servers(
    count: int, meters: int, days: int, *, distinct: bool = False
) -> tuple[list[asyncio.subprocess.Process], list[list[str]]]:
    """`count` fake servers in child processes (this script's --serve); each one's URL and key."""
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            str(meters),
            "--days",
            str(days),
            *(["--distinct"] if distinct else []),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]
    ends = []
    for child in children:
        assert child.stdout is not None
        ends.append((await child.stdout.readline()).decode().split())
    return children, ends


async def stop_servers(children: list[asyncio.subprocess.Process]) -> None:
    """Close their stdin (a server stops at EOF) and wait for them."""
    for child in children:
        if child.stdin:
            child.stdin.close()
    for child in children:
        await asyncio.wait_for(child.wait(), 30)


async def measure(args: argparse.Namespace) -> None:
    now = now_after(args.days)
    addresses = sorted(bench_fleet(args.meters, now.timestamp()).meters)
    report = Report(args.report)
    # --energy: what the Energy dashboard uses (import, export, net, total, pulse inputs, total power).
    energy = {
        "kWh_Tot",
        "Rev_kWh_Tot",
        "Fwd_kWh_Tot",
        "Net_kWh_Tot",
        "Pulse_Cnt_1",
        "Pulse_Cnt_2",
        "Pulse_Cnt_3",
    }
    registers = [r for r in SUM_REGISTERS if r.name in energy] if args.energy else list(SUM_REGISTERS)
    means = ["RMS_Watts_Tot"] if args.energy else list(MEAN_FIELDS)
    windows = plan_windows(
        now=now, history=timedelta(days=args.days), rows_per_hour=4 if report is Report.MIN_15 else 1
    )
    children, ends = await start_servers(args.servers, args.meters, args.days, distinct=args.distinct)
    try:
        async with aiohttp.ClientSession() as session:
            clients = [
                PushClient(session, key, api_url=url, summary_url=url, timeout=120) for url, key in ends
            ]
            gate = asyncio.Semaphore(args.concurrency)
            totals = {"rows": 0, "hours": 0, "windows": 0}

            async def one_meter(index: int, address: str) -> None:
                async with gate:
                    client = clients[index % len(clients)]
                    async for result in fetch_hourly(
                        client, address, windows, report=report, registers=registers, mean_fields=means
                    ):
                        totals["rows"] += result.rows
                        totals["windows"] += 1
                        totals["hours"] += len(result.statistics.sums.get("kWh_Tot", ()))
                        # A caller would write the window here; nothing of it is kept.

            if args.tracemalloc:
                tracemalloc.start()
            c0, w0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one_meter(i, a) for i, a in enumerate(addresses)))
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
            tracemalloc.stop()
            requests = sum(c.requests for c in clients)
            # hourly_statistics alone, on one meter's rows of the first 10 windows.
            sample = []
            for window in windows[:10]:
                sample += await clients[0].summary(
                    [addresses[0]], report, window.start, window.end, fields=fields_for(registers, means)
                )
        c1 = time.process_time()
        hourly_statistics(sample, registers=registers, mean_fields=means)
        per_row = (time.process_time() - c1) / max(1, len(sample))
    finally:
        await stop_servers(children)
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"python {platform.python_version()} on {platform.machine()}")
    replay = "every meter computed" if args.distinct else "first meter replayed"
    print(f"meters {args.meters}, days {args.days}, {len(windows)} windows per meter", end=", ")
    print(f"{args.servers} servers ({replay})")
    print(f"{len(registers)} registers, {len(means)} means, fields {len(fields_for(registers, means))}")
    print(f"report {report.value}, requests {requests}, Summary rows {totals['rows']}", end=", ")
    print(f"hourly rows (kWh_Tot) {totals['hours']}")
    server_s = server_cpu.ru_utime + server_cpu.ru_stime
    print(f"wall {wall:.1f} s, client CPU {cpu:.1f} s, fake server CPU {server_s:.1f} s")
    if args.tracemalloc:
        print(f"client peak traced memory {peak / 2**20:.1f} MiB (tracemalloc on: client CPU inflated)")
    print(f"client max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(
        f"hourly_statistics alone: {per_row * 1e6:.1f} us per row, "
        f"{per_row * 8760 * (4 if report is Report.MIN_15 else 1):.2f} s per meter-year"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--report", choices=["15", "hr"], default="15", help="Summary rows: 15 min or hourly")
    parser.add_argument("--energy", action="store_true", help="only the Energy dashboard's registers")
    parser.add_argument("--distinct", action="store_true", help="compute every meter's rows (slow)")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    args = parser.parse_args()
    if args.serve is not None:
        await serve(args.serve, args.days, args.distinct)
        return
    await measure(args)


if __name__ == "__main__":
    asyncio.run(main())
