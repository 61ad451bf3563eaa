"""What a meter's pulse input measures: one config subentry per configured input.

Omnimeter v4/v5 count pulses on three inputs, from the pulse outputs of water meters, gas
meters or other electricity meters. The meter knows only a count; the user says what one
pulse is (flow_pulse_input.py), and the input becomes a quantity Home Assistant's Energy
dashboard takes: water, gas (a volume, or an energy where the gas is billed by it) or
electricity. The unique id of its sensor carries the unit and the amount per pulse: a
changed amount is a new series rather than a jump in the old one (flow_pulse_input.py tells
the user before the change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import hashlib
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import UnitOfEnergy, UnitOfVolume

from .const import DOMAIN

SUBENTRY_PULSE_INPUT: Final = "pulse_input"
CONF_METER: Final = "meter"
CONF_INPUT: Final = "input"
CONF_MEASURES: Final = "measures"
CONF_UNIT: Final = "unit"
CONF_PER_PULSE: Final = "per_pulse"  # the amount one pulse stands for, in `unit`, as text
CONF_NAME: Final = "name"  # the user's name for the sensor; "" for the usual one ("Water" ...)

INPUTS: Final = (1, 2, 3)
# The largest amount one pulse may stand for: far above any meter's pulse value (1 m³, 10 kWh).
MAX_PER_PULSE: Final = Decimal(1_000_000)


class Measures(StrEnum):
    """What is connected to the input."""

    WATER = "water"
    GAS = "gas"
    ENERGY = "energy"


# The units the Energy dashboard accepts for each kind of source (energy/validate.py).
UNITS: Final[Mapping[Measures, tuple[str, ...]]] = {
    Measures.WATER: (
        UnitOfVolume.LITERS,
        UnitOfVolume.CUBIC_METERS,
        UnitOfVolume.GALLONS,
        UnitOfVolume.CUBIC_FEET,
        UnitOfVolume.CENTUM_CUBIC_FEET,
    ),
    Measures.GAS: (
        UnitOfVolume.CUBIC_METERS,
        UnitOfVolume.CUBIC_FEET,
        UnitOfVolume.CENTUM_CUBIC_FEET,
        UnitOfEnergy.KILO_WATT_HOUR,
        UnitOfEnergy.MEGA_JOULE,
    ),
    Measures.ENERGY: (UnitOfEnergy.WATT_HOUR, UnitOfEnergy.KILO_WATT_HOUR),
}
_ENERGY_UNITS: Final = frozenset(UnitOfEnergy)


def per_pulse(value: Any) -> Decimal:
    """The amount per pulse: a positive, finite number of at most MAX_PER_PULSE (ValueError)."""
    text = str(value).strip()
    try:
        if not text.isascii():  # Decimal takes '١' (Arabic-Indic one): a person typing it meant no number
            raise InvalidOperation
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite() or not 0 < amount <= MAX_PER_PULSE:
        raise ValueError(f"an amount per pulse is above 0 and at most {MAX_PER_PULSE}, got {value!r}")
    return amount


@dataclass(frozen=True, slots=True)
class PulseInput:
    """One configured input of one meter."""

    subentry_id: str
    name: str  # the user's name for the sensor, "" for the usual one
    meter: str  # 12 digits
    number: int  # 1..3
    measures: Measures
    unit: str
    per_pulse: Decimal
    title: str = ""  # the subentry's title: its device's name

    @classmethod
    def of(cls, subentry_id: str, data: Mapping[str, Any], title: str = "") -> PulseInput:
        """From a subentry's data (ValueError if the data cannot be one)."""
        measures = Measures(data[CONF_MEASURES])
        unit = str(data[CONF_UNIT])
        if unit not in UNITS[measures]:
            raise ValueError(f"{unit!r} is not a unit of {measures}")
        number = int(data[CONF_INPUT])
        if number not in INPUTS:
            raise ValueError(f"pulse input {number} is not 1..3")
        name = str(data.get(CONF_NAME) or "").strip()
        amount = per_pulse(data[CONF_PER_PULSE])
        return cls(subentry_id, name, str(data[CONF_METER]), number, measures, unit, amount, title)

    @property
    def device_class(self) -> SensorDeviceClass:
        if self.measures is Measures.WATER:
            return SensorDeviceClass.WATER
        if self.measures is Measures.GAS and self.unit not in _ENERGY_UNITS:
            return SensorDeviceClass.GAS
        return SensorDeviceClass.ENERGY  # electricity, or gas billed by its energy

    @property
    def device_identifier(self) -> tuple[str, str]:
        """The device of what is connected (the water or gas meter), behind the Omnimeter."""
        return (DOMAIN, f"{self.meter}_input_{self.number}")

    @property
    def count_field(self) -> str:
        """The meter's field that counts this input's pulses."""
        return f"Pulse_Cnt_{self.number}"

    @property
    def key(self) -> str:
        """What the sensor's unique id adds to the meter's address: the input, what it
        measures and a digest of unit and amount (another amount is another series)."""
        digest = hashlib.sha256(f"{self.unit}|{self.per_pulse.normalize()}".encode()).hexdigest()[:8]
        return f"Pulse_Input_{self.number}_{self.measures}_{digest}"

    @property
    def statistic_key(self) -> str:
        """The object id of the cloud history statistic: ekm:<address>_<measures>_<input>."""
        return f"{self.measures}_{self.number}"

    def amount(self, pulses: float) -> float:
        """`pulses` in this input's unit."""
        return float(Decimal(int(pulses)) * self.per_pulse)


def count_field_of_key(key: str) -> str | None:
    """The pulse count field a pulse input sensor's key (PulseInput.key) shows, None for other keys."""
    stem, _, rest = key.partition("_Input_")
    number = rest.partition("_")[0]
    if stem != "Pulse" or number not in {str(n) for n in INPUTS}:
        return None
    return f"Pulse_Cnt_{number}"


def pulse_inputs(subentries: Mapping[str, Any]) -> list[PulseInput]:
    """The valid pulse inputs among a config entry's subentries (ConfigSubentry objects)."""
    inputs = []
    for subentry_id, subentry in subentries.items():
        if getattr(subentry, "subentry_type", None) != SUBENTRY_PULSE_INPUT:
            continue
        try:
            inputs.append(PulseInput.of(subentry_id, subentry.data, subentry.title))
        except (KeyError, TypeError, ValueError):
            continue  # written by a newer version, or by hand: shown by diagnostics, not guessed
    return inputs
