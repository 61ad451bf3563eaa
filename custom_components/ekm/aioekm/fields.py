"""The one field table: every Omnimeter value, its unit, scaling and frame position.

The RS-485 parser reads frames with it, the simulator writes frames with it and the
Push client maps JSON with it. It describes the protocol only: how Home Assistant
shows each field is the integration's own concern (its sensor.py, binary_sensor.py and
switch.py beside this package).

Offsets and lengths are those of docs/rs485-protocol.md section 4 (0-based, inside the
255-byte reply). Names are EKM's own, the ones the Push API also uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Layout(StrEnum):
    """The three 255-byte reply layouts."""

    V3 = "v3"
    V4A = "v4a"
    V4B = "v4b"


class Kind(StrEnum):
    """How the ASCII digits of a field become a value."""

    KWH = "kwh"  # decimal, divided by 10**kWh_Scale (v3: always /10)
    DECIMAL = "decimal"  # decimal, divided by the row's fixed divisor
    INT = "int"  # plain integer
    CODE = "code"  # short ASCII code kept as a string (status codes)
    COS_THETA = "cos_theta"  # ' 100', 'L083', 'C097'
    TIME = "time"  # yymmddwwhhmmss
    DERIVED = "derived"  # not in any frame: computed from other fields


class Quantity(StrEnum):
    """What a value measures; the HA layer maps this to device and state classes."""

    ENERGY = "energy"  # kWh register, only ever rises
    NET_ENERGY = "net_energy"  # forward minus reverse kWh: falls while exporting
    RESETTABLE_ENERGY = "resettable_energy"  # kWh register the user can zero
    REACTIVE_ENERGY = "reactive_energy"  # kVARh
    POWER = "power"  # W
    REACTIVE_POWER = "reactive_power"  # VAR
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    PULSE_COUNT = "pulse_count"
    SETTING = "setting"  # CT ratio, pulse ratios, demand period ...
    STATE = "state"  # bit-coded states decoded elsewhere
    STATUS = "status"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the field table."""

    name: str
    kind: Kind
    quantity: Quantity
    unit: str | None
    # Where the field sits, per layout: (offset, length).
    at: MappingProxyType[Layout, tuple[int, int]]
    divisor: int = 1

    def slice(self, layout: Layout) -> slice | None:
        """The byte slice of this field in a frame of `layout`, if it has one."""
        place = self.at.get(layout)
        if place is None:
            return None
        return slice(place[0], place[0] + place[1])


def _row(
    name: str,
    kind: Kind,
    quantity: Quantity,
    unit: str | None,
    *,
    v3: tuple[int, int] | None = None,
    a: tuple[int, int] | None = None,
    b: tuple[int, int] | None = None,
    divisor: int = 1,
) -> Field:
    at: dict[Layout, tuple[int, int]] = {}
    if v3:
        at[Layout.V3] = v3
    if a:
        at[Layout.V4A] = a
    if b:
        at[Layout.V4B] = b
    return Field(name, kind, quantity, unit, MappingProxyType(at), divisor)


K, D, I, C, COS, T = Kind.KWH, Kind.DECIMAL, Kind.INT, Kind.CODE, Kind.COS_THETA, Kind.TIME
Q = Quantity


def _lines(
    stem: str,
    kind: Kind,
    quantity: Quantity,
    unit: str | None,
    *,
    v3: int | None = None,
    a: int | None = None,
    b: int | None = None,
    length: int,
    divisor: int = 1,
) -> list[Field]:
    """Rows `<stem>_1..3` laid out back to back in each frame."""

    def at(start: int | None, i: int) -> tuple[int, int] | None:
        return (start + i * length, length) if start is not None else None

    return [
        _row(
            f"{stem}_{i + 1}",
            kind,
            quantity,
            unit,
            v3=at(v3, i),
            a=at(a, i),
            b=at(b, i),
            divisor=divisor,
        )
        for i in range(3)
    ]


def _tariffs(stem: str, quantity: Quantity, *, v3: int, b: int) -> list[Field]:
    return [
        _row(f"{stem}_{i + 1}", K, quantity, "kWh", v3=(v3 + i * 8, 8), b=(b + i * 8, 8)) for i in range(4)
    ]


_FIELDS: list[Field] = [
    # Energy registers.
    _row("kWh_Tot", K, Q.ENERGY, "kWh", v3=(16, 8), a=(16, 8)),
    *_tariffs("kWh_Tariff", Q.ENERGY, v3=24, b=16),
    _row("Rev_kWh_Tot", K, Q.ENERGY, "kWh", v3=(56, 8), a=(32, 8)),
    *_tariffs("Rev_kWh_Tariff", Q.ENERGY, v3=64, b=48),
    _row("Reactive_Energy_Tot", K, Q.REACTIVE_ENERGY, "kvarh", a=(24, 8)),
    *_lines("kWh_Ln", K, Q.ENERGY, "kWh", a=40, length=8),
    *_lines("Rev_kWh_Ln", K, Q.ENERGY, "kWh", a=64, length=8),
    _row("kWh_Rst", K, Q.RESETTABLE_ENERGY, "kWh", a=(88, 8)),
    _row("Rev_kWh_Rst", K, Q.RESETTABLE_ENERGY, "kWh", a=(96, 8)),
    # Instantaneous values; B repeats them, A is authoritative on v4.
    *_lines("RMS_Volts_Ln", D, Q.VOLTAGE, "V", v3=96, a=104, b=80, length=4, divisor=10),
    *_lines("Amps_Ln", D, Q.CURRENT, "A", v3=108, a=116, b=92, length=5, divisor=10),
    *_lines("RMS_Watts_Ln", I, Q.POWER, "W", v3=123, a=131, b=107, length=7),
    _row("RMS_Watts_Tot", I, Q.POWER, "W", v3=(144, 7), a=(152, 7), b=(128, 7)),
    *_lines("Cos_Theta_Ln", COS, Q.POWER_FACTOR, None, v3=151, a=159, b=135, length=4),
    *_lines("Reactive_Pwr_Ln", I, Q.REACTIVE_POWER, "var", a=171, length=7),
    _row("Reactive_Pwr_Tot", I, Q.REACTIVE_POWER, "var", a=(192, 7)),
    _row("Line_Freq", D, Q.FREQUENCY, "Hz", a=(199, 4), divisor=100),
    # Pulse inputs.
    *_lines("Pulse_Cnt", I, Q.PULSE_COUNT, None, v3=190, a=203, length=8),
    *_lines("Pulse_Ratio", I, Q.SETTING, None, v3=214, b=156, length=4),
    # Demand and settings.
    _row("RMS_Watts_Max_Demand", D, Q.POWER, "W", v3=(163, 8), b=(147, 8), divisor=10),
    _row("Max_Demand_Period", I, Q.SETTING, None, v3=(171, 1), b=(155, 1)),
    _row("Max_Demand_Rst", I, Q.SETTING, None, b=(172, 1)),
    _row("CT_Ratio", I, Q.SETTING, "A", v3=(186, 4), b=(168, 4)),
    _row("CF_Ratio", I, Q.SETTING, None, b=(173, 4)),
    # States and status.
    _row("State_Inputs", I, Q.STATE, None, v3=(226, 3), a=(227, 1)),
    _row("State_Watts_Dir", I, Q.STATE, None, a=(228, 1)),
    _row("State_Out", I, Q.STATE, None, a=(229, 1)),
    _row("kWh_Scale", I, Q.SETTING, None, a=(230, 1)),
    _row("Meter_Status_Code", C, Q.STATUS, None, v3=(248, 1)),
    _row("Meter_Status_Code_A", C, Q.STATUS, None, b=(230, 1)),
    _row("Meter_Status_Code_B", C, Q.STATUS, None, b=(231, 1)),
    _row("Meter_Status_Code_C", C, Q.STATUS, None, b=(232, 1)),
    _row("Meter_Time", T, Q.TIME, None, v3=(172, 14), a=(233, 14), b=(233, 14)),
    # Derived: import and net energy (kWh_Tot counts both directions), watts signed by
    # State_Watts_Dir, power factor from Cos_Theta.
    _row("Fwd_kWh_Tot", Kind.DERIVED, Q.ENERGY, "kWh"),
    _row("Net_kWh_Tot", Kind.DERIVED, Q.NET_ENERGY, "kWh"),
    *_lines("Net_Calc_Watts_Ln", Kind.DERIVED, Q.POWER, "W", length=0),
    _row("Net_Calc_Watts_Tot", Kind.DERIVED, Q.POWER, "W"),
    *_lines("Power_Factor_Ln", Kind.DERIVED, Q.POWER_FACTOR, None, length=0),
]

FIELDS: Final[MappingProxyType[str, Field]] = MappingProxyType({f.name: f for f in _FIELDS})
"""Every field by EKM name, in frame order."""


def fields_in(layout: Layout) -> tuple[Field, ...]:
    """The fields a frame of `layout` carries, in table order."""
    return _BY_LAYOUT[layout]


_BY_LAYOUT: Final[dict[Layout, tuple[Field, ...]]] = {
    layout: tuple(f for f in _FIELDS if layout in f.at) for layout in Layout
}

# Header and trailer positions shared by every layout (docs/rs485-protocol.md section 4).
MODEL_AT: Final = slice(1, 3)
FIRMWARE_AT: Final = 3
ADDRESS_AT: Final = slice(4, 16)
REQUEST_TYPE_AT: Final = slice(247, 249)  # v4 only: '00' for A, '01' for B
FRAME_LENGTH: Final = 255

# Fields a v4 reading gets from the B frame only (A carries the rest).
B_ONLY: Final[frozenset[str]] = frozenset(
    f.name for f in _FIELDS if Layout.V4B in f.at and Layout.V4A not in f.at
)
