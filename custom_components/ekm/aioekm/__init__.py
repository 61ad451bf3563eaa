"""aioekm: asyncio library for EKM Metering Omnimeters (RS-485) and the EKM Push API.

Home Assistant-free; could ship to PyPI unchanged.
"""

from .errors import (
    AuthenticationError,
    CommandRejectedError,
    EkmConnectionError,
    EkmError,
    EkmTimeoutError,
    FrameError,
    PushApiError,
    WriteUnconfirmedError,
)
from .fields import FIELDS, Field, Kind, Layout, Quantity
from .push import Push3Client, PushClient
from .readings import MeterReading, Protocol, normalize_address
from .rs485 import EkmBus

__all__ = [
    "FIELDS",
    "AuthenticationError",
    "CommandRejectedError",
    "EkmBus",
    "EkmConnectionError",
    "EkmError",
    "EkmTimeoutError",
    "Field",
    "FrameError",
    "Kind",
    "Layout",
    "MeterReading",
    "Protocol",
    "Push3Client",
    "PushApiError",
    "PushClient",
    "Quantity",
    "WriteUnconfirmedError",
    "normalize_address",
]
