"""The Omnimeter RS-485 protocol, client side.

crc, requests (what the client sends), frames (the replies), plausibility (what the CRC
misses), tariffs (time-of-use tables: schedules, seasons, holidays), commands (writes),
transport (the byte link), redaction (no password in serialx's logs), port (reopened with
backoff), exchange (one reply per request, retries), settings (the setters) and bus
(EkmBus, the client).
"""

from .bus import EkmBus, MeterStats

__all__ = ["EkmBus", "MeterStats"]
