"""GET /summary: the legacy Summary API, computed from the fleet's closed-form history.

The `_Diff` of a counter over a period is its register at the end minus its
register at the start. Periods follow the wall clock of the request's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
import statistics
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...fields import FIELDS, Quantity
from ...push.dates import API_TIME_FORMAT
from ...push.summary import Report
from ...readings import FieldValue, Protocol
from ..fleet import EPOCH, VirtualMeter
from . import params
from .access import ApiError

if TYPE_CHECKING:
    from .server import PushServer

MAX_LIMIT = 1000  # rows per page

COUNTERS = (
    "kWh_Tot",
    "kWh_Tariff_1",
    "kWh_Tariff_2",
    "kWh_Tariff_3",
    "kWh_Tariff_4",
    "Rev_kWh_Tot",
    "Reactive_Energy_Tot",
    "Pulse_Cnt_1",
    "Pulse_Cnt_2",
    "Pulse_Cnt_3",
)
INSTANT = (
    "RMS_Volts_Ln_1",
    "RMS_Volts_Ln_2",
    "RMS_Volts_Ln_3",
    "Amps_Ln_1",
    "Amps_Ln_2",
    "Amps_Ln_3",
    "RMS_Watts_Ln_1",
    "RMS_Watts_Ln_2",
    "RMS_Watts_Ln_3",
    "RMS_Watts_Tot",
)
_COUNTER_QUANTITIES = (Quantity.ENERGY, Quantity.REACTIVE_ENERGY, Quantity.PULSE_COUNT)
_FIXED_SECONDS = {Report.MIN_15: 900, Report.HOUR: 3600}


def report_of(raw: str) -> Report:
    try:
        return Report(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value: report {raw[:10]}", 1102) from None


def period_head(meter: VirtualMeter, start: float, end: float, zone: tzinfo) -> dict[str, Any]:
    """The keys every summary row of one meter and period starts with."""
    return {
        "Start_Time_Stamp_UTC_ms": params.ms(start),
        "End_Time_Stamp_UTC_ms": params.ms(end),
        "Start_Date": datetime.fromtimestamp(start, zone).strftime(API_TIME_FORMAT),
        "End_Date": datetime.fromtimestamp(end, zone).strftime(API_TIME_FORMAT),
        "Meter": meter.address,
        "Count": round((end - start) / params.READ_INTERVAL_S),
        "Protocol": str(meter.protocol),
    }


def periods(report: Report, start: datetime, end: datetime, zone: tzinfo) -> list[tuple[float, float]]:
    """Period (start, end) epochs of `report` covering [start, end), aligned on `zone`'s clock."""
    out: list[tuple[float, float]] = []
    local = start.astimezone(zone)
    stop = end.timestamp()
    if report in _FIXED_SECONDS:
        step = _FIXED_SECONDS[report]
        minutes = step // 60
        aligned = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)
        t = aligned.timestamp()
        while t < stop:
            out.append((t, t + step))
            t += step
        return out
    day = local.date()
    if report is Report.WEEK:  # weeks start on Sunday
        day -= timedelta(days=(day.weekday() + 1) % 7)
    elif report is Report.MONTH:
        day = day.replace(day=1)

    def following(d: date) -> date:
        if report is Report.DAY:
            return d + timedelta(days=1)
        if report is Report.WEEK:
            return d + timedelta(days=7)
        return (d.replace(day=28) + timedelta(days=4)).replace(day=1)

    def midnight(d: date) -> float:
        return datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()

    while midnight(day) < stop:
        nxt = following(day)
        out.append((midnight(day), midnight(nxt)))
        day = nxt
    return out


def closed_periods(
    report: Report, start: datetime, end: datetime, zone: tzinfo, now: float
) -> list[tuple[float, float]]:
    """The periods between the fleet's first report and now."""
    return [(s, e) for s, e in periods(report, start, end, zone) if s >= EPOCH and e <= now]


def decimals(values: Mapping[str, FieldValue], name: str, meter: VirtualMeter) -> int:
    """Decimals the meter shows `name` with."""
    if FIELDS[name].quantity is Quantity.PULSE_COUNT:
        return 0
    scale = values.get("kWh_Scale")
    return 1 if meter.protocol is Protocol.V3 else int(scale) if isinstance(scale, int) else 2


def no_rows(meters: Iterable[VirtualMeter], start: datetime, end: datetime, now: float) -> ApiError:
    """EKM 1002 before the first report, 1003 after the last, 1001 otherwise."""
    names = ",".join(m.address for m in meters)
    if end.timestamp() <= EPOCH:
        first = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%d %H:%M")
        return ApiError(400, f"There is not data for: {names} This meter first reported on: {first}", 1002)
    if start.timestamp() >= now:
        last = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M")
        return ApiError(400, f"There is not data for: {names} This meter last reported on: {last}", 1003)
    return ApiError(
        400, f"There is not data for: {names} between {start:%Y%m%d%H%M} and {end:%Y%m%d%H%M}", 1001
    )


def _summary_fields(meter: VirtualMeter, wanted: list[str] | None) -> tuple[list[str], list[str]]:
    """(counters, instantaneous fields) of `meter` that `wanted` asks for."""
    carried = meter.values(EPOCH + 1)

    def match(name: str) -> bool:
        if wanted is None:
            return name in COUNTERS or name in INSTANT
        return any(w == name or (w.endswith("*") and name.startswith(w[:-1])) for w in wanted)

    counters = [n for n in carried if match(n) and FIELDS[n].quantity in _COUNTER_QUANTITIES]
    instant = [
        n
        for n in carried
        if match(n) and n not in counters and isinstance(carried[n], (int, float)) and n != "kWh_Scale"
    ]
    return counters, instant


def _summary_row(
    meter: VirtualMeter,
    period: tuple[float, float],
    fields: tuple[list[str], list[str]],
    zone: tzinfo,
) -> dict[str, Any]:
    t0, t1 = period
    first, last = meter.values(t0), meter.values(t1)
    row = period_head(meter, t0, t1, zone)
    counters, instant = fields
    for name in counters:
        a, b = first[name], last[name]
        assert isinstance(a, (int, float)) and isinstance(b, (int, float))
        places = decimals(last, name, meter)
        row[f"{name}_Min"] = a
        row[f"{name}_Max"] = b
        row[f"{name}_Diff"] = round(b - a, places) if places else round(b - a)
    if instant:
        samples = [first] + [meter.values(t0 + (t1 - t0) * k / 4) for k in (1, 2, 3)]
        for name in instant:
            series = [float(s[name]) for s in samples if isinstance(s.get(name), (int, float))]
            row[f"{name}_Average"] = round(statistics.fmean(series), 2)
            row[f"{name}_StdDev"] = round(statistics.pstdev(series), 2)
            row[f"{name}_Min"] = min(series)
            row[f"{name}_Max"] = max(series)
    return row


async def summary(server: PushServer, request: web.Request) -> web.Response:
    q = request.query
    key = q.get("key")
    scope = server.scope(key)
    if not q.get("meters"):
        raise ApiError(400, "Invalid parameter: meters is required", 1103)
    meters = server.pick(scope, key or "", q.get("meters"))
    report = report_of(q.get("report", "15"))
    zone = await params.zone(q.get("timezone"), code=1004)
    start, end = params.date_range(q, zone)
    wanted = params.fields(q.get("fields"))
    try:
        limit = min(MAX_LIMIT, int(q.get("limit") or MAX_LIMIT))
        offset = int(q.get("offset") or 0)
    except ValueError:
        raise ApiError(400, "Invalid value: limit/offset", 1102) from None
    now = server.fleet.clock()
    rows = answer_rows(
        meters, report, start, end, zone=zone, wanted=wanted, now=now, offset=offset, limit=limit
    )
    return web.json_response(rows)


def answer_rows(
    meters: list[VirtualMeter],
    report: Report,
    start: datetime,
    end: datetime,
    *,
    zone: tzinfo,
    wanted: list[str] | None,
    now: float,
    offset: int = 0,
    limit: int = MAX_LIMIT,
) -> list[dict[str, Any]]:
    """The rows of one page of GET /summary (tests alter them to play a faulty cloud)."""
    closed = closed_periods(report, start, end, zone, now)
    if not closed:
        raise no_rows(meters, start, end, now)
    plan = [(m, p) for m in meters for p in closed][offset : offset + limit]
    fields = {m.address: _summary_fields(m, wanted) for m in meters}
    return [_summary_row(m, p, fields[m.address], zone) for m, p in plan]
