"""Turn EKM Push answers into typed errors, and keep secrets out of every message.

EKM answers errors with an HTTP status and, in a JSON body, one of its own
status codes (1000-1300, see the API overview). Where the record is thin we
accept the code and message under the names clients have seen
(`code`/`status_code`, `message`/`error`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
import json
import re
import time
from typing import Any
from urllib.parse import quote, quote_plus

from ..errors import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NoDataError,
    NotFoundError,
    PushApiError,
    RateLimitedError,
    ServerError,
    UnknownMeterError,
)

REDACTED = "***"
# Query parameters and headers that carry secrets, wherever they show up in text.
_SECRET_PARAM = re.compile(r"(?i)\b(key|token|api_token|password)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',]+")
_CODE_NAMES = ("code", "status_code", "statusCode", "error_code", "Code")
_MESSAGE_NAMES = ("message", "error", "msg", "Message", "Error")
_MAX_MESSAGE = 200
_LABELS: dict[type[PushApiError], str] = {
    AuthenticationError: "key or API token refused",
    UnknownMeterError: "meter not found for this key",
    NoDataError: "no data",
    NotFoundError: "not found",
    InvalidRequestError: "invalid request",
    ServerError: "server error",
}


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret (also URL-encoded) and every key=/Bearer value masked."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, REDACTED)
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _code_of(body: Mapping[str, Any]) -> int | None:
    for name in _CODE_NAMES:
        raw = body.get(name)
        if isinstance(raw, bool):
            continue
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw.strip())
    return None


def _message_of(body: Mapping[str, Any]) -> str | None:
    for name in _MESSAGE_NAMES:
        raw = body.get(name)
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
    return None


def decode_json(raw: bytes) -> Any:
    """The JSON value of a body, or raise ValueError."""
    return json.loads(raw.decode("utf-8-sig"))


def _error_class(status: int, code: int | None, message: str | None) -> type[PushApiError] | None:
    if code is not None:
        if 1000 <= code <= 1099:
            return NoDataError
        if 1100 <= code <= 1199:
            return InvalidRequestError
        if code == 1200:
            return UnknownMeterError
        if 1300 <= code <= 1399:
            return ServerError
        if code in (401, 403):
            return AuthenticationError
    if message and "invalid key" in message.lower():
        return AuthenticationError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if 400 <= status < 500:
        return InvalidRequestError
    if status >= 500:
        return ServerError
    return None


def _looks_like_error_body(body: Mapping[str, Any]) -> bool:
    """A 2xx JSON object that is an error report rather than data."""
    code = _code_of(body)
    if code is not None and (1000 <= code <= 1399 or code in (401, 403)):
        return True
    return isinstance(body.get("error"), str) and len(body) <= 3


def error_for(
    what: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    secrets: Iterable[str | None],
) -> PushApiError | None:
    """The typed error an answer stands for, or None if it is a success.

    `what` names the request without its query (e.g. 'GET /readMeter').
    A 2xx answer whose body is not JSON is left to the caller, which knows
    what it expected.
    """
    secrets = tuple(secrets)
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        hint = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimitedError(f"{what}: rate limited (HTTP 429){hint}", retry_after=retry_after)
    body: Any = None
    try:
        body = decode_json(raw)
    except ValueError:
        body = None
    code: int | None = None
    message: str | None = None
    if isinstance(body, Mapping):
        if 200 <= status < 300 and not _looks_like_error_body(body):
            return None
        code = _code_of(body)
        message = _message_of(body)
    elif 200 <= status < 300:
        return None
    elif raw:
        message = describe_body(raw)
    cls = _error_class(status, code, message)
    if cls is None:
        cls = InvalidRequestError
    parts = [f"HTTP {status}"] + ([f"EKM {code}"] if code is not None and code >= 1000 else [])
    text = f"{what}: {_LABELS.get(cls, 'error')} ({', '.join(parts)})"
    if message:
        text += ": " + redact(message, secrets)[:_MAX_MESSAGE]
    return cls(text, status=status, code=code if code is not None and code >= 1000 else None)


def describe_body(raw: bytes) -> str:
    """A short, safe description of a body that is not JSON."""
    text = raw[:2000].decode("utf-8", "replace").strip()
    if text[:1] == "<" or "<html" in text[:200].lower():
        return "an HTML page"
    first_line = text.splitlines()[0] if text else ""
    return f"text {first_line[:80]!r}" if first_line else "an empty body"


def malformed(what: str, raw: bytes, secrets: Iterable[str | None], expected: str) -> MalformedResponseError:
    """The error for a 2xx body that is not the JSON `expected`."""
    return MalformedResponseError(
        redact(f"{what}: expected {expected}, got {describe_body(raw)}", secrets)[: _MAX_MESSAGE + 80],
        status=200,
    )
