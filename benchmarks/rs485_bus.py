"""RS-485 bus cycle time against the wire-time limit, on a simulated bus paced at 9600 baud.

    .venv-py3.13/bin/python benchmarks/rs485_bus.py [--transport pty|tcp] [--cycles N] [--meters 1,8,32]

One bus cycle reads every v4 meter once: the A frame only, or A then B. What
counts as wire time: every byte on the wire in both directions (read requests
19 bytes, replies 255 bytes, the 5-byte sign-off) at 10 bits per character at
9600 baud, 1.042 ms per byte. The meter's turnaround (the pause before it
answers) is not wire time: it is reported separately, so the table shows the
ratio with the simulator's default turnaround (30 ms) and with turnaround 0,
where everything above 1.00 is the client's and the simulator's own overhead.
The client sends the next read as soon as a reply is taken: a copy or a late
reply is told by its address, frame type and meter clock, not by waiting for
quiet (rs485.exchange.FRAME_GAP is waited only before a password or write).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.simulator.fleet import Fleet, make_meter
from custom_components.ekm.aioekm.simulator.rs485 import BYTE_TIME, Rs485Simulator

READ_REQUEST = 19  # v4 A or B read request
REPLY = 255
SIGN_OFF = 5
DEFAULT_TURNAROUND = 0.03


@dataclass
class Result:
    frames: str  # "A" or "A+B"
    meters: int
    turnaround: float
    cycle: float  # median seconds per bus cycle

    @property
    def replies(self) -> int:
        return self.meters * (2 if self.frames == "A+B" else 1)

    @property
    def wire(self) -> float:
        """Seconds the bytes of one cycle occupy the wire, both directions."""
        per_meter = (READ_REQUEST + REPLY) * (2 if self.frames == "A+B" else 1) + SIGN_OFF
        return self.meters * per_meter * BYTE_TIME

    @property
    def ratio(self) -> float:
        return self.cycle / self.wire

    @property
    def ratio_with_turnaround(self) -> float:
        return self.cycle / (self.wire + self.replies * self.turnaround)


async def measure(meters: int, turnaround: float, transport: str, cycles: int) -> list[Result]:
    fleet = Fleet(make_meter(f"{300000001 + i}", "v4", index=i) for i in range(meters))
    addresses = list(fleet.meters)
    async with Rs485Simulator(fleet, turnaround=turnaround, wire_speed=True) as sim:
        url = await (sim.start_pty() if transport == "pty" else sim.start_tcp())
        async with EkmBus(url) as bus:
            await bus.read(addresses[0], protocol=Protocol.V4)  # warm up: port open, code paths hot
            results = []
            for frames in ("A", "A+B"):
                times = []
                for _ in range(cycles):
                    start = time.perf_counter()
                    for address in addresses:
                        await bus.read(address, protocol=Protocol.V4, read_b=frames == "A+B")
                    times.append(time.perf_counter() - start)
                results.append(Result(frames, meters, turnaround, statistics.median(times)))
            for address in addresses:
                stats = bus.stats(address)
                assert stats.crc_errors == stats.timeouts == stats.other_errors == 0, stats
    return results


def print_table(results: list[Result], transport: str) -> None:
    print(f"RS-485 bus cycle, v4 meters, simulator over {transport} paced at 9600 baud, 10 bits per byte")
    print("wire = bytes both ways (request + reply per frame, plus sign-off) x 1.042 ms;")
    print("ratio = cycle / wire; ratio w/ turn = cycle / (wire + one turnaround per reply)")
    header = (
        f"{'frames':<6} {'meters':>6} {'turnaround':>10} {'cycle s':>9} {'wire s':>8} "
        f"{'ratio':>6} {'ratio w/ turn':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.frames:<6} {r.meters:>6} {r.turnaround * 1000:>8.0f}ms {r.cycle:>9.3f} {r.wire:>8.3f} "
            f"{r.ratio:>6.3f} {r.ratio_with_turnaround:>13.3f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transport", choices=["pty", "tcp"], default="pty")
    parser.add_argument("--cycles", type=int, default=2, help="measured cycles per row (median)")
    parser.add_argument("--meters", default="1,8,32", help="bus sizes, comma separated")
    args = parser.parse_args()
    results = []
    for turnaround in (DEFAULT_TURNAROUND, 0.0):
        for meters in (int(n) for n in args.meters.split(",")):
            results.extend(await measure(meters, turnaround, args.transport, args.cycles))
    results.sort(key=lambda r: (r.turnaround == 0.0, r.frames, r.meters))
    print_table(results, args.transport)


if __name__ == "__main__":
    asyncio.run(main())
