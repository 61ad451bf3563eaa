"""How Home Assistant shows each field: one explicit row per field name of aioekm.fields.FIELDS.

aioekm.fields describes the protocol only. This table adds what is Home Assistant's concern:
the entity's translation key and placeholder, whether it starts enabled, its display
precision, and which bit-coded state fields are decoded into binary sensors and switches.
tests/ha/test_entity_table.py checks that every field has a row and every row a field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from homeassistant.const import Platform

from .aioekm.fields import FIELDS, Kind
from .aioekm.readings import MeterReading, Protocol, frame_fields, inputs_high, relays_closed

# A line counts as used when its first reading shows at least this voltage; an unconnected
# line reads 0 V or a few volts of induced noise, mains is 100 V or more.
LIVE_LINE_VOLTS: Final = 50.0


class Enabled(StrEnum):
    """Whether an entity starts enabled when it is first created."""

    YES = "yes"
    NO = "no"
    LIVE_LINE = "live_line"  # if the row's line carries voltage in the meter's first reading


@dataclass(frozen=True, slots=True)
class SensorRow:
    """A field shown as one sensor."""

    translation_key: str
    placeholders: Mapping[str, str] | None = None
    enabled: Enabled = Enabled.NO
    line: int | None = None  # the line whose voltage decides Enabled.LIVE_LINE
    precision: int | None = None  # suggested display precision
    # A setting: on meters of these protocols a config entity (select, number) shows and
    # writes it instead of this sensor (see settings.py).
    config_on: frozenset[Protocol] = frozenset()


@dataclass(frozen=True, slots=True)
class DecodedRow:
    """A bit-coded state field, decoded into one entity per bit: `<key_stem>_1..n`."""

    platform: Platform
    decoder: Callable[[int], tuple[bool, ...]]
    count: int
    key_stem: str
    translation_key: str
    placeholder: str
    enabled: Enabled = Enabled.NO


@dataclass(frozen=True, slots=True)
class NoEntity:
    """A field no entity shows directly."""

    why: str


type Row = SensorRow | DecodedRow | NoEntity


def _sensor(
    name: str,
    key: str,
    *,
    enabled: Enabled = Enabled.NO,
    precision: int | None = None,
    config_on: frozenset[Protocol] = frozenset(),
) -> tuple[str, SensorRow]:
    return name, SensorRow(key, enabled=enabled, precision=precision, config_on=config_on)


def _numbered(
    stem: str,
    key: str,
    placeholder: str,
    numbers: range,
    *,
    enabled: Enabled = Enabled.NO,
    config_on: frozenset[Protocol] = frozenset(),
) -> list[tuple[str, SensorRow]]:
    """Rows of `<stem>_<n>`, named with {placeholder} = n."""
    return [
        (
            f"{stem}_{n}",
            SensorRow(key, MappingProxyType({placeholder: str(n)}), enabled=enabled, config_on=config_on),
        )
        for n in numbers
    ]


def _per_line(
    stem: str, key: str, *, enabled: Enabled = Enabled.NO, precision: int | None = None
) -> list[tuple[str, SensorRow]]:
    """Rows of `<stem>_1..3`, one per line, named with {line}."""
    return [
        (
            f"{stem}_{line}",
            SensorRow(
                key, MappingProxyType({"line": str(line)}), enabled=enabled, line=line, precision=precision
            ),
        )
        for line in (1, 2, 3)
    ]


INPUTS = range(1, 4)
TARIFFS = range(1, 5)
LIVE = Enabled.LIVE_LINE
# Which meters take each setting as a write (docs/rs485-protocol.md, section 5).
ALL_METERS: Final = frozenset(Protocol)
V4_METERS: Final = frozenset({Protocol.V4})

ENTITY_TABLE: Final[Mapping[str, Row]] = MappingProxyType(
    dict(
        [
            # Energy registers: the totals are what the Energy dashboard uses.
            _sensor("kWh_Tot", "kwh_tot", enabled=Enabled.YES),
            _sensor("Fwd_kWh_Tot", "fwd_kwh_tot", enabled=Enabled.YES),
            _sensor("Rev_kWh_Tot", "rev_kwh_tot", enabled=Enabled.YES),
            _sensor("Net_kWh_Tot", "net_kwh_tot"),
            *_numbered("kWh_Tariff", "kwh_tariff", "tariff", TARIFFS),
            *_numbered("Rev_kWh_Tariff", "rev_kwh_tariff", "tariff", TARIFFS),
            _sensor("Reactive_Energy_Tot", "reactive_energy_tot"),
            *_per_line("kWh_Ln", "kwh_ln"),
            *_per_line("Rev_kWh_Ln", "rev_kwh_ln"),
            _sensor("kWh_Rst", "kwh_rst"),
            _sensor("Rev_kWh_Rst", "rev_kwh_rst"),
            # What each used line carries, and the total power.
            *_per_line("RMS_Volts_Ln", "rms_volts_ln", enabled=LIVE, precision=1),
            *_per_line("Amps_Ln", "amps_ln", enabled=LIVE, precision=1),
            *_per_line("RMS_Watts_Ln", "rms_watts_ln", enabled=LIVE),
            *_per_line("Net_Calc_Watts_Ln", "net_calc_watts_ln", enabled=LIVE),
            *_per_line("Power_Factor_Ln", "power_factor_ln", enabled=LIVE),
            _sensor("RMS_Watts_Tot", "rms_watts_tot", enabled=Enabled.YES),
            _sensor("Net_Calc_Watts_Tot", "net_calc_watts_tot", enabled=Enabled.YES),
            *_per_line("Cos_Theta_Ln", "cos_theta_ln"),  # text; Power_Factor_Ln is the number
            *_per_line("Reactive_Pwr_Ln", "reactive_pwr_ln"),
            _sensor("Reactive_Pwr_Tot", "reactive_pwr_tot"),
            _sensor("Line_Freq", "line_freq", enabled=Enabled.YES, precision=2),
            # Pulse inputs: the count of input 1 is the one most installations wire up.
            *_numbered("Pulse_Cnt", "pulse_cnt", "input", range(1, 2), enabled=Enabled.YES),
            *_numbered("Pulse_Cnt", "pulse_cnt", "input", range(2, 4)),
            *_numbered("Pulse_Ratio", "pulse_ratio", "input", INPUTS, config_on=V4_METERS),
            # Demand and settings.
            _sensor("RMS_Watts_Max_Demand", "rms_watts_max_demand", enabled=Enabled.YES, precision=1),
            _sensor("Max_Demand_Period", "max_demand_period", config_on=ALL_METERS),
            _sensor("Max_Demand_Rst", "max_demand_rst", config_on=V4_METERS),
            _sensor("CT_Ratio", "ct_ratio", config_on=ALL_METERS),
            _sensor("CF_Ratio", "cf_ratio"),
            _sensor("kWh_Scale", "kwh_scale"),
            _sensor("Meter_Status_Code", "meter_status_code"),
            _sensor("Meter_Status_Code_A", "meter_status_code_a"),
            _sensor("Meter_Status_Code_B", "meter_status_code_b"),
            _sensor("Meter_Status_Code_C", "meter_status_code_c"),
            _sensor("Meter_Time", "meter_time"),
            # Bit-coded states. A pulse input wired to a water or gas meter toggles with every
            # pulse and floods the logbook, so the level sensors start disabled.
            (
                "State_Inputs",
                DecodedRow(Platform.BINARY_SENSOR, inputs_high, 3, "State_Input", "pulse_input", "input"),
            ),
            (
                "State_Out",
                DecodedRow(Platform.SWITCH, relays_closed, 2, "Relay", "relay", "relay", Enabled.YES),
            ),
            ("State_Watts_Dir", NoEntity("signs Net_Calc_Watts_Ln_*")),
        ]
    )
)


def carried(name: str, protocol: Protocol) -> bool:
    """Whether a meter of `protocol` reports field `name` (derived fields: always)."""
    return FIELDS[name].kind is Kind.DERIVED or name in frame_fields(protocol)


def line_is_live(reading: MeterReading | None, line: int) -> bool:
    """Whether `line` carries voltage; without a reading, only line 1 is assumed to."""
    if reading is None:
        return line == 1
    volts = reading.get(f"RMS_Volts_Ln_{line}")
    return isinstance(volts, (int, float)) and volts >= LIVE_LINE_VOLTS


def decoded(
    reading: MeterReading, name: str, decoder: Callable[[int], tuple[bool, ...]], index: int
) -> bool | None:
    """Bit `index` of state field `name`, or None if the reading lacks it or it does not decode."""
    state = reading.get(name)
    if not isinstance(state, int):
        return None
    try:
        return decoder(state)[index]
    except ValueError:
        return None
