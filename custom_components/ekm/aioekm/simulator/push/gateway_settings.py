"""POST /sendCommand: Gateway Settings. SetRelay switches a VirtualMeter's relay."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from aiohttp import web

from ...readings import Protocol, normalize_address
from ...rs485.commands import MAX_RELAY_SECONDS
from .access import ApiError, gateway_of, json_object

if TYPE_CHECKING:
    from .server import PushServer


async def send_command(server: PushServer, request: web.Request) -> web.Response:
    body = await json_object(request)
    key = request.query.get("key") or body.get("key")
    scope = server.scope(key)
    server.check_token(request, required=False)
    mac = (request.query.get("gateway") or body.get("gateway") or "").lower()
    if scope.kind == "meter":
        raise ApiError(403, "The key must be an account or Push3 gateway key")
    if mac not in server.keys.gateways or (scope.kind == "gateway" and scope.ident != mac):
        raise ApiError(400, "Unknown gateway for this key")
    if not server.is_push3(mac):
        raise ApiError(400, f"Gateway {mac} is not a Push3: it takes no commands")
    command = body.get("command")
    if command != "SetRelay":
        raise ApiError(400, f"Unknown command: {str(command)[:30]}")
    if body.get("target") != "meter":
        raise ApiError(400, "SetRelay needs target 'meter'")
    try:
        address = normalize_address(str(body.get("target_id", "")))
    except ValueError:
        raise ApiError(400, "Invalid target_id") from None
    meter = server.fleet.get(address)
    if meter is None or gateway_of(meter) != mac or address in server.hidden:
        raise ApiError(400, f"Meter {address} is not connected to gateway {mac}")
    params = body.get("params")
    if not isinstance(params, dict):
        raise ApiError(400, "params must be an object")
    relay = {"relay_1": 1, "relay_2": 2}.get(str(params.get("relay", "")).lower())
    status = str(params.get("status", "")).lower()
    duration = params.get("duration", 0)
    if relay is None or status not in ("close", "open"):
        raise ApiError(400, "params need relay relay_1|relay_2 and status close|open")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= MAX_RELAY_SECONDS:
        raise ApiError(400, f"duration must be 0..{MAX_RELAY_SECONDS} seconds")
    if meter.protocol is Protocol.V3:
        raise ApiError(400, "v3 meters have no controllable relays")
    meter.set_relay(relay, status == "close", duration, t=server.fleet.clock())
    msg_id = hashlib.sha256(f"msg/{server.next_id()}".encode()).hexdigest()[:32]
    server.commands.append({**body, "gateway": mac, "msg_id": msg_id})
    client = str(body.get("client") or "client")
    return web.json_response(
        {
            "msg_id": msg_id,
            "response_channel_id": body.get("response_channel_id") or f"{client[:20]}-{msg_id[:8]}",
            "response_channel_host": request.host,
        }
    )
