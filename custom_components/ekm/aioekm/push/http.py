"""HTTP plumbing shared by the Push cloud client and the Push3 local client.

One place sends requests, maps answers to typed errors, retries what is safe
to retry and keeps the key and API token out of logs and messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
import gc
import logging
import random
import threading
from typing import Any, TypedDict, Unpack

import aiohttp
from yarl import URL

from ..errors import EkmConnectionError, EkmTimeoutError, MalformedResponseError, PushApiError, ServerError
from .decoding import DEFAULT_LIMITS, JsonLimits, TooLargeError, decode_json
from .errors import error_for, malformed
from .inflate import ACCEPT_ENCODING, CorruptBodyError, Inflater, UnsupportedEncodingError
from .redaction import holds_secret, redact, redact_value

_LOGGER = logging.getLogger(__package__)

type Params = Mapping[str, str | Sequence[str]]

# Largest answer read (decoded JSON takes about three times its size in memory). Real
# answers fit many times over: a Summary page of 1000 rows with every field is about
# 5 MB, a Realtime answer for 100 meters with cnt=10 about 1.5 MB.
MAX_BODY_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
# Larger bodies are decoded (and mapped) in a worker thread: a body this size decodes in
# under 5 ms whatever it holds (benchmarks/push_answer_bounds.py).
ON_LOOP_BYTES = 64 * 1024
# Expanding a compressed body gives the loop a turn after each 256 KiB of output (< 1 ms).
_YIELD_EVERY = 256 << 10
# One large answer decoded at a time: the memory bound is per answer, not per request in flight.
_LARGE_ANSWERS = threading.Lock()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a GET is retried after a connection error or a 5xx.

    POST, PUT and DELETE are never retried: they may have taken effect.
    """

    attempts: int = 3  # tries in all, the first included
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...): exponential, jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        jitter: float = random.uniform(0.5, 1.0)
        return ceiling * jitter


DEFAULT_RETRY = RetryPolicy()


def short_address(address: str) -> str:
    """A 12-digit address without its zero padding, as the Realtime examples send it."""
    return address.lstrip("0") or "0"


def join_list(items: Iterable[str]) -> str:
    """Values of one query parameter as the API lists them: joined by `~`."""
    return "~".join(items)


def split_list(raw: str | None) -> list[str]:
    """A `~`-joined list (`,` accepted too, as people type it), without empty items."""
    if not raw:
        return []
    return [part for part in raw.replace(",", "~").split("~") if part]


def build_url(base: str | URL, path: str, params: Params) -> URL:
    """`base` + `path` with `params` (a sequence value repeats the parameter); `~` stays literal."""
    url = URL(str(base).rstrip("/") + "/" + path.lstrip("/"))
    query: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, str):
            query.append((name, value))
        else:
            query.extend((name, item) for item in value)
    return url.with_query(query) if query else url


def check_base_url(text: str | URL, what: str) -> URL:
    """`text` as a base URL: http(s), with a host and no user or password.

    Credentials in a URL would travel as a second Authorization beside the API token and
    show wherever the URL is printed; the key and token have their own arguments.
    """
    try:
        url = URL(text)
    except (ValueError, IndexError):  # yarl raises IndexError for "http://[]"
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if url.user is not None or url.password is not None:
        raise ValueError(f"{what} must not carry a user or password")
    return url


class RequestOptions(TypedDict, total=False):
    """What a request may carry besides its method and URL (defaults: HttpTransport._once)."""

    json_body: Any
    headers: Mapping[str, str] | None
    expected: str  # what the answer should be, for the message when it is not
    limits: JsonLimits  # what the decoded answer may hold
    convert: Callable[[Any], Any]  # turns the decoded answer into the result, beside the decoding


class HttpTransport:
    """Send JSON requests over an injected aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        secrets: Callable[[], Sequence[str | None]],
        timeout: float = 20.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        map_status: Callable[[int, bytes], PushApiError | None] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._session = session
        self._secrets = secrets
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        # Lets a caller give a status its own meaning (a Push3 says "bad key" with a 500).
        self._map_status = map_status
        self.max_body_bytes = max_body_bytes
        self.requests = 0  # HTTP requests sent, retries included

    def safe(self, text: str) -> str:
        """`text` with every secret masked."""
        return redact(text, self._secrets())

    async def request(self, method: str, url: URL, **options: Unpack[RequestOptions]) -> Any:
        """The decoded JSON answer; typed errors otherwise. Only GETs are retried."""
        payload, _ = await self.request_counted(method, url, **options)
        return payload

    async def request_counted(
        self, method: str, url: URL, **options: Unpack[RequestOptions]
    ) -> tuple[Any, int]:
        """Like request(), also telling how many HTTP requests it took."""
        attempts = self.retry.attempts if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, url, **options), attempt
            except (ServerError, EkmConnectionError, EkmTimeoutError) as err:
                if attempt >= attempts:
                    raise
                wait = self.retry.delay(attempt)
                _LOGGER.debug("%s %s failed (%s), retry %d in %.2f s", method, url.path, err, attempt, wait)
                await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        url: URL,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        expected: str = "a JSON document",
        limits: JsonLimits = DEFAULT_LIMITS,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
        what = f"{method} {url.path}"
        self.requests += 1
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("%s", self.safe(f"{method} {url}"))
        # Raised after the except clauses, so that the error does not chain (as __context__)
        # aiohttp's, whose text and request_info hold the URL with the key.
        failure: Exception | None = None
        try:
            async with asyncio.timeout(self.timeout):
                # The body is read as sent and expanded here under the size cap (push/inflate.py).
                async with self._session.request(
                    method,
                    url,
                    json=json_body,
                    headers={**(headers or {}), "Accept-Encoding": ACCEPT_ENCODING},
                    allow_redirects=False,
                    auto_decompress=False,
                ) as response:
                    pieces = await self._read_body(response, what)
                    status = response.status
                    reply_headers = dict(response.headers.items())
        except TimeoutError:
            failure = EkmTimeoutError(f"{what}: no answer within {self.timeout:g} s")
        except aiohttp.ClientError as err:
            # aiohttp messages can carry the full URL: keep only the class name and host.
            failure = EkmConnectionError(
                f"{what}: cannot talk to {url.host}:{url.port} ({type(err).__name__})"
            )
        if failure is not None:
            raise failure
        if self._map_status is not None and not 200 <= status < 300:
            special = self._map_status(status, _head(pieces, 1024))
            if special is not None:
                raise special

        def interpret() -> Any:
            raw = _joined(pieces)
            return self._interpret(
                what, status, reply_headers, raw, expected=expected, limits=limits, convert=convert
            )

        if sum(map(len, pieces)) <= ON_LOOP_BYTES:
            return interpret()
        return await asyncio.to_thread(_one_at_a_time, interpret)

    def _interpret(
        self,
        what: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        *,
        expected: str,
        limits: JsonLimits,
        convert: Callable[[Any], Any] | None,
    ) -> Any:
        """The answer decoded, checked for errors, its secrets masked and converted (or a typed error)."""
        secrets = self._secrets()
        try:
            payload, is_json = decode_json(raw, limits), True
        except TooLargeError as err:
            if 200 <= status < 300:
                raise MalformedResponseError(f"{what}: {err}; not decoded", status=status) from None
            payload, is_json = None, False
        except ValueError:
            payload, is_json = None, False
        error = error_for(what, status, headers, raw, body=payload, secrets=secrets)
        if error is not None:
            _LOGGER.debug("%s", self.safe(str(error)))
            raise error
        if not is_json:
            raise malformed(what, raw, secrets, expected)
        # A server may echo the key or token anywhere; what we hand on never carries them.
        if holds_secret(payload, secrets):
            payload = redact_value(payload, secrets)
        return payload if convert is None else convert(payload)

    async def _read_body(self, response: aiohttp.ClientResponse, what: str) -> list[bytes]:
        """The body in pieces, decompressed, refused beyond max_body_bytes (sent or expanded) early."""
        limit = self.max_body_bytes
        if response.content_length is not None and response.content_length > limit:
            raise self._too_large(what)
        encoding = response.headers.get("Content-Encoding", "").strip()
        # Expanded a chunk at a time and joined once, by the caller: one large expansion, or a
        # growing bytearray, would briefly need twice the cap.
        pieces: list[bytes] = []
        size = received = 0
        failure: MalformedResponseError | None = None
        try:
            inflater = Inflater(encoding) if encoding and encoding.lower() != "identity" else None
            async for chunk in response.content.iter_chunked(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise self._too_large(what)
                out = chunk if inflater is None else inflater.feed(chunk, min(limit - size, _CHUNK))
                while True:
                    pieces.append(out)
                    size += len(out)
                    if size > limit:
                        raise self._too_large(what)
                    if inflater is None or not inflater.pending:
                        break
                    if size % _YIELD_EVERY < len(out):
                        await asyncio.sleep(0)  # a bomb arrives whole: expanding it must not hold the loop
                    out = inflater.feed(b"", min(limit - size, _CHUNK))
            if inflater is not None:
                pieces.append(inflater.finish())
                size += len(pieces[-1])
        except (UnsupportedEncodingError, CorruptBodyError) as err:
            failure = MalformedResponseError(f"{what}: {err}", status=response.status)
        if failure is not None:
            raise failure
        if size > limit:
            raise self._too_large(what)
        return pieces

    def _too_large(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(f"{what}: answer larger than {self.max_body_bytes} bytes, not read")


def _joined(pieces: list[bytes]) -> bytes:
    """The pieces as one body, emptying `pieces`: a piece at a time, so that the body is held
    once (not twice) and no single copy of it holds the GIL (the caller may be a worker thread)."""
    if len(pieces) == 1:
        return pieces.pop()
    body = bytearray()
    pieces.reverse()
    while pieces:
        body += pieces.pop()
    # A bytearray reads as bytes everywhere the body goes; copying it to bytes would double it.
    return body  # type: ignore[return-value]


def _head(pieces: list[bytes], size: int) -> bytes:
    """The first `size` bytes of a body in pieces."""
    head = bytearray()
    for piece in pieces:
        if len(head) >= size:
            break
        head += piece[: size - len(head)]
    return bytes(head)


def _one_at_a_time(work: Callable[[], Any]) -> Any:
    """Run `work` (in a worker thread) while no other large answer is being decoded.

    The garbage collector is held off meanwhile: a decoded answer is a million new objects,
    and every full collection they set off would walk them all while holding the GIL (and
    so the event loop). They are freed by reference counting; nothing here makes cycles.
    """
    with _LARGE_ANSWERS:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return work()
        finally:
            if collecting:
                gc.enable()
