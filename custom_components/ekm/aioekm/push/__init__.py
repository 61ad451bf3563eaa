"""The EKM Push APIs: the cloud client (every sub-API) and the Push3 gateway's local API."""

from .cloud import PushClient
from .push3 import Push3Client

__all__ = ["Push3Client", "PushClient"]
