"""What a hostile answer may cost: decoding is sized before anything is built (issue #18, item 7),
duplicated keys keep both reads, and a lone surrogate never reaches a reading.

Time and memory figures: benchmarks/push_answer_bounds.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import gzip
import json
from typing import Any

import aiohttp
import orjson
import pytest

from custom_components.ekm.aioekm.errors import MalformedResponseError
from custom_components.ekm.aioekm.push import decoding
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.decoding import JsonLimits, TooLargeError, decode_json
from custom_components.ekm.aioekm.push.push3 import Push3Client

from . import hostile_support
from .cloud_support import FAST, V4
from .hostile_support import DAY, KEY, HostileServer, readmeter, summary_row

client = hostile_support.client
hostile = hostile_support.hostile

MIB = 1 << 20


def bomb_of_empty_objects(prefix: bytes, suffix: bytes) -> bytes:
    """The issue's answer: just under 32 MiB of `{},{},...` inside `prefix`/`suffix`, gzipped (~32 KB)."""
    count = (32 * MIB - len(prefix) - len(suffix) - 1) // 3
    return gzip.compress(prefix + b"{}," * count + b"{}" + suffix, 9)


def push3(session: aiohttp.ClientSession, hostile: HostileServer) -> Push3Client:
    return Push3Client(session, "gateway", KEY, base_url=hostile.url, retry=FAST)


async def push3_read(hostile: HostileServer) -> Any:
    async with aiohttp.ClientSession() as session:
        return await push3(session, hostile).read_meters()


# --- a gzip bomb of empty objects ----------------------------------------------------------


BOMBS: dict[str, tuple[bytes, bytes, Callable[[PushClient, HostileServer], Awaitable[Any]]]] = {
    "push3": (b'{"000300000001": [', b"]}", lambda _c, h: push3_read(h)),
    "realtime": (
        b'{"readMeter": {"ReadSet": [{"Meter": "300000001", "ReadData": [',
        b"]}]}}",
        lambda c, _h: c.read_meters([V4]),
    ),
    "summary": (b"[", b"]", lambda c, _h: c.summary([V4], "hr", *DAY)),
}


@pytest.mark.parametrize("name", BOMBS)
async def test_a_gzip_bomb_of_empty_objects_is_refused_before_it_is_decoded(
    client: PushClient, hostile: HostileServer, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """32 KB of gzip, 32 MiB of text, 11 million objects (~940 MB) if decoded: it is counted, not built."""
    prefix, suffix, call = BOMBS[name]
    hostile.send(bomb_of_empty_objects(prefix, suffix), headers={"Content-Encoding": "gzip"})
    decoders = []
    monkeypatch.setattr(decoding, "_decode_merging", lambda *a: decoders.append(a))
    monkeypatch.setattr(decoding, "_FAST_LOADS", lambda *a: decoders.append(a))
    with pytest.raises(
        MalformedResponseError, match=r"answer holds up to 22369\d{3} values, more than 400000"
    ):
        await call(client, hostile)
    assert decoders == []  # refused from its counts alone
    assert hostile.requests == 1  # and not asked for again


# --- shapes within the count but beyond what an answer holds ------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {V4: [{"Time_Stamp_UTC_ms": n} for n in range(1001)]},
            "an array of the answer has more than 1000 items",
            id="reads per meter beyond cnt's 1000",
        ),
        pytest.param(
            {V4: [{f"k{n}": 0 for n in range(10_001)}]},
            "an object of the answer has more than 10000 members",
            id="many keys",
        ),
        pytest.param({V4: [{"a": json.loads("[" * 70 + "]" * 70)}]}, "nested deeper than 72", id="deep"),
    ],
)
async def test_push3_answers_beyond_the_limits_are_malformed(
    hostile: HostileServer, body: Any, message: str
) -> None:
    hostile.send(json.dumps(body))
    with pytest.raises(MalformedResponseError, match=message):
        await push3_read(hostile)


async def test_summary_pages_hold_at_most_the_rows_asked(client: PushClient, hostile: HostileServer) -> None:
    hostile.send(json.dumps([summary_row(DAY[0], Count=n) for n in range(6)]))
    with pytest.raises(MalformedResponseError, match="more than 5 items"):
        await client.summary([V4], "hr", *DAY, page_size=5)


async def test_a_string_of_a_quarter_mib_or_more_is_refused(
    client: PushClient, hostile: HostileServer
) -> None:
    """No single C call of the decoder may scan a long run (it holds the GIL, and so the loop)."""
    hostile.send(readmeter(V4, kWh_Tot="1", Padding="x" * (600 << 10)))
    with pytest.raises(MalformedResponseError, match="longer than 256 KiB"):
        await client.read_meters([V4])
    # Many shorter strings make as large an answer, and are read (off the event loop).
    hostile.send(readmeter(V4, kWh_Tot="1", **{f"Padding_{n}": "x" * (100 << 10) for n in range(6)}))
    assert (await client.read_meters([V4])).readings[V4].values["kWh_Tot"] == 1.0


def test_limits_are_checked_from_the_counts() -> None:
    with pytest.raises(TooLargeError, match="values, more than 10"):
        decode_json(b"[1,2,3,4,5,6,7,8,9,10,11]", JsonLimits(items=10))
    with pytest.raises(TooLargeError, match="MiB decoded, more than 1"):
        decode_json(b'[{"a":{}}' + b',{"a":{}}' * 10_000 + b"]", JsonLimits(memory=1 << 20))
    # Escaped quotes do not end a string: a quarter MiB of them is one long string.
    with pytest.raises(TooLargeError, match="longer than 256 KiB"):
        decode_json(b'["' + b'\\"' * (300 << 10) + b'"]')


# --- a meter given twice ----------------------------------------------------------------------


def read(ms: int, kwh: float) -> str:
    return json.dumps([{"Time_Stamp_UTC_ms": ms, "kWh_Tot": kwh}])


@pytest.mark.parametrize("size", ["small", "off the loop"])
async def test_a_meter_given_twice_keeps_its_newer_read(hostile: HostileServer, size: str) -> None:
    padding = "" if size == "small" else f', "000300000002": [{{"Pad": "{"x" * 100_000}"}}]'

    # The newer read first: a decoder that keeps the last value would keep the older.
    hostile.send(f'{{"{V4}": {read(2_000, 20.0)}, "{V4}": {read(1_000, 10.0)}{padding}}}')
    result = await push3_read(hostile)
    assert result.readings[V4].values["kWh_Tot"] == 20.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1], "a": [2, 3]}', {"a": [1, 2, 3]}),
        (b'{"a": {"x": 1}, "a": [{"x": 2}]}', {"a": [{"x": 1}, {"x": 2}]}),
        (b'{"a": 1, "a": 2}', {"a": 2}),  # a scalar given twice: the last, as JSON decoders do
        (b'{"a": {"b": 1, "b": [2]}}', {"a": {"b": [2]}}),
        (b'{"a":[1],"a":NaN}', {"a": float("nan")}),
    ],
)
def test_duplicated_keys_gather_their_lists_and_objects(raw: bytes, expected: Any) -> None:
    assert json.dumps(decode_json(raw)) == json.dumps(expected)


# --- a lone surrogate ---------------------------------------------------------------------------


async def test_a_lone_surrogate_never_reaches_a_reading(hostile: HostileServer) -> None:
    hostile.send(f'{{"{V4}": [{{"Model": "10\\ud80024", "Firmware": "\\udfff", "Note": ["a\\ud800"]}}]}}')
    reading = (await push3_read(hostile)).readings[V4]
    assert reading.model == "10\ufffd24"
    assert reading.firmware == "\ufffd"
    assert reading.extra["Note"] == ["a\ufffd"]
    orjson.dumps(reading.as_dict(), default=str)  # what Home Assistant stores
    # A pair is one character, kept.
    hostile.send(f'{{"{V4}": [{{"Model": "\\ud83d\\ude00"}}]}}')
    assert (await push3_read(hostile)).readings[V4].model == "\U0001f600"


def test_a_few_long_strings_are_not_decoded_in_one_c_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few values but many bytes (30 strings of 200 KiB): one call of a C decoder over all of
    it would hold the GIL, and the event loop with it; the Python scanner lets go between values."""

    def held_the_gil(raw: bytes) -> Any:
        raise AssertionError(f"a C decoder was given {len(raw)} bytes at once")

    monkeypatch.setattr(decoding, "_FAST_LOADS", held_the_gil)
    raw = json.dumps({f"E{n}": "x" * (200 << 10) for n in range(30)}).encode()
    assert len(decode_json(raw)) == 30
    small = json.dumps({"kWh_Tot": 1.5}).encode()
    with pytest.raises(AssertionError, match="was given"):
        decode_json(small)  # a small answer still goes to the fast decoder
