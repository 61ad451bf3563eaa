"""The fake EKM Push API server: one aiohttp app over the fleet, composed of its endpoint families.

Endpoints (all on one host; point both the API and the summary base URL at it):
  GET  /readMeter (/readmeter)        Realtime (realtime.py)
  GET  /summary                       legacy Summary, limit/offset paging (summary.py)
  GET  /summary/api/v2/meter          Summary V2 First/Last/Diff/DeltaMax (summary_v2.py)
  GET  /summary/api/v2/gstat          gateway status (summary_v2.py)
  GET  /summary/api/v2/iostack        ioStacks (the fleet has none: EKM 1000)
  GET  /account/api/{target}          account | gateway | meter | iostack, deep / state (account.py)
  POST /sendCommand                   Gateway Settings; SetRelay (gateway_settings.py)
  GET/POST/PUT/DELETE /api/trigger    Trigger API (trigger.py)
  GET  /push3/{mac}/readMeter         the Push3 gateway LOCAL API of gateway `mac` (push3.py)

See docs/simulator.md for the fault knobs and docs/push-api.md for the API itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
import itertools
import json
from typing import Any

from aiohttp import web

from ...push.http import split_list
from ...readings import normalize_address
from ..fleet import Fleet, VirtualMeter
from . import account, gateway_settings, push3, realtime, summary, summary_v2, trigger
from .access import INVALID_KEY, ApiError, Scope, SimKeys
from .faults import Fault, injected
from .listen import listen

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None
    status: int = 0

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class PushServer:
    """The fake Push API app, its keys, fault knobs and request log."""

    def __init__(self, fleet: Fleet, *, api_token: str | None = None) -> None:
        self.fleet = fleet
        self.keys = SimKeys.for_fleet(fleet)
        self.api_token = api_token
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.bad_reads: set[str] = set()  # these meters' newest read is Good: 0
        self.offline: set[str] = set()  # these meters' ReadSet has no ReadData
        self.offline_gateways: set[str] = set()
        # Per-meter knobs (docs/simulator.md, "Fake Push server"):
        self.no_data: dict[str, int] = {}  # address -> EKM 1000-1003 answered for requests naming it
        self.stale: dict[str, float] = {}  # address -> epoch seconds of its last reading (no newer one)
        self.hidden: set[str] = set()  # meters taken off the account (the RS-485 face keeps them)
        self.legacy_gateways: set[str] = set()  # MACs of older, non-Push3 gateways: no sendCommand
        self.triggers: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at once, to check client concurrency
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # --- lifecycle and knobs ----------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = any free port); returns the base URL."""
        self._runner, self.url = await listen(self.app, host, port)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def key_lines(self) -> list[str]:
        """'account key: K', 'gateway key: MAC K' ..., 'meter key: ADDRESS K' ..."""
        lines = [f"account key: {self.keys.account}"]
        lines += [f"gateway key: {mac} {key}" for mac, key in self.keys.gateways.items()]
        lines += [f"meter key: {address} {key}" for address, key in self.keys.meters.items()]
        return lines

    def add_meter(self, meter: VirtualMeter) -> VirtualMeter:
        """Put a meter on the account while serving (into the fleet; its gateway gets a key if new)."""
        self.fleet.add(meter)
        self.hidden.discard(meter.address)
        self.keys.add(meter)
        return meter

    def remove_meter(self, address: str) -> None:
        """Take a meter off the account: the cloud then answers 1200 for it; the fleet keeps it."""
        self.hidden.add(normalize_address(address))

    def make_legacy(self, mac: str) -> None:
        """Make gateway `mac` an older, non-Push3 gateway (no sendCommand, no local API)."""
        self.legacy_gateways.add(mac.lower())

    def is_push3(self, mac: str) -> bool:
        return mac.lower() not in self.legacy_gateways

    def read_time(self, meter: VirtualMeter, now: float) -> float:
        """When `meter`'s newest reading was taken: now, or its last report for a stale meter."""
        return min(now, self.stale.get(meter.address, now))

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.path.lower() == path.lower()]

    # --- what the endpoint families share -------------------------------------------

    def next_id(self) -> int:
        """A fresh number for message ids and trigger uuids."""
        return next(self._ids)

    def scope(self, key: str | None) -> Scope:
        """What `key` opens; INVALID_KEY (HTTP 401) if nothing."""
        if key is None:
            raise INVALID_KEY
        if key == self.keys.account:
            return Scope("account", "")
        for mac, gateway_key in self.keys.gateways.items():
            if key == gateway_key:
                return Scope("gateway", mac)
        for address, meter_key in self.keys.meters.items():
            if key == meter_key:
                return Scope("meter", address)
        raise INVALID_KEY

    def visible(self, scope: Scope) -> list[VirtualMeter]:
        return [m for a, m in sorted(self.fleet.meters.items()) if scope.sees(m) and a not in self.hidden]

    def pick(self, scope: Scope, key: str, raw: str | None) -> list[VirtualMeter]:
        """The meters a `meters`/`devices` parameter names; EKM 1200 for one the key cannot see."""
        names = split_list(raw)
        if not names:
            return self.visible(scope)
        picked: list[VirtualMeter] = []
        for name in names:
            try:
                address = normalize_address(name)
            except ValueError:
                raise ApiError(400, f"Invalid value: {name[:20]}", 1102) from None
            meter = self.fleet.get(address)
            if meter is None or not scope.sees(meter) or address in self.hidden:
                # The real API echoes the key here; clients must redact it.
                raise ApiError(400, f"Found invalid meter: {name} for key: {key}", 1200)
            if meter not in picked:
                picked.append(meter)
        return picked

    def check_token(self, request: web.Request, *, required: bool) -> None:
        """The bearer token, when the server has one (403 if wrong, or missing where required)."""
        header = request.headers.get("Authorization")
        if self.api_token is None:
            return
        if header is None and not required:
            return
        if header != f"Bearer {self.api_token}":
            raise ApiError(403, "invalid key or API token")

    # --- plumbing -------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes: list[tuple[str, str, Callable[[PushServer, web.Request], Awaitable[web.Response]]]] = [
            ("GET", "/readMeter", realtime.read_meter),
            ("GET", "/readmeter", realtime.read_meter),
            ("GET", "/summary", summary.summary),
            ("GET", "/summary/api/v2/meter", summary_v2.meter),
            ("GET", "/summary/api/v2/gstat", summary_v2.gstat),
            ("GET", "/summary/api/v2/iostack", summary_v2.iostack),
            ("GET", "/account/api/{target}", account.account),
            ("POST", "/account/api/{target}", account.account),
            ("POST", "/sendCommand", gateway_settings.send_command),
            ("*", "/api/trigger", trigger.trigger),
            ("GET", "/push3/{mac}/readMeter", push3.read_meter),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, partial(handler, self))
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        entry = LoggedRequest(
            request.method,
            request.path,
            {k: request.query.getall(k) for k in request.query},
            body,
        )
        self.log.append(entry)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._answer(request, handler)
        finally:
            self.in_flight -= 1
        entry.status = response.status
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await injected(self.faults, request)
        if response is not None:
            return response
        try:
            return await handler(request)
        except ApiError as err:
            return err.response()
