"""A fake EKM Push API (aiohttp.web) serving the same virtual fleet as the RS-485 face.

Endpoints (all on one host; point both the API and the summary base URL at it):
  GET  /readMeter (/readmeter)        Realtime; values sent as JSON strings, oldest read first
  GET  /summary                       legacy Summary: report 15/hr/dy/wk/mo, limit/offset paging
  GET  /summary/api/v2/meter          Summary V2 First/Last/Diff/DeltaMax (report=range or a period)
  GET  /summary/api/v2/gstat          gateway status
  GET  /summary/api/v2/iostack        ioStacks (the fleet has none: EKM 1000)
  GET  /account/api/{target}          account | gateway | meter | iostack, deep / state
  POST /sendCommand                   Gateway Settings; SetRelay switches VirtualMeter relays
  GET/POST/PUT/DELETE /api/trigger    Trigger API (bearer token required if the server has one)
  GET  /push3/{mac}/readMeter         the Push3 gateway LOCAL API of gateway `mac` (numbers, keyed
                                      by address); a wrong key answers HTTP 500 like a real Push3

Keys: one account key (every meter), one per gateway (its meters), one per meter; they
are derived from the fleet's addresses, so the same fleet always gets the same keys.
Summaries come from the fleet's closed-form history: the `_Diff` of a counter over a
period is its register at the end minus its register at the start.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
import hashlib
import itertools
import json
import statistics
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from ..fields import FIELDS, Quantity
from ..readings import FieldValue, Protocol, normalize_address
from .fleet import EPOCH, Fleet, VirtualMeter

DEFAULT_GATEWAY = "4016fa0fffff"  # for meters built without one
READ_INTERVAL_S = 60
MAX_LIMIT = 1000

HTML_PAGE = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
ERROR_TEXT = "Error: the request could not be processed"
BROKEN_JSON = '{"readMeter": {"Requested": 1, "ReadSet": [{"Meter": "3000'

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
REPORT_SECONDS = {"15": 900, "hr": 3600}


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


@dataclass(frozen=True)
class SimKeys:
    """The keys the fake API accepts, derived from the fleet's addresses."""

    account: str
    gateways: dict[str, str]  # MAC -> key
    meters: dict[str, str]  # address -> key

    @classmethod
    def for_fleet(cls, fleet: Fleet) -> SimKeys:
        seed = ",".join(sorted(fleet.meters))

        def make(kind: str, ident: str) -> str:
            digest = hashlib.sha256(f"ekm-sim/{kind}/{ident}/{seed}".encode()).digest()
            return base64.b64encode(digest[:15], altchars=b"Kq").decode()

        macs = sorted({gateway_of(m) for m in fleet.meters.values()})
        return cls(
            account=make("account", ""),
            gateways={mac: make("gateway", mac) for mac in macs},
            meters={a: make("meter", a) for a in sorted(fleet.meters)},
        )


def gateway_of(meter: VirtualMeter) -> str:
    return (meter.gateway or DEFAULT_GATEWAY).lower()


@dataclass(frozen=True)
class Scope:
    kind: str  # account | gateway | meter
    ident: str

    def sees(self, meter: VirtualMeter) -> bool:
        if self.kind == "account":
            return True
        if self.kind == "gateway":
            return gateway_of(meter) == self.ident
        return meter.address == self.ident


class ApiError(Exception):
    """An answer the handlers give instead of data."""

    def __init__(self, http: int, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.http = http
        self.message = message
        self.code = code

    def response(self) -> web.Response:
        body: dict[str, Any] = {"error": self.message}
        if self.code is not None:
            body["status_code"] = self.code
        return web.json_response(body, status=self.http)


INVALID_KEY = ApiError(401, "Invalid key", "401")


def _text(value: FieldValue) -> str:
    return str(value)


def _split(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [part for part in raw.replace(",", "~").split("~") if part]


def _ms(t: float) -> int:
    return round(t * 1000)


def _period_head(meter: VirtualMeter, start: float, end: float, zone: tzinfo) -> dict[str, Any]:
    """The keys every summary row of one meter and period starts with."""
    return {
        "Start_Time_Stamp_UTC_ms": _ms(start),
        "End_Time_Stamp_UTC_ms": _ms(end),
        "Start_Date": datetime.fromtimestamp(start, zone).strftime("%Y%m%d%H%M"),
        "End_Date": datetime.fromtimestamp(end, zone).strftime("%Y%m%d%H%M"),
        "Meter": meter.address,
        "Count": round((end - start) / READ_INTERVAL_S),
        "Protocol": str(meter.protocol),
    }


def _bool(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


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
        self.triggers: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at once, to check client concurrency
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # --- lifecycle ------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = any free port); returns the base URL."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1] if runner.addresses else port
        self.url = f"http://{host}:{bound}"
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

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.path.lower() == path.lower()]

    # --- plumbing ---------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/readMeter", self._read_meter)
        app.router.add_get("/readmeter", self._read_meter)
        app.router.add_get("/summary", self._summary)
        app.router.add_get("/summary/api/v2/meter", self._summary_v2)
        app.router.add_get("/summary/api/v2/gstat", self._gstat)
        app.router.add_get("/summary/api/v2/iostack", self._iostack)
        app.router.add_get("/account/api/{target}", self._account)
        app.router.add_post("/account/api/{target}", self._account)
        app.router.add_post("/sendCommand", self._send_command)
        app.router.add_route("*", "/api/trigger", self._trigger)
        app.router.add_get("/push3/{mac}/readMeter", self._push3)
        return app

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
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

    async def _answer(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        fault = next((f for f in self.faults if f.matches(request)), None)
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None or fault.body is not None or fault.code is not None:
                return self._fault_response(fault)
        try:
            return await handler(request)
        except ApiError as err:
            return err.response()

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        status = fault.status or 200
        if fault.body is not None:
            return web.Response(
                status=status, text=fault.body, content_type=fault.content_type, headers=headers
            )
        body: dict[str, Any] = {"error": fault.message}
        if fault.code is not None:
            body["status_code"] = fault.code
        return web.json_response(body, status=status, headers=headers)

    def _scope(self, key: str | None) -> Scope:
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

    def _visible(self, scope: Scope) -> list[VirtualMeter]:
        return [m for a, m in sorted(self.fleet.meters.items()) if scope.sees(m)]

    def _pick(self, scope: Scope, key: str, raw: str | None) -> list[VirtualMeter]:
        """The meters a `meters`/`devices` parameter names; EKM 1200 for one the key cannot see."""
        names = _split(raw)
        if not names:
            return self._visible(scope)
        picked: list[VirtualMeter] = []
        for name in names:
            try:
                address = normalize_address(name)
            except ValueError:
                raise ApiError(400, f"Invalid value: {name[:20]}", 1102) from None
            meter = self.fleet.get(address)
            if meter is None or not scope.sees(meter):
                # The real API echoes the key here; clients must redact it.
                raise ApiError(400, f"Found invalid meter: {name} for key: {key}", 1200)
            if meter not in picked:
                picked.append(meter)
        return picked

    @staticmethod
    async def _zone(raw: str | None, code: int = 1102) -> tzinfo:
        if not raw:
            return UTC
        try:
            return await asyncio.to_thread(ZoneInfo, raw.replace("~", "/"))
        except (ZoneInfoNotFoundError, ValueError):
            if code == 1004:
                raise ApiError(400, "Timezone is not supported for this date range request", 1004) from None
            raise ApiError(400, f"Invalid value: timezone {raw[:40]}", 1102) from None

    def _fields(self, raw: str | None) -> list[str] | None:
        names = _split(raw)
        if not names:
            return None
        unknown = [n for n in names if n.rstrip("*") not in FIELDS and not n.endswith("*")]
        if unknown:
            raise ApiError(400, f"Invalid parameter: unknown field {unknown[0][:40]}", 1103)
        return names

    # --- Realtime ---------------------------------------------------------------

    def _read(self, meter: VirtualMeter, t: float, fields: list[str] | None, zone: tzinfo) -> dict[str, Any]:
        reading = meter.reading(t)
        local = datetime.fromtimestamp(t, zone)
        read: dict[str, Any] = {
            "Good": 1,
            "Date": local.strftime("%Y-%m-%d"),
            "Time": local.strftime("%H:%M:%S"),
            "Time_Stamp_UTC_ms": _ms(t),
            "Model": meter.model,
            "Firmware": meter.firmware,
        }
        if fields is None:
            read.update((k, _text(v)) for k, v in meter.values(t).items())
        else:
            for name in fields:
                for fname, value in reading.values.items():
                    if fname == name or (name.endswith("*") and fname.startswith(name[:-1])):
                        read[fname] = _text(value)
        return read

    async def _read_meter(self, request: web.Request) -> web.Response:
        q = request.query
        key = q.get("key")
        scope = self._scope(key)
        fmt = (q.get("fmt") or q.get("format") or "json").lower()
        if fmt != "json":
            raise ApiError(400, f"Invalid format: {fmt[:10]} (the simulator speaks json)", 1101)
        meters = self._pick(scope, key or "", q.get("meters"))
        try:
            cnt = int(q.get("cnt") or q.get("count") or 10)
        except ValueError:
            raise ApiError(400, "Invalid value: cnt", 1102) from None
        if not 1 <= cnt <= 1000:
            raise ApiError(400, "Invalid value: cnt must be 1..1000", 1102)
        fields = self._fields(q.get("fields"))
        zone = await self._zone(q.get("tz") or q.get("timezone"))
        now = self.fleet.clock()
        offset = datetime.fromtimestamp(now, zone).utcoffset() or timedelta()
        readsets = []
        for meter in meters:
            readset: dict[str, Any] = {
                "Meter": meter.address,
                "Group": 0,
                "Interval": READ_INTERVAL_S,
                "Protocol": str(meter.protocol),
                "MAC_Addr": gateway_of(meter),
                "Tz_Offset_Sec": int(offset.total_seconds()),
                "Credits": 0,
            }
            if meter.address not in self.offline:
                reads = [
                    self._read(meter, now - k * READ_INTERVAL_S, fields, zone) for k in reversed(range(cnt))
                ]
                if meter.address in self.bad_reads:
                    reads[-1] = {
                        "Good": 0,
                        "Time_Stamp_UTC_ms": _ms(now),
                        "PERR.NR": "1",
                        "Model": meter.model,
                    }
                readset["Bad_Reads"] = int(meter.address in self.bad_reads)
                readset["Good_Reads"] = cnt - readset["Bad_Reads"]
                readset["ReadData"] = reads
            readsets.append(readset)
        return web.json_response({"readMeter": {"Requested": len(meters), "ReadSet": readsets}})

    async def _push3(self, request: web.Request) -> web.Response:
        mac = request.match_info["mac"].lower()
        if mac not in self.keys.gateways or request.query.get("key") != self.keys.gateways[mac]:
            return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
        try:
            cnt = max(1, min(100, int(request.query.get("cnt") or 1)))
        except ValueError:
            return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
        now = self.fleet.clock()
        out: dict[str, list[dict[str, Any]]] = {}
        for meter in self._visible(Scope("gateway", mac)):
            reads = []
            for k in reversed(range(cnt)):
                t = now - k * READ_INTERVAL_S
                read: dict[str, Any] = {"Model": meter.model, "Firmware": meter.firmware}
                read["Meter_Address"] = meter.address
                read.update(meter.values(t))
                read["Time_Stamp_UTC_ms"] = _ms(t)
                read["Reliability_Ratio"] = 100
                reads.append(read)
            out[meter.address] = reads
        return web.json_response(out)

    # --- Summary ----------------------------------------------------------------

    def _range(self, q: Mapping[str, str], zone: tzinfo) -> tuple[datetime, datetime]:
        raw_start, raw_end = q.get("start_date"), q.get("end_date")
        if not raw_start or not raw_end:
            raise ApiError(400, "Invalid parameter: start_date and end_date are required", 1103)
        try:
            start = datetime.strptime(raw_start, "%Y%m%d%H%M").replace(tzinfo=zone)
            end = datetime.strptime(raw_end, "%Y%m%d%H%M").replace(tzinfo=zone)
        except ValueError:
            raise ApiError(400, "Invalid format: dates are YYYYMMDDhhmm", 1101) from None
        if end <= start:
            raise ApiError(400, "Invalid value: end_date must be after start_date", 1102)
        return start, end

    @staticmethod
    def _periods(report: str, start: datetime, end: datetime, zone: tzinfo) -> list[tuple[float, float]]:
        """Period (start, end) epochs of `report` covering [start, end), aligned on `zone`'s clock."""
        out: list[tuple[float, float]] = []
        local = start.astimezone(zone)
        stop = end.timestamp()
        if report in REPORT_SECONDS:
            step = REPORT_SECONDS[report]
            minutes = 15 if report == "15" else 60
            aligned = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)
            t = aligned.timestamp()
            while t < stop:
                out.append((t, t + step))
                t += step
            return out
        day = local.date()
        if report == "wk":  # weeks start on Sunday
            day -= timedelta(days=(day.weekday() + 1) % 7)
        elif report == "mo":
            day = day.replace(day=1)

        def following(d: date) -> date:
            if report == "dy":
                return d + timedelta(days=1)
            if report == "wk":
                return d + timedelta(days=7)
            return (d.replace(day=28) + timedelta(days=4)).replace(day=1)

        def midnight(d: date) -> float:
            return datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()

        while midnight(day) < stop:
            nxt = following(day)
            out.append((midnight(day), midnight(nxt)))
            day = nxt
        return out

    @staticmethod
    def _summary_fields(meter: VirtualMeter, wanted: list[str] | None) -> tuple[list[str], list[str]]:
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

    @staticmethod
    def _decimals(values: Mapping[str, FieldValue], name: str, meter: VirtualMeter) -> int:
        if FIELDS[name].quantity is Quantity.PULSE_COUNT:
            return 0
        scale = values.get("kWh_Scale")
        return 1 if meter.protocol is Protocol.V3 else int(scale) if isinstance(scale, int) else 2

    def _summary_row(
        self,
        meter: VirtualMeter,
        period: tuple[float, float],
        fields: tuple[list[str], list[str]],
        zone: tzinfo,
    ) -> dict[str, Any]:
        t0, t1 = period
        first, last = meter.values(t0), meter.values(t1)
        row = _period_head(meter, t0, t1, zone)
        counters, instant = fields
        for name in counters:
            a, b = first[name], last[name]
            assert isinstance(a, (int, float)) and isinstance(b, (int, float))
            decimals = self._decimals(last, name, meter)
            row[f"{name}_Min"] = a
            row[f"{name}_Max"] = b
            row[f"{name}_Diff"] = round(b - a, decimals) if decimals else round(b - a)
        if instant:
            samples = [first] + [meter.values(t0 + (t1 - t0) * k / 4) for k in (1, 2, 3)]
            for name in instant:
                series = [float(s[name]) for s in samples if isinstance(s.get(name), (int, float))]
                row[f"{name}_Average"] = round(statistics.fmean(series), 2)
                row[f"{name}_StdDev"] = round(statistics.pstdev(series), 2)
                row[f"{name}_Min"] = min(series)
                row[f"{name}_Max"] = max(series)
        return row

    def _no_rows(
        self, meters: Iterable[VirtualMeter], start: datetime, end: datetime, now: float
    ) -> ApiError:
        names = ",".join(m.address for m in meters)
        if end.timestamp() <= EPOCH:
            first = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%d %H:%M")
            return ApiError(
                400, f"There is not data for: {names} This meter first reported on: {first}", 1002
            )
        if start.timestamp() >= now:
            last = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M")
            return ApiError(400, f"There is not data for: {names} This meter last reported on: {last}", 1003)
        return ApiError(
            400, f"There is not data for: {names} between {start:%Y%m%d%H%M} and {end:%Y%m%d%H%M}", 1001
        )

    async def _summary(self, request: web.Request) -> web.Response:
        q = request.query
        key = q.get("key")
        scope = self._scope(key)
        if not q.get("meters"):
            raise ApiError(400, "Invalid parameter: meters is required", 1103)
        meters = self._pick(scope, key or "", q.get("meters"))
        report = q.get("report", "15")
        if report not in ("15", "hr", "dy", "wk", "mo"):
            raise ApiError(400, f"Invalid value: report {report[:10]}", 1102)
        zone = await self._zone(q.get("timezone"), code=1004)
        start, end = self._range(q, zone)
        wanted = self._fields(q.get("fields"))
        try:
            limit = min(MAX_LIMIT, int(q.get("limit") or MAX_LIMIT))
            offset = int(q.get("offset") or 0)
        except ValueError:
            raise ApiError(400, "Invalid value: limit/offset", 1102) from None
        now = self.fleet.clock()
        periods = [(s, e) for s, e in self._periods(report, start, end, zone) if s >= EPOCH and e <= now]
        if not periods:
            raise self._no_rows(meters, start, end, now)
        plan = [(m, p) for m in meters for p in periods][offset : offset + limit]
        fields = {m.address: self._summary_fields(m, wanted) for m in meters}
        rows = [self._summary_row(m, p, fields[m.address], zone) for m, p in plan]
        return web.json_response(rows)

    async def _summary_v2(self, request: web.Request) -> web.Response:
        q = request.query
        key = q.get("key")
        scope = self._scope(key)
        meters = self._pick(scope, key or "", q.get("devices") or q.get("meters"))
        zone = await self._zone(q.get("timezone"), code=1004)
        start, end = self._range(q, zone)
        wanted = _split(q.get("fields")) or ["kWh_Tot", "Pulse_Cnt_1", "Pulse_Cnt_2", "Pulse_Cnt_3"]
        report = q.get("report", "range")
        now = self.fleet.clock()
        t0, t1 = max(start.timestamp(), EPOCH), min(end.timestamp(), now)
        if t1 <= t0:
            raise self._no_rows(meters, start, end, now)
        if report == "range":
            periods = [(t0, t1)]
        elif report in ("15", "hr", "dy", "wk", "mo"):
            periods = [(s, e) for s, e in self._periods(report, start, end, zone) if s >= EPOCH and e <= now]
        else:
            raise ApiError(400, f"Invalid value: report {report[:10]}", 1102)
        rows = []
        for meter in meters:
            for s, e in periods:
                samples = [meter.values(s + (e - s) * k / 8) for k in range(9)]
                row = _period_head(meter, s, e, zone)
                for name in wanted:
                    series = [v[name] for v in samples if isinstance(v.get(name), (int, float))]
                    if len(series) != len(samples):
                        continue
                    nums = [float(x) for x in series]
                    decimals = self._decimals(samples[-1], name, meter) if name in FIELDS else 2
                    row[f"{name}_First"] = series[0]
                    row[f"{name}_Last"] = series[-1]
                    row[f"{name}_Diff"] = round(nums[-1] - nums[0], decimals)
                    row[f"{name}_DeltaMax"] = round(max(b - a for a, b in itertools.pairwise(nums)), decimals)
                rows.append(row)
        limit = q.get("limit")
        if limit and limit.isdigit():
            rows = rows[: int(limit)]
        return web.json_response(rows)

    async def _gstat(self, request: web.Request) -> web.Response:
        q = request.query
        scope = self._scope(q.get("key"))
        visible = {gateway_of(m) for m in self._visible(scope)}
        macs = [m.lower() for m in _split(q.get("devices"))] or sorted(visible)
        now = self.fleet.clock()
        rows = []
        for mac in macs:
            if mac not in visible:
                raise ApiError(400, f"Invalid value: gateway {mac[:20]}", 1102)
            online = mac not in self.offline_gateways
            rows.append(
                {
                    "MAC_Addr": mac,
                    "Status": "online" if online else "offline",
                    "Last_Report_UTC_ms": _ms(now if online else now - 3600),
                    "Meters": sum(1 for m in self.fleet.meters.values() if gateway_of(m) == mac),
                }
            )
        return web.json_response(rows)

    async def _iostack(self, request: web.Request) -> web.Response:
        self._scope(request.query.get("key"))
        devices = request.query.get("devices", "")
        raise ApiError(400, f"There is not data for: {devices[:60]}", 1000)

    # --- Account ------------------------------------------------------------------

    def _meter_entry(self, meter: VirtualMeter, deep: bool, state: bool, now: float) -> dict[str, Any]:
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
                "Time_Stamp_UTC_ms": _ms(now),
                **{k: values[k] for k in ("kWh_Tot", "RMS_Watts_Tot", "State_Out") if k in values},
            }
        return entry

    async def _account(self, request: web.Request) -> web.Response:
        q = request.query
        key = q.get("key") or ""
        scope = self._scope(key or None)
        target = request.match_info["target"]
        if target not in ("account", "gateway", "meter", "iostack"):
            raise ApiError(400, f"Invalid parameter: target {target[:20]}", 1103)
        deep, state = _bool(q.get("deep")), _bool(q.get("state"))
        ids = [i.lower() for i in q.getall("id", [])]
        now = self.fleet.clock()
        meters = self._visible(scope)
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
                gateway["name"] = f"Push3 {mac[-6:]}"
                gateway["meters"] = [
                    self._meter_entry(m, deep, state, now) for m in meters if gateway_of(m) == mac
                ]
                gateway["iostacks"] = []
            gateways.append(gateway)
        body = {
            "key": key,  # the real API echoes it; clients must not keep it
            "key_type": scope.kind,
            "host": request.host,
            "gateways": gateways,
            "meters": [self._meter_entry(m, deep, state, now) for m in meters],
            "metersets": [],
            "iostacks": [],
        }
        return web.json_response(body)

    # --- Gateway Settings -----------------------------------------------------------

    def _check_token(self, request: web.Request, *, required: bool) -> None:
        header = request.headers.get("Authorization")
        if self.api_token is None:
            return
        if header is None and not required:
            return
        if header != f"Bearer {self.api_token}":
            raise ApiError(403, "invalid key or API token")

    async def _send_command(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON body")
        key = request.query.get("key") or body.get("key")
        scope = self._scope(key)
        self._check_token(request, required=False)
        mac = (request.query.get("gateway") or body.get("gateway") or "").lower()
        if scope.kind == "meter":
            raise ApiError(403, "The key must be an account or Push3 gateway key")
        if mac not in self.keys.gateways or (scope.kind == "gateway" and scope.ident != mac):
            raise ApiError(400, "Unknown gateway for this key")
        command = body.get("command")
        if command != "SetRelay":
            raise ApiError(400, f"Unknown command: {str(command)[:30]}")
        if body.get("target") != "meter":
            raise ApiError(400, "SetRelay needs target 'meter'")
        try:
            address = normalize_address(str(body.get("target_id", "")))
        except ValueError:
            raise ApiError(400, "Invalid target_id") from None
        meter = self.fleet.get(address)
        if meter is None or gateway_of(meter) != mac:
            raise ApiError(400, f"Meter {address} is not connected to gateway {mac}")
        params = body.get("params")
        if not isinstance(params, dict):
            raise ApiError(400, "params must be an object")
        relay = {"relay_1": 1, "relay_2": 2}.get(str(params.get("relay", "")).lower())
        status = str(params.get("status", "")).lower()
        duration = params.get("duration", 0)
        if relay is None or status not in ("close", "open"):
            raise ApiError(400, "params need relay relay_1|relay_2 and status close|open")
        if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= 9999:
            raise ApiError(400, "duration must be 0..9999 seconds")
        if meter.protocol is Protocol.V3:
            raise ApiError(400, "v3 meters have no controllable relays")
        meter.set_relay(relay, status == "close", duration, t=self.fleet.clock())
        msg_id = hashlib.sha256(f"msg/{next(self._ids)}".encode()).hexdigest()[:32]
        self.commands.append({**body, "gateway": mac, "msg_id": msg_id})
        client = str(body.get("client") or "client")
        return web.json_response(
            {
                "msg_id": msg_id,
                "response_channel_id": body.get("response_channel_id") or f"{client[:20]}-{msg_id[:8]}",
                "response_channel_host": request.host,
            }
        )

    # --- Trigger --------------------------------------------------------------------

    def _trigger_scope(self, request: web.Request) -> tuple[Scope, set[str]]:
        try:
            scope = self._scope(request.query.get("key"))
        except ApiError:
            raise ApiError(403, "invalid key or API token") from None
        self._check_token(request, required=True)
        if scope.kind == "meter":
            raise ApiError(403, "invalid key or API token")
        return scope, {gateway_of(m) for m in self._visible(scope)}

    async def _trigger(self, request: web.Request) -> web.Response:
        _, macs = self._trigger_scope(request)
        q = request.query
        uuid = (q.get("trigger") or "").lower()
        if request.method == "GET" and not uuid:
            mac = (q.get("gateway") or "").lower()
            if mac not in macs:
                raise ApiError(400, "Unknown gateway for this key")
            triggers = [t for t in self.triggers.values() if t["gateway"] == mac]
            return web.json_response({"triggers": triggers})
        if request.method == "POST":
            mac = (q.get("gateway") or "").lower()
            if mac not in macs:
                raise ApiError(400, "Unknown gateway for this key")
            body = await self._trigger_body(request)
            if not isinstance(body.get("trigger_name"), str) or not body["trigger_name"].strip():
                raise ApiError(400, "trigger_name is required")
            uuid = hashlib.sha256(f"trigger/{next(self._ids)}/{mac}".encode()).hexdigest()[:32]
            created = {**body, "trigger_uuid": uuid, "gateway": mac}
            self.triggers[uuid] = created
            return web.json_response(created)
        trigger = self.triggers.get(uuid)
        if trigger is None or trigger["gateway"] not in macs:
            raise ApiError(404, "trigger not found")
        if request.method == "GET":
            return web.json_response(trigger)
        if request.method == "PUT":
            body = await self._trigger_body(request)
            body.pop("trigger_uuid", None)
            trigger.update(body)
            return web.json_response(trigger)
        if request.method == "DELETE":
            del self.triggers[uuid]
            return web.json_response({"deleted": uuid})
        raise ApiError(405, "method not allowed")

    @staticmethod
    async def _trigger_body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "a trigger is a JSON object")
        return body


__all__ = [
    "BROKEN_JSON",
    "ERROR_TEXT",
    "HTML_PAGE",
    "Fault",
    "LoggedRequest",
    "PushServer",
    "SimKeys",
    "gateway_of",
]
