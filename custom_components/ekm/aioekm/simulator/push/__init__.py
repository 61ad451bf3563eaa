"""A fake EKM Push API (aiohttp.web) serving the same virtual fleet as the RS-485 face.

One module per endpoint family; server.py composes them. Summaries come from the
fleet's closed-form history, so they agree with the registers the meters show.
"""

from .access import SimKeys, gateway_of
from .faults import BROKEN_JSON, ERROR_TEXT, HTML_PAGE, Fault
from .push3 import Push3Gateway
from .server import LoggedRequest, PushServer

__all__ = [
    "BROKEN_JSON",
    "ERROR_TEXT",
    "HTML_PAGE",
    "Fault",
    "LoggedRequest",
    "Push3Gateway",
    "PushServer",
    "SimKeys",
    "gateway_of",
]
