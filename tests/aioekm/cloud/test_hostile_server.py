"""The Push clients against servers that answer badly on purpose, over real HTTP.

Whatever a server sends, the caller gets values or the library's own typed
errors; the key and token never come back; waiting ends; only meters asked for
are kept. (Paging and the size of bodies: test_hostile_server_paging.py.)
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
import json
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.ekm.aioekm.cli.push import register
from custom_components.ekm.aioekm.errors import (
    EkmError,
    InvalidRequestError,
    MalformedResponseError,
    PushApiError,
    RateLimitedError,
)
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.errors import MAX_RETRY_AFTER
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from . import hostile_support
from .cloud_support import FAST, GW1, V3, V4, V4_B
from .hostile_support import BIG_INT, DAY, KEY, TOKEN, HostileServer, readmeter, summary_row

client = hostile_support.client
hostile = hostile_support.hostile


type Call = Callable[[PushClient], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "read": lambda c: c.read_meters([V4]),
    "read all": lambda c: c.read_meters(),
    "summary": lambda c: c.summary([V4], "hr", *DAY, max_pages=3),
    "summary v2": lambda c: c.summary_v2([V4], *DAY),
    "gateway status": lambda c: c.gateway_status([GW1]),
    "account": lambda c: c.account(),
    "relay": lambda c: c.set_relay(GW1, V4, 1, True),
    "triggers": lambda c: c.triggers(GW1),
}
HOSTILE_BODIES = {
    "deep array": "[" * 200_000,
    "deep object": '{"a":' * 100_000,
    "code in another script": '{"code": "²"}',
    "huge code": '{"status_code": "' + BIG_INT + '"}',
    "read stamped 1e300": readmeter(V4, Time_Stamp_UTC_ms=1e300, kWh_Tot="1"),
    "read of 401 digits": readmeter(V4, Time_Stamp_UTC_ms=int(BIG_INT), kWh_Tot=int(BIG_INT)),
    "read of infinities": readmeter(V4, Time_Stamp_UTC_ms="NaN", kWh_Tot="inf", RMS_Watts_Tot=1e300),
    "meter time in another script": readmeter(V4, Meter_Time="²" * 14),
    "power factor of 401 digits": readmeter(V4, Cos_Theta_Ln_1=BIG_INT),
    "summary count inf": json.dumps([summary_row(DAY[0], Count="inf")]),
    "summary stamped NaN": json.dumps([summary_row(DAY[0], Start_Time_Stamp_UTC_ms="NaN")]),
    "summary of 401 digits": "[" + json.dumps(summary_row(DAY[0]))[:-1] + f', "kWh_Tot_Max": {BIG_INT}}}]',
    "gateway seen at 1e300": '[{"MAC_Addr": "4016fa100000", "Last_Report_UTC_ms": 1e300}]',
    "msg_id of 401 digits": '{"msg_id": ' + BIG_INT + "}",
}


@pytest.mark.parametrize("status", [200, 400, 500])
@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_every_answer_ends_in_values_or_typed_errors(
    client: PushClient, hostile: HostileServer, body: str, status: int
) -> None:
    hostile.send(body, status)
    for call in CALLS.values():
        try:
            result = await call(client)
        except EkmError:
            continue
        repr(result)  # and what came back can be shown


async def test_push3_hostile_answers_end_in_typed_errors(hostile: HostileServer) -> None:
    async with aiohttp.ClientSession() as session:
        push3 = Push3Client(session, "gateway", KEY, base_url=hostile.url, retry=FAST)
        for body in (
            "[" * 200_000,
            '{"000300000001": [{"Time_Stamp_UTC_ms": 1e300, "kWh_Tot": ' + BIG_INT + "}]}",
        ):
            hostile.send(body)
            try:
                result = await push3.read_meters()
            except EkmError:
                continue
            reading = result.readings[V4]
            assert reading.timestamp is None
            assert reading.extra["kWh_Tot"] == int(BIG_INT)
            assert result.bad_values == 1


async def test_unusable_values_are_set_aside_not_raised(client: PushClient, hostile: HostileServer) -> None:
    hostile.send(readmeter(V4, Time_Stamp_UTC_ms=1e300, kWh_Tot=int(BIG_INT), RMS_Watts_Tot="inf"))
    result = await client.read_meters([V4])
    reading = result.readings[V4]
    assert reading.timestamp is None
    assert "kWh_Tot" not in reading.values
    assert reading.extra["kWh_Tot"] == int(BIG_INT)
    assert reading.extra["RMS_Watts_Tot"] == "inf"
    assert result.bad_values == 2
    hostile.send(json.dumps([summary_row(DAY[0], Count="inf")]))
    [row] = await client.summary([V4], "hr", *DAY)
    assert row.count is None
    assert row.diff("kWh_Tot") == 0.5


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param("[" * 200_000, MalformedResponseError, id="deep array"),
        pytest.param(
            json.dumps([summary_row(DAY[0], Start_Time_Stamp_UTC_ms="NaN")]), MalformedResponseError, id="NaN"
        ),
    ],
)
async def test_hostile_summary_is_malformed(
    client: PushClient, hostile: HostileServer, body: str, error: type[PushApiError]
) -> None:
    hostile.send(body)
    with pytest.raises(error):
        await client.summary([V4], "hr", *DAY)


async def test_code_in_another_script_is_no_code(client: PushClient, hostile: HostileServer) -> None:
    hostile.send('{"code": "²", "message": "bad"}', 400)
    with pytest.raises(InvalidRequestError) as caught:
        await client.read_meters([V4])
    assert caught.value.code is None
    assert caught.value.status == 400


# --- secrets echoed anywhere ------------------------------------------------------


async def test_key_and_token_echoed_in_nested_objects_are_masked(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"extra": {"key": KEY, "list": [f"token {TOKEN}", {"deeper": {KEY: TOKEN}}]}}
    hostile.send(json.dumps({"key_type": "account", "gateways": [], **echo, "note": f"?key={KEY}"}))
    account = await client.account()
    # JSON may escape '/' as '\/': the decoded text is the key all the same.
    hostile.send(readmeter(V4, kWh_Tot="1", Owner=echo).replace("/", "\\/"))
    reading = (await client.read_meters([V4])).readings[V4]
    hostile.send(json.dumps({"error": echo, "message": f"bad key {KEY}"}), 400)
    with pytest.raises(InvalidRequestError) as caught:
        await client.read_meters([V4])
    shown = [repr(account), repr(reading), json.dumps(reading.as_dict(), default=str), str(caught.value)]
    for text in [*shown, caplog.text]:
        assert KEY not in text
        assert TOKEN not in text
    assert account.extra["extra"]["key"] == "***"
    assert reading.extra["Owner"]["extra"]["list"][1] == {"deeper": {"***": "***"}}


@pytest.mark.parametrize("status", [200, 400, 503])
async def test_text_bodies_are_masked_before_they_are_cut(
    client: PushClient, hostile: HostileServer, status: int
) -> None:
    # The key straddles the 80 characters of a body that error messages quote.
    hostile.send("x" * 70 + KEY + " and more", status)
    with pytest.raises(PushApiError) as caught:
        await client.read_meters([V4])
    assert KEY[:8] not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize("status", [200, 400, 503])
async def test_key_in_another_case_or_cut_is_masked(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    echoes = [KEY.lower(), KEY.upper(), KEY[:-1], KEY[5:17].swapcase(), TOKEN.upper(), TOKEN[2:15]]
    body = " ".join(echoes)
    hostile.send(body if status != 200 else json.dumps({"key_type": "account", "echo": body}), status)
    try:
        shown = repr(await client.account())
    except PushApiError as err:
        shown = str(err)
    for text in (shown, caplog.text):
        folded = text.lower()
        assert KEY.lower()[:11] not in folded
        assert KEY.lower()[5:16] not in folded
        assert TOKEN.lower()[2:13] not in folded
    assert "***" in shown


async def test_reprs_do_not_show_secrets_in_urls() -> None:
    async with aiohttp.ClientSession() as session:
        client = PushClient(session, KEY, api_token=TOKEN, api_url=f"http://127.0.0.1:1/?key={KEY}&t={TOKEN}")
        push3 = Push3Client(session, "gw", KEY, base_url=f"http://127.0.0.1:1/{KEY.lower()}")
        for shown in (repr(client), str(client), repr(push3)):
            assert KEY.lower()[:11] not in shown.lower()
            assert TOKEN[:11] not in shown
        assert repr(push3) == "Push3Client(base_url='http://127.0.0.1:1/***', key=***)"


@pytest.mark.parametrize(
    "url", ["http://user:pass-word@127.0.0.1:1", "http://user@127.0.0.1:1", "", "127.0.0.1:1", "http://[]"]
)
async def test_base_urls_with_credentials_or_without_host_are_refused(url: str) -> None:
    """Credentials in a URL would be a second Authorization beside the token (aiohttp refuses the pair)."""
    async with aiohttp.ClientSession() as session:
        for make in (
            lambda: PushClient(session, KEY, api_token=TOKEN, api_url=url),
            lambda: PushClient(session, KEY, summary_url=url),
            lambda: Push3Client(session, "gw", KEY, base_url=url or "http://"),
        ):
            with pytest.raises(ValueError, match="must") as caught:
                make()
            assert "pass-word" not in str(caught.value)
        with pytest.raises(ValueError, match="user or password"):
            Push3Client(session, "user:pass-word@192.168.1.9", KEY)


async def test_cli_output_does_not_carry_an_echoed_key(
    server: PushServer, capsys: pytest.CaptureFixture[str]
) -> None:
    key = server.keys.account
    server.inject(Fault(body=json.dumps({"key_type": "account", "extra": {"key": key}}), times=None))
    parser = argparse.ArgumentParser(prog="ekm")
    register(parser.add_subparsers(dest="command"))
    for output in ([], ["--json"]):
        args = parser.parse_args(["cloud", "account", "--key", key, "--base-url", server.url, *output])
        assert await args.handler(args) == 0
        assert key not in capsys.readouterr().out


# --- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["inf", "1e400", "Fri, 31 Dec 9999 23:59:59 GMT", str(10**12)])
async def test_retry_after_is_bounded_and_logged(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    hostile.send('{"error": "slow down"}', 429, headers={"Retry-After": header})
    with pytest.raises(RateLimitedError) as caught:
        await client.read_meters([V4])
    assert caught.value.retry_after == MAX_RETRY_AFTER
    assert f"waiting at most {MAX_RETRY_AFTER:.0f} s" in caplog.text
    assert hostile.requests == 1


async def test_reasonable_retry_after_is_kept(client: PushClient, hostile: HostileServer) -> None:
    hostile.send("{}", 429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitedError) as caught:
        await client.read_meters([V4])
    assert caught.value.retry_after == 120.0
    hostile.send("{}", 429, headers={"Retry-After": "nan"})
    with pytest.raises(RateLimitedError) as caught:
        await client.read_meters([V4])
    assert caught.value.retry_after is None


# --- meters that were not asked for ------------------------------------------------------


async def test_only_requested_meters_are_kept(client: PushClient, hostile: HostileServer) -> None:
    readsets = [
        {"Meter": m, "ReadData": [{"Good": 1, "Time_Stamp_UTC_ms": 1, "kWh_Tot": "1"}]}
        for m in (V4, V4_B, V3)
    ]
    hostile.send(json.dumps({"readMeter": {"ReadSet": readsets}}))
    result = await client.read_meters([V4])
    assert set(result.readings) == {V4}
    everything = await client.read_meters()  # no meters named: the key decides
    assert set(everything.readings) == {V4, V4_B, V3}


@pytest.mark.parametrize("meter", ["²", "３００", "1²"])
async def test_meter_numbers_in_other_scripts_are_malformed(
    client: PushClient, hostile: HostileServer, meter: str
) -> None:
    hostile.send(readmeter(meter, kWh_Tot="1"))
    with pytest.raises(MalformedResponseError, match="not an address"):
        await client.read_meters()
    async with aiohttp.ClientSession() as session:
        push3 = Push3Client(session, "gw", KEY, base_url=hostile.url, retry=FAST)
        hostile.send(json.dumps({meter: [{"kWh_Tot": 1}]}))
        with pytest.raises(MalformedResponseError, match="not an address"):
            await push3.read_meters()


async def test_push3_keeps_only_requested_meters(hostile: HostileServer) -> None:
    hostile.send(json.dumps({V4: [{"kWh_Tot": 1}], V3: [{"kWh_Tot": 2}]}))
    async with aiohttp.ClientSession() as session:
        push3 = Push3Client(session, "gw", KEY, base_url=hostile.url, retry=FAST)
        result = await push3.read_meters([V3, V4_B])
    assert set(result.readings) == {V3}
    assert result.missing == (V4_B,)


# --- name resolution ------------------------------------------------------------------------


async def test_localhost_base_url(server: PushServer) -> None:
    """A host name works with a resolver that needs no aiodns (the CLI's session)."""
    port = server.url.rsplit(":", 1)[1]
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(connector=connector) as session:
        client = PushClient(session, server.keys.account, api_url=f"http://localhost:{port}", retry=FAST)
        result = await client.read_meters([V4])
        push3 = Push3Client(
            session, "gw", server.keys.gateways[GW1], base_url=f"http://localhost:{port}/push3/{GW1}"
        )
        local = await push3.read_meters([V4])
    assert set(result.readings) == set(local.readings) == {V4}
