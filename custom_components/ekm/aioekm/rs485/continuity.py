"""Each reply held against the meter's previous one: what it counts, its clock, its settings.

About 3 in 65,536 double-bit errors pass the CRC (docs/rs485-protocol.md, section 3),
and the plausibility checks (rs485/plausibility.py) miss those that turn digits into
other digits: a pulse count one million higher, a kWh register 400 kWh lower, a clock a
month ahead. A meter cannot do that between two reads, so per meter and reply layout
a reply is compared with the previous one taken (docs/rs485-protocol.md, "Continuity"):

- counting registers (kWh, kvarh, pulse counts) may not go down, save a roll-over of
  their 8 digits, and may not rise more than the meter can count in the time between
  the two replies: energy at most what three lines of 600 V carry through twice the
  CT's rating (`energy_ceiling`); pulses at most twice the input's own rate over the
  previous interval, or `PULSE_FLOOR_HZ` (`pulse_ceiling`);
- Meter_Time may not run further ahead than the time that passed here, plus a margin
  (going back is a late reply: rs485/freshness.py refuses it first), and its weekday
  digits keep their offset from the date;
- settings (CT ratio, pulse ratios, demand period ...), status codes, reserved bytes,
  model and firmware may not change; no line carries more than twice its CT's rating.

A violation is an ImplausibleChangeError (a FrameError: the reply is dropped and read
again, never turned into a reading). A real change must not lock a meter out, so a
change seen twice is taken: a reply that fails against the previous reply but passes
against the refused one before it (another tool set the clock or zeroed a register, an
input started counting fast: it may go on as fast as it rose to the refused reply) is
taken, and becomes the new reference. The bus also forgets what its own writes change
(`written`).

The first reply of each layout from a meter has nothing to be compared with: the
plausibility checks apply alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from ..errors import ImplausibleChangeError
from ..fields import FIELDS, Kind, Layout, Quantity
from ..readings import FieldValue, parse_meter_time
from . import commands
from .frames import Frame
from .plausibility import MAX_VOLTS, RESERVED

# --- ceilings (docs/rs485-protocol.md, "Continuity": why these numbers) -------------------

LINES: Final = 3  # an Omnimeter measures at most three lines
# A CT carries its rated current continuously and up to about 1.2 times that within its
# accuracy class; twice the rating is beyond what a CT transfers before it saturates.
CT_OVERLOAD: Final = 2.0
MAX_CT_RATIO: Final = max(commands.CT_RATIOS)  # A: the largest CT an Omnimeter takes
# The largest CT a kWh_Scale goes with (the meter shows 2 decimals up to 400 A, 1 up to
# 2000 A, 0 above): the ceiling of an A reply read before any reply that carries CT_Ratio.
SCALE_CT: Final[Mapping[int, int]] = {2: 400, 1: 2000, 0: MAX_CT_RATIO}
# Pulse inputs take the reed switches and open-collector outputs of water and gas
# meters (a reed switch closes at most about 2 Hz, an S0 output of 30 ms pulses 16.7 Hz);
# EKM publishes no maximum. A reply is taken when an input rose at most twice as fast
# as over the previous interval, or PULSE_FLOOR_HZ; faster needs a second reply to agree.
# MAX_PULSE_HZ caps the rate learnt from one interval.
PULSE_FLOOR_HZ: Final = 0.5
PULSE_GROWTH: Final = 2.0
MAX_PULSE_HZ: Final = 20.0
REGISTER_DIGITS: Final = 8  # every counting register rolls over after 99999999 steps
CLOCK_STEP: Final = 1.0  # s: Meter_Time counts whole seconds
# Meter_Time may run this much ahead of the time that passed here: a second of resolution
# at each end; Continuity adds how late the previous reply may have been taken.
CLOCK_MARGIN: Final = 2.0

COUNTERS: Final = frozenset(
    f.name
    for f in FIELDS.values()
    if f.kind is not Kind.DERIVED
    and f.quantity
    in (Quantity.ENERGY, Quantity.RESETTABLE_ENERGY, Quantity.REACTIVE_ENERGY, Quantity.PULSE_COUNT)
)
PULSES: Final = frozenset(name for name in COUNTERS if FIELDS[name].quantity is Quantity.PULSE_COUNT)
STABLE: Final = frozenset(
    f.name for f in FIELDS.values() if f.quantity in (Quantity.SETTING, Quantity.STATUS)
)
CLOCK: Final = "Meter_Time"
_WEEKDAY: Final = slice(6, 8)  # 'yymmddwwhhmmss'

# What the bus's own writes change, by register: forgotten after the write (the next reply
# is compared with nothing there). A CT ratio changes the kWh scale, so every kWh register.
_KWH_FIELDS: Final = frozenset(name for name in COUNTERS if FIELDS[name].kind is Kind.KWH)
WRITE_CHANGES: Final[Mapping[str, frozenset[str]]] = {
    commands.SET_TIME: frozenset({CLOCK}),
    commands.MAX_DEMAND_PERIOD: frozenset({"Max_Demand_Period"}),
    commands.MAX_DEMAND_AUTO_RESET: frozenset({"Max_Demand_Rst"}),
    commands.CT_RATIO: frozenset({"CT_Ratio", "kWh_Scale"}) | _KWH_FIELDS,
    commands.PULSE_OUTPUT_RATIO: frozenset({"CF_Ratio"}),
    commands.ZERO_RESETTABLE_KWH: frozenset({"kWh_Rst", "Rev_kWh_Rst"}),
    **{
        register: frozenset({f"Pulse_Ratio_{n}", f"Pulse_Cnt_{n}"})
        for n, register in enumerate(commands.PULSE_INPUT_RATIOS, start=1)
    },
}


def energy_ceiling(ct_ratio: float) -> float:
    """kWh (or kvarh) per second a meter with this CT can count at most: 3 lines x 600 V x 2 x CT."""
    return LINES * MAX_VOLTS * CT_OVERLOAD * ct_ratio / 3_600_000


def pulse_ceiling(rate: float) -> float:
    """Pulses per second an input that counted `rate` over the previous interval is taken up to."""
    return max(PULSE_FLOOR_HZ, PULSE_GROWTH * rate)


@dataclass
class _Reply:
    """What continuity keeps of one reply taken (or refused)."""

    values: dict[str, FieldValue]
    header: bytes  # model, firmware and reserved bytes
    kwh_scale: int
    at: float  # loop time it was received
    time: datetime | None  # its Meter_Time, None if the clock is not set


@dataclass
class _Meter:
    taken: dict[Layout, _Reply] = field(default_factory=dict)
    refused: dict[Layout, _Reply] = field(default_factory=dict)
    ct_ratio: int | None = None  # the latest CT_Ratio taken (B and v3 replies carry it)
    rates: dict[str, float] = field(default_factory=dict)  # pulses per second, previous interval


def _header(frame: Frame, data: bytes) -> bytes:
    reserved = bytes(data[i] for i in RESERVED[frame.layout])
    return f"{frame.model}/{frame.firmware}/".encode("ascii") + reserved


def _reply(frame: Frame, data: bytes, now: float) -> _Reply:
    text = frame.values.get(CLOCK)
    when = parse_meter_time(text) if isinstance(text, str) else None
    return _Reply(dict(frame.values), _header(frame, data), frame.kwh_scale, now, when)


def _weekday_offset(reply: _Reply) -> int | None:
    """How far the meter's weekday digits sit from the date's weekday (01 = Sunday), mod 7."""
    text = reply.values.get(CLOCK)
    if reply.time is None or not isinstance(text, str):
        return None
    return (int(text[_WEEKDAY]) - (reply.time.isoweekday() % 7 + 1)) % 7


def _rate(name: str, old: _Reply, new: _Reply) -> float:
    """Pulses per second `name` counted from `old` to `new` (0 if it did not rise), at most MAX_PULSE_HZ."""
    before, after = old.values.get(name), new.values.get(name)
    elapsed = _elapsed(old, new)
    if not isinstance(before, int) or not isinstance(after, int) or elapsed <= 0:
        return 0.0
    return min(MAX_PULSE_HZ, max(0, after - before) / elapsed)


def _elapsed(old: _Reply, new: _Reply) -> float:
    """Seconds between two replies: by the meter's clock when it runs ahead of ours."""
    passed = max(0.0, new.at - old.at)
    if old.time is not None and new.time is not None:
        return max(passed, (new.time - old.time).total_seconds())
    return passed


class Continuity:
    """Per meter and layout, the reply taken last; refuses a reply the meter could not have sent after it.

    `late` is how much later than it was made a reply may be taken (the bus's first-byte
    timeout): the clock margin grows by it.
    """

    def __init__(self, *, late: float = 0.0) -> None:
        self.late = late
        self._meters: dict[str, _Meter] = {}

    def check(self, address: str, frame: Frame, data: bytes, *, now: float) -> None:
        """ImplausibleChangeError unless `frame` (bytes `data`, received at loop time `now`) may follow."""
        meter = self._meters.get(address)
        previous = meter.taken.get(frame.layout) if meter is not None else None
        if meter is None or previous is None:
            return
        new = _reply(frame, data, now)
        problem = self._compare(meter, previous, new)
        if problem is None:
            return
        refused = meter.refused.get(frame.layout)
        if refused is not None and self._compare(meter, refused, new, confirming=previous) is None:
            return  # the same change seen twice: the meter really changed
        meter.refused[frame.layout] = new
        raise ImplausibleChangeError(f"meter {address}: {frame.layout.value} reply {problem}")

    def commit(self, address: str, frame: Frame, data: bytes, *, now: float) -> None:
        """Keep `frame` (checked) as the reply the next one of its layout is compared with."""
        meter = self._meters.setdefault(address, _Meter())
        new = _reply(frame, data, now)
        previous = meter.taken.get(frame.layout)
        if previous is not None:
            meter.rates.update({name: _rate(name, previous, new) for name in PULSES})
        meter.taken[frame.layout] = new
        meter.refused.pop(frame.layout, None)
        ct = frame.values.get("CT_Ratio")
        if isinstance(ct, int) and 0 < ct <= MAX_CT_RATIO:
            meter.ct_ratio = ct

    def written(self, address: str, register: str) -> None:
        """The bus wrote `register` to the meter: forget the fields that write changes."""
        meter = self._meters.get(address)
        changed = WRITE_CHANGES.get(register)
        if meter is None or not changed:
            return
        meter.refused.clear()
        for reply in meter.taken.values():
            for name in changed:
                reply.values.pop(name, None)
            if CLOCK in changed:
                reply.time = None
        for name in changed:
            meter.rates.pop(name, None)
        if "CT_Ratio" in changed:
            meter.ct_ratio = None

    # --- the comparison -------------------------------------------------------------------

    def _compare(
        self, meter: _Meter, old: _Reply, new: _Reply, *, confirming: _Reply | None = None
    ) -> str | None:
        """What makes `new` impossible after `old`, or None.

        `confirming`: `old` is a refused reply that `new` may confirm, and this the reply
        taken before it: a pulse input may count as fast as it did from there to `old`
        (an input that started counting fast), no line is held to its CT.
        """
        if new.header != old.header:
            return "changed its model, firmware or reserved bytes"
        for name in STABLE:
            if name in old.values and name in new.values and old.values[name] != new.values[name]:
                return f"changed {name} from {old.values[name]} to {new.values[name]} without a write"
        problem = self._clock(old, new)
        if problem is not None:
            return problem
        # Both values are truncated to whole seconds: one more second may have passed.
        elapsed = _elapsed(old, new) + CLOCK_STEP
        if old.time is None or new.time is None:
            elapsed += CLOCK_MARGIN + self.late
        ct = meter.ct_ratio or SCALE_CT.get(new.kwh_scale, MAX_CT_RATIO)
        if confirming is None:
            for line in range(1, LINES + 1):
                amps = new.values.get(f"Amps_Ln_{line}")
                if isinstance(amps, float) and amps > CT_OVERLOAD * ct:
                    return f"has Amps_Ln_{line} {amps:g}, above twice its {ct} A CT"
        for name in COUNTERS:
            before, after = old.values.get(name), new.values.get(name)
            if not isinstance(before, (int, float)) or not isinstance(after, (int, float)):
                continue
            if name in PULSES:
                rate = meter.rates.get(name, 0.0) if confirming is None else _rate(name, confirming, old)
                step, most = 1.0, pulse_ceiling(rate) * elapsed
            else:
                step, most = 10.0**-new.kwh_scale, energy_ceiling(ct) * elapsed
            problem = _counted(name, (before, after), most=most, step=step, elapsed=elapsed)
            if problem is not None:
                return problem
        return None

    def _clock(self, old: _Reply, new: _Reply) -> str | None:
        """Why `new`'s Meter_Time cannot follow `old`'s, or None."""
        if old.time is None or new.time is None or CLOCK not in old.values:
            return None
        ahead = (new.time - old.time).total_seconds()
        passed = max(0.0, new.at - old.at)
        if ahead < 0:
            return f"has {CLOCK} {new.time:%Y-%m-%d %H:%M:%S}, before {old.time:%Y-%m-%d %H:%M:%S}"
        if ahead > passed + CLOCK_MARGIN + self.late:
            return f"has {CLOCK} {ahead:.0f} s after the previous reply's, but {passed:.1f} s passed"
        if _weekday_offset(old) != _weekday_offset(new):
            return f"has {CLOCK} {new.values.get(CLOCK)}: its weekday moved apart from its date"
        return None


def _counted(
    name: str, values: tuple[float, float], *, most: float, step: float, elapsed: float
) -> str | None:
    """Why `name` cannot have gone from `before` to `after` (it may rise by `most`), or None."""
    before, after = values
    rise = after - before
    if rise < 0:  # a roll-over of the 8 digits is a rise too
        rise += 10**REGISTER_DIGITS * step
    if rise <= most + step * 1.5:  # + one register step: both values are truncated (+ float slack)
        return None
    if after < before:
        return f"has {name} {after:g}, below the previous {before:g}"
    return f"has {name} {after:g}, {after - before:g} above the previous {before:g} in {elapsed:.0f} s"
