"""Push readings pass the same physical bounds as RS-485 (issue #18, item 2).

A server answers reads with impossible values, stamps from the future and numbers in other
scripts; what the client returns is only ever a read the meter could really have sent.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from custom_components.ekm.aioekm import bounds
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.mapping import Unavailable, realtime_result
from custom_components.ekm.aioekm.push.push3 import Push3Client
from custom_components.ekm.aioekm.rs485 import plausibility

from . import hostile_support
from .cloud_support import FAST, V3, V4, T, make_fleet
from .hostile_support import KEY, HostileServer

client = hostile_support.client
hostile = hostile_support.hostile

NEWEST_MS = int(T * 1000)
OLDER_MS = NEWEST_MS - 60_000
YEAR_9999_MS = 253_402_300_799_000


def good_read(address: str, ms: int, *, as_text: bool = True) -> dict[str, Any]:
    """A read of the simulated meter `address` at `ms`, as the cloud (text) or a Push3 (numbers) sends it."""
    meter = make_fleet().meters[address]
    values = meter.values(ms / 1000)
    return {
        "Good": 1,
        "Time_Stamp_UTC_ms": ms,
        "Model": meter.model,
        "Firmware": meter.firmware,
        **({k: str(v) for k, v in values.items()} if as_text else values),
    }


def cloud_answer(address: str, *reads: dict[str, Any]) -> str:
    return json.dumps({"readMeter": {"ReadSet": [{"Meter": address, "ReadData": list(reads)}]}})


IMPOSSIBLE = [
    pytest.param({"kWh_Tot": "-5000"}, "kWh_Tot = -5000.0", id="negative-register"),
    pytest.param({"RMS_Volts_Ln_1": "1e15"}, "RMS_Volts_Ln_1", id="volts-1e15"),
    pytest.param({"Line_Freq": "1000000000"}, "Line_Freq", id="frequency-1e9"),
    pytest.param({"RMS_Watts_Ln_1": "9000000"}, "RMS_Watts_Ln_1", id="watts-beyond-volts-x-amps"),
    pytest.param({"State_Out": "9"}, "State_Out", id="undocumented-code"),
    pytest.param({"Meter_Time": "26133108250000"}, "Meter_Time", id="clock-not-a-date"),
]


@pytest.mark.parametrize(("bad", "named"), IMPOSSIBLE)
async def test_an_impossible_cloud_read_is_refused_for_the_next_newest(
    client: PushClient, hostile: HostileServer, bad: dict[str, str], named: str
) -> None:
    older = good_read(V4, OLDER_MS)
    hostile.send(cloud_answer(V4, older, {**good_read(V4, NEWEST_MS), **bad}))
    result = await client.read_meters([V4], cnt=2)
    reading = result.readings[V4]
    assert reading.timestamp is not None and reading.timestamp.timestamp() * 1000 == OLDER_MS
    assert reading["kWh_Tot"] == float(older["kWh_Tot"])
    assert result.bad_reads == 1


@pytest.mark.parametrize(("bad", "named"), IMPOSSIBLE)
async def test_a_meter_with_only_impossible_reads_has_none_and_says_why(
    client: PushClient, hostile: HostileServer, bad: dict[str, str], named: str
) -> None:
    hostile.send(cloud_answer(V4, {**good_read(V4, NEWEST_MS), **bad}))
    result = await client.read_meters([V4])
    assert V4 not in result.readings
    problem = result.problems[V4]
    assert problem.reason is Unavailable.BAD_READS
    assert problem.message is not None and named in problem.message


async def test_an_impossible_push3_read_is_refused(hostile: HostileServer) -> None:
    """The gateway's local answer (numbers, not text) passes the same bounds."""
    impossible = {**good_read(V4, NEWEST_MS, as_text=False), "kWh_Tot": -5000.0, "RMS_Volts_Ln_1": 1e15}
    hostile.send(json.dumps({V4: [impossible], V3: [good_read(V3, NEWEST_MS, as_text=False)]}))
    async with aiohttp.ClientSession() as session:
        gateway = Push3Client(session, "gw", KEY, base_url=hostile.url, retry=FAST)
        result = await gateway.read_meters([V4, V3])
    assert list(result.readings) == [V3]
    assert result.problems[V4].reason is Unavailable.BAD_READS


async def test_a_read_stamped_in_year_9999_never_beats_the_real_newest(
    client: PushClient, hostile: HostileServer
) -> None:
    real = good_read(V4, NEWEST_MS)
    forged = {**good_read(V4, OLDER_MS), "Time_Stamp_UTC_ms": YEAR_9999_MS}
    hostile.send(cloud_answer(V4, real, forged))
    result = await client.read_meters([V4], cnt=2)
    stamp = result.readings[V4].timestamp
    assert stamp is not None and stamp.timestamp() * 1000 == NEWEST_MS
    assert result.bad_reads == 1

    hostile.send(cloud_answer(V4, forged))
    only_forged = await client.read_meters([V4])
    assert V4 not in only_forged.readings
    assert only_forged.problems[V4].message == "its reads are stamped ahead of this computer's clock"


def test_a_stamp_may_run_ahead_by_the_skew_only() -> None:
    skew_ms = int(bounds.MAX_CLOCK_AHEAD_S * 1000)
    within = good_read(V4, NEWEST_MS + skew_ms)
    beyond = good_read(V4, NEWEST_MS + skew_ms + 1)
    assert V4 in realtime_result(json.loads(cloud_answer(V4, within)), now=T).readings
    assert V4 not in realtime_result(json.loads(cloud_answer(V4, beyond)), now=T).readings


@pytest.mark.parametrize(
    "text",
    ["١٢٣٤٥", "12_345.67", "１２３４５", "12345.6\u0667"],  # Arabic-Indic, underscore, full-width, mixed
)
async def test_numbers_are_ascii_digits_only(client: PushClient, hostile: HostileServer, text: str) -> None:
    hostile.send(cloud_answer(V4, {**good_read(V4, NEWEST_MS), "kWh_Tot": text, "Pulse_Cnt_1": text}))
    result = await client.read_meters([V4])
    reading = result.readings[V4]
    assert "kWh_Tot" not in reading and "Pulse_Cnt_1" not in reading
    assert reading.extra["kWh_Tot"] == text  # kept as sent, never guessed
    assert result.bad_values == 2


async def test_a_time_stamp_in_other_digits_is_no_time_stamp(
    client: PushClient, hostile: HostileServer
) -> None:
    arabic = str(NEWEST_MS).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    hostile.send(cloud_answer(V4, {**good_read(V4, NEWEST_MS), "Time_Stamp_UTC_ms": arabic}))
    assert (await client.read_meters([V4])).readings[V4].timestamp is None


def test_one_set_of_bounds_for_every_transport() -> None:
    assert plausibility.MAX_VOLTS is bounds.MAX_VOLTS
    assert plausibility.LINE_FREQUENCY is bounds.LINE_FREQUENCY
    assert plausibility.CODES is bounds.CODES
