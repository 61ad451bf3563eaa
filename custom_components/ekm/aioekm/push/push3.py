"""Client of a Push3 gateway's local LAN API: `http://<host>/readMeter?key=...`.

The gateway answers `{"<12-digit address>": [reads]}` with numeric values; the
reads become the same MeterReading as the cloud and RS-485 sides. A Push3
answers a wrong key with HTTP 500, so that status means "key refused" here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import replace
import re

import aiohttp
from yarl import URL

from ..errors import AuthenticationError, PushApiError
from ..readings import normalize_address
from .decoding import JsonLimits
from .http import MAX_BODY_BYTES, HttpTransport, RetryPolicy, build_url, check_base_url
from .mapping import RealtimeResult, push3_result, with_inputs

PUSH3_RETRY = RetryPolicy(attempts=2)
# A gateway's answer: an object of meters, each a list of at most cnt (<= 1000) reads.
PUSH3_LIMITS = JsonLimits(array=1000)


# The bodies a Push3 sends with the HTTP 500 of a wrong key: a bare status text, or one naming the key.
_GENERIC_500 = frozenset({b"", b"internal server error", b"500 internal server error"})
# "key" as a word ("invalid key", "key_mismatch"), not inside one ("monkey", "keyboard").
_KEY_WORD = re.compile(rb"(?<![a-z])key(?![a-z])")


def _push3_status(status: int, body: bytes) -> PushApiError | None:
    """A 500 is a refused key when its body is the bare status text or speaks of the key.

    A 500 that says something else is a real failure, left to the usual mapping
    (ServerError, retried).
    """
    if status != 500:
        return None
    text = body[:500].strip().lower()
    if text in _GENERIC_500 or _KEY_WORD.search(text):
        return AuthenticationError(
            "GET /readMeter: the gateway refused the request (HTTP 500); is the key right?",
            status=status,
        )
    return None


def gateway_url(host: str) -> URL:
    """`http://<host>` for a gateway's host or IP (a port allowed); `http://` or `https://` in front is read.

    Without this, "http://192.168.1.5" became a request to the host named "http".
    """
    text = host.strip()
    scheme, sep, _ = text.partition("://")
    if sep and scheme.lower() not in ("http", "https"):
        raise ValueError("host must be a name or IP address (http:// or https:// in front at most)")
    url = check_base_url(text if sep else f"http://{text}", "host")
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError("host must be a name or IP address, without a path or query")
    return url


class Push3Client:
    """Read the meters of one Push3 gateway over the LAN."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        key: str,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = PUSH3_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """`host` is the gateway's IP or name; `base_url` overrides `http://<host>` (tests, proxies)."""
        if not key:
            raise ValueError("the gateway key is required")
        if not (base_url or host.strip()):
            raise ValueError("the gateway host is required")
        self._key = key
        self.base_url = check_base_url(base_url, "base_url") if base_url else gateway_url(host)
        self._http = HttpTransport(
            session,
            secrets=lambda: (self._key,),
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            map_status=_push3_status,
            max_body_bytes=max_body_bytes,
        )

    def __repr__(self) -> str:
        return f"Push3Client(base_url={self._http.safe(str(self.base_url))!r}, key=***)"

    @property
    def requests(self) -> int:
        return self._http.requests

    async def read_meters(
        self,
        meters: Iterable[str | int] | None = None,
        *,
        cnt: int = 1,
        map_fields: Collection[str] | None = None,
    ) -> RealtimeResult:
        """The newest good reading of each meter behind the gateway.

        The gateway always answers for all its meters; with `meters`, only those are kept
        (the others of them get a `MeterProblem`, NOT_ANSWERED). `map_fields` maps only
        those fields, as for PushClient.read_meters. The local answer carries no gateway
        MAC (docs/push-api.md, "Push3 local API").
        """
        if not 1 <= cnt <= 1000:
            raise ValueError("cnt must be 1..1000")
        requested = [normalize_address(m) for m in meters] if meters is not None else []
        url = build_url(self.base_url, "readMeter", {"key": self._key, "cnt": str(cnt)})
        only = with_inputs(map_fields) if map_fields is not None else None
        # Mapped beside the decoding: a large answer is mapped off the event loop too.
        answer, sent = await self._http.request_counted(
            "GET",
            url,
            expected="meters keyed by address",
            limits=PUSH3_LIMITS,
            convert=lambda payload: push3_result(payload, requested, only=only),
        )
        result: RealtimeResult = answer
        return replace(result, requests=sent)
