"""GET /push3/{mac}/readMeter: the LOCAL API of the Push3 gateway `mac`.

Numbers (not strings), reads keyed by address; a wrong key answers HTTP 500 like a real Push3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import params
from .access import Scope
from .faults import Fault, injected
from .listen import listen

if TYPE_CHECKING:
    from .server import PushServer


def _refused() -> web.Response:
    """A real Push3 answers a wrong key with a bare HTTP 500."""
    return web.Response(status=500, text="Internal Server Error", content_type="text/plain")


async def read_meter(server: PushServer, request: web.Request) -> web.Response:
    """The sub-path form: /push3/{mac}/readMeter on the fake cloud's host."""
    return answer(server, request.match_info["mac"].lower(), request)


def answer(server: PushServer, mac: str, request: web.Request) -> web.Response:
    """What gateway `mac` answers on its LAN; stale meters keep their last reading, as a Push3 does."""
    if not server.is_push3(mac):
        return web.Response(status=404, text="Not Found", content_type="text/plain")
    if mac not in server.keys.gateways or request.query.get("key") != server.keys.gateways[mac]:
        return _refused()
    try:
        cnt = max(1, min(100, int(request.query.get("cnt") or 1)))
    except ValueError:
        return _refused()
    now = server.fleet.clock()
    out: dict[str, list[dict[str, Any]]] = {}
    for meter in server.visible(Scope("gateway", mac)):
        reads = []
        newest = server.read_time(meter, now)
        for k in reversed(range(cnt)):
            t = newest - k * params.READ_INTERVAL_S
            read: dict[str, Any] = {"Model": meter.model, "Firmware": meter.firmware}
            read["Meter_Address"] = meter.address
            read.update(meter.values(t))
            read["Time_Stamp_UTC_ms"] = params.ms(t)
            read["Reliability_Ratio"] = 100
            reads.append(read)
        out[meter.address] = reads
    return web.json_response(out)


class Push3Gateway:
    """One gateway's local API on its own port, at the gateway's real path: GET /readMeter."""

    def __init__(self, server: PushServer, mac: str) -> None:
        self.server = server
        self.mac = mac.lower()
        self.url = ""
        self.faults: list[
            Fault
        ] = []  # answered instead of the gateway's own (e.g. a 500 that is no key error)
        self.log: list[str] = []  # the query keys of each request (values left out: the key is one)
        self._runner: web.AppRunner | None = None

    @property
    def key(self) -> str:
        return self.server.keys.gateways[self.mac]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = any free port); returns the base URL."""
        app = web.Application()

        async def handle(request: web.Request) -> web.Response:
            self.log.append(request.query_string and ",".join(sorted(request.query)))
            response = await injected(self.faults, request)
            return response if response is not None else answer(self.server, self.mac, request)

        app.router.add_get("/readMeter", handle)
        self._runner, self.url = await listen(app, host, port)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
