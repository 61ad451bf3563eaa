"""GET/POST /account/api/{target}: what a key sees (account, gateway, meter or iostack)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...push.account import ACCOUNT_TARGETS
from ...readings import normalize_address
from ..fleet import VirtualMeter
from . import params
from .access import ApiError, gateway_of

if TYPE_CHECKING:
    from .server import PushServer


def _meter_entry(meter: VirtualMeter, deep: bool, state: bool, now: float) -> dict[str, Any]:
    """One meter as the Account API lists it; `now` is when its last reading was taken."""
    entry: dict[str, Any] = {"address": meter.address}
    if deep:
        entry.update(
            name=f"Meter {meter.address.lstrip('0')}",
            model=meter.model,
            protocol=str(meter.protocol),
            gateway=gateway_of(meter),
        )
    if state:
        values = meter.values(now)
        entry["state"] = {
            "Time_Stamp_UTC_ms": params.ms(now),
            **{k: values[k] for k in ("kWh_Tot", "RMS_Watts_Tot", "State_Out") if k in values},
        }
    return entry


async def account(server: PushServer, request: web.Request) -> web.Response:
    q = request.query
    key = q.get("key") or ""
    scope = server.scope(key or None)
    target = request.match_info["target"]
    if target not in ACCOUNT_TARGETS:
        raise ApiError(400, f"Invalid parameter: target {target[:20]}", 1103)
    deep, state = params.flag(q.get("deep")), params.flag(q.get("state"))
    ids = [i.lower() for i in q.getall("id", [])]
    now = server.fleet.clock()
    meters = server.visible(scope)
    macs = sorted({gateway_of(m) for m in meters})
    if target == "gateway" and ids:
        unknown = [i for i in ids if i not in macs]
        if unknown:
            raise ApiError(400, f"Invalid value: gateway {unknown[0][:20]}", 1102)
        macs = [m for m in macs if m in ids]
        meters = [m for m in meters if gateway_of(m) in macs]
    if target == "meter" and ids:
        wanted = set()
        for ident in ids:
            try:
                wanted.add(normalize_address(ident))
            except ValueError:
                raise ApiError(400, f"Invalid value: meter {ident[:20]}", 1102) from None
        if not wanted <= {m.address for m in meters}:
            raise ApiError(400, f"Found invalid meter: {sorted(wanted)[0]} for key: {key}", 1200)
        meters = [m for m in meters if m.address in wanted]
        macs = sorted({gateway_of(m) for m in meters})
    if target == "iostack":
        meters, macs = [], []
    gateways = []
    for mac in macs:
        gateway: dict[str, Any] = {"mac_address": mac}
        if deep:
            # EKM documents only mac_address; name, model and firmware are what clients read (unsure).
            push3 = server.is_push3(mac)
            gateway["name"] = f"{'Push3' if push3 else 'Push2'} {mac[-6:]}"
            gateway["model"] = "Push3" if push3 else "Push2"
            gateway["firmware"] = "3.1.4" if push3 else "2.0.9"
            gateway["meters"] = [
                _meter_entry(m, deep, state, server.read_time(m, now)) for m in meters if gateway_of(m) == mac
            ]
            gateway["iostacks"] = []
        gateways.append(gateway)
    body = {
        "key": key,  # the real API echoes it; clients must not keep it
        "key_type": scope.kind,
        "host": request.host,
        "gateways": gateways,
        "meters": [_meter_entry(m, deep, state, server.read_time(m, now)) for m in meters],
        "metersets": [],
        "iostacks": [],
    }
    return web.json_response(body)
