"""Turn EKM Push answers into typed errors (never another exception), without secrets in them.

EKM answers errors with an HTTP status and, in a JSON body, one of its own
status codes (1000-1300; docs/push-api.md, "Errors and status codes"). Where
the record is thin we accept the code and message under the names clients have
seen (`code`/`status_code`, `message`/`error`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
import logging
import math
import re
import time
from typing import Any

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
from .decoding import decode_json  # noqa: F401 (where callers have always found it)
from .redaction import redact

_LOGGER = logging.getLogger(__package__)

# Longest wait a Retry-After can impose: beyond it the server is wrong, not busy.
MAX_RETRY_AFTER = 3600.0
# An EKM status code is a small number; anything else in a code field is not one.
_CODE_TEXT = re.compile(r"[0-9]{1,6}")
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


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None if absent or unreadable.

    Not bounded here: an 'inf' or a date in year 9999 come back as they are.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return None if math.isnan(seconds) else max(0.0, seconds)


def bounded_retry_after(what: str, value: str | None, secrets: Iterable[str | None] = ()) -> float | None:
    """The Retry-After to obey: at most MAX_RETRY_AFTER, with a warning when the server asked for more."""
    seconds = parse_retry_after(value)
    if seconds is not None and seconds > MAX_RETRY_AFTER:
        _LOGGER.warning(
            "%s: the server asks to wait %s (Retry-After %r); waiting at most %.0f s instead",
            what,
            f"{seconds:.0f} s" if math.isfinite(seconds) else "forever",
            redact(value or "", secrets)[:40],
            MAX_RETRY_AFTER,
        )
        return MAX_RETRY_AFTER
    return seconds


def _code_of(body: Mapping[str, Any]) -> int | None:
    for name in _CODE_NAMES:
        raw = body.get(name)
        if isinstance(raw, bool):
            continue
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and _CODE_TEXT.fullmatch(raw.strip()):
            return int(raw.strip())
    return None


def _message_of(body: Mapping[str, Any]) -> str | None:
    for name in _MESSAGE_NAMES:
        raw = body.get(name)
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
    return None


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
    *,
    body: Any,
    secrets: Iterable[str | None],
) -> PushApiError | None:
    """The typed error an answer stands for, or None if it is a success.

    `what` names the request without its query (e.g. 'GET /readMeter'); `body`
    is `raw` decoded, None if it is not JSON. A 2xx answer whose body is not
    JSON is left to the caller, which knows what it expected.
    """
    secrets = tuple(secrets)
    if status == 429:
        retry_after = bounded_retry_after(what, headers.get("Retry-After"), secrets)
        hint = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimitedError(f"{what}: rate limited (HTTP 429){hint}", retry_after=retry_after)
    if 300 <= status < 400:
        return _redirect(what, status, headers, secrets)
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
        message = describe_body(raw, secrets)
    cls = _error_class(status, code, message)
    if cls is None:
        cls = InvalidRequestError
    parts = [f"HTTP {status}"] + ([f"EKM {code}"] if code is not None and code >= 1000 else [])
    text = f"{what}: {_LABELS.get(cls, 'error')} ({', '.join(parts)})"
    if message:
        text += ": " + redact(message, secrets)[:_MAX_MESSAGE]
    return cls(text, status=status, code=code if code is not None and code >= 1000 else None)


def _redirect(
    what: str, status: int, headers: Mapping[str, str], secrets: Iterable[str | None]
) -> PushApiError:
    """Redirects are not followed (the key would travel to wherever they point): say where it was sent."""
    location = next((v for k, v in headers.items() if k.lower() == "location"), "")
    where = f" to {redact(location, secrets)[:_MAX_MESSAGE]}" if location else ""
    return InvalidRequestError(
        f"{what}: redirected (HTTP {status}){where}, not followed; is the base URL right?", status=status
    )


def server_text(err: PushApiError) -> str:
    """The server's own (redacted) text in an error made by `error_for`, else the whole message."""
    _, sep, text = str(err).partition("): ")
    return text if sep else str(err)


def describe_body(raw: bytes, secrets: Iterable[str | None]) -> str:
    """A short description of a body that is not JSON, its secrets masked before it is cut."""
    text = redact(raw[:2000].decode("utf-8", "replace"), secrets).strip()
    if text[:1] == "<" or "<html" in text[:200].lower():
        return "an HTML page"
    first_line = text.splitlines()[0] if text else ""
    return f"text {first_line[:80]!r}" if first_line else "an empty body"


def malformed(what: str, raw: bytes, secrets: Iterable[str | None], expected: str) -> MalformedResponseError:
    """The error for a 2xx body that is not the JSON `expected`."""
    return MalformedResponseError(
        f"{what}: expected {expected}, got {describe_body(raw, secrets)}", status=200
    )
