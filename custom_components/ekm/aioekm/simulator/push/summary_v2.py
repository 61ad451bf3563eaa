"""GET /summary/api/v2/{meter,gstat,iostack}: Summary V2 from the fleet's history."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from aiohttp import web

from ...fields import FIELDS
from ...push.http import split_list
from ..fleet import EPOCH
from . import params
from .access import ApiError, gateway_of
from .summary import closed_periods, decimals, no_rows, period_head, report_of

if TYPE_CHECKING:
    from .server import PushServer

DEFAULT_FIELDS = ["kWh_Tot", "Pulse_Cnt_1", "Pulse_Cnt_2", "Pulse_Cnt_3"]


async def meter(server: PushServer, request: web.Request) -> web.Response:
    """First/Last/Diff/DeltaMax per field; report 'range' is one row per meter."""
    q = request.query
    key = q.get("key")
    scope = server.scope(key)
    meters = server.pick(scope, key or "", q.get("devices") or q.get("meters"))
    zone = await params.zone(q.get("timezone"), code=1004)
    start, end = params.date_range(q, zone)
    wanted = split_list(q.get("fields")) or DEFAULT_FIELDS
    report = q.get("report", "range")
    now = server.fleet.clock()
    t0, t1 = max(start.timestamp(), EPOCH), min(end.timestamp(), now)
    if t1 <= t0:
        raise no_rows(meters, start, end, now)
    whole = report == "range"
    periods = [(t0, t1)] if whole else closed_periods(report_of(report), start, end, zone, now)
    rows = []
    for virtual in meters:
        for s, e in periods:
            samples = [virtual.values(s + (e - s) * k / 8) for k in range(9)]
            row = period_head(virtual, s, e, zone)
            for name in wanted:
                series = [v[name] for v in samples if isinstance(v.get(name), (int, float))]
                if len(series) != len(samples):
                    continue
                nums = [float(x) for x in series]
                places = decimals(samples[-1], name, virtual) if name in FIELDS else 2
                row[f"{name}_First"] = series[0]
                row[f"{name}_Last"] = series[-1]
                row[f"{name}_Diff"] = round(nums[-1] - nums[0], places)
                row[f"{name}_DeltaMax"] = round(max(b - a for a, b in itertools.pairwise(nums)), places)
            rows.append(row)
    limit = q.get("limit")
    if limit and limit.isascii() and limit.isdigit():
        rows = rows[: int(limit)]
    return web.json_response(rows)


async def gstat(server: PushServer, request: web.Request) -> web.Response:
    """Gateway status: online unless listed in `server.offline_gateways`."""
    q = request.query
    scope = server.scope(q.get("key"))
    visible = {gateway_of(m) for m in server.visible(scope)}
    macs = [m.lower() for m in split_list(q.get("devices"))] or sorted(visible)
    now = server.fleet.clock()
    rows = []
    for mac in macs:
        if mac not in visible:
            raise ApiError(400, f"Invalid value: gateway {mac[:20]}", 1102)
        online = mac not in server.offline_gateways
        rows.append(
            {
                "MAC_Addr": mac,
                "Status": "online" if online else "offline",
                "Last_Report_UTC_ms": params.ms(now if online else now - 3600),
                "Meters": sum(1 for m in server.fleet.meters.values() if gateway_of(m) == mac),
            }
        )
    return web.json_response(rows)


async def iostack(server: PushServer, request: web.Request) -> web.Response:
    """The fleet has no ioStacks: EKM 1000 for any."""
    server.scope(request.query.get("key"))
    devices = request.query.get("devices", "")
    raise ApiError(400, f"There is not data for: {devices[:60]}", 1000)
