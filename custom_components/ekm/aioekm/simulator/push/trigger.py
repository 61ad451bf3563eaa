"""GET/POST/PUT/DELETE /api/trigger: the Trigger API (bearer token required if the server has one)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from aiohttp import web

from .access import ApiError, gateway_of, json_object

if TYPE_CHECKING:
    from .server import PushServer

_REFUSED = (403, "invalid key or API token")
_NOT_AN_OBJECT = "a trigger is a JSON object"


def _gateways(server: PushServer, request: web.Request) -> set[str]:
    """The MACs the request's key and token may manage triggers on."""
    try:
        scope = server.scope(request.query.get("key"))
    except ApiError:
        raise ApiError(*_REFUSED) from None
    server.check_token(request, required=True)
    if scope.kind == "meter":
        raise ApiError(*_REFUSED)
    return {gateway_of(m) for m in server.visible(scope)}


async def trigger(server: PushServer, request: web.Request) -> web.Response:
    macs = _gateways(server, request)
    q = request.query
    uuid = (q.get("trigger") or "").lower()
    if request.method == "GET" and not uuid:
        mac = (q.get("gateway") or "").lower()
        if mac not in macs:
            raise ApiError(400, "Unknown gateway for this key")
        return web.json_response({"triggers": [t for t in server.triggers.values() if t["gateway"] == mac]})
    if request.method == "POST":
        mac = (q.get("gateway") or "").lower()
        if mac not in macs:
            raise ApiError(400, "Unknown gateway for this key")
        body = await json_object(request, _NOT_AN_OBJECT)
        if not isinstance(body.get("trigger_name"), str) or not body["trigger_name"].strip():
            raise ApiError(400, "trigger_name is required")
        uuid = hashlib.sha256(f"trigger/{server.next_id()}/{mac}".encode()).hexdigest()[:32]
        created = {**body, "trigger_uuid": uuid, "gateway": mac}
        server.triggers[uuid] = created
        return web.json_response(created)
    found = server.triggers.get(uuid)
    if found is None or found["gateway"] not in macs:
        raise ApiError(404, "trigger not found")
    if request.method == "GET":
        return web.json_response(found)
    if request.method == "PUT":
        body = await json_object(request, _NOT_AN_OBJECT)
        body.pop("trigger_uuid", None)
        found.update(body)
        return web.json_response(found)
    if request.method == "DELETE":
        del server.triggers[uuid]
        return web.json_response({"deleted": uuid})
    raise ApiError(405, "method not allowed")
