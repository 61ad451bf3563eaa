"""The bus adapter as the client keeps it: a Link that is reopened after it goes away.

After the link is lost, each use tries to reopen it, spaced by an exponential
backoff; the loss and the recovery are logged once each.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import EkmConnectionError
from .port_url import redact_in, redact_port_url
from .transport import Link

_LOGGER = logging.getLogger(__name__)


class Port:
    """One serial port or serialx URL, reopened with backoff while it is wanted."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int,
        bytesize: int,
        parity: str,
        stopbits: int,
        backoff: tuple[float, float],
    ) -> None:
        self.url = url
        self._settings = (baudrate, bytesize, parity, stopbits)
        self.backoff = backoff
        self._link: Link | None = None
        self._wanted = False  # open() was called and close() was not
        self._down_since: float | None = None  # the link failed and is not back yet
        self._retry_at = 0.0
        self._delay = backoff[0]

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    @property
    def current(self) -> Link | None:
        """The link if it is open, without trying to reopen it."""
        return self._link if self.connected else None

    async def _open_link(self) -> Link:
        baudrate, bytesize, parity, stopbits = self._settings
        return await Link.open(
            self.url, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits
        )

    async def open(self) -> None:
        """Open the port; EkmConnectionError if it cannot be opened."""
        if self.connected:
            return
        self._link = await self._open_link()
        self._wanted = True
        self._down_since = None
        self._delay = self.backoff[0]

    async def close(self) -> None:
        self._wanted = False
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def link(self) -> Link:
        """The open link, reopening a lost one when the backoff allows."""
        link = self._link
        if link is not None and not link.closed:
            return link
        if not self._wanted:
            raise EkmConnectionError(f"bus {redact_port_url(self.url)} is not open")
        loop = asyncio.get_running_loop()
        if link is not None:  # it just went away
            self._link = None
            await link.close()
            self._went_down(link.lost_reason or "connection lost")
        if loop.time() < self._retry_at:
            raise EkmConnectionError(
                f"{redact_port_url(self.url)} is unavailable; "
                f"next reconnect attempt in {self._retry_at - loop.time():.1f} s"
            )
        try:
            self._link = await self._open_link()
        except EkmConnectionError as err:
            self._went_down(str(err))  # already redacted by Link.open
            self._retry_at = loop.time() + self._delay
            self._delay = min(self._delay * 2, self.backoff[1])
            raise
        if self._down_since is not None:
            _LOGGER.info("RS-485 bus %s is back", redact_port_url(self.url))
        self._down_since = None
        self._retry_at = 0.0
        self._delay = self.backoff[0]
        return self._link

    def _went_down(self, reason: str) -> None:
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            _LOGGER.warning(
                "RS-485 bus %s went away (%s); reconnecting in the background of each poll",
                redact_port_url(self.url),
                redact_in(reason, self.url),
            )
