"""The EKM Widget: a web page charting one meter, addressed by a URL that carries the key."""

from __future__ import annotations

from urllib.parse import urlencode

from ..readings import normalize_address
from .dates import Zone, zone_param
from .http import short_address

DEFAULT_WIDGET_URL = "https://widget.ekmmetering.com/EKM2/"


def widget_url(
    key: str,
    meter: str,
    *,
    reads: int = 100,
    scale: str = "realtime",
    timezone: Zone | None = None,
    base_url: str = DEFAULT_WIDGET_URL,
    **options: str | int,
) -> str:
    """The EKM Widget URL for a meter. It carries the key by design: share it with care."""
    params: dict[str, str] = {
        "reads": str(reads),
        "key": key,
        "meter": short_address(normalize_address(meter)),
        "scale": scale,
    }
    if timezone is not None:
        params["timezone"] = zone_param(timezone)
    params.update((name, str(value)) for name, value in options.items())
    return f"{base_url}?{urlencode(params, safe='~')}"
