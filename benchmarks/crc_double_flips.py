"""How many double-bit errors in a meter reply get past the CRC, the parser and the plausibility checks.

    .venv-py3.13/bin/python benchmarks/crc_double_flips.py [--trials 200000] [--seed 1]

Each trial takes one of 30 valid simulator replies (a v3 meter, a v4 meter's A
and B replies, at 10 instants), flips two distinct random bits anywhere in its
255 bytes and counts:

- passed CRC: the two 7-bit CRC bytes still match (docs/rs485-protocol.md, section 3);
- parsed: frames.parse_reply accepted it (length, STX, address, request type,
  field characters, and the plausibility checks when they are on);
- wrong: of those, how many decode into another reading than the unflipped reply
  (any value, the model, the firmware or the kWh scale differs).

Parsing runs three ways on the same frames: with the plausibility checks off
(parse_reply(..., plausibility=False): the parser's own checks, the trailer
included), on, and on with the meter's kWh_Scale known from an earlier A reply
(as a caller that remembers it would pass it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import platform
import random
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.ekm.aioekm.errors import FrameError
from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.rs485 import frames
from custom_components.ekm.aioekm.rs485.crc import crc_ok
from custom_components.ekm.aioekm.simulator.fleet import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import frame_for

T0 = 1_780_000_000.0
INSTANTS = 10


@dataclass(frozen=True)
class Sample:
    address: str
    layout: Layout
    data: bytes
    kwh_scale: int  # the meter's (v3: 1)


@dataclass
class Mode:
    name: str
    checks: bool
    known_scale: bool
    parsed: int = 0
    wrong: int = 0


def samples() -> list[Sample]:
    fleet = Fleet.parse("000300000001:v4,000000017507:v3")
    out = []
    for k in range(INSTANTS):
        t = T0 + k * 3607.0
        for meter in fleet.meters.values():
            layouts = (Layout.V3,) if meter.protocol is Protocol.V3 else (Layout.V4A, Layout.V4B)
            scale = 1 if meter.protocol is Protocol.V3 else meter.kwh_scale
            out += [Sample(meter.address, layout, frame_for(meter, layout, t), scale) for layout in layouts]
    return out


def parse(sample: Sample, data: bytes, mode: Mode) -> frames.Frame | None:
    # B replies always get the meter's scale (as the bus passes the A reply's); A replies only
    # when the mode knows it, as the scale to expect.
    known = sample.layout is Layout.V4B or mode.known_scale
    scale = sample.kwh_scale if known and sample.layout is not Layout.V3 else None
    try:
        return frames.parse_reply(
            data, address=sample.address, layout=sample.layout, kwh_scale=scale, plausibility=mode.checks
        )
    except FrameError:
        return None


def flip_two(data: bytes, rng: random.Random) -> bytes:
    first, second = rng.sample(range(len(data) * 8), 2)
    flipped = bytearray(data)
    for bit in (first, second):
        flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200_000, help="double flips to try (default 200000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = samples()
    modes = [
        Mode("checks off", checks=False, known_scale=False),
        Mode("checks on", checks=True, known_scale=False),
        Mode("checks on, kWh_Scale known", checks=True, known_scale=True),
    ]
    originals = {(s.data, m.name): parse(s, s.data, m) for s in pool for m in modes}
    if any(frame is None for frame in originals.values()):
        raise SystemExit("an unflipped simulator reply does not parse")
    passed_crc = 0
    started = time.perf_counter()
    for _ in range(args.trials):
        sample = rng.choice(pool)
        data = flip_two(sample.data, rng)
        if not crc_ok(data):
            continue
        passed_crc += 1
        for mode in modes:
            frame = parse(sample, data, mode)
            if frame is not None:
                mode.parsed += 1
                mode.wrong += frame != originals[(sample.data, mode.name)]
    elapsed = time.perf_counter() - started
    print(
        f"Python {platform.python_version()}, {args.trials} double flips (seed {args.seed}), {elapsed:.1f} s"
    )
    print(f"replies: {len(pool)} ({INSTANTS} instants x v3, v4 A, v4 B)")
    print(f"passed CRC: {passed_crc}")
    print(f"{'':28} {'parsed':>8} {'wrong reading':>14}")
    for mode in modes:
        print(f"{mode.name:28} {mode.parsed:>8} {mode.wrong:>14}")


if __name__ == "__main__":
    main()
