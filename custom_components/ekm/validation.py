"""Argument checks the actions share: numbers and text as a user may type them, and no other.

voluptuous' Coerce(int) lets through what Python's int() takes: True, "١٠" (Arabic-Indic
digits), 1.9 (as 1), and raises OverflowError (not vol.Invalid) on infinity. These checks
say no to all of them with vol.Invalid, which Home Assistant reports as a bad argument.
"""

from __future__ import annotations

from collections.abc import Callable
import math
import re
from typing import Any, Final

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

_WHOLE: Final = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL: Final = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _number(value: Any) -> float | int:
    """An int or float of `value`: a number (not a boolean) or its ASCII spelling."""
    if isinstance(value, bool):
        raise vol.Invalid(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:  # no argument needs more; int() of thousands of digits is refused anyway
            raise vol.Invalid("expected a number, got a long text")
        if _WHOLE.match(text):
            return int(text)
        if _DECIMAL.match(text):
            return float(text)
    raise vol.Invalid(f"expected a number, got {value!r}")


def whole_number(minimum: int, maximum: int) -> Callable[[Any], int]:
    """A validator of a whole number in [minimum, maximum] (2, 2.0 or "2"; not 2.5, True or "٢")."""

    def validate(value: Any) -> int:
        number = _number(value)
        if isinstance(number, float) and not (math.isfinite(number) and number.is_integer()):
            raise vol.Invalid(f"expected a whole number, got {value!r}")
        if not minimum <= number <= maximum:
            raise vol.Invalid(f"expected a whole number from {minimum} to {maximum}, got {value!r}")
        return int(number)

    return validate


def finite_number(minimum: float, maximum: float) -> Callable[[Any], float]:
    """A validator of a finite number in [minimum, maximum] (not nan, infinity, True or "١")."""

    def validate(value: Any) -> float:
        number = float(_number(value))
        if not (math.isfinite(number) and minimum <= number <= maximum):
            raise vol.Invalid(f"expected a number from {minimum:g} to {maximum:g}, got {value!r}")
        return number

    return validate


def printable_text(max_length: int) -> Callable[[Any], str]:
    """A validator of non-empty printable text (no control characters), stripped, at most max_length."""

    def validate(value: Any) -> str:
        text = cv.string(value).strip()  # a number from YAML is fine as its text
        if not text:
            raise vol.Invalid("expected text, got nothing")
        if not text.isprintable():
            raise vol.Invalid("expected printable text (no control characters)")
        if len(text) > max_length:
            raise vol.Invalid(f"expected at most {max_length} characters, got {len(text)}")
        return text

    return validate
