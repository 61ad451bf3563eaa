"""The Omnimeter RS-485 protocol, client side.

crc, requests (what the client sends), frames (the replies), plausibility (what the CRC
misses), tariffs (time-of-use tables: schedules, seasons, holidays), commands (writes),
transport (the byte link), redaction (no password in serialx's logs), port_url (no
credentials in a shown port URL), port (reopened with backoff), exchange (one reply per
request, retries), freshness (stale replies told by the meter's clock), settings (the
setters) and bus (EkmBus, the client).
"""

from .bus import EkmBus, MeterStats

__all__ = ["EkmBus", "MeterStats"]
