"""Keep counting registers from going down, or leaping up, because of one bad read.

HA treats a drop of a total_increasing sensor as a meter reset: a single low
read would start a new cycle and add the whole register again to the energy
statistics. A register that reads lower than what we published is therefore
held at the published value; only when it stays lower for CONFIRM_READS reads
in a row is the drop accepted (a zeroed resettable register, a new meter, a
changed kWh scale) and published once.

A leap is as bad the other way: HA adds it to the statistics for good. A register
that rose by more than the meter can count in the time between the two reads (3
lines x 600 V x twice the CT's rating for energy, 20 Hz for pulses: as
aioekm/rs485/continuity.py judges RS-485 replies, here for every connection, the
cloud and Push3 ones included) is held the same way, and taken only when the
following reads go on from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
import time
from typing import Final

from .aioekm import FIELDS, FieldValue, MeterReading, Quantity

MONOTONIC_QUANTITIES: Final = frozenset(
    {Quantity.ENERGY, Quantity.RESETTABLE_ENERGY, Quantity.REACTIVE_ENERGY, Quantity.PULSE_COUNT}
)
# A tuple: walked for every meter of every poll.
MONOTONIC_FIELDS: Final[tuple[str, ...]] = tuple(
    name for name, f in FIELDS.items() if f.quantity in MONOTONIC_QUANTITIES
)
CONFIRM_READS: Final = 3
MAX_CT: Final = 5000  # A: the largest CT an Omnimeter takes
MAX_PULSE_HZ: Final = 20.0
# kWh (or kvarh) per second per ampere of CT rating: 3 lines x 600 V x 2 (CT overload) / 3.6e6.
ENERGY_PER_CT_SECOND: Final = 3 * 600 * 2 / 3_600_000
MIN_ELAPSED: Final = 1.0  # s: two reads of one second count as a second apart
SLACK: Final = 1.0  # one step of the coarsest register (kWh at scale 0, a pulse)
_PULSES: Final = frozenset(name for name, f in FIELDS.items() if f.quantity is Quantity.PULSE_COUNT)


@dataclass
class MonotonicGuard:
    """The published value of each counting register of one meter."""

    published: dict[str, float] = field(default_factory=dict)
    published_at: dict[str, float] = field(default_factory=dict)  # when each was read (epoch s)
    lower_reads: dict[str, int] = field(default_factory=dict)  # reads in a row that dropped or leapt
    held: int = 0  # values held back so far (diagnostics)

    def forget(self, names: Iterable[str]) -> None:
        """Take the next value of these registers as it comes: the meter was told to zero them."""
        for name in names:
            self.published.pop(name, None)
            self.published_at.pop(name, None)
            self.lower_reads.pop(name, None)

    def _most(self, name: str, reading: MeterReading, now: float) -> float:
        """How far register `name` can have risen since its published value was read."""
        elapsed = max(now - self.published_at.get(name, now), MIN_ELAPSED)
        if name in _PULSES:
            return MAX_PULSE_HZ * elapsed + SLACK
        ct = reading.get("CT_Ratio")
        rating = ct if isinstance(ct, int) and 0 < ct <= MAX_CT else MAX_CT
        return ENERGY_PER_CT_SECOND * rating * elapsed + SLACK

    def apply(self, reading: MeterReading) -> MeterReading:
        """The reading to publish: registers that dropped or leapt are held at their last value.

        Runs for every meter of every poll: the reading's values are copied only when one
        is held (the usual reading is published as it came).
        """
        held: dict[str, FieldValue] | None = None
        now = reading.timestamp.timestamp() if reading.timestamp is not None else time.time()
        for name in MONOTONIC_FIELDS:
            value = reading.get(name)
            if not isinstance(value, (int, float)):
                continue
            last = self.published.get(name)
            if last is None or last <= value <= last + self._most(name, reading, now):
                self.lower_reads.pop(name, None)
                self.published[name] = value
                self.published_at[name] = now
                continue
            count = self.lower_reads.get(name, 0) + 1
            if count >= CONFIRM_READS:
                self.lower_reads.pop(name, None)
                self.published[name] = value
                self.published_at[name] = now
                continue
            self.lower_reads[name] = count
            self.held += 1
            if held is None:
                held = dict(reading.values)
            held[name] = type(value)(last)
        if held is None:
            return reading
        # A plain dict, as make_reading gives (see MeterReading): never changed from here on.
        return replace(reading, values=held)
