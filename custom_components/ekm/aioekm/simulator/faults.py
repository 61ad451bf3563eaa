"""Misbehaviour the RS-485 simulator can inject, and its command-line form.

`Faults.parse("crc=0.05,flip=0.01,drop=0.02,late=0.1,dup=0.05,garbage=0.02,stray_stx=0.02,slow=0.5")`
gives the knobs of `ekm simulate --faults`; docs/simulator.md describes each one.
Rates are fractions of replies (0..1); times are seconds. Every knob may change
while the simulator runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import itertools
import math
from typing import Final

from ..fields import FRAME_LENGTH
from ..rs485.crc import crc16


@dataclass
class Faults:
    """Misbehaviour to inject; every knob may change while the simulator runs."""

    crc_error_rate: float = 0.0  # fraction of 255-byte replies sent with a corrupted CRC
    # Fraction of 255-byte replies sent with two bits flipped where the CRC cannot see it
    # (crc_blind_pairs): a valid CRC over wrong bytes, as line noise makes about 3 times in
    # 65,536 double-bit errors. `flip_pairs` narrows the bit pairs drawn from.
    flip_rate: float = 0.0
    flip_pairs: tuple[tuple[int, int], ...] = ()
    drop_rate: float = 0.0  # fraction of requests left unanswered
    # Fraction of replies held back `late_by` seconds, past the client's timeout (its
    # default first-byte timeout is 1.5 s), as a buffering bridge would: the replies
    # that follow are not held up and may overtake it.
    late_rate: float = 0.0
    late_by: float = 2.0
    dup_rate: float = 0.0  # fraction of replies sent twice, the copy right after the original
    dup_after: float = 0.0  # seconds of quiet between a reply and its copy
    garbage_rate: float = 0.0  # fraction of replies preceded by 1..8 random 7-bit bytes of line noise
    stray_stx_rate: float = 0.0  # fraction of replies preceded by a lone STX (0x02)
    garbage_before: bytes = b""  # bytes sent before each reply
    echo: bool = False  # echo each request back before replying (like some adapters)
    slow: float = 0.0  # extra seconds before each reply
    silent_meters: set[str] = field(default_factory=set)  # addresses that never answer
    lose_write_acks: bool = False  # apply writes but never send their ACK

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Faults from 'name=value,...' (names: see KNOBS); ValueError naming what is wrong."""
        faults = cls()
        seen: set[str] = set()
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, equals, text = (s.strip() for s in item.partition("="))
            knob = KNOBS.get(name)
            if knob is None:
                raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(KNOBS)}")
            if not equals or not text:
                raise ValueError(f"fault {name!r} needs a value, like {name}=0.1")
            if name in seen:
                raise ValueError(f"fault {name!r} is given twice")
            seen.add(name)
            attribute, kind = knob
            setattr(faults, attribute, _value(name, text, kind))
        return faults


def _value(name: str, text: str, kind: str) -> float | bool:
    if kind == "flag":
        if text not in ("0", "1"):
            raise ValueError(f"fault {name!r} is 0 or 1, got {text!r}")
        return text == "1"
    try:
        number = float(text) if text.isascii() else math.nan
    except ValueError:
        number = math.nan
    if kind == "rate" and not 0.0 <= number <= 1.0:
        raise ValueError(f"fault {name!r} is a fraction of replies from 0 to 1, got {text!r}")
    if kind == "seconds" and not 0.0 <= number <= MAX_SECONDS:
        raise ValueError(f"fault {name!r} is seconds from 0 to {MAX_SECONDS:g}, got {text!r}")
    return number


MAX_SECONDS: Final = 60.0
# Command-line name: (Faults attribute, what its value is).
KNOBS: Final = {
    "crc": ("crc_error_rate", "rate"),
    "drop": ("drop_rate", "rate"),
    "late": ("late_rate", "rate"),
    "late_by": ("late_by", "seconds"),
    "dup": ("dup_rate", "rate"),
    "garbage": ("garbage_rate", "rate"),
    "stray_stx": ("stray_stx_rate", "rate"),
    "slow": ("slow", "seconds"),
    "echo": ("echo", "flag"),
    "flip": ("flip_rate", "rate"),
    "dup_after": ("dup_after", "seconds"),
}


def flip(data: bytes, bits: tuple[int, ...]) -> bytes:
    """`data` with the bits at these places (bit i of byte i // 8) flipped."""
    flipped = bytearray(data)
    for bit in bits:
        flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def crc_blind_pairs() -> tuple[tuple[int, int], ...]:
    """Every pair of bits whose flips leave a 255-byte reply's CRC valid, whatever the reply.

    The CRC is linear: a flip changes it by an amount that depends only on the bit's
    place. Two flips in the covered bytes (after STX, up to ETX) pass when those
    amounts agree in the 14 bits sent; a flip there and one in a sent CRC bit pass
    when the amount is that bit.
    """
    zero = bytes(FRAME_LENGTH)
    base = crc16(zero[1:-2])
    by_sent: dict[int, list[int]] = {}
    for bit in range(8, (FRAME_LENGTH - 2) * 8):
        by_sent.setdefault((crc16(flip(zero, (bit,))[1:-2]) ^ base) & 0x7F7F, []).append(bit)
    pairs = [pair for bits in by_sent.values() for pair in itertools.combinations(bits, 2)]
    for crc_bit in range(14):  # the 7 sent bits of each CRC byte, low byte first
        byte, bit = FRAME_LENGTH - 2 + crc_bit // 7, crc_bit % 7
        amount = 1 << (bit + 8 * (crc_bit // 7))
        pairs += [(covered, byte * 8 + bit) for covered in by_sent.get(amount, [])]
    return tuple(pairs)


CRC_BLIND_PAIRS: Final = crc_blind_pairs()
