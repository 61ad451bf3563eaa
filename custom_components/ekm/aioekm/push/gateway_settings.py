"""Gateway Settings (`POST /sendCommand`): the command a Push3 gateway is sent, and its answer.

A command is queued for a device behind the gateway; the answer only says that it
was queued (a `msg_id`), not that the device did it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedResponseError
from ..rs485.commands import MAX_RELAY_SECONDS


@dataclass(frozen=True, slots=True)
class CommandAck:
    """What sendCommand answers: the command was queued for the gateway, not yet done."""

    msg_id: str
    channel: str | None  # response_channel_id, to follow the gateway's answer
    host: str | None  # response_channel_host


def command_body(
    target: str,
    target_id: str,
    command: str,
    params: Mapping[str, Any] | None,
    *,
    client: str,
    response_channel_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a sendCommand request; `client` names the sender."""
    body: dict[str, Any] = {
        "target": target,
        "target_id": target_id,
        "command": command,
        "client": client,
        "params": dict(params or {}),
    }
    if response_channel_id:
        body["response_channel_id"] = response_channel_id
    return body


def parse_command_ack(payload: Any, what: str) -> CommandAck:
    """The answer to sendCommand; MalformedResponseError without a msg_id."""
    if not isinstance(payload, Mapping) or payload.get("msg_id") in (None, ""):
        raise MalformedResponseError(f"{what}: answer has no msg_id")
    channel = payload.get("response_channel_id")
    host = payload.get("response_channel_host")
    return CommandAck(
        str(payload["msg_id"]),
        str(channel) if channel not in (None, "") else None,
        str(host) if host not in (None, "") else None,
    )


def relay_params(relay: int, closed: bool, seconds: int = 0) -> dict[str, Any]:
    """SetRelay's params: close (on) or open (off) relay 1 or 2; seconds > 0 flips it back after.

    ValueError for another relay or a duration out of range.
    """
    if relay not in (1, 2):
        raise ValueError("relay must be 1 or 2")
    if not 0 <= seconds <= MAX_RELAY_SECONDS:
        raise ValueError(f"seconds must be 0..{MAX_RELAY_SECONDS} (0 = hold)")
    return {"relay": f"relay_{relay}", "status": "close" if closed else "open", "duration": seconds}
