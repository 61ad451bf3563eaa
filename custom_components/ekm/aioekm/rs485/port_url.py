"""A port URL as it may be shown (reprs, errors, logs): without the secrets it can carry.

serialx.redact_uri masks secret query parameters (`?password=`) but not the
userinfo of `socket://user:password@host:port` or `rfc2217://user:password@...`;
this masks both. Everything between '://' and the last '@' goes, so a password
holding '/', '?' or '@' cannot leave a piece behind.
"""

from __future__ import annotations

from typing import Final

import serialx

MASK: Final = "***"


def redact_port_url(url: str) -> str:
    """`url` with its userinfo and secret query parameters masked."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        url = f"{scheme}{sep}{MASK}@{rest.rpartition('@')[2]}"
    return serialx.redact_uri(url)


def redact_in(text: str, url: str) -> str:
    """`text` (an error from below, which may quote the URL or its userinfo) with `url`'s secrets masked."""
    text = text.replace(url, redact_port_url(url))
    _, sep, rest = url.partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    for secret in (userinfo, userinfo.partition(":")[2]):
        if secret:
            text = text.replace(secret, MASK)
    return text
