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
(as a caller that remembers it would pass it). A fourth way is what EkmBus
publishes: the parse of the third, then the reply held against the meter's
replies of the two previous polls (`--interval` seconds apart, the integration's
default 10 s) by rs485/freshness.py and rs485/continuity.py.
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
from custom_components.ekm.aioekm.rs485.continuity import Continuity
from custom_components.ekm.aioekm.rs485.crc import crc_ok
from custom_components.ekm.aioekm.rs485.freshness import Freshness
from custom_components.ekm.aioekm.simulator.faults import CRC_BLIND_PAIRS, flip
from custom_components.ekm.aioekm.simulator.fleet import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import frame_for

T0 = 1_780_000_000.0
INSTANTS = 10
FIRST_BYTE_TIMEOUT = 1.5  # EkmBus's default: how late a reply may be taken


@dataclass(frozen=True)
class Sample:
    address: str
    layout: Layout
    data: bytes
    kwh_scale: int  # the meter's (v3: 1)
    # (loop time, layout, bytes) of every reply of the meter's two previous polls, oldest first
    earlier: tuple[tuple[float, Layout, bytes], ...]


@dataclass
class Mode:
    name: str
    checks: bool
    known_scale: bool
    history: bool = False  # held against the previous polls, as EkmBus does
    parsed: int = 0
    wrong: int = 0


def samples(interval: float) -> list[Sample]:
    fleet = Fleet.parse("000300000001:v4,000000017507:v3")
    out = []
    for k in range(INSTANTS):
        t = T0 + k * 3607.0
        for meter in fleet.meters.values():
            layouts = (Layout.V3,) if meter.protocol is Protocol.V3 else (Layout.V4A, Layout.V4B)
            scale = 1 if meter.protocol is Protocol.V3 else meter.kwh_scale
            earlier = tuple(
                (-back * interval, layout, frame_for(meter, layout, t - back * interval))
                for back in (2, 1)
                for layout in layouts
            )
            out += [
                Sample(meter.address, layout, frame_for(meter, layout, t), scale, earlier)
                for layout in layouts
            ]
    return out


def published(sample: Sample, frame: frames.Frame, data: bytes) -> bool:
    """Whether EkmBus, having taken the meter's replies of the two previous polls, takes `frame` too."""
    fresh, continuity = Freshness(), Continuity(late=FIRST_BYTE_TIMEOUT)
    for at, layout, earlier in sample.earlier:
        scale = sample.kwh_scale if layout is Layout.V4B else None
        taken = frames.parse_reply(earlier, address=sample.address, layout=layout, kwh_scale=scale)
        fresh.commit(sample.address, taken, now=at)
        continuity.commit(sample.address, taken, earlier, now=at)
    try:
        fresh.check(sample.address, frame)
        continuity.check(sample.address, frame, data, now=0.0)
    except FrameError:
        return False
    return True


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
    return flip(data, (first, second))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200_000, help="double flips to try (default 200000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls (default 10)")
    parser.add_argument(
        "--all-pairs",
        action="store_true",
        help="also try every double flip that passes the CRC, on every reply",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = samples(args.interval)
    modes = [
        Mode("checks off", checks=False, known_scale=False),
        Mode("checks on", checks=True, known_scale=False),
        Mode("checks on, kWh_Scale known", checks=True, known_scale=True),
        Mode("published by EkmBus", checks=True, known_scale=True, history=True),
    ]
    originals = {(s.data, m.name): parse(s, s.data, m) for s in pool for m in modes}
    if any(frame is None for frame in originals.values()):
        raise SystemExit("an unflipped simulator reply does not parse")
    for sample in pool:
        frame = originals[(sample.data, modes[-1].name)]
        if frame is None or not published(sample, frame, sample.data):
            raise SystemExit("an unflipped simulator reply is not published")
    passed_crc = 0
    started = time.perf_counter()
    for _ in range(args.trials):
        sample = rng.choice(pool)
        data = flip_two(sample.data, rng)
        if not crc_ok(data):
            continue
        passed_crc += 1
        for mode in modes:
            try_mode(sample, data, mode, originals)
    elapsed = time.perf_counter() - started
    print(
        f"Python {platform.python_version()}, {args.trials} double flips (seed {args.seed}), {elapsed:.1f} s"
    )
    print(f"replies: {len(pool)} ({INSTANTS} instants x v3, v4 A, v4 B); polls {args.interval:g} s apart")
    print(f"passed CRC: {passed_crc}")
    print_modes(modes)
    if args.all_pairs:
        pairs = CRC_BLIND_PAIRS
        every = [Mode(m.name, m.checks, m.known_scale, m.history) for m in modes]
        for sample in pool:
            for pair in pairs:
                for mode in every:
                    try_mode(sample, flip(sample.data, pair), mode, originals)
        print(f"every double flip the CRC misses: {len(pairs)} bit pairs x {len(pool)} replies")
        print_modes(every)


def try_mode(
    sample: Sample, data: bytes, mode: Mode, originals: dict[tuple[bytes, str], frames.Frame | None]
) -> None:
    frame = parse(sample, data, mode)
    if frame is not None and mode.history and not published(sample, frame, data):
        frame = None
    if frame is not None:
        mode.parsed += 1
        mode.wrong += frame != originals[(sample.data, mode.name)]


def print_modes(modes: list[Mode]) -> None:
    print(f"{'':28} {'parsed':>8} {'wrong reading':>14}")
    for mode in modes:
        print(f"{mode.name:28} {mode.parsed:>8} {mode.wrong:>14}")


if __name__ == "__main__":
    main()
