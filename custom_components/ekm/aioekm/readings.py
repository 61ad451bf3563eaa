"""Typed, immutable meter readings: the one shape every connection mode produces.

Values are keyed by EKM field names (see fields.FIELDS) and already scaled:
kWh as float kWh, volts, amps, hertz as floats, watts and counts as ints,
Cos_Theta as the normalised text "0.83 L" / "0.97 C" / "1.00", status codes and
Meter_Time as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from .fields import FIELDS, Layout, fields_in

type FieldValue = float | int | str


class Protocol(StrEnum):
    """The meter's RS-485 protocol generation (v5 meters speak v4)."""

    V3 = "v3"
    V4 = "v4"


# The reply layouts each protocol answers with.
PROTOCOL_LAYOUTS: Mapping[Protocol, tuple[Layout, ...]] = MappingProxyType(
    {Protocol.V3: (Layout.V3,), Protocol.V4: (Layout.V4A, Layout.V4B)}
)
_FRAME_FIELDS: Mapping[Protocol, frozenset[str]] = MappingProxyType(
    {
        protocol: frozenset(f.name for layout in layouts for f in fields_in(layout))
        for protocol, layouts in PROTOCOL_LAYOUTS.items()
    }
)


def frame_fields(protocol: Protocol) -> frozenset[str]:
    """Names of the fields a meter of `protocol` sends in its frames (derived ones excluded)."""
    return _FRAME_FIELDS[protocol]


# Model bytes (hex) known to be v3; every other model speaks v4 (docs/rs485-protocol.md, section 1).
V3_MODELS: frozenset[str] = frozenset(
    {"1017", "1022", "1011", "1012", "1013", "1014", "1015", "1016", "1018"}
)
MODEL_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "1017": "Omnimeter I v.3",
        "1022": "Omnimeter II UL v.3",
        "1024": "Omnimeter Pulse v.4",
    }
)


def protocol_of_model(model: str) -> Protocol:
    """v3 or v4 from the model code (hex of the two model bytes)."""
    return Protocol.V3 if model.lower() in V3_MODELS else Protocol.V4


def model_name(model: str) -> str:
    """A readable model name; unknown codes are shown as they are."""
    return MODEL_NAMES.get(model, f"Omnimeter (model {model})")


@dataclass(frozen=True, slots=True)
class PowerFactor:
    """Power factor of one line, from its Cos_Theta."""

    value: float  # 0.00 .. 1.00
    direction: Literal["lag", "lead"] | None  # None at unity or unknown


def cos_theta_from_wire(raw: str) -> PowerFactor:
    """Decode the RS-485 form: ' ', 'L' (lag) or 'C' (lead), then PF * 100 in 3 digits ('L083').

    Raises ValueError on anything else, including a PF above 1.00.
    """
    flag, digits = raw[:1], raw[1:]
    if flag not in (" ", "L", "C") or len(digits) != 3 or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"bad Cos_Theta {raw!r}")
    hundredths = int(digits)
    if hundredths > 100:
        raise ValueError(f"Cos_Theta above 1.00: {raw!r}")
    direction: Literal["lag", "lead"] | None = None
    if hundredths < 100:
        direction = "lag" if flag == "L" else "lead" if flag == "C" else None
    return PowerFactor(hundredths / 100, direction)


def cos_theta_to_wire(pf: PowerFactor) -> str:
    """The RS-485 form of a power factor (the inverse of cos_theta_from_wire)."""
    flag = {"lag": "L", "lead": "C", None: " "}[pf.direction]
    return f"{flag}{round(pf.value * 100):03d}"


def parse_cos_theta(text: str) -> PowerFactor:
    """Decode a Cos_Theta in either form: RS-485 ('L083', ' 100') or Push ('0.83 L').

    Raises ValueError on anything else.
    """
    if len(text) == 4 and text[:1] in (" ", "L", "C"):
        return cos_theta_from_wire(text)
    stripped = text.strip()
    if stripped[:1] in ("L", "C"):  # RS-485 flag without its padding
        flag, number = stripped[0], stripped[1:]
    else:  # Push: '0.83 C' or '1.00'
        number, _, flag = stripped.partition(" ")
        flag = flag.strip()
    try:
        if not number.isascii() or "_" in number:  # float() takes '٠.٨٣' and '0_83': a meter sends neither
            raise ValueError(number)
        value = int(number) / 100 if number.isdigit() else float(number)
    except ValueError:
        value = -1.0
    if flag not in ("", "L", "C") or not 0.0 <= value <= 1.0:
        raise ValueError(f"bad Cos_Theta {text!r}")
    direction: Literal["lag", "lead"] | None = None
    if value < 1.0:
        direction = "lag" if flag == "L" else "lead" if flag == "C" else None
    return PowerFactor(value, direction)


def format_cos_theta(pf: PowerFactor) -> str:
    """The normalised text form kept in readings."""
    flag = {"lag": " L", "lead": " C", None: ""}[pf.direction]
    return f"{pf.value:.2f}{flag}"


def parse_meter_time(text: str) -> datetime | None:
    """'yymmddwwhhmmss' (ww = weekday, 01 = Sunday) to a naive datetime.

    The meter keeps local time of its own choosing, so no timezone is attached.
    Returns None for a clock that is not set or not a real date.
    """
    if len(text) != 14 or not text.isdigit():
        return None
    yy, mo, dd, _ww, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 14, 2))
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None


def format_meter_time(when: datetime) -> str:
    """A datetime as the meter's 'yymmddwwhhmmss' (01 = Sunday)."""
    weekday = when.isoweekday() % 7 + 1  # isoweekday: Monday 1 .. Sunday 7
    return when.strftime("%y%m%d") + f"{weekday:02d}" + when.strftime("%H%M%S")


def _bits(state: int, low: int, high: int, name: str) -> int:
    if not low <= state <= high:
        raise ValueError(f"{name} {state} outside {low}..{high}")
    return state - low


def inputs_high(state_inputs: int) -> tuple[bool, bool, bool]:
    """Pulse inputs 1..3 high? State_Inputs 0 = HHH .. 7 = LLL, input 1 first."""
    bits = _bits(state_inputs, 0, 7, "State_Inputs")
    return (not bits & 4, not bits & 2, not bits & 1)


# State_Watts_Dir codes 1..8: the direction (Forward / Reverse) of lines 1, 2 and 3.
_WATTS_DIR_ORDER = ("FFF", "FFR", "FRF", "RFF", "FRR", "RFR", "RRF", "RRR")


_REVERSED: tuple[tuple[bool, bool, bool], ...] = tuple(
    (code[0] == "R", code[1] == "R", code[2] == "R") for code in _WATTS_DIR_ORDER
)


def lines_reversed(state_watts_dir: int) -> tuple[bool, bool, bool]:
    """Lines 1..3 flowing in reverse? State_Watts_Dir 1 = FFF .. 8 = RRR."""
    return _REVERSED[_bits(state_watts_dir, 1, 8, "State_Watts_Dir")]


@lru_cache(maxsize=1024)
def _power_factor_of(cos_theta: str) -> float | None:
    """The power factor of a Cos_Theta text, None if it is not one (a meter shows a few hundred)."""
    try:
        return parse_cos_theta(cos_theta).value
    except ValueError:
        return None


def relays_closed(state_out: int) -> tuple[bool, bool]:
    """Relays 1 and 2 closed (on)? State_Out 1 = off/off .. 4 = on/on."""
    bits = _bits(state_out, 1, 4, "State_Out")
    return (bool(bits & 2), bool(bits & 1))


def state_out_code(relay_1: bool, relay_2: bool) -> int:
    """The State_Out code for two relay states."""
    return 1 + (2 if relay_1 else 0) + (1 if relay_2 else 0)


def state_inputs_code(high: tuple[bool, bool, bool]) -> int:
    """The State_Inputs code for three input levels."""
    return (0 if high[0] else 4) + (0 if high[1] else 2) + (0 if high[2] else 1)


def watts_dir_code(reversed_: tuple[bool, bool, bool]) -> int:
    """The State_Watts_Dir code for three line directions."""
    return _WATTS_DIR_ORDER.index("".join("R" if r else "F" for r in reversed_)) + 1


def add_derived(values: dict[str, FieldValue]) -> None:
    """Fill the derived fields (signed watts, power factors) in place.

    Values that cannot be decoded are left out rather than guessed.
    """
    total, reverse = values.get("kWh_Tot"), values.get("Rev_kWh_Tot")
    if isinstance(total, (int, float)) and isinstance(reverse, (int, float)):
        # kWh_Tot is forward plus reverse (EKM); registers carry at most 2 decimals.
        values["Fwd_kWh_Tot"] = round(total - reverse, 2)
        values["Net_kWh_Tot"] = round(total - 2 * reverse, 2)
    direction = values.get("State_Watts_Dir")
    reversed_ = (False, False, False)
    if isinstance(direction, int):
        try:
            reversed_ = lines_reversed(direction)
        except ValueError:
            direction = None
    total = 0
    complete = True
    for line in (1, 2, 3):
        watts = values.get(f"RMS_Watts_Ln_{line}")
        if isinstance(watts, int) and direction is not None:
            signed = -watts if reversed_[line - 1] else watts
            values[f"Net_Calc_Watts_Ln_{line}"] = signed
            total += signed
        else:
            complete = False
        cos = values.get(f"Cos_Theta_Ln_{line}")
        if isinstance(cos, str):
            factor = _power_factor_of(cos)
            if factor is not None:
                values[f"Power_Factor_Ln_{line}"] = factor
    if complete:
        values["Net_Calc_Watts_Tot"] = total
    elif isinstance(values.get("RMS_Watts_Tot"), int) and direction is None:
        # v3 meters have no direction flags: their watts are import only.
        for line in (1, 2, 3):
            watts = values.get(f"RMS_Watts_Ln_{line}")
            if isinstance(watts, int):
                values[f"Net_Calc_Watts_Ln_{line}"] = watts
        values["Net_Calc_Watts_Tot"] = values["RMS_Watts_Tot"]


# What a reading without keys beyond the field table holds in `extra` (shared, never changed).
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One reading of one meter, whatever the connection mode.

    `values` and `extra` are read-only: typed as Mapping, and never changed once the
    reading is made (make_reading hands each a dict of its own). They are plain dicts,
    not MappingProxyType views, because every poll keeps a reading per meter and the
    garbage collector walks what it tracks: a view is one more object each, and Python
    3.13 does not track a dict of numbers and text at all (3.14 does). A reading costs the
    collector 1 object on 3.13 and 3 on 3.14, where views made it 3 and 5.
    """

    address: str  # 12 digits
    protocol: Protocol
    model: str  # hex of the two model bytes, e.g. "1024"
    firmware: str  # hex of the firmware byte, e.g. "15"
    values: Mapping[str, FieldValue]
    meter_time: datetime | None = None
    # When the reading was taken (UTC); for cloud reads, Time_Stamp_UTC_ms.
    timestamp: datetime | None = None
    # Keys the source sent that the field table does not know (cloud/Push3 only).
    extra: Mapping[str, Any] = _NO_EXTRA

    def __getitem__(self, name: str) -> FieldValue:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, name: str, default: FieldValue | None = None) -> FieldValue | None:
        """The value of field `name`, or `default` if this reading lacks it."""
        return self.values.get(name, default)

    def input_high(self, line: int) -> bool | None:
        """Pulse input `line` (1..3) high, or None if the reading lacks the state."""
        return self._decoded("State_Inputs", int, lambda state: inputs_high(state)[line - 1])

    def relay_closed(self, relay: int) -> bool | None:
        """Relay `relay` (1 or 2) closed/on, or None without a State_Out."""
        return self._decoded("State_Out", int, lambda state: relays_closed(state)[relay - 1])

    def power_factor(self, line: int) -> PowerFactor | None:
        """Power factor and lead/lag of `line`, from its Cos_Theta."""
        return self._decoded(f"Cos_Theta_Ln_{line}", str, parse_cos_theta)

    def _decoded[V: FieldValue, R](self, name: str, kind: type[V], decode: Callable[[V], R]) -> R | None:
        """Field `name` decoded; None if the reading lacks it, holds another `kind`, or it does not decode."""
        value = self.values.get(name)
        if not isinstance(value, kind):
            return None
        try:
            return decode(value)
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `ekm read --json`: fields plus Meter, Model, Firmware, Protocol."""
        out: dict[str, Any] = {
            "Meter": self.address,
            "Model": self.model,
            "Firmware": self.firmware,
            "Protocol": str(self.protocol),
        }
        values = self.values
        out.update((name, values[name]) for name in FIELDS if name in values)
        return out


def make_reading(
    address: str,
    protocol: Protocol,
    model: str,
    firmware: str,
    values: dict[str, FieldValue],
    *,
    timestamp: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> MeterReading:
    """Build a reading: derived fields added, meter time decoded.

    `values` and `extra` become the reading's own: the caller must not change them after.
    """
    add_derived(values)
    meter_time = values.get("Meter_Time")
    return MeterReading(
        address=address,
        protocol=protocol,
        model=model,
        firmware=firmware,
        values=values,
        meter_time=parse_meter_time(meter_time) if isinstance(meter_time, str) else None,
        timestamp=timestamp,
        extra=extra or _NO_EXTRA,
    )


def normalize_address(address: str | int) -> str:
    """A meter address as 12 digits, shorter numbers left-padded; ValueError otherwise."""
    text = str(address).strip()
    if not text.isdigit() or len(text) > 12:
        raise ValueError(f"meter address must be up to 12 digits, got {text!r}")
    return text.zfill(12)
