"""The Omnimeter RS-485 protocol: CRC, frames, write commands, the serial link and the bus client."""

from .bus import EkmBus, MeterStats

__all__ = ["EkmBus", "MeterStats"]
