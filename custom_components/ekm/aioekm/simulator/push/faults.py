"""Fault knobs of the fake Push server: answers it gives instead of the real one (docs/simulator.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# Bodies real servers have been seen to send instead of JSON.
HTML_PAGE = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
ERROR_TEXT = "Error: the request could not be processed"
BROKEN_JSON = '{"readMeter": {"Requested": 1, "ReadSet": [{"Meter": "3000'


@dataclass
class Fault:
    """One injected misbehaviour. With `status` None the request is answered normally (after `delay`),
    unless `body` or `code` is set, which answer with HTTP 200."""

    status: int | None = None
    code: int | str | None = None  # EKM status code, put in a JSON error body
    message: str = "Simulated fault"
    body: str | None = None  # a raw body instead (HTML_PAGE, ERROR_TEXT, BROKEN_JSON ...)
    content_type: str = "application/json"
    retry_after: str | None = None
    delay: float = 0.0
    times: int | None = 1  # requests it hits; None = until removed
    path: str | None = None  # only requests whose path starts with this
    method: str | None = None

    def matches(self, request: web.Request) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.path is not None and not request.path.startswith(self.path):
            return False
        return self.method is None or request.method == self.method

    @property
    def replaces_answer(self) -> bool:
        """False for a fault that only delays the real answer."""
        return self.status is not None or self.body is not None or self.code is not None

    def response(self) -> web.Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        status = self.status or 200
        if self.body is not None:
            return web.Response(
                status=status, text=self.body, content_type=self.content_type, headers=headers
            )
        body: dict[str, Any] = {"error": self.message}
        if self.code is not None:
            body["status_code"] = self.code
        return web.json_response(body, status=status, headers=headers)


async def injected(faults: Iterable[Fault], request: web.Request) -> web.Response | None:
    """The answer of the first fault that hits `request`, after its delay; None to answer normally.

    A fault that hits uses up one of its `times`.
    """
    fault = next((f for f in faults if f.matches(request)), None)
    if fault is None:
        return None
    if fault.times is not None:
        fault.times -= 1
    if fault.delay:
        await asyncio.sleep(fault.delay)
    return fault.response() if fault.replaces_answer else None
