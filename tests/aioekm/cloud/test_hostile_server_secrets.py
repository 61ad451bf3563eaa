"""The key never leaks (issue #18, items 11 and 12): not cut into groups, not %-encoded, not in the
exception an EkmConnectionError chains, and never sent to a host named "http"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import logging
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.ekm.aioekm.errors import EkmConnectionError, EkmError, EkmTimeoutError, PushApiError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.simulator.push import Push3Gateway, PushServer

from . import hostile_support
from .cloud_support import FAST, GW1, V4
from .hostile_support import KEY, TOKEN, HostileServer

client = hostile_support.client
hostile = hostile_support.hostile


def grouped(secret: str, size: int = 4, separator: str = "-") -> str:
    return separator.join(secret[i : i + size] for i in range(0, len(secret), size))


def escaped(secret: str) -> str:
    return "".join(f"%{byte:02X}" for byte in secret.encode())


ECHOES = {
    "dashed groups": grouped(KEY),
    "spaced groups of 3": grouped(KEY, 3, " "),
    "dotted lower case": grouped(KEY.lower(), 5, "."),
    "every byte %-encoded": escaped(KEY),
    "every byte %-encoded, lower case": escaped(KEY).lower(),
    "token in groups": grouped(TOKEN, 4, "_"),
}


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
@pytest.mark.parametrize("status", [200, 400])
async def test_an_echoed_key_in_groups_or_percent_encoded_is_masked(
    client: PushClient, hostile: HostileServer, caplog: pytest.LogCaptureFixture, echo: str, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    body = f'{{"key_type": "account", "note": "yours: {echo}!"}}' if status == 200 else f"bad key {echo}!"
    hostile.send(body, status)
    try:
        shown = repr(await client.account())
    except PushApiError as err:
        shown = str(err)
    assert "***" in shown
    for text in (shown, caplog.text):
        assert echo not in text
        assert echo[:12] not in text


# --- connection errors chain nothing that holds the URL ---------------------------------


@contextlib.asynccontextmanager
async def raw_server(reply: bytes | None) -> AsyncIterator[str]:
    """A TCP server that answers every connection with `reply` and hangs up (None: says nothing)."""

    handlers: set[asyncio.Task[Any]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            if reply is None:
                await asyncio.sleep(5)
            else:
                writer.write(reply)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


BROKEN = {
    "hangs up at once": b"",
    "not HTTP": b"garbage\r\n\r\n",
    "body cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    "broken chunks": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n",
    "bad header": b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}",
}


def chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def assert_no_key_in_chain(err: EkmError) -> None:
    assert err.__context__ is None
    assert err.__cause__ is None
    for link in chain(err):
        text = f"{link!s} {link!r} {getattr(link, 'request_info', '')}"
        for form in (KEY, "Hostile%2BKey", "0123456789"):
            assert form not in text


type Call = Callable[[aiohttp.ClientSession, str], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "cloud": lambda s, url: PushClient(s, KEY, api_url=url, api_token=TOKEN, retry=FAST).read_meters([V4]),
    "push3": lambda s, url: Push3Client(s, "gw", KEY, base_url=url, retry=FAST).read_meters(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("reply", BROKEN.values(), ids=BROKEN.keys())
async def test_connection_errors_chain_no_exception_with_the_url(call: Call, reply: bytes) -> None:
    async with raw_server(reply) as url, aiohttp.ClientSession() as session:
        with pytest.raises(EkmConnectionError) as caught:
            await call(session, url)
    assert_no_key_in_chain(caught.value)


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_refused_connections_and_timeouts_chain_nothing(call: Call) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(EkmConnectionError) as refused:
            await call(session, closed_port())
        assert_no_key_in_chain(refused.value)
        async with raw_server(None) as url:
            silent = PushClient(session, KEY, api_url=url, retry=FAST, timeout=0.2)
            with pytest.raises(EkmTimeoutError) as timed_out:
                await silent.read_meters([V4])
        assert_no_key_in_chain(timed_out.value)


# --- a Push3 host written with its scheme ----------------------------------------------------


@pytest.fixture
async def gateway(server: PushServer) -> AsyncIterator[Push3Gateway]:
    gateway = Push3Gateway(server, GW1)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.close()


@pytest.mark.parametrize("scheme", ["http://", "HTTP://", " http://"])
async def test_a_push3_host_with_its_scheme_reaches_the_gateway(
    session: aiohttp.ClientSession, gateway: Push3Gateway, scheme: str
) -> None:
    """ "http://192.168.1.5" once resolved the name "http" and sent the key there."""
    host = gateway.url.removeprefix("http://")
    client = Push3Client(session, f"{scheme}{host}/", gateway.key, retry=FAST)
    assert str(client.base_url) == f"http://{host}/"
    assert V4 in (await client.read_meters([V4])).readings


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("ftp://192.168.1.5", "name or IP address"),
        ("http://192.168.1.5/readMeter", "without a path"),
        ("192.168.1.5/x?key=1", "without a path"),
        ("http:192.168.1.5", "must be"),
    ],
)
async def test_a_push3_host_with_another_scheme_or_a_path_is_refused(
    session: aiohttp.ClientSession, host: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Push3Client(session, host, KEY)
