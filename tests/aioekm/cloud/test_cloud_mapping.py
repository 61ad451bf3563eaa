"""Cloud encodings mapped to the RS-485 field names and forms, and mapping only some fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.errors import decode_json
from custom_components.ekm.aioekm.push.mapping import (
    legacy_power_factor,
    map_read,
    push3_result,
    with_inputs,
)
from custom_components.ekm.aioekm.readings import PowerFactor
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock

from .cloud_support import V3, V4, V4_B, V4_GW2

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "push3_local_readMeter.third_party_fixture.json"
V4_EXAMPLE = "000300000001"


def example() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return loaded


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (83, PowerFactor(0.83, "lag")),
        ("83", PowerFactor(0.83, "lag")),
        (117, PowerFactor(0.83, "lead")),
        (100, PowerFactor(1.0, None)),
        (200, PowerFactor(0.0, "lead")),
        ("0.95", PowerFactor(0.95, None)),
        (0.5, PowerFactor(0.5, None)),
    ],
)
def test_legacy_power_factor(raw: object, expected: PowerFactor) -> None:
    assert legacy_power_factor(raw) == expected


@pytest.mark.parametrize("raw", [201, -1, "1.5", "x", None, True])
def test_legacy_power_factor_refuses(raw: object) -> None:
    with pytest.raises(ValueError, match=r"."):  # any message: which parser refused varies
        legacy_power_factor(raw)


def test_legacy_power_factor_becomes_the_bus_form() -> None:
    """A read with only the 0-200 integers looks like one with Cos_Theta texts (and like RS-485)."""
    read = example()[V4_EXAMPLE][0]
    with_cos, _ = map_read(V4_EXAMPLE, read)
    legacy = {k: v for k, v in read.items() if not k.startswith("Cos_Theta")}
    # The example's "0.83 C", "0.97 C" and "0.00 C" as EKM's legacy integers.
    legacy.update(Power_Factor_Ln_1=117, Power_Factor_Ln_2=103, Power_Factor_Ln_3=200)
    mapped, bad = map_read(V4_EXAMPLE, legacy)
    assert bad == 0
    for line in (1, 2, 3):
        assert mapped[f"Cos_Theta_Ln_{line}"] == with_cos[f"Cos_Theta_Ln_{line}"]
        assert mapped[f"Power_Factor_Ln_{line}"] == with_cos[f"Power_Factor_Ln_{line}"]
    assert mapped["Power_Factor_Ln_1"] == 0.83
    assert mapped["Cos_Theta_Ln_1"] == "0.83 C"
    # The raw integers stay visible, as sent.
    assert mapped.extra["Power_Factor_Ln_1"] == 117


def test_cos_theta_wins_over_a_legacy_power_factor() -> None:
    read = {**example()[V4_EXAMPLE][0], "Power_Factor_Ln_1": 50}
    mapped, _ = map_read(V4_EXAMPLE, read)
    assert mapped["Power_Factor_Ln_1"] == 0.83


def test_map_only_some_fields() -> None:
    payload = example()
    full = push3_result(payload)
    wanted = ["kWh_Tot", "Power_Factor_Ln_1", "Net_Calc_Watts_Tot", "State_Out"]
    only = with_inputs(wanted)
    assert {"Cos_Theta_Ln_1", "RMS_Watts_Ln_1", "State_Watts_Dir"} <= only
    some = push3_result(payload, only=only)
    assert set(some.readings) == set(full.readings)
    for address, reading in some.readings.items():
        for name in wanted:
            assert reading.get(name) == full.readings[address].get(name), (address, name)
        assert set(reading.values) <= only | {
            "Net_Calc_Watts_Ln_1",
            "Net_Calc_Watts_Ln_2",
            "Net_Calc_Watts_Ln_3",
        }
        assert "Reliability_Ratio" not in reading.extra  # skipped, not kept
        assert reading.timestamp == full.readings[address].timestamp


async def test_map_fields_over_http(client: PushClient, fleet: Fleet, clock: ManualClock) -> None:
    wanted = ["kWh_Tot", "RMS_Watts_Tot", "Power_Factor_Ln_1", "Net_Calc_Watts_Tot", "State_Out"]
    full = await client.read_meters([V4, V4_B, V3, V4_GW2])
    some = await client.read_meters([V4, V4_B, V3, V4_GW2], map_fields=wanted)
    for address in (V4, V4_B, V3, V4_GW2):
        expected = fleet.meters[address].reading(clock.t)
        for name in wanted:
            assert some.readings[address].get(name) == full.readings[address].get(name) == expected.get(name)
        assert len(some.readings[address].values) < len(full.readings[address].values)


@pytest.mark.parametrize(
    "raw",
    [
        EXAMPLE.read_bytes(),
        b"\xef\xbb\xbf" + EXAMPLE.read_bytes(),  # a BOM
        b'{"n": NaN, "big": 123456789012345678901234567890}',  # json takes what orjson refuses
    ],
)
def test_decode_json_equals_the_standard_library(raw: bytes) -> None:
    decoded = decode_json(raw)
    expected = json.loads(raw.decode("utf-8-sig"))
    assert json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)


@pytest.mark.parametrize("raw", [b"", b"<html>", b'{"a": 1', b"[" * 100000])
def test_decode_json_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):  # any message: which parser refused varies
        decode_json(raw)
