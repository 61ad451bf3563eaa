"""aioekm: asyncio library for EKM Metering Omnimeters (RS-485) and the EKM Push API.

Home Assistant-free; could ship to PyPI unchanged.
"""

from .errors import EkmError
from .fields import FIELDS, Field, Kind, Layout, Quantity
from .readings import MeterReading, Protocol, normalize_address

__all__ = [
    "FIELDS",
    "EkmError",
    "Field",
    "Kind",
    "Layout",
    "MeterReading",
    "Protocol",
    "Quantity",
    "normalize_address",
]
