"""Client of the EKM Push cloud API: Realtime, Summary, Summary V2, Account, Gateway Settings, Trigger.

The API as this project uses it is described in docs/push-api.md. The caller
owns the aiohttp ClientSession and passes it in. Every answer comes back typed:
readings are the same MeterReading the RS-485 side produces. The key and API
token never appear in logs, messages, reprs or returned values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
import logging
import re
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from ..errors import MalformedResponseError, NoDataError, PushApiError, UnknownMeterError
from ..readings import normalize_address
from ..rs485.commands import MAX_RELAY_SECONDS
from .account import ACCOUNT_TARGETS, Account, parse_account
from .dates import format_api_time, load_zone, zone_param
from .errors import server_text
from .http import (
    DEFAULT_RETRY,
    MAX_BODY_BYTES,
    HttpTransport,
    Params,
    RetryPolicy,
    build_url,
    check_base_url,
    join_list,
)
from .mapping import MeterProblem, RealtimeResult, Unavailable, merge_results, realtime_result, with_inputs
from .summary import (
    GatewayStatus,
    IoStackRow,
    Report,
    SummaryRow,
    most_periods,
    parse_gateway_status,
    parse_iostack_row,
    parse_rows,
)
from .trigger import Trigger, check_definition, check_uuid, parse_trigger, parse_trigger_list

_LOGGER = logging.getLogger(__package__)

DEFAULT_API_URL = "https://api.ekmpush.com"
DEFAULT_SUMMARY_URL = "https://summary.ekmpush.com"
DEFAULT_WIDGET_URL = "https://widget.ekmmetering.com/EKM2/"

type Zone = tzinfo | str


@dataclass(frozen=True, slots=True)
class CommandAck:
    """What sendCommand answers: the command was queued for the gateway, not yet done."""

    msg_id: str
    channel: str | None  # response_channel_id, to follow the gateway's answer
    host: str | None  # response_channel_host


def short_address(address: str) -> str:
    """A 12-digit address without its zero padding, as the Realtime examples send it."""
    return address.lstrip("0") or "0"


def widget_url(
    key: str,
    meter: str,
    *,
    reads: int = 100,
    scale: str = "realtime",
    timezone: Zone | None = None,
    base_url: str = DEFAULT_WIDGET_URL,
    **options: str | int,
) -> str:
    """The EKM Widget URL for a meter. It carries the key by design: share it with care."""
    params: dict[str, str] = {
        "reads": str(reads),
        "key": key,
        "meter": short_address(normalize_address(meter)),
        "scale": scale,
    }
    if timezone is not None:
        params["timezone"] = zone_param(timezone)
    params.update((name, str(value)) for name, value in options.items())
    return f"{base_url}?{urlencode(params, safe='~')}"


class PushClient:
    """Every EKM Push sub-API over one injected session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        key: str,
        *,
        api_url: str = DEFAULT_API_URL,
        summary_url: str = DEFAULT_SUMMARY_URL,
        api_token: str | None = None,
        timeout: float = 20.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_url_length: int = 2000,
        max_meters_per_request: int = 100,
        max_concurrency: int = 4,
        client_name: str = "aioekm",
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not key:
            raise ValueError("a Push key is required")
        if max_meters_per_request < 1 or max_concurrency < 1:
            raise ValueError("max_meters_per_request and max_concurrency must be at least 1")
        self._key = key
        self._token = api_token
        self.api_url = check_base_url(api_url, "api_url")
        self.summary_url = check_base_url(summary_url, "summary_url")
        self.max_url_length = max_url_length
        self.max_meters_per_request = max_meters_per_request
        self.max_concurrency = max_concurrency
        self.client_name = client_name
        self._http = HttpTransport(
            session,
            secrets=lambda: (self._key, self._token),
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            max_body_bytes=max_body_bytes,
        )

    def __repr__(self) -> str:
        token = ", api_token=***" if self._token else ""
        # A base URL may carry the key (a query someone added by hand): masked like any text.
        api, summary = self._http.safe(str(self.api_url)), self._http.safe(str(self.summary_url))
        return f"PushClient(api_url={api!r}, summary_url={summary!r}, key=***{token})"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._http.requests

    def _headers(self, *, token_required: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif token_required:
            _LOGGER.debug("no API token given; the Trigger API usually requires one")
        return headers

    async def _get(self, base: URL, path: str, params: Params, expected: str, **kw: Any) -> Any:
        url = build_url(base, path, {"key": self._key, **params})
        return await self._http.request("GET", url, headers=self._headers(**kw), expected=expected)

    # --- Realtime -------------------------------------------------------------

    def plan_batches(self, addresses: Sequence[str], params: Params) -> list[list[str]]:
        """Split meters into as few `~`-joined requests as URL length and meter cap allow."""
        empty = build_url(self.api_url, "readMeter", {"key": self._key, **params, "meters": ""})
        base_length = len(str(empty))
        batches: list[list[str]] = []
        current: list[str] = []
        length = base_length
        for address in addresses:
            extra = len(address) + (1 if current else 0)
            if current and (
                len(current) >= self.max_meters_per_request or length + extra > self.max_url_length
            ):
                batches.append(current)
                current, length, extra = [], base_length, len(address)
            current.append(address)
            length += extra
        if current:
            batches.append(current)
        return batches

    async def read_meters(
        self,
        meters: Iterable[str | int] | None = None,
        *,
        cnt: int = 1,
        fields: Sequence[str] | None = None,
        timezone: Zone | None = None,
        map_fields: Collection[str] | None = None,
    ) -> RealtimeResult:
        """The newest good reading of each meter (all of the key's meters if `meters` is None).

        `cnt` reads per meter are fetched and the newest good one kept; reads
        flagged `Good: 0` are skipped and counted in `bad_reads`. `fields` asks
        the server for those fields only; `map_fields` maps only those (and what
        derived ones need) from whatever the server sends, the cheap path for
        large polls.

        Every meter asked for ends in `readings` or in `problems` (`MeterProblem`):
        a meter EKM has no data for (1000-1099) or does not know for this key
        (1200) never fails the others. Errors of the whole poll are raised:
        AuthenticationError, InvalidRequestError, ServerError, RateLimitedError,
        MalformedResponseError, EkmConnectionError, EkmTimeoutError.
        """
        if not 1 <= cnt <= 1000:
            raise ValueError("cnt must be 1..1000")
        params: dict[str, str] = {"fmt": "json", "cnt": str(cnt)}
        if fields:
            params["fields"] = join_list(fields)
        if timezone is not None:
            params["tz"] = zone_param(timezone)
        only = with_inputs(map_fields) if map_fields is not None else None
        if meters is None:
            payload = await self._get(self.api_url, "readMeter", params, "a readMeter object")
            return realtime_result(payload, requests=1, only=only)
        requested = list(dict.fromkeys(normalize_address(m) for m in meters))
        if not requested:
            return RealtimeResult()
        batches = self.plan_batches([short_address(a) for a in requested], params)
        gate = asyncio.Semaphore(self.max_concurrency)
        problems: dict[str, MeterProblem] = {}

        async def fetch(batch: list[str]) -> list[RealtimeResult]:
            """The batch's results; meters EKM refuses one by one are set apart and the rest asked again."""
            parts: list[RealtimeResult] = []
            pending = [batch]
            while pending:
                part = pending.pop()
                if not part:  # an empty `meters` would ask for every meter of the key
                    continue
                url = build_url(
                    self.api_url, "readMeter", {"key": self._key, **params, "meters": join_list(part)}
                )
                try:
                    async with gate:
                        payload, sent = await self._http.request_counted(
                            "GET", url, headers=self._headers(), expected="a readMeter object"
                        )
                except (UnknownMeterError, NoDataError) as err:
                    parts.append(RealtimeResult(requests=1))
                    pending.extend(_set_apart(part, err, problems))
                    continue
                parts.append(realtime_result(payload, requests=sent, only=only))
            return parts

        outcomes = await asyncio.gather(*(fetch(b) for b in batches), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        parts = [p for o in outcomes if isinstance(o, list) for p in o]
        result = merge_results(parts, requested, problems)
        if result.missing:
            _LOGGER.debug("no reading for %d of %d meters", len(result.missing), len(requested))
        return result

    # --- Summary (legacy) -----------------------------------------------------

    async def summary(
        self,
        meters: Iterable[str | int],
        report: Report | str,
        start: datetime,
        end: datetime,
        *,
        timezone: Zone = "UTC",
        fields: Sequence[str] | None = None,
        page_size: int = 1000,
        max_pages: int = 1000,
    ) -> list[SummaryRow]:
        """Summary periods of `report` length between two aware datetimes, every page fetched.

        start/end are sent as YYYYMMDDhhmm on the wall clock of `timezone`.
        Rows come back sorted by meter and start time.
        """
        report = Report(report)
        addresses = [normalize_address(m) for m in meters]
        if not addresses:
            raise ValueError("summary needs at least one meter")
        zone = await _zone(timezone)
        params: dict[str, str] = {
            "meters": join_list(short_address(a) for a in addresses),
            "report": str(report),
            "format": "json",
            "timezone": zone_param(zone),
            "start_date": format_api_time(start, zone),
            "end_date": format_api_time(end, zone),
            "limit": str(page_size),
        }
        if fields:
            params["fields"] = join_list(fields)
        wanted = set(addresses)
        most = len(wanted) * most_periods(report, start, end)
        rows: dict[tuple[str, datetime], SummaryRow] = {}
        for page in range(max_pages):
            payload = await self._get(
                self.summary_url, "summary", {**params, "offset": str(page * page_size)}, "a list of periods"
            )
            batch = parse_rows(payload, "GET /summary")
            before, stray = len(rows), 0
            for row in batch:
                # A row's times may be its first and last read: it belongs if it touches the range.
                if (row.meter and row.meter not in wanted) or row.end < start or row.start >= end:
                    stray += 1  # not what was asked for: a server that ignores offset or range
                    continue
                rows[(row.meter, row.start)] = row
            if len(batch) < page_size:
                break
            # A server that ignores offset or range would send full pages forever: stop when
            # rows fall outside the request or stop being new, or the range can hold no more.
            if stray or len(rows) == before:
                why = f"{stray} rows outside the request" if stray else "no new rows"
                _LOGGER.warning("GET /summary: stopped paging at page %d (%s)", page + 1, why)
                break
            if len(rows) >= most:
                break
        else:
            raise MalformedResponseError(f"GET /summary: still paging after {max_pages} pages")
        return [rows[k] for k in sorted(rows)]

    # --- Summary V2 -----------------------------------------------------------

    async def summary_v2(
        self,
        meters: Iterable[str | int],
        start: datetime,
        end: datetime,
        *,
        timezone: Zone = "UTC",
        fields: Sequence[str] | None = None,
        report: str = "range",
        limit: int | None = None,
    ) -> list[SummaryRow]:
        """Summary V2 `meter`: First/Last/Diff per field (report 'range' = one row per meter)."""
        zone = await _zone(timezone)
        params: dict[str, str] = {
            "format": "json",
            "devices": join_list(short_address(normalize_address(m)) for m in meters),
            "timezone": zone_param(zone),
            "start_date": format_api_time(start, zone),
            "end_date": format_api_time(end, zone),
            "report": report,
        }
        if fields:
            params["fields"] = join_list(fields)
        if limit is not None:
            params["limit"] = str(limit)
        payload = await self._get(self.summary_url, "summary/api/v2/meter", params, "a list of periods")
        return parse_rows(payload, "GET /summary/api/v2/meter")

    async def gateway_status(self, gateways: Iterable[str]) -> list[GatewayStatus]:
        """Summary V2 GStat for Push3 gateways (by MAC)."""
        params = {"format": "json", "devices": join_list(g.lower() for g in gateways)}
        payload = await self._get(self.summary_url, "summary/api/v2/gstat", params, "a list of gateways")
        what = "GET /summary/api/v2/gstat"
        if not isinstance(payload, list):
            raise MalformedResponseError(f"{what}: expected a list of gateways")
        return [parse_gateway_status(item, what) for item in payload]

    async def iostack_summary(
        self,
        devices: Iterable[str],
        start: datetime,
        end: datetime,
        *,
        timezone: Zone = "UTC",
        fields: Sequence[str] | None = None,
    ) -> list[IoStackRow]:
        """Summary V2 ioStack rows, kept as sent (the ioStack field names are not published)."""
        zone = await _zone(timezone)
        params: dict[str, str] = {
            "format": "json",
            "devices": join_list(devices),
            "timezone": zone_param(zone),
            "start_date": format_api_time(start, zone),
            "end_date": format_api_time(end, zone),
        }
        if fields:
            params["fields"] = join_list(fields)
        payload = await self._get(self.summary_url, "summary/api/v2/iostack", params, "a list of rows")
        what = "GET /summary/api/v2/iostack"
        if not isinstance(payload, list):
            raise MalformedResponseError(f"{what}: expected a list of rows")
        return [parse_iostack_row(item, what) for item in payload]

    # --- Account --------------------------------------------------------------

    async def account(
        self,
        target: str = "account",
        ids: Iterable[str] = (),
        *,
        deep: bool = False,
        state: bool = False,
    ) -> Account:
        """What the key sees: target 'account', 'gateway', 'meter' or 'iostack' (ids narrow it)."""
        if target not in ACCOUNT_TARGETS:
            raise ValueError(f"target must be one of {', '.join(ACCOUNT_TARGETS)}")
        params: dict[str, str | list[str]] = {
            "deep": "true" if deep else "false",
            "state": "true" if state else "false",
        }
        id_list = [str(i) for i in ids]
        if id_list:
            params["id"] = id_list
        payload = await self._get(self.api_url, f"account/api/{target}", params, "an account object")
        return parse_account(payload, f"GET /account/api/{target}")

    # --- Gateway Settings -----------------------------------------------------

    async def send_command(
        self,
        gateway: str,
        target: str,
        target_id: str,
        command: str,
        params: Mapping[str, Any] | None = None,
        *,
        response_channel_id: str | None = None,
    ) -> CommandAck:
        """Queue a command for a device behind a Push3 gateway. Never retried automatically."""
        if not gateway or not command or not target:
            raise ValueError("gateway, target and command are required")
        body: dict[str, Any] = {
            "target": target,
            "target_id": target_id,
            "command": command,
            "client": self.client_name,
            "params": dict(params or {}),
        }
        if response_channel_id:
            body["response_channel_id"] = response_channel_id
        url = build_url(self.api_url, "sendCommand", {"key": self._key, "gateway": gateway.lower()})
        headers = {**self._headers(), "Content-Type": "application/json"}
        payload = await self._http.request("POST", url, json_body=body, headers=headers, expected="a msg_id")
        what = "POST /sendCommand"
        if not isinstance(payload, Mapping) or payload.get("msg_id") in (None, ""):
            raise MalformedResponseError(f"{what}: answer has no msg_id")
        channel = payload.get("response_channel_id")
        host = payload.get("response_channel_host")
        return CommandAck(
            str(payload["msg_id"]),
            str(channel) if channel not in (None, "") else None,
            str(host) if host not in (None, "") else None,
        )

    async def set_relay(
        self, gateway: str, meter: str | int, relay: int, closed: bool, seconds: int = 0
    ) -> CommandAck:
        """Close (on) or open (off) relay 1 or 2 of a v4/v5 meter; seconds > 0 flips it back after."""
        if relay not in (1, 2):
            raise ValueError("relay must be 1 or 2")
        if not 0 <= seconds <= MAX_RELAY_SECONDS:
            raise ValueError(f"seconds must be 0..{MAX_RELAY_SECONDS} (0 = hold)")
        params = {"relay": f"relay_{relay}", "status": "close" if closed else "open", "duration": seconds}
        return await self.send_command(gateway, "meter", normalize_address(meter), "SetRelay", params)

    # --- Trigger ----------------------------------------------------------------

    async def triggers(self, gateway: str) -> list[Trigger]:
        """The triggers of a Push3 gateway."""
        payload = await self._get(
            self.api_url, "api/trigger", {"gateway": gateway.lower()}, "a trigger list", token_required=True
        )
        return parse_trigger_list(payload, "GET /api/trigger")

    async def trigger(self, uuid: str) -> Trigger:
        """One trigger by uuid (NotFoundError if there is none)."""
        payload = await self._get(
            self.api_url, "api/trigger", {"trigger": check_uuid(uuid)}, "a trigger", token_required=True
        )
        return parse_trigger(payload, "GET /api/trigger")

    async def _write_trigger(self, method: str, params: Params, body: Any) -> Any:
        url = build_url(self.api_url, "api/trigger", {"key": self._key, **params})
        headers = {**self._headers(token_required=True), "Content-Type": "application/json"}
        return await self._http.request(method, url, json_body=body, headers=headers, expected="a trigger")

    async def create_trigger(self, gateway: str, definition: Mapping[str, Any]) -> Trigger:
        """Create a trigger on a gateway; the answer carries its new uuid."""
        body = check_definition(definition, creating=True)
        payload = await self._write_trigger("POST", {"gateway": gateway.lower()}, body)
        return parse_trigger(payload, "POST /api/trigger")

    async def update_trigger(self, uuid: str, definition: Mapping[str, Any]) -> Trigger:
        """Replace the definition of a trigger."""
        uuid = check_uuid(uuid)
        body = check_definition(definition, creating=False)
        payload = await self._write_trigger("PUT", {"trigger": uuid}, body)
        return parse_trigger(payload, "PUT /api/trigger")

    async def delete_trigger(self, uuid: str) -> None:
        """Delete a trigger."""
        await self._write_trigger("DELETE", {"trigger": check_uuid(uuid)}, None)

    # --- Widget -------------------------------------------------------------------

    def widget_url(self, meter: str | int, **options: Any) -> str:
        """The EKM Widget URL of a meter with this client's key (see module `widget_url`)."""
        return widget_url(self._key, str(meter), **options)


# The meters an EKM message names: "Found invalid meter: 300000001 for key: ..." (1200),
# "There is not data for: 300000001,300000002 This meter first reported on: ..." (1000-1003).
_NAMED_METERS = re.compile(r"(?:invalid meter|data for):\s*([0-9][0-9~, ]*)", re.IGNORECASE)


def _set_apart(batch: list[str], err: PushApiError, problems: dict[str, MeterProblem]) -> list[list[str]]:
    """Record the meters of `batch` that `err` is about; return what is left to ask again.

    EKM answers a whole request with 1200 or 1000-1003; the meters its message names
    are set apart, and a batch whose culprits are not named is halved until they are.
    """
    reason = Unavailable.UNKNOWN_METER if isinstance(err, UnknownMeterError) else Unavailable.NO_DATA
    problem = MeterProblem(reason, err.code, server_text(err))
    match = _NAMED_METERS.search(str(err))
    named = {n.lstrip("0") or "0" for n in re.split(r"[~, ]+", match.group(1)) if n} if match else set()
    culprits = [a for a in batch if a in named] or (batch if len(batch) == 1 else [])
    for address in culprits:
        problems[normalize_address(address)] = problem
    rest = [a for a in batch if a not in culprits]
    if not culprits:
        half = len(rest) // 2
        return [rest[:half], rest[half:]]
    return [rest] if rest else []


async def _zone(zone: Zone) -> tzinfo:
    if isinstance(zone, str):
        return await load_zone(zone)
    return zone


__all__ = [
    "CommandAck",
    "MeterProblem",
    "PushClient",
    "RealtimeResult",
    "RetryPolicy",
    "Unavailable",
    "widget_url",
]
