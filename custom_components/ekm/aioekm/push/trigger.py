"""Trigger API objects. Definitions pass through as JSON objects; known fields are checked.

On record are only `trigger_uuid` (32 hex digits) and `trigger_name`; the
condition/action schema is not published, so the rest is kept as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
import re
from types import MappingProxyType
from typing import Any

from ..errors import MalformedResponseError

_UUID = re.compile(r"^[0-9a-f]{32}$")

# What any JSON encoder a client may send with takes: orjson (Home Assistant's) stops at
# 254 levels and at integers outside 64 bits. A trigger needs a handful of levels.
MAX_JSON_DEPTH = 64
_INT_RANGE = range(-(2**63), 2**63)


@dataclass(frozen=True, slots=True)
class Trigger:
    uuid: str
    name: str | None
    definition: Mapping[str, Any]  # the whole object as the API sent it


def check_uuid(uuid: str) -> str:
    """A trigger uuid, lower-cased; ValueError unless 32 hex digits (dashes allowed)."""
    text = uuid.strip().lower().replace("-", "")
    if not _UUID.match(text):
        raise ValueError("trigger uuid must be 32 hex digits")
    return text


def check_definition(definition: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """A copy of `definition` fit to send; ValueError on what we know is wrong."""
    if not isinstance(definition, Mapping):
        raise ValueError("a trigger definition must be a JSON object")
    body = dict(definition)
    name = body.get("trigger_name")
    if creating and name is None:
        raise ValueError("a new trigger needs a trigger_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError("trigger_name must be non-empty text")
    if "trigger_uuid" in body:
        if creating:
            raise ValueError("a new trigger cannot bring its own trigger_uuid")
        body["trigger_uuid"] = check_uuid(str(body["trigger_uuid"]))
    check_json(body, "a trigger definition")
    return body


def check_json(value: Any, what: str) -> None:
    """ValueError unless `value` is plain JSON any encoder sends alike.

    Plain JSON: objects with text keys, lists, text, booleans, null, integers of 64 bits
    and finite numbers, at most MAX_JSON_DEPTH levels deep.
    """
    # Iterative, so a hostile depth costs no recursion.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list, tuple)) and depth > MAX_JSON_DEPTH:
            raise ValueError(f"{what} must be plain JSON (nested over {MAX_JSON_DEPTH} levels)")
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise ValueError(f"{what} must be plain JSON (a key that is not text)")
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, int) and not isinstance(item, bool) and item not in _INT_RANGE:
            raise ValueError(f"{what} must be plain JSON (an integer beyond 64 bits)")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{what} must be plain JSON (a number that is not finite)")
        elif not isinstance(item, (str, int, float)) and item is not None:
            raise ValueError(f"{what} must be plain JSON (a {type(item).__name__})")


def parse_trigger(raw: Any, what: str) -> Trigger:
    """A trigger object (or `{"trigger": {...}}`) into a Trigger."""
    if isinstance(raw, Mapping) and isinstance(raw.get("trigger"), Mapping):
        raw = raw["trigger"]
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: a trigger is not an object")
    uuid = raw.get("trigger_uuid")
    if not isinstance(uuid, str) or not _UUID.match(uuid.lower()):
        raise MalformedResponseError(f"{what}: a trigger has no valid trigger_uuid")
    name = raw.get("trigger_name")
    return Trigger(uuid.lower(), name if isinstance(name, str) else None, MappingProxyType(dict(raw)))


def parse_trigger_list(raw: Any, what: str) -> list[Trigger]:
    """`{"triggers": [...]}` (or a bare list) into Triggers."""
    items = raw.get("triggers") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise MalformedResponseError(f"{what}: expected a list of triggers")
    return [parse_trigger(item, what) for item in items]
