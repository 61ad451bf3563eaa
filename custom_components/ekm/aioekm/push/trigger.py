"""Trigger API objects. Definitions pass through as JSON objects; known fields are checked.

On record are only `trigger_uuid` (32 hex digits) and `trigger_name`; the
condition/action schema is not published, so the rest is kept as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
import re
from types import MappingProxyType
from typing import Any

from ..errors import MalformedResponseError

_UUID = re.compile(r"^[0-9a-f]{32}$")


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
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError("a trigger definition must be plain JSON") from None
    return body


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
