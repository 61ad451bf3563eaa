"""How each value of a Push answer becomes what a reading keeps: by its field's Kind.

Values arrive as strings or numbers. Numbers are plain ASCII (float() also takes
'١٢٣٤٥' and '12_345.67', which no meter sends) and no larger than a register holds;
a value that does not fit raises ValueError, and push/mapping.py keeps it in `extra`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
import re
from typing import Any

from ..fields import FIELDS, Field, Kind
from ..readings import FieldValue, PowerFactor, format_cos_theta, parse_cos_theta

_METER_TIME = re.compile(r"[0-9]{14}")  # yymmddwwhhmmss
# No register holds more than 2**53 (every value stays exact as a float and an int).
_MAX_EXACT = 2**53


def _plain(text: str) -> str:
    """`text` if it is plain ASCII: float() also takes '١٢٣٤٥' and '12_345.67', which no meter sends."""
    if not text.isascii() or "_" in text:
        raise ValueError("not a plain ASCII number")
    return text


def parse_number(raw: Any) -> float:
    """A finite number no register exceeds, from a JSON number or its text; ValueError otherwise."""
    kind = type(raw)  # exact types first: this runs for nearly every value of a poll
    value: float
    if kind is float:
        value = raw
    elif kind is str:
        value = float(_plain(raw))  # float() itself ignores surrounding whitespace
    elif kind is int:
        if abs(raw) > _MAX_EXACT:
            raise ValueError("too large a number")
        value = float(raw)
    elif isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"not a number: {type(raw).__name__}")
    else:
        value = float(_plain(raw) if isinstance(raw, str) else raw)
    # One comparison refuses NaN and infinities too (they compare False).
    if not -_MAX_EXACT <= value <= _MAX_EXACT:
        raise ValueError("not a finite number a meter can show")
    return value


def _whole(fld: Field) -> Callable[[Any], FieldValue]:
    def parse(raw: Any) -> FieldValue:
        number = parse_number(raw)
        if not number.is_integer():
            raise ValueError(f"{fld.name} is not a whole number")
        return int(number)

    return parse


@lru_cache(maxsize=1024)
def _cos_theta_text(raw: str) -> str:
    """A Cos_Theta in the library's form; a meter shows a few hundred distinct texts at most."""
    return format_cos_theta(parse_cos_theta(raw))


def _cos_theta(fld: Field) -> Callable[[Any], FieldValue]:
    def parse(raw: Any) -> FieldValue:
        if not isinstance(raw, str) or len(raw) > 12:  # '0.83 L' or 'L083'; longer is not one
            raise ValueError(f"{fld.name} is not a power factor")
        return _cos_theta_text(raw)

    return parse


def _meter_time(fld: Field) -> Callable[[Any], FieldValue]:
    def parse(raw: Any) -> FieldValue:
        text = f"{raw:014d}" if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if isinstance(text, str) and _METER_TIME.fullmatch(text.strip()):
            return text.strip()
        raise ValueError(f"{fld.name} is not a yymmddwwhhmmss time")

    return parse


def _code(fld: Field) -> Callable[[Any], FieldValue]:
    def parse(raw: Any) -> FieldValue:
        # Numbers sent for codes become their text.
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise ValueError(f"{fld.name} is not a code")
        return str(raw).strip()

    return parse


def _parser(fld: Field) -> Callable[[Any], FieldValue]:
    kind = fld.kind
    if kind in (Kind.KWH, Kind.DECIMAL):
        return parse_number
    if kind in (Kind.INT, Kind.DERIVED):
        return _whole(fld)
    if kind is Kind.COS_THETA:
        return _cos_theta(fld)
    if kind is Kind.TIME:
        return _meter_time(fld)
    return _code(fld)


# One parser per field, chosen once: mapping a poll of 1000 meters calls them ~100 000 times.
PARSERS: dict[str, Callable[[Any], FieldValue]] = {name: _parser(fld) for name, fld in FIELDS.items()}


def parse_value(fld: Field, raw: Any) -> FieldValue:
    """A JSON value as the reading keeps field `fld`; ValueError if it does not fit."""
    return PARSERS[fld.name](raw)


def legacy_power_factor(raw: Any) -> PowerFactor:
    """The cloud's Power_Factor_Ln_N: EKM's legacy integer 0-200 or a fraction 0-1.

    The integer is 100 at unity, the PF * 100 lagging below it and 200 - PF * 100
    leading above it (83 = 0.83 lag, 117 = 0.83 lead). ValueError otherwise.
    """
    number = parse_number(raw)
    fraction = (isinstance(raw, str) and "." in raw) or not number.is_integer()
    if fraction:
        if not 0.0 <= number <= 1.0:
            raise ValueError("a power factor fraction is 0..1")
        return PowerFactor(number, None)
    if not 0 <= number <= 200:
        raise ValueError("the legacy power factor is 0..200")
    if number == 100:
        return PowerFactor(1.0, None)
    if number < 100:
        return PowerFactor(number / 100, "lag")
    return PowerFactor(round((200 - number) / 100, 2), "lead")
