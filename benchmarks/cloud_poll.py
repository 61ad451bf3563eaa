"""Cost of one Realtime poll of 10, 100 and 1000 meters against the fake Push server.

    .venv-py3.13/bin/python benchmarks/cloud_poll.py [--polls 5] [--sizes 10,100,1000]

The server runs in a child process so that time.process_time() here is the
client's own CPU: HTTP, JSON decoding and mapping to MeterReadings. The
parse + mapping share is also measured on its own, from bodies fetched once:
decoding, then mapping every field, then mapping only the fields Home Assistant
shows by default (`read_meters(map_fields=...)`; HA_FIELDS below).
The library is imported as the top-level package `aioekm` (from
custom_components/ekm), so the Home Assistant glue is not loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
from pathlib import Path
import statistics
import sys
import time

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: the HA glue's select.py must not shadow the standard library's.
sys.path.append(str(ROOT / "custom_components" / "ekm"))

from aioekm.push.cloud import PushClient, short_address  # noqa: E402
from aioekm.push.errors import decode_json  # noqa: E402
from aioekm.push.http import build_url  # noqa: E402
from aioekm.push.mapping import realtime_result, with_inputs  # noqa: E402
from aioekm.simulator.fleet import Fleet, make_meter  # noqa: E402
from aioekm.simulator.push import PushServer  # noqa: E402
import aiohttp  # noqa: E402

# The fields whose entities Home Assistant enables by default (sensor.py), per line where so.
HA_FIELDS = [
    "kWh_Tot",
    "Fwd_kWh_Tot",
    "Rev_kWh_Tot",
    "RMS_Watts_Tot",
    "Net_Calc_Watts_Tot",
    "Line_Freq",
    "Pulse_Cnt_1",
    "RMS_Watts_Max_Demand",
    "State_Out",
    *(
        f"{stem}_{n}"
        for stem in ("RMS_Volts_Ln", "Amps_Ln", "RMS_Watts_Ln", "Power_Factor_Ln")
        for n in (1, 2, 3)
    ),
    *(f"Net_Calc_Watts_Ln_{n}" for n in (1, 2, 3)),
]


def bench_fleet(size: int) -> Fleet:
    """`size` meters, one in five a v3, sixteen per gateway."""
    meters = []
    for n in range(size):
        v3 = n % 5 == 4
        address = f"{10000 + n:012d}" if v3 else f"{300000000 + n:012d}"
        meters.append(
            make_meter(address, "v3" if v3 else "v4", gateway=f"4016fa{0x100000 + n // 16:06x}", index=n)
        )
    return Fleet(meters)


async def serve(size: int) -> None:
    server = PushServer(bench_fleet(size))
    url = await server.start()
    print(url, server.keys.account, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await server.close()


async def measure(size: int, polls: int) -> dict[str, float]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        str(size),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        url, key = (await child.stdout.readline()).decode().split()
        addresses = sorted(bench_fleet(size).meters)
        async with aiohttp.ClientSession() as session:
            client = PushClient(session, key, api_url=url, summary_url=url, timeout=60)
            await client.read_meters(addresses)  # warm up (connections, zone data)
            cpu, wall, requests = [], [], []
            for _ in range(polls):
                c0, w0 = time.process_time(), time.perf_counter()
                result = await client.read_meters(addresses)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                requests.append(result.requests)
                assert len(result.readings) == size, (len(result.readings), size)
            # Parse + mapping alone, on bodies fetched once.
            bodies = []
            for batch in client.plan_batches(
                [short_address(a) for a in addresses], {"fmt": "json", "cnt": "1"}
            ):
                query = {"key": key, "fmt": "json", "cnt": "1", "meters": "~".join(batch)}
                async with session.get(build_url(url, "readMeter", query)) as response:
                    bodies.append(await response.read())
        decoding, mapping, mapping_ha = [], [], []
        only = with_inputs(HA_FIELDS)
        for _ in range(polls):
            c0 = time.process_time()
            payloads = [decode_json(body) for body in bodies]
            c1 = time.process_time()
            for payload in payloads:
                realtime_result(payload)
            c2 = time.process_time()
            for payload in payloads:
                realtime_result(payload, only=only)
            c3 = time.process_time()
            decoding.append(c1 - c0)
            mapping.append(c2 - c1)
            mapping_ha.append(c3 - c2)
        # What a poll's readings keep for the garbage collector to walk, per meter.
        gc.collect()
        before = len(gc.get_objects())
        results = [realtime_result(payload, only=only) for payload in payloads]
        gc.collect()
        tracked = (len(gc.get_objects()) - before - len(results)) / size
        del results
        return {
            "meters": size,
            "tracked": tracked,
            "requests": statistics.mean(requests),
            "bytes": sum(len(b) for b in bodies),
            "wall_ms": 1000 * statistics.median(wall),
            "cpu_ms": 1000 * statistics.median(cpu),
            "decode_ms": 1000 * statistics.median(decoding),
            "map_ms": 1000 * statistics.median(mapping),
            "map_ha_ms": 1000 * statistics.median(mapping_ha),
        }
    finally:
        if child.stdin:
            child.stdin.close()
        await asyncio.wait_for(child.wait(), 10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    if args.serve is not None:
        await serve(args.serve)
        return
    print(f"Python {sys.version.split()[0]}; decoder: {decoder()}")
    columns = (
        "meters",
        "req/poll",
        "body kB",
        "wall ms",
        "client CPU ms",
        "decode ms",
        "map all ms",
        "map HA ms",
        "objs/meter",
    )
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (6, 8, 8, 8, 13, 9, 10, 9, 10), strict=True)))
    for size in (int(s) for s in args.sizes.split(",")):
        row = await measure(size, args.polls)
        print(
            f"{row['meters']:>6} {row['requests']:>8.0f} {row['bytes'] / 1024:>8.0f} {row['wall_ms']:>8.1f} "
            f"{row['cpu_ms']:>13.1f} {row['decode_ms']:>9.1f} {row['map_ms']:>10.1f} {row['map_ha_ms']:>9.1f}"
            f" {row['tracked']:>10.1f}"
        )
    print("parse + mapping = decode + map; map HA maps only HA_FIELDS (read_meters(map_fields=...))")
    print("objs/meter: objects the garbage collector tracks that a poll's readings keep, per meter")


def decoder() -> str:
    try:
        import orjson  # noqa: PLC0415
    except ImportError:
        return "json (orjson not installed)"
    return f"orjson {orjson.__version__}"


if __name__ == "__main__":
    asyncio.run(main())
