"""check_json: what it lets through, every encoder sends; what orjson refuses, it refuses first."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.ekm.aioekm.push.trigger import MAX_JSON_DEPTH, check_definition, check_json

orjson = pytest.importorskip("orjson")  # Home Assistant's encoder; the library does not need it


def nested(levels: int) -> Any:
    """`levels` objects and lists inside each other, in turn."""
    value: Any = 1
    for level in range(levels):
        value = [value] if level % 2 else {"x": value}
    return value


@pytest.mark.parametrize(
    "value",
    [
        nested(MAX_JSON_DEPTH),
        {"big": 2**63 - 1, "small": -(2**63), "f": 1e300, "t": True, "n": None, "s": "ü"},
        [1, [2, [3]], {"a": []}],
    ],
)
def test_accepted_values_encode_alike(value: Any) -> None:
    check_json(value, "v")
    assert json.loads(orjson.dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (nested(255), "nested over"),  # orjson: recursion limit
        (nested(100_000), "nested over"),  # no RecursionError either
        ({"x": 2**64}, "beyond 64 bits"),  # orjson: integer exceeds 64-bit range
        ({"x": -(2**63) - 1}, "beyond 64 bits"),
        ({"x": float("nan")}, "not finite"),
        ({1: "x"}, "not text"),
        ({"x": {1, 2}}, "a set"),
        ({"x": b"raw"}, "a bytes"),
    ],
)
def test_refused(value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_json(value, "v")


def test_definition_checked_whole() -> None:
    with pytest.raises(ValueError, match="a trigger definition must be plain JSON"):
        check_definition({"trigger_name": "t", "x": nested(300)}, creating=True)
