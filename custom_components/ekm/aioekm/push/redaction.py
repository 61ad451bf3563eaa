"""Keep the Push key and the API token out of every text and value the library hands on.

Secrets are masked by value, wherever they appear: in URLs and messages (also
URL-encoded), and anywhere in a decoded answer, since a server may echo them in
any field at any depth (`"extra": {"key": "..."}`).
"""

from __future__ import annotations

from collections.abc import Iterable
import re
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"
# Query parameters and headers that carry secrets, whatever their value.
_SECRET_PARAM = re.compile(r"(?i)\b(key|token|api_token|password)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',]+")


def secret_forms(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """Each secret as sent and as it looks URL-encoded, longest first."""
    forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret (also URL-encoded) and every key=/Bearer value masked."""
    for form in secret_forms(secrets):
        text = text.replace(form, REDACTED)
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def may_hold(raw: bytes, secrets: Iterable[str | None]) -> bool:
    """Whether a JSON body can carry a secret: it does literally, or escapes hide what it says."""
    return b"\\" in raw or any(form.encode() in raw for form in secret_forms(secrets))


def redact_value(value: Any, secrets: Iterable[str | None]) -> Any:
    """A decoded JSON value with every secret masked in its strings and object keys, at any depth."""
    forms = secret_forms(secrets)
    if not forms:
        return value

    def mask(text: str) -> str:
        for form in forms:
            text = text.replace(form, REDACTED)
        return text

    # Iterative, so that a deep (hostile) document cannot exhaust the stack.
    root: list[Any] = [value]
    stack: list[tuple[list[Any] | dict[str, Any], Any]] = [(root, 0)]
    while stack:
        holder, slot = stack.pop()
        item = holder[slot]
        if isinstance(item, str):
            holder[slot] = mask(item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            masked = {mask(k): v for k, v in item.items()}
            if masked.keys() != item.keys():
                item.clear()
                item.update(masked)
            stack.extend((item, k) for k in item)
    return root[0]
