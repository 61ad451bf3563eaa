"""Misbehaviour the RS-485 simulator can inject, and its command-line form.

`Faults.parse("crc=0.05,drop=0.02,late=0.1,dup=0.05,garbage=0.02,stray_stx=0.02,slow=0.5")`
gives the knobs of `ekm simulate --faults`; docs/simulator.md describes each one.
Rates are fractions of replies (0..1); times are seconds. Every knob may change
while the simulator runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Final


@dataclass
class Faults:
    """Misbehaviour to inject; every knob may change while the simulator runs."""

    crc_error_rate: float = 0.0  # fraction of 255-byte replies sent with a corrupted CRC
    drop_rate: float = 0.0  # fraction of requests left unanswered
    # Fraction of replies held back `late_by` seconds, past the client's timeout (its
    # default first-byte timeout is 1.5 s), as a buffering bridge would: the replies
    # that follow are not held up and may overtake it.
    late_rate: float = 0.0
    late_by: float = 2.0
    dup_rate: float = 0.0  # fraction of replies sent twice, the copy right after the original
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
}
