"""GET /readMeter: the Realtime API. Values travel as JSON strings, oldest read first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..fleet import EPOCH, VirtualMeter
from . import params
from .access import ApiError, gateway_of

if TYPE_CHECKING:
    from .server import PushServer


def _read(meter: VirtualMeter, t: float, fields: list[str] | None, zone: tzinfo) -> dict[str, Any]:
    reading = meter.reading(t)
    local = datetime.fromtimestamp(t, zone)
    read: dict[str, Any] = {
        "Good": 1,
        "Date": local.strftime("%Y-%m-%d"),
        "Time": local.strftime("%H:%M:%S"),
        "Time_Stamp_UTC_ms": params.ms(t),
        "Model": meter.model,
        "Firmware": meter.firmware,
    }
    if fields is None:
        read.update((k, str(v)) for k, v in meter.values(t).items())
    else:
        for name in fields:
            for fname, value in reading.values.items():
                if fname == name or (name.endswith("*") and fname.startswith(name[:-1])):
                    read[fname] = str(value)
    return read


def no_data_error(code: int, names: str, now: float) -> ApiError:
    """EKM's answer when it has no reads of the meters `names` (1000-1003)."""
    first = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%d %H:%M")
    last = datetime.fromtimestamp(now - 86400, UTC).strftime("%Y-%m-%d %H:%M")
    detail = {
        1001: " between the start and end dates",
        1002: f" This meter first reported on: {first}",
        1003: f" This meter last reported on: {last}",
    }.get(code, "")
    return ApiError(400, f"There is not data for: {names}{detail}", code)


def _check_data(server: PushServer, meters: list[VirtualMeter]) -> None:
    """A request naming a meter of `server.no_data` is answered with its code, as a whole."""
    refused = [m for m in meters if m.address in server.no_data]
    if refused:
        code = server.no_data[refused[0].address]
        names = ",".join(m.address.lstrip("0") for m in refused if server.no_data[m.address] == code)
        raise no_data_error(code, names, server.fleet.clock())


async def read_meter(server: PushServer, request: web.Request) -> web.Response:
    q = request.query
    key = q.get("key")
    scope = server.scope(key)
    fmt = (q.get("fmt") or q.get("format") or "json").lower()
    if fmt != "json":
        raise ApiError(400, f"Invalid format: {fmt[:10]} (the simulator speaks json)", 1101)
    named = bool(q.get("meters"))
    meters = server.pick(scope, key or "", q.get("meters"))
    if named:
        _check_data(server, meters)
    try:
        cnt = int(q.get("cnt") or q.get("count") or 10)
    except ValueError:
        raise ApiError(400, "Invalid value: cnt", 1102) from None
    if not 1 <= cnt <= 1000:
        raise ApiError(400, "Invalid value: cnt must be 1..1000", 1102)
    fields = params.fields(q.get("fields"))
    zone = await params.zone(q.get("tz") or q.get("timezone"))
    now = server.fleet.clock()
    offset = datetime.fromtimestamp(now, zone).utcoffset() or timedelta()
    readsets = []
    for meter in meters:
        readset: dict[str, Any] = {
            "Meter": meter.address,
            "Group": 0,
            "Interval": params.READ_INTERVAL_S,
            "Protocol": str(meter.protocol),
            "MAC_Addr": gateway_of(meter),
            "Tz_Offset_Sec": int(offset.total_seconds()),
            "Credits": 0,
        }
        if meter.address not in server.offline and meter.address not in server.no_data:
            newest = server.read_time(meter, now)
            reads = [
                _read(meter, newest - k * params.READ_INTERVAL_S, fields, zone) for k in reversed(range(cnt))
            ]
            if meter.address in server.bad_reads:
                reads[-1] = {
                    "Good": 0,
                    "Time_Stamp_UTC_ms": params.ms(now),
                    "PERR.NR": "1",
                    "Model": meter.model,
                }
            readset["Bad_Reads"] = int(meter.address in server.bad_reads)
            readset["Good_Reads"] = cnt - readset["Bad_Reads"]
            readset["ReadData"] = reads
        readsets.append(readset)
    return web.json_response({"readMeter": {"Requested": len(meters), "ReadSet": readsets}})
