"""What a history import takes from a Summary row: values a meter can have, changes it can count.

A Summary row comes from EKM's cloud, not from the meter, and a history import writes
what it computes into statistics that are never rewritten by themselves: one impossible
row would stay in the sums for good. So (docs/push-api.md, "Impossible rows"):

- a register value is taken only inside the range `bounds.RANGES` gives its field
  (never negative, never beyond the meter's digits); an average, min or max likewise;
- an hourly change is taken only up to what the meter can count in the time since the
  register's last good value (`ENERGY_PER_HOUR`, `PULSES_PER_HOUR`).

Summary rows do not carry the meter's CT ratio, so the ceilings are those of the largest
meter: a generous, fixed one. Non-finite numbers never get this far (push/summary.py
keeps them in `extra`), and with every value bounded no sum can overflow.
"""

from __future__ import annotations

from typing import Final

from ..bounds import MAX_VOLTS, RANGES

LINES: Final = 3  # an Omnimeter measures at most three lines
MAX_CT_RATIO: Final = 5000  # A: the largest CT an Omnimeter takes (rs485/commands.CT_RATIOS)
CT_OVERLOAD: Final = 2.0  # a CT saturates before it carries twice its rating
# 3 lines x 600 V x 2 x 5000 A = 18 MW: the most power any Omnimeter can measure.
MAX_WATTS: Final = LINES * MAX_VOLTS * CT_OVERLOAD * MAX_CT_RATIO
ENERGY_PER_HOUR: Final = MAX_WATTS / 1000  # 18,000 kWh (or kvarh) in an hour
# Pulse inputs take dry contacts and open-collector outputs: 20 Hz is beyond any of them.
MAX_PULSE_HZ: Final = 20.0
PULSES_PER_HOUR: Final = MAX_PULSE_HZ * 3600  # 72,000 pulses
# Fields without a range in bounds.RANGES (derived ones such as signed watts): power of
# either sign up to MAX_WATTS, which also keeps any mean of them finite.
OTHER: Final = (-MAX_WATTS, MAX_WATTS)


def value_range(field: str) -> tuple[float, float]:
    """(lowest, highest) a meter can show for `field`."""
    return RANGES.get(field, OTHER)


def possible(field: str, value: float) -> bool:
    """`value` is one a meter can show for `field` (False for NaN too)."""
    low, high = RANGES.get(field, OTHER)
    return low <= value <= high
