"""Energy prices of an entry (options), in Home Assistant's currency.

One price per kWh for every tariff is the common case; a tariff may have its own price
instead (T1-T4, as the meter counts them), and energy returned to the grid a price of its
own. Cloud entries turn them into cost statistics (history_derived.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Any, Final

from .const import CONF_PRICE, CONF_PRICE_RETURN, CONF_PRICE_TARIFF

TARIFFS: Final = (1, 2, 3, 4)
# The highest price per kWh accepted: far above any tariff, low enough to catch a typo in
# the unit (a price per MWh).
MAX_PRICE: Final = 1000.0
PRICE_KEYS: Final = (CONF_PRICE, *(CONF_PRICE_TARIFF.format(n) for n in TARIFFS), CONF_PRICE_RETURN)


@dataclass(frozen=True, slots=True)
class Prices:
    """Price per kWh of each tariff (None: no import price set) and of returned energy."""

    tariffs: Mapping[int, float] | None
    returned: float | None

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Prices:
        """From an entry's options; what is missing or not a valid price counts as not set."""
        common = _price(options.get(CONF_PRICE))
        tariffs = None
        if common is not None:
            tariffs = {}
            for n in TARIFFS:
                own = _price(options.get(CONF_PRICE_TARIFF.format(n)))
                tariffs[n] = common if own is None else own
        return cls(tariffs, _price(options.get(CONF_PRICE_RETURN)))


def _price(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and 0 <= price <= MAX_PRICE else None


def price_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors of the price fields: not a finite number in range, or a tariff's own
    price without the price of every tariff (the others would have none)."""
    errors: dict[str, str] = {}
    for key in PRICE_KEYS:
        if user_input.get(key) is not None and _price(user_input[key]) is None:
            errors[key] = "invalid_price"
    if CONF_PRICE not in errors and user_input.get(CONF_PRICE) is None:
        for n in TARIFFS:
            key = CONF_PRICE_TARIFF.format(n)
            if user_input.get(key) is not None and key not in errors:
                errors[key] = "tariff_price_needs_price"
    return errors


def price_options(user_input: Mapping[str, Any]) -> dict[str, float]:
    """The prices the user set, to store in the options (an empty field is no price)."""
    return {key: float(user_input[key]) for key in PRICE_KEYS if user_input.get(key) is not None}
