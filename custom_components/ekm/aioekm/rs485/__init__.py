"""The Omnimeter RS-485 protocol, client side.

crc, requests (what the client sends), frames (the replies), commands (writes), transport
(the byte link), port (reopened with backoff), exchange (one reply per request, retries),
settings (the setters) and bus (EkmBus, the client).
"""

from .bus import EkmBus, MeterStats

__all__ = ["EkmBus", "MeterStats"]
