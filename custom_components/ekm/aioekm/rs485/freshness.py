"""Stale replies told by their content: the meter's clock in every reply.

Timing cannot exclude a reply that a buffering bridge hands over arbitrarily
late, but every v3, A and B reply carries Meter_Time (seconds), and a meter's
clock does not run backwards. So, per meter (docs/rs485-protocol.md, section
"Late and stale replies"):

- a reply whose Meter_Time is earlier than the newest one already taken from that
  meter answers an earlier request: StaleReplyError (a LateReplyError: dropped, and
  the reply to this request is still waited for);
- after a write, the read-back must be later than the meter's clock at the write
  (`not_before`), once the meter's clock has been seen to run.

A meter whose clock is not set, or has never been seen to move (a stopped or
simulated pinned clock), gets only the first rule, with equal times allowed.
When every try of a read is refused as stale, the clock was probably set back (by
another tool): the newest time is forgotten so that the next read starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import LateReplyError
from ..readings import parse_meter_time
from .frames import Frame


class StaleReplyError(LateReplyError):
    """A reply older than one already taken from the meter: the answer to an earlier request."""


def meter_time(frame: Frame) -> datetime | None:
    """The frame's Meter_Time, None if the meter's clock is not set."""
    text = frame.values.get("Meter_Time")
    return parse_meter_time(text) if isinstance(text, str) else None


@dataclass
class MeterClock:
    """What the replies taken from one meter said about its clock."""

    newest: datetime | None = None  # the newest Meter_Time taken
    newest_at: float = 0.0  # loop time when that reply was received
    runs: bool = False  # two replies taken showed different times


class Freshness:
    """Per-meter clocks of the replies taken; refuses replies older than what was taken."""

    def __init__(self) -> None:
        self._clocks: dict[str, MeterClock] = {}

    def clock(self, address: str) -> MeterClock:
        return self._clocks.setdefault(address, MeterClock())

    def forget(self, address: str) -> None:
        """The meter's clock was set (or set back): earlier times say nothing any more."""
        self._clocks.pop(address, None)

    def take(self, address: str, frame: Frame, *, now: float, not_before: datetime | None = None) -> Frame:
        """`frame` unless older than what was taken or not later than `not_before` (StaleReplyError)."""
        self.check(address, frame, not_before=not_before)
        return self.commit(address, frame, now=now)

    def check(self, address: str, frame: Frame, *, not_before: datetime | None = None) -> None:
        """StaleReplyError if `frame` is older than what was taken or not later than `not_before`."""
        when = meter_time(frame)
        if when is None:
            return
        clock = self.clock(address)
        if clock.newest is not None and when < clock.newest:
            raise StaleReplyError(
                f"meter {address}: a late reply: {frame.layout.value} reply of {when:%H:%M:%S}, older "
                f"than one of {clock.newest:%H:%M:%S} already read (the answer to an earlier request)"
            )
        if not_before is not None and when <= not_before:
            raise StaleReplyError(
                f"meter {address}: {frame.layout.value} reply of {when:%H:%M:%S} may predate the "
                f"write (meter clock up to {not_before:%H:%M:%S} then)"
            )

    def commit(self, address: str, frame: Frame, *, now: float) -> Frame:
        """Record `frame` (checked) as taken at loop time `now`; returns it."""
        when = meter_time(frame)
        if when is None:
            return frame
        clock = self.clock(address)
        if clock.newest is not None and when > clock.newest:
            clock.runs = True
        if clock.newest is None or when > clock.newest:
            clock.newest, clock.newest_at = when, now
        return frame
