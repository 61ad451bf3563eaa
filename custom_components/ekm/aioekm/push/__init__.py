"""The EKM Push APIs: the cloud client (every sub-API) and the Push3 gateway's local API."""

from .account import Account, Gateway, KeyType
from .cloud import PushClient
from .mapping import MeterProblem, RealtimeResult, Unavailable
from .push3 import Push3Client
from .summary import GatewayStatus

__all__ = [
    "Account",
    "Gateway",
    "GatewayStatus",
    "KeyType",
    "MeterProblem",
    "Push3Client",
    "PushClient",
    "RealtimeResult",
    "Unavailable",
]
