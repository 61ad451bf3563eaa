"""GET /push3/{mac}/readMeter: the LOCAL API of the Push3 gateway `mac`.

Numbers (not strings), reads keyed by address; a wrong key answers HTTP 500 like a real Push3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import params
from .access import Scope

if TYPE_CHECKING:
    from .server import PushServer


def _refused() -> web.Response:
    return web.Response(status=500, text="Internal Server Error", content_type="text/plain")


async def read_meter(server: PushServer, request: web.Request) -> web.Response:
    mac = request.match_info["mac"].lower()
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
        for k in reversed(range(cnt)):
            t = now - k * params.READ_INTERVAL_S
            read: dict[str, Any] = {"Model": meter.model, "Firmware": meter.firmware}
            read["Meter_Address"] = meter.address
            read.update(meter.values(t))
            read["Time_Stamp_UTC_ms"] = params.ms(t)
            read["Reliability_Ratio"] = 100
            reads.append(read)
        out[meter.address] = reads
    return web.json_response(out)
