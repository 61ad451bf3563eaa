"""Tell whether two port strings name the same RS-485 bus.

The same adapter can be typed in many ways: `socket://localhost:4001` and
`socket://127.0.0.1:4001`, `/dev/serial/by-id/usb-FTDI…` and `/dev/ttyUSB0`. Both sides
are resolved first (host names to addresses, device links to the device they point to),
without blocking the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import ipaddress
import os
import socket
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
import serialx


@dataclass(frozen=True, slots=True)
class PortIdentity:
    """A port reduced to what identifies the adapter behind it."""

    scheme: str  # "" for a local device
    places: frozenset[str]  # the host's addresses, or the device's real path
    port: int | None = None
    rest: str = ""  # path and query of a URL, secrets redacted

    def same_as(self, other: PortIdentity) -> bool:
        """Whether both name the same adapter (a host name shares an address with the other)."""
        return (
            self.scheme == other.scheme
            and self.port == other.port
            and self.rest == other.rest
            and bool(self.places & other.places)
        )


async def async_port_identity(hass: HomeAssistant, port: str) -> PortIdentity:
    """The identity of `port`; a name that does not resolve stands for itself."""
    port = port.strip()
    if "://" not in port:
        path = await hass.async_add_executor_job(os.path.realpath, port)
        return PortIdentity("", frozenset({path}))
    url = urlsplit(serialx.redact_uri(port))
    try:
        number = url.port
    except ValueError:
        number = None
    host = (url.hostname or "").lower()
    rest = url.path.rstrip("/") + (f"?{url.query}" if url.query else "")
    return PortIdentity(url.scheme.lower(), await async_host_addresses(host, number), number, rest)


async def async_host_addresses(host: str, port: int | None = None) -> frozenset[str]:
    """The addresses `host` resolves to (on the event loop); a name that does not resolve stands
    for itself. Also used to tell two spellings of a Push3 gateway's address apart."""
    host = host.strip("[]").lower()
    if not host:
        return frozenset()
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:  # socket.gaierror: unknown name, no network
        return frozenset({host})
    return frozenset(_plain(str(info[4][0])) for info in infos)


def _plain(address: str) -> str:
    """An IPv4 address written as IPv6 (::ffff:a.b.c.d) as the IPv4 address it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return str(mapped or ip)
