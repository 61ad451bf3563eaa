"""What a hostile Push answer costs: peak memory and the longest hold of the event loop.

Issue #18, item 7: a 32 KB gzip answer of `{"000300000001": [{},{},...]}` once cost ~940 MB
and held the loop 5.3 s. Goal: any answer of at most 32 MiB costs at most 150 MB of peak
memory and 50 ms of loop time.

Each answer is served gzipped by a server in its own process; each (answer, call) is
measured in a fresh process, so that one's memory does not hide another's:

- peak memory: the process's peak RSS during the call (VmHWM, reset just before) minus its
  RSS before it;
- loop hold: the longest a 1 ms heartbeat task waited beyond its sleep during the call.

    .venv-py3.13/bin/python benchmarks/push_answer_bounds.py [--cases bomb,deep,...]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 1 << 20
V4 = "000300000001"
# How each call's answer wraps a list of reads or rows (the hostile part goes inside).
WRAPS = {
    "push3": (b'{"000300000001": [', b"]}"),
    "realtime": (b'{"readMeter": {"ReadSet": [{"Meter": "300000001", "ReadData": [', b"]}]}}"),
    "summary": (b"[", b"]"),
}


def _fill(prefix: bytes, suffix: bytes, item: bytes, size: int = 32 * MIB - 1) -> bytes:
    count = (size - len(prefix) - len(suffix)) // (len(item) + 1)
    return prefix + b",".join([item] * count) + suffix


def _read(n: int) -> dict[str, Any]:
    fields = {f"Field_{k}": f"{n * 7 + k}.25" for k in range(60)}
    return {"Good": 1, "Time_Stamp_UTC_ms": 1795694400000 + n, "kWh_Tot": f"{n}.5", **fields}


def _row(n: int) -> dict[str, Any]:
    start = 1795694400000 + n * 900_000
    stats = {f"Field_{k}_{s}": n + k / 4 for k in range(50) for s in ("Min", "Max", "Average", "Diff")}
    return {"Start_Time_Stamp_UTC_ms": start, "End_Time_Stamp_UTC_ms": start + 900_000, "Meter": V4, **stats}


def body(case: str, call: str) -> bytes:
    """The answer `case` for `call`, not yet compressed."""
    prefix, suffix = WRAPS[call]
    if case == "bomb":
        return _fill(prefix, suffix, b"{}")
    if case == "deep":
        return prefix + b'{"a":' * 190_000 + b"0" + b"}" * 190_000 + suffix
    if case == "huge-array":
        return _fill(prefix, suffix, b'"a"', 1_590_000)  # 397,000 values: just within the count
    if case == "floats":
        return prefix + b",".join(b"%d.5" % n for n in range(395_000)) + suffix
    if case in KEYS:
        keys = b",".join(b'"k%d":%d' % (n, n) for n in range(KEYS[case]))
        return prefix + b"{" + keys + b"}" + suffix
    if case == "long-string":
        return prefix + b'{"Model": "' + b"x" * (32 * MIB - 100) + b'"}' + suffix
    if case == "legit":
        if call == "summary":
            return json.dumps([_row(n) for n in range(1000)]).encode()
        reads = [_read(n) for n in range(1000)]
        if call == "push3":
            return json.dumps({V4: reads}).encode()
        return json.dumps({"readMeter": {"ReadSet": [{"Meter": "300000001", "ReadData": reads}]}}).encode()
    raise ValueError(case)


# One object of many unique keys: within the memory estimate (json's Python scanner), and within
# what goes to orjson whole (its worst case, ~200 ns a key).
KEYS = {"many-keys": 200_000, "keys-orjson": 48_000}
CASES = ("bomb", "deep", "huge-array", "floats", *KEYS, "long-string", "legit")


async def serve() -> None:
    """Answer GET /<case>/<call>/... with that answer, gzipped; print the URL, run until stdin closes."""
    from aiohttp import web  # noqa: PLC0415

    cache: dict[tuple[str, str], bytes] = {}

    async def handle(request: web.Request) -> web.Response:
        case, call = request.match_info["case"], request.match_info["call"]
        if (case, call) not in cache:
            cache[case, call] = gzip.compress(body(case, call), 6)
        return web.Response(body=cache[case, call], headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/{case}/{call}/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def _status(name: str) -> int:
    """A /proc/self/status figure in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(name)


async def measure(url: str, case: str, call: str) -> dict[str, Any]:
    """One call against one answer, in this (fresh) process."""
    from datetime import UTC, datetime  # noqa: PLC0415
    import gc  # noqa: PLC0415

    import aiohttp  # noqa: PLC0415

    from custom_components.ekm.aioekm.errors import EkmError  # noqa: PLC0415
    from custom_components.ekm.aioekm.push.cloud import PushClient  # noqa: PLC0415
    from custom_components.ekm.aioekm.push.http import RetryPolicy  # noqa: PLC0415
    from custom_components.ekm.aioekm.push.push3 import Push3Client  # noqa: PLC0415

    once = RetryPolicy(attempts=1)
    base = f"{url}/{case}/{call}"
    day = (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    async with aiohttp.ClientSession() as session:
        push3 = Push3Client(session, "gw", "key-0123456789", base_url=base, retry=once, timeout=120)
        cloud = PushClient(session, "key-0123456789", api_url=base, summary_url=base, retry=once, timeout=120)
        calls = {
            "push3": push3.read_meters,
            "realtime": lambda: cloud.read_meters([V4]),
            "summary": lambda: cloud.summary([V4], "15", *day),
        }
        stop = asyncio.Event()
        worst = 0.0

        async def heartbeat() -> None:
            nonlocal worst
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                worst = max(worst, now - last - 0.001)
                last = now

        gc.collect()
        _reset_peak()
        before = _status("VmRSS")
        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        try:
            result = await calls[call]()
            outcome = f"{type(result).__name__}"
        except EkmError as err:
            outcome = f"{type(err).__name__}: {str(err).split(': ', 1)[-1][:60]}"
        elapsed = time.perf_counter() - started
        stop.set()
        await beat
        peak = _status("VmHWM") - before
    return {"peak_mb": peak / 1e6, "hold_ms": worst * 1000, "wall_s": elapsed, "outcome": outcome}


async def main(cases: list[str], calls: list[str]) -> None:
    import orjson  # noqa: PLC0415

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Python {platform.python_version()}, orjson {orjson.__version__}, {os.cpu_count()} CPUs, load {load}"
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert server.stdin is not None and server.stdout is not None
    url = (await server.stdout.readline()).decode().strip()
    print(f"{'answer':12} {'call':9} {'gzip KB':>8} {'peak MB':>8} {'hold ms':>8} {'wall s':>7}  outcome")
    worst_peak = worst_hold = 0.0
    try:
        for case in cases:
            for call in calls:
                packed = len(gzip.compress(body(case, call), 6)) / 1000
                child = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--measure", url, case, call, stdout=asyncio.subprocess.PIPE
                )
                out, _ = await child.communicate()
                got = json.loads(out)
                if case != "legit":
                    worst_peak, worst_hold = max(worst_peak, got["peak_mb"]), max(worst_hold, got["hold_ms"])
                print(
                    f"{case:12} {call:9} {packed:8.0f} {got['peak_mb']:8.1f} {got['hold_ms']:8.1f} "
                    f"{got['wall_s']:7.2f}  {got['outcome']}",
                    flush=True,
                )
    finally:
        server.stdin.close()
        await server.wait()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"worst hostile answer: {worst_peak:.1f} MB peak, {worst_hold:.1f} ms loop hold "
        f"(goal: 150 MB, 50 ms); load {load}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument(
        "--calls", default=",".join(WRAPS), help="comma-separated, of: push3, realtime, summary"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=3, metavar=("URL", "CASE", "CALL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
    elif args.measure:
        print(json.dumps(asyncio.run(measure(*args.measure))))
    else:
        asyncio.run(main(args.cases.split(","), args.calls.split(",")))
