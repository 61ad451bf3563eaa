"""Realtime reads through the Push client against the fake Push server over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
import logging

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import (
    AuthenticationError,
    EkmConnectionError,
    EkmTimeoutError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PushApiError,
    RateLimitedError,
    ServerError,
)
from custom_components.ekm.aioekm.push.cloud import PushClient, short_address
from custom_components.ekm.aioekm.push.mapping import Unavailable
from custom_components.ekm.aioekm.readings import Protocol
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock, make_meter
from custom_components.ekm.aioekm.simulator.push import (
    BROKEN_JSON,
    ERROR_TEXT,
    HTML_PAGE,
    Fault,
    PushServer,
)

from .cloud_support import FAST, GW1, GW2, V3, V4, V4_B, V4_GW2, make_client, serving

# --- readings -------------------------------------------------------------------


async def test_read_gives_the_same_reading_as_the_meter(
    client: PushClient, fleet: Fleet, clock: ManualClock, server: PushServer
) -> None:
    result = await client.read_meters([V4, "17507"])
    assert set(result.readings) == {V4, V3}
    assert result.missing == ()
    assert result.bad_reads == 0
    assert result.requests == 1
    for address in (V4, V3):
        reading = result.readings[address]
        expected = fleet.meters[address].reading(clock.t)
        # Strings on the wire, the same typed values as the RS-485 side.
        assert dict(reading.values) == dict(expected.values)
        assert reading.as_dict() == expected.as_dict()
        assert reading.timestamp == datetime.fromtimestamp(clock.t, UTC)
        assert reading.extra["MAC_Addr"] == GW1
    assert result.readings[V3].protocol is Protocol.V3
    assert result.readings[V4].protocol is Protocol.V4
    assert isinstance(result.readings[V4]["kWh_Tot"], float)
    assert isinstance(result.readings[V4]["RMS_Watts_Tot"], int)
    # The values really travelled as strings.
    [logged] = server.requests_to("/readMeter")
    assert logged.param("meters") == "300000001~17507"
    assert logged.param("cnt") == "1"


async def test_newest_read_wins_whatever_the_order(client: PushClient, clock: ManualClock) -> None:
    result = await client.read_meters([V4], cnt=5)
    assert result.readings[V4].timestamp == datetime.fromtimestamp(clock.t, UTC)


async def test_bad_reads_are_skipped_and_counted(
    client: PushClient, server: PushServer, clock: ManualClock
) -> None:
    server.bad_reads.add(V4)
    only_bad = await client.read_meters([V4, V4_B])
    assert V4 not in only_bad.readings
    assert only_bad.missing == (V4,)
    assert only_bad.bad_reads == 1
    older = await client.read_meters([V4], cnt=3)
    assert older.readings[V4].timestamp == datetime.fromtimestamp(clock.t - 60, UTC)
    assert older.bad_reads == 1


async def test_meter_without_read_data_is_missing(client: PushClient, server: PushServer) -> None:
    server.offline.add(V4_B)
    result = await client.read_meters([V4, V4_B])
    assert set(result.readings) == {V4}
    assert result.missing == (V4_B,)


async def test_fields_and_timezone_are_sent(client: PushClient, server: PushServer) -> None:
    result = await client.read_meters([V4], fields=["kWh_Tot", "RMS_Watts_Tot"], timezone="America/New_York")
    [logged] = server.requests_to("/readMeter")
    assert logged.param("fields") == "kWh_Tot~RMS_Watts_Tot"
    assert logged.param("tz") == "America~New_York"
    reading = result.readings[V4]
    # Only what was asked for (plus what make_reading derives from it).
    assert set(reading.values) - {"Net_Calc_Watts_Tot"} == {"kWh_Tot", "RMS_Watts_Tot"}
    assert reading.extra["Tz_Offset_Sec"] == -5 * 3600


@pytest.mark.parametrize(
    ("key_of", "expected"),
    [
        (lambda s: s.keys.account, {V4, V4_B, V3, V4_GW2}),
        (lambda s: s.keys.gateways[GW2], {V4_GW2}),
        (lambda s: s.keys.meters[V3], {V3}),
    ],
)
async def test_without_meters_the_key_decides(
    session: aiohttp.ClientSession, server: PushServer, key_of: object, expected: set[str]
) -> None:
    client = make_client(session, server, key_of(server))  # type: ignore[operator]
    result = await client.read_meters()
    assert set(result.readings) == expected
    assert server.requests_to("/readMeter")[0].param("meters") is None


async def test_gateway_key_cannot_read_another_gateways_meter(
    session: aiohttp.ClientSession, server: PushServer
) -> None:
    key = server.keys.gateways[GW2]
    client = make_client(session, server, key)
    result = await client.read_meters([V4, V4_GW2])
    # Only that meter fails: 1200 is set apart and the others asked again.
    assert set(result.readings) == {V4_GW2}
    problem = result.problems[V4]
    assert (problem.reason, problem.code) == (Unavailable.UNKNOWN_METER, 1200)
    # The server echoes the key in its message; the problem must not.
    assert problem.message is not None and problem.message.startswith("Found invalid meter: 300000001")
    assert key not in problem.message
    assert [r.param("meters") for r in server.requests_to("/readMeter")] == [
        "300000001~300000009",
        "300000009",
    ]


# --- batching -------------------------------------------------------------------


@pytest.fixture
async def big_server(clock: ManualClock) -> AsyncIterator[PushServer]:
    fleet = Fleet(
        [make_meter(f"3000{n:05d}", "v4", gateway=GW1, index=n) for n in range(1, 26)],
        clock=clock,
    )
    async with serving(fleet) as server:
        yield server


async def test_meter_cap_splits_requests(session: aiohttp.ClientSession, big_server: PushServer) -> None:
    client = make_client(session, big_server, max_meters_per_request=10)
    addresses = sorted(big_server.fleet.meters)
    result = await client.read_meters(addresses)
    logged = big_server.requests_to("/readMeter")
    assert len(logged) == 3 == result.requests
    sent = [m for r in logged for m in (r.param("meters") or "").split("~")]
    assert sorted(sent) == sorted(short_address(a) for a in addresses)
    assert max(len((r.param("meters") or "").split("~")) for r in logged) == 10
    assert set(result.readings) == set(addresses)


async def test_url_length_splits_requests(session: aiohttp.ClientSession, big_server: PushServer) -> None:
    client = make_client(session, big_server, max_url_length=200, max_meters_per_request=1000)
    addresses = sorted(big_server.fleet.meters)
    batches = client.plan_batches([short_address(a) for a in addresses], {"fmt": "json", "cnt": "1"})
    result = await client.read_meters(addresses)
    logged = big_server.requests_to("/readMeter")
    assert len(logged) == len(batches) == result.requests
    assert 2 < len(logged) < 25
    for request in logged:
        url = f"{big_server.url}/readMeter?" + "&".join(f"{k}={v[0]}" for k, v in request.query.items())
        assert len(url) <= 200
    assert set(result.readings) == set(addresses)


async def test_batches_run_with_bounded_concurrency(
    session: aiohttp.ClientSession, big_server: PushServer
) -> None:
    big_server.inject(Fault(delay=0.05, times=None, path="/readMeter"))
    client = make_client(session, big_server, max_meters_per_request=3, max_concurrency=2)
    result = await client.read_meters(sorted(big_server.fleet.meters))
    assert result.requests == 9
    assert big_server.max_in_flight == 2


# --- errors ---------------------------------------------------------------------


async def test_invalid_key(session: aiohttp.ClientSession, server: PushServer) -> None:
    client = make_client(session, server, "not-a-key-XYZ")
    with pytest.raises(AuthenticationError) as caught:
        await client.read_meters([V4])
    assert caught.value.status == 401
    assert "not-a-key-XYZ" not in str(caught.value)
    assert len(server.log) == 1  # not retried


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault(status=400, code=1101, message="Invalid format"), InvalidRequestError, 1101),
        (Fault(status=400, code=1103, message="Invalid parameter"), InvalidRequestError, 1103),
        (Fault(code=1102, message="Invalid value"), InvalidRequestError, 1102),  # HTTP 200 body
        (Fault(status=403, message="Forbidden"), AuthenticationError, None),
        (Fault(code="401", message="Invalid key"), AuthenticationError, None),
        (Fault(status=404, message="no such thing"), NotFoundError, None),
        (Fault(status=400, message="bad"), InvalidRequestError, None),
    ],
)
async def test_status_codes_map_to_typed_errors(
    client: PushClient, server: PushServer, fault: Fault, error: type[PushApiError], code: int | None
) -> None:
    server.inject(fault)
    with pytest.raises(error) as caught:
        await client.read_meters([V4])
    assert type(caught.value) is error
    assert caught.value.code == code
    assert len(server.log) == 1  # client errors are not retried


async def test_rate_limit_carries_retry_after_and_is_not_retried(
    client: PushClient, server: PushServer
) -> None:
    server.inject(Fault(status=429, retry_after="7"))
    with pytest.raises(RateLimitedError) as caught:
        await client.read_meters([V4])
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429
    assert len(server.log) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=503, body=HTML_PAGE, content_type="text/html", times=None),
        Fault(status=500, code=1300, message="Oops! unexpected error", times=None),
        Fault(status=502, times=None),
    ],
)
async def test_server_errors_are_retried_then_raised(
    client: PushClient, server: PushServer, fault: Fault
) -> None:
    server.inject(fault)
    with pytest.raises(ServerError):
        await client.read_meters([V4])
    assert len(server.log) == 3  # FAST policy: 3 attempts


async def test_one_server_error_then_success(client: PushClient, server: PushServer) -> None:
    server.inject(Fault(status=503, times=1))
    result = await client.read_meters([V4])
    assert set(result.readings) == {V4}
    assert [r.status for r in server.log] == [503, 200]
    assert result.requests == 2


async def test_backoff_is_jittered_and_injectable(session: aiohttp.ClientSession, server: PushServer) -> None:
    from custom_components.ekm.aioekm.push.http import RetryPolicy

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=3.0)
    client = make_client(session, server, retry=policy, sleep=record)
    server.inject(Fault(status=500, times=None))
    with pytest.raises(ServerError):
        await client.read_meters([V4])
    assert len(waits) == 3
    for wait, ceiling in zip(waits, (1.0, 2.0, 3.0), strict=True):
        assert ceiling / 2 <= wait <= ceiling


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (HTML_PAGE, "text/html"),
        (ERROR_TEXT, "text/plain"),
        (BROKEN_JSON, "application/json"),
        ('{"something": "else"}', "application/json"),
        ('{"readMeter": {"ReadSet": "nope"}}', "application/json"),
        ('{"readMeter": {"ReadSet": [{"Meter": "x12"}]}}', "application/json"),
    ],
)
async def test_malformed_bodies(client: PushClient, server: PushServer, body: str, content_type: str) -> None:
    server.inject(Fault(body=body, content_type=content_type))
    with pytest.raises(MalformedResponseError):
        await client.read_meters([V4])
    assert len(server.log) == 1


async def test_slow_answer_times_out(session: aiohttp.ClientSession, server: PushServer) -> None:
    client = make_client(session, server, timeout=0.1)
    server.inject(Fault(delay=0.5, times=None))
    with pytest.raises(EkmTimeoutError):
        await client.read_meters([V4])
    assert len(server.log) == 3  # timeouts are retried like connection errors


async def test_unreachable_server(session: aiohttp.ClientSession, fleet: Fleet) -> None:
    server = PushServer(fleet)
    url = await server.start()
    await server.close()  # nothing listens there any more
    client = PushClient(session, "SECRETKEY123", api_url=url, summary_url=url, retry=FAST)
    with pytest.raises(EkmConnectionError) as caught:
        await client.read_meters([V4])
    assert "SECRETKEY123" not in str(caught.value)


async def test_key_never_in_logs_or_reprs(
    session: aiohttp.ClientSession, server: PushServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = server.keys.gateways[GW2]
    client = make_client(session, server, key, api_token="TOKEN-SHOULD-HIDE")
    errors: list[Exception] = []
    unknown = await client.read_meters([V4])  # another gateway's meter: 1200 echoing the key
    for fault in (Fault(status=503, times=None), Fault(status=429, retry_after="1")):
        server.inject(fault)
        try:
            await client.read_meters([V4])
        except PushApiError as err:
            errors.append(err)
    server.faults.clear()
    await client.read_meters([V4_GW2])
    assert len(errors) == 2
    assert "GET /readMeter" in caplog.text  # something was logged
    texts = [caplog.text, repr(client), *map(str, errors), *map(repr, errors), repr(unknown.problems)]
    for text in texts:
        assert key not in text
        assert "TOKEN-SHOULD-HIDE" not in text


def test_retry_after_forms() -> None:
    from email.utils import format_datetime
    import time

    from custom_components.ekm.aioekm.push.errors import parse_retry_after

    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = parse_retry_after(format_datetime(datetime.fromtimestamp(time.time() + 60, UTC), usegmt=True))
    assert later is not None and 55 <= later <= 61


def test_redact_masks_every_form_of_a_secret() -> None:
    from custom_components.ekm.aioekm.push.redaction import redact

    text = "GET /x?key=ab%2Bc%2F&gateway=1 Authorization: Bearer tok123 ab+c/ token=zzz"
    out = redact(text, ["ab+c/", "tok123"])
    assert "ab+c/" not in out and "ab%2Bc%2F" not in out and "tok123" not in out and "zzz" not in out
    assert "gateway=1" in out
