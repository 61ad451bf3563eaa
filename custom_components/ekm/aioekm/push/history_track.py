"""One register's running sum in a history import, and the values it refuses.

A register's sum follows the register (push/history.py says how resets and glitches
count). Values no meter can have are refused here (push/history_bounds.py): a value
outside what the meter can show, and a change beyond what it can count since the
register's last good value. The next hours go on from that last good value; but a
value the next hour continues from is real after all (a meter swapped for a used one,
a register set): the sum goes on from it, without counting the jump.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
import logging
from typing import NamedTuple

from .history_bounds import ENERGY_PER_HOUR, value_range
from .history_plan import HOUR
from .history_rows import HistoryRow

_LOGGER = logging.getLogger(__package__)

RESET_FRACTION = 0.9  # a drop below this share of the last value is a reset
PLACES = 6  # sums and derived states are rounded here: registers carry at most 2 decimals


@dataclass(frozen=True, slots=True)
class Register:
    """A register the statistics follow: a field, or a sum of fields (weights) for derived ones."""

    name: str
    terms: tuple[tuple[str, float], ...]
    signed: bool = False  # may go down (net energy)
    derived: bool = False  # computed from kWh_Tot and Rev_kWh_Tot: resets when they do
    per_hour: float = ENERGY_PER_HOUR  # the most it can change in an hour


class Skipped:
    """Impossible values met in one call, by (name, time): logged once, at the end."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[tuple[str, datetime], str] = {}

    def note(self, name: str, when: datetime, why: str) -> None:
        self.seen.setdefault((name, when), why)

    def log(self, meter: str) -> None:
        if not self.seen:
            return
        (name, when), why = next(iter(self.seen.items()))
        _LOGGER.warning(
            "Summary of meter %s: %d impossible values skipped, never summed (the first: %s at %s, %s)",
            meter or "?",
            len(self.seen),
            name,
            when.isoformat(),
            why,
        )


class Term(NamedTuple):
    """A field a register is read from: its place in a HistoryRow, weight and possible values."""

    name: str
    place: int
    weight: float
    low: float
    high: float


def terms_of(register: Register, places: Mapping[str, int]) -> tuple[Term, ...]:
    """The register's fields at `places` (push/history_rows.Columns: at a row's end or start)."""
    return tuple(Term(n, places[n], w, *value_range(n)) for n, w in register.terms)


def value_of(row: HistoryRow, register: Register, terms: Sequence[Term], skipped: Skipped) -> float | None:
    """The register in a row: Σ weight × its fields' values there (terms_of).

    None if the row lacks it, or shows a value no meter can have (noted in `skipped`).
    """
    total = 0.0
    values = row.values
    for name, place, weight, low, high in terms:
        value = values[place]
        if value is None:
            return None
        if not low <= value <= high:
            skipped.note(name, row.start, f"{value:g} is beyond what the meter can show")
            return None
        total += weight * value
    if register.derived:
        total = round(total, PLACES)
    if total < 0 and not register.signed:  # import energy is kWh_Tot - Rev_kWh_Tot
        skipped.note(register.name, row.start, f"{total:g} is negative")
        return None
    return total


class Track:
    """One register's running sum, and when the register showed the value it stands at."""

    __slots__ = ("at", "high", "refused", "reset_at", "state", "sum")

    def __init__(self, state: float, total: float, at: datetime) -> None:
        self.state = state  # register at the last hour's end
        self.high = state  # what the sum has counted up to (holds through a glitch)
        self.sum = total
        self.at = at  # when the register showed `state`
        self.reset_at: datetime | None = None
        self.refused: tuple[datetime, float] | None = None  # the last value refused, and when

    def step(self, hour: datetime, value: float, register: Register, components_reset: bool) -> str | None:
        """Move on to `value`, the register at the end of `hour`; None, or why it cannot be."""
        end = hour + HOUR
        change = self._change(value, end, register, components_reset)
        if change is None:
            refused, self.refused = self.refused, (end, value)
            if refused is None or not _continues(refused, end, value, register):
                return f"{value:g} after {self.state:g}: more than the meter can count in that time"
            # Seen twice: the register really is there. Go on from it, without counting the jump.
            self.at, self.state = refused
            self.high = self.state
            change = value - self.state, False
        delta, reset = change
        if reset:
            self.reset_at = hour
        if register.signed or reset or value >= self.high:
            self.high = value
        self.state, self.at, self.refused = value, end, None
        self.sum = round(self.sum + delta, PLACES)
        return None

    def _change(
        self, value: float, end: datetime, register: Register, components_reset: bool
    ) -> tuple[float, bool] | None:
        """(what `value` adds to the sum, whether it is a reset); None if the meter cannot get there."""
        most = register.per_hour * max((end - self.at) / HOUR, 1.0)
        if register.signed:
            delta = value if components_reset else value - self.state
            return (delta, False) if abs(delta) <= most else None
        if components_reset or value < RESET_FRACTION * self.high:
            # A reset: the new value counts as consumed since, which takes time too.
            return (value, True) if value <= most else None
        if value >= self.high:
            return (value - self.high, False) if value - self.high <= most else None
        return 0.0, False  # a glitch: wait until the register is back above its high


def _continues(refused: tuple[datetime, float], end: datetime, value: float, register: Register) -> bool:
    """`value` at `end` is a change the meter can make from a value refused before."""
    at, before = refused
    delta = value - before
    most = register.per_hour * max((end - at) / HOUR, 1.0)
    return abs(delta) <= most if register.signed else 0.0 <= delta <= most
