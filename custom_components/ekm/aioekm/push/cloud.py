"""Client of the EKM Push cloud API: Realtime, Summary, Summary V2, Account, Gateway Settings, Trigger.

The API as this project uses it is described in docs/push-api.md. The caller
owns the aiohttp ClientSession and passes it in. Every answer comes back typed:
readings are the same MeterReading the RS-485 side produces. The key and API
token never appear in logs, messages, reprs or returned values.

The client holds the session, the key and one method a call; the parts of the calls live
beside it: `batching` (Realtime batches), `summary_paging` (legacy Summary pages),
`gateway_settings`, `widget`, `dates` and the parsers (`mapping`, `summary`, `account`, `trigger`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
import logging
from typing import Any

import aiohttp
from yarl import URL

from ..readings import normalize_address
from . import batching
from .account import ACCOUNT_TARGETS, Account, parse_account
from .dates import Zone, as_tzinfo, span_params, zone_param
from .decoding import DEFAULT_LIMITS, JsonLimits
from .gateway_settings import CommandAck, command_body, parse_command_ack, relay_params
from .http import (
    DEFAULT_RETRY,
    MAX_BODY_BYTES,
    HttpTransport,
    Params,
    RetryPolicy,
    build_url,
    check_base_url,
    join_list,
    short_address,
)
from .mapping import MeterProblem, RealtimeResult, Unavailable, merge_results, realtime_result, with_inputs
from .summary import (
    GatewayStatus,
    IoStackRow,
    Report,
    SummaryRow,
    parse_gateway_statuses,
    parse_iostack_rows,
    parse_rows,
)
from .summary_paging import Period, fetch_pages, summary_params
from .trigger import Trigger, check_definition, check_uuid, parse_trigger, parse_trigger_list
from .widget import DEFAULT_WIDGET_URL, widget_url

_LOGGER = logging.getLogger(__package__)

DEFAULT_API_URL = "https://api.ekmpush.com"
DEFAULT_SUMMARY_URL = "https://summary.ekmpush.com"
# Reads one Realtime request may ask for (meters x cnt): the answer stays well inside the
# decoding limits (about 80 values a read), so a large cnt asks fewer meters at a time.
READS_PER_REQUEST = 2500
# A Realtime answer: ReadSets of at most 10,000 meters (a key's every meter), ReadData of at most cnt.
REALTIME_LIMITS = JsonLimits(array=10_000)
# An account may have many meters.
ACCOUNT_LIMITS = JsonLimits(array=100_000)


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

    async def _get(
        self,
        base: URL,
        path: str,
        params: Params,
        expected: str,
        *,
        token_required: bool = False,
        limits: JsonLimits = DEFAULT_LIMITS,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The answer of a GET, converted by `convert` beside the decoding (off the loop when large)."""
        url = build_url(base, path, {"key": self._key, **params})
        headers = self._headers(token_required=token_required)
        if convert is None:
            return await self._http.request("GET", url, headers=headers, expected=expected, limits=limits)
        return await self._http.request(
            "GET", url, headers=headers, expected=expected, limits=limits, convert=convert
        )

    async def _send(
        self,
        method: str,
        path: str,
        params: Params,
        body: Any,
        expected: str,
        *,
        token_required: bool = False,
    ) -> Any:
        """A request with a JSON body to the API host (POST, PUT, DELETE: never retried)."""
        url = build_url(self.api_url, path, {"key": self._key, **params})
        headers = {**self._headers(token_required=token_required), "Content-Type": "application/json"}
        return await self._http.request(method, url, json_body=body, headers=headers, expected=expected)

    # --- Realtime -------------------------------------------------------------

    def plan_batches(self, addresses: Sequence[str], params: Params, *, cnt: int = 1) -> list[list[str]]:
        """Split meters into as few `~`-joined requests as URL length, meter cap and reads allow."""
        empty = build_url(self.api_url, "readMeter", {"key": self._key, **params, "meters": ""})
        return batching.plan(
            addresses,
            len(str(empty)),
            max_meters=min(self.max_meters_per_request, max(1, READS_PER_REQUEST // cnt)),
            max_length=self.max_url_length,
        )

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

        def convert(payload: Any) -> RealtimeResult:
            # Mapped beside the decoding: a large answer is mapped off the event loop too.
            return realtime_result(payload, only=only)

        if meters is None:
            result: RealtimeResult = await self._get(
                self.api_url,
                "readMeter",
                params,
                "a readMeter object",
                limits=REALTIME_LIMITS,
                convert=convert,
            )
            return replace(result, requests=1)
        requested = list(dict.fromkeys(normalize_address(m) for m in meters))
        if not requested:
            return RealtimeResult()
        batches = self.plan_batches([short_address(a) for a in requested], params, cnt=cnt)

        async def read(batch: list[str]) -> RealtimeResult:
            url = build_url(
                self.api_url, "readMeter", {"key": self._key, **params, "meters": join_list(batch)}
            )
            answer, sent = await self._http.request_counted(
                "GET",
                url,
                headers=self._headers(),
                expected="a readMeter object",
                limits=REALTIME_LIMITS,
                convert=convert,
            )
            part: RealtimeResult = answer
            return replace(part, requests=sent)

        problems: dict[str, MeterProblem] = {}
        parts = await batching.read_batches(batches, read, problems, max_concurrency=self.max_concurrency)
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
        return await self.summary_parsed(
            meters,
            report,
            start,
            end,
            parse_rows,
            timezone=timezone,
            fields=fields,
            page_size=page_size,
            max_pages=max_pages,
        )

    async def summary_parsed[R: Period](
        self,
        meters: Iterable[str | int],
        report: Report | str,
        start: datetime,
        end: datetime,
        parse: Callable[[Any, str], list[R]],
        *,
        timezone: Zone = "UTC",
        fields: Sequence[str] | None = None,
        page_size: int = 1000,
        max_pages: int = 1000,
    ) -> list[R]:
        """summary() with pages parsed by `parse(payload, what)` (e.g. history_rows.parse_history_rows)."""
        report = Report(report)
        addresses = [normalize_address(m) for m in meters]
        if not addresses:
            raise ValueError("summary needs at least one meter")
        zone = await as_tzinfo(timezone)
        params = summary_params(addresses, report, zone, start, end, fields=fields, page_size=page_size)
        # Rows per page: at most what was asked (a server that ignores limit is refused).
        limits = JsonLimits(array=max(page_size, 1))

        async def page(offset: int) -> list[R]:
            # Parsed beside the decoding: a full page of fields=* is ~100 ms of CPU, off the loop.
            rows: list[R] = await self._get(
                self.summary_url,
                "summary",
                {**params, "offset": str(offset)},
                "a list of periods",
                limits=limits,
                convert=lambda payload: parse(payload, "GET /summary"),
            )
            return rows

        return await fetch_pages(
            page, set(addresses), report, start, end, page_size=page_size, max_pages=max_pages
        )

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
        zone = await as_tzinfo(timezone)
        params: dict[str, str] = {
            "format": "json",
            "devices": join_list(short_address(normalize_address(m)) for m in meters),
            **span_params(zone, start, end),
            "report": report,
        }
        if fields:
            params["fields"] = join_list(fields)
        if limit is not None:
            params["limit"] = str(limit)
        what = "GET /summary/api/v2/meter"
        rows: list[SummaryRow] = await self._get(
            self.summary_url,
            "summary/api/v2/meter",
            params,
            "a list of periods",
            convert=partial(parse_rows, what=what),
        )
        return rows

    async def gateway_status(self, gateways: Iterable[str]) -> list[GatewayStatus]:
        """Summary V2 GStat for Push3 gateways (by MAC)."""
        params = {"format": "json", "devices": join_list(g.lower() for g in gateways)}
        payload = await self._get(self.summary_url, "summary/api/v2/gstat", params, "a list of gateways")
        return parse_gateway_statuses(payload, "GET /summary/api/v2/gstat")

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
        zone = await as_tzinfo(timezone)
        params: dict[str, str] = {
            "format": "json",
            "devices": join_list(devices),
            **span_params(zone, start, end),
        }
        if fields:
            params["fields"] = join_list(fields)
        payload = await self._get(self.summary_url, "summary/api/v2/iostack", params, "a list of rows")
        return parse_iostack_rows(payload, "GET /summary/api/v2/iostack")

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
        what = f"GET /account/api/{target}"
        account: Account = await self._get(
            self.api_url,
            f"account/api/{target}",
            params,
            "an account object",
            limits=ACCOUNT_LIMITS,
            convert=partial(parse_account, what=what),
        )
        return account

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
        body = command_body(
            target,
            target_id,
            command,
            params,
            client=self.client_name,
            response_channel_id=response_channel_id,
        )
        payload = await self._send("POST", "sendCommand", {"gateway": gateway.lower()}, body, "a msg_id")
        return parse_command_ack(payload, "POST /sendCommand")

    async def set_relay(
        self, gateway: str, meter: str | int, relay: int, closed: bool, seconds: int = 0
    ) -> CommandAck:
        """Close (on) or open (off) relay 1 or 2 of a v4/v5 meter; seconds > 0 flips it back after."""
        params = relay_params(relay, closed, seconds)
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
        return await self._send(method, "api/trigger", params, body, "a trigger", token_required=True)

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


__all__ = [
    "DEFAULT_WIDGET_URL",
    "CommandAck",
    "MeterProblem",
    "PushClient",
    "RealtimeResult",
    "RetryPolicy",
    "Unavailable",
    "Zone",
    "short_address",
    "widget_url",
]
