"""What an Omnimeter can show: one set of physical bounds for every way a reading arrives.

RS-485 frames (rs485/plausibility.py), the cloud's Realtime answers and a Push3
gateway's local answers (push/mapping.py) are checked against the same limits:
service voltages, grid frequencies, the documented codes, registers no larger
than the meter's digits can hold and never negative, real and reactive power on
a line no more than its volts times amps, a clock that is a date. A read that
fails any of them is refused whole (docs/push-api.md, "Plausibility").

Limits are wide on purpose: a real meter must never be refused for good. A load
that changes between the meter's measurements can only make one read fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .fields import FIELDS, Kind
from .readings import FieldValue, parse_meter_time

MAX_VOLTS: Final = 600.0  # above any service voltage an Omnimeter is wired to (480 V line to line)
LINE_FREQUENCY: Final = (45.0, 65.0)  # Hz, 50 and 60 Hz grids with margin; 0 reads as "no voltage"
# The documented codes (docs/rs485-protocol.md, sections 4.3 to 4.6). v3's 3-digit
# State_Inputs is not documented, so only the v4 one is checked.
CODES: Final[Mapping[str, range]] = MappingProxyType(
    {
        "Max_Demand_Period": range(1, 4),
        "Max_Demand_Rst": range(0, 5),
        "State_Watts_Dir": range(1, 9),
        "State_Out": range(1, 5),
    }
)
V4_STATE_INPUTS: Final = range(0, 8)
_V4_CODES: Final[Mapping[str, range]] = MappingProxyType({**CODES, "State_Inputs": V4_STATE_INPUTS})
KWH_SCALES: Final = range(0, 3)  # kWh_Scale: the register's decimals (v4)
# Real power on a line cannot exceed volts times amps. The margin covers rounding of
# the three values and a load that moved between the meter's measurements.
POWER_MARGIN: Final = 1.25
POWER_SLACK: Final = 2.0  # W or var
# In an RS-485 frame, read at one instant, a total is its lines' sum within each line's
# rounding (POWER_SLACK). A Push answer is looser: the one real-shaped Push3 answer we
# have shows totals 15 W and 15 var above their lines' 12,090 W and 4,950 var, so there
# a total may pass its lines' sum by POWER_MARGIN, as a line may pass V x A.
LINES: Final = (1, 2, 3)
UNSET_CLOCK: Final = "0" * 14  # a meter whose clock was never set sends zeros
# A Push read's Time_Stamp_UTC_ms may be this far ahead of our clock (a gateway's clock a
# little fast); one stamped later is from no real moment and never counts as the newest.
MAX_CLOCK_AHEAD_S: Final = 600.0


def _largest(name: str) -> float:
    """The largest value field `name` can hold: all nines in its widest frame position.

    kWh registers scale by 10**kWh_Scale (0 to 2), so the widest is 8 digits of whole kWh.
    """
    fld = FIELDS[name]
    digits = max(length for _, length in fld.at.values())
    nines = float("9" * digits)
    return nines if fld.kind is Kind.KWH else nines / fld.divisor


# (lowest, highest) of every number a meter sends: never negative, never beyond its digits.
# Derived values (signed watts, net kWh) are computed from these and not bounded here.
RANGES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        **{
            name: (0.0, _largest(name))
            for name, fld in FIELDS.items()
            if fld.kind in (Kind.KWH, Kind.DECIMAL, Kind.INT) and fld.at
        },
        **{f"RMS_Volts_Ln_{line}": (0.0, MAX_VOLTS) for line in LINES},
        "kWh_Scale": (KWH_SCALES.start, KWH_SCALES.stop - 1),
    }
)


# Field names looked up for every read, built once.
_VOLTS: Final = tuple(f"RMS_Volts_Ln_{line}" for line in LINES)
# (each line's power, volts and amps; the total) of real and of reactive power.
_POWER: Final = tuple(
    (tuple((f"{stem}_Ln_{n}", f"RMS_Volts_Ln_{n}", f"Amps_Ln_{n}") for n in LINES), f"{stem}_Tot")
    for stem in ("RMS_Watts", "Reactive_Pwr")
)


def _number(values: Mapping[str, FieldValue], name: str) -> float | None:
    value = values.get(name)
    if value is None or isinstance(value, (str, bool)):
        return None
    return float(value)


def implausible(
    values: Mapping[str, FieldValue], *, state_inputs: bool = False, one_instant: bool = True
) -> str | None:
    """Why `values` (fields by name, as a reading keeps them) cannot come from a meter; None if they can.

    `state_inputs`: check State_Inputs against the v4 codes (v3's is not documented).
    `one_instant`: the values were read at one instant (an RS-485 frame), so a total is
    its lines' sum within rounding; False for Push answers (within POWER_MARGIN).
    Runs for every read of every poll: it builds no text unless a value fails.
    """
    margin = 1.0 if one_instant else POWER_MARGIN
    return _ranges(values, state_inputs) or _power(values, margin) or _clock(values)


def _ranges(values: Mapping[str, FieldValue], state_inputs: bool) -> str | None:
    for name in _VOLTS:
        volts = _number(values, name)
        if volts is not None and volts > MAX_VOLTS:
            return f"{name} = {volts} V"
    frequency = _number(values, "Line_Freq")
    if frequency and not LINE_FREQUENCY[0] <= frequency <= LINE_FREQUENCY[1]:
        return f"Line_Freq = {frequency} Hz"
    for name, allowed in (_V4_CODES if state_inputs else CODES).items():
        code = values.get(name)
        if isinstance(code, int) and code not in allowed:
            return f"{name} = {code}, not {allowed.start}..{allowed.stop - 1}"
    for name, value in values.items():
        bound = RANGES.get(name)
        # Only numbers have a range; `not low <= x <= high` also refuses NaN.
        if bound is not None and not isinstance(value, str) and not bound[0] <= value <= bound[1]:
            return f"{name} = {value} outside {bound[0]:.10g}..{bound[1]:.10g}"
    return None


def _power(values: Mapping[str, FieldValue], total_margin: float) -> str | None:
    for lines, total_name in _POWER:
        powers = 0.0
        complete = True
        for power_name, volts_name, amps_name in lines:
            power = _number(values, power_name)
            if power is None:  # most reads of a large poll map a few fields only
                complete = False
                continue
            volts = _number(values, volts_name)
            amps = _number(values, amps_name)
            if volts is None or amps is None:
                complete = False
                continue
            # +0.1: volts and amps come in tenths, and may be cut rather than rounded.
            if power > (volts + 0.1) * (amps + 0.1) * POWER_MARGIN + POWER_SLACK:
                return f"{power_name} = {power:g} above {volts:g} V x {amps:g} A"
            powers += power
        total = _number(values, total_name) if complete else None
        if total is not None and total > powers * total_margin + POWER_SLACK * len(lines):
            return f"{total_name} = {total:g} above its lines' sum {powers:g}"
    return None


def _clock(values: Mapping[str, FieldValue]) -> str | None:
    meter_time = values.get("Meter_Time")
    if isinstance(meter_time, str) and meter_time != UNSET_CLOCK and parse_meter_time(meter_time) is None:
        return f"Meter_Time {meter_time} is not a date"
    return None
