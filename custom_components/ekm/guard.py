"""Keep counting registers from going down because of one bad read.

HA treats a drop of a total_increasing sensor as a meter reset: a single low
read would start a new cycle and add the whole register again to the energy
statistics. A register that reads lower than what we published is therefore
held at the published value; only when it stays lower for CONFIRM_READS reads
in a row is the drop accepted (a zeroed resettable register, a new meter, a
changed kWh scale) and published once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
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


@dataclass
class MonotonicGuard:
    """The published value of each counting register of one meter."""

    published: dict[str, float] = field(default_factory=dict)
    lower_reads: dict[str, int] = field(default_factory=dict)
    held: int = 0  # values held back so far (diagnostics)

    def forget(self, names: Iterable[str]) -> None:
        """Take the next value of these registers as it comes: the meter was told to zero them."""
        for name in names:
            self.published.pop(name, None)
            self.lower_reads.pop(name, None)

    def apply(self, reading: MeterReading) -> MeterReading:
        """The reading to publish: registers that dropped are held at their last value.

        Runs for every meter of every poll: the reading's values are copied only when one
        is held (the usual reading is published as it came).
        """
        held: dict[str, FieldValue] | None = None
        for name in MONOTONIC_FIELDS:
            value = reading.get(name)
            if not isinstance(value, (int, float)):
                continue
            last = self.published.get(name)
            if last is None or value >= last:
                self.lower_reads.pop(name, None)
                self.published[name] = value
                continue
            count = self.lower_reads.get(name, 0) + 1
            if count >= CONFIRM_READS:
                self.lower_reads.pop(name, None)
                self.published[name] = value
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
