"""The schema of an EKM cloud trigger definition (a rule EKM runs on a Push3 gateway, not a
Home Assistant trigger) as the trigger actions take it.

EKM has not published its condition/action schema (docs/push-api.md, "Trigger API"):
a trigger is a JSON object of which only `trigger_uuid` and `trigger_name` are on
record. This schema checks the parts a user is most likely to get wrong (meter field
names, relay numbers, durations, e-mail addresses and URLs) where they appear, and
lets every other key through as sent (ALLOW_EXTRA at each level), so a trigger of a
newer EKM schema still goes through. Known keys:

    {"conditions": [{"field": "RMS_Watts_Tot", "operator": "above", "value": 5000,
                     "duration": 300, "meter": "000300000001"}],
     "actions": [{"type": "email", "to": ["me@example.com"]},
                 {"type": "relay", "meter": "000300000001", "relay": 1, "state": "open",
                  "duration": 600},
                 {"type": "webhook", "url": "https://example.com/hook"},
                 {"type": "iostack", "output": 1, "state": "on", "duration": 60}],
     "schedule": {"days": ["mon", "tue"], "start": "07:00", "end": "19:00",
                  "repeat_after": 3600}}
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .aioekm import FIELDS, MAX_RELAY_SECONDS, normalize_address
from .validation import finite_number, whole_number

# The keys the trigger API owns: the actions take the name and uuid as their own fields.
TRIGGER_NAME: Final = "trigger_name"
TRIGGER_UUID: Final = "trigger_uuid"

OPERATORS: Final = ("above", "below", "equal", "not_equal", ">", ">=", "<", "<=", "==", "!=")
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RELAY_STATES: Final = ("open", "close")
ACTION_EMAIL: Final = "email"
ACTION_RELAY: Final = "relay"
ACTION_WEBHOOK: Final = "webhook"
ACTION_IOSTACK: Final = "iostack"


def field_name(value: Any) -> str:
    """A meter field name of the field table, spelled as EKM spells it (e.g. RMS_Watts_Tot)."""
    name = cv.string(value)
    if name not in FIELDS:
        raise vol.Invalid(f"unknown meter field {name!r}")
    return name


def meter_address(value: Any) -> str:
    """A meter number, 12 digits (ASCII) with its zero padding as the APIs send it."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    try:
        if not text.isascii():
            raise ValueError(text)
        return normalize_address(text)
    except ValueError:
        raise vol.Invalid(f"{value!r} is not a meter number") from None


def _time_of_day(value: Any) -> str:
    """HH:MM (digits 0-9), kept as text (it goes to EKM as JSON)."""
    if not isinstance(value, str) or not value.isascii():
        raise vol.Invalid(f"expected a time of day as HH:MM, got {value!r}")
    cv.time(value)
    return str(value)


MAX_SECONDS: Final = 366 * 24 * 3600  # a year: longer than any duration or repeat a trigger needs
MAX_OUTPUT: Final = 64  # far beyond the outputs of any ioStack
SECONDS: Final = whole_number(0, MAX_SECONDS)
RELAY_SECONDS: Final = whole_number(0, MAX_RELAY_SECONDS)
# RFC 5321, section 4.5.3.1: at most 64 characters before the @ and 254 in all (a path of 256
# with its angle brackets); a mail server refuses a longer address.
MAX_EMAIL: Final = 254
MAX_EMAIL_LOCAL: Final = 64


def email_address(value: Any) -> str:
    """An e-mail address a mail server takes: ASCII, within RFC 5321's lengths, of the usual shape."""
    address: str = vol.Email()(cv.string(value))
    local = address.rpartition("@")[0]
    if not address.isascii() or len(address) > MAX_EMAIL or len(local) > MAX_EMAIL_LOCAL:
        raise vol.Invalid(
            f"an e-mail address has at most {MAX_EMAIL_LOCAL} characters before the @ and "
            f"{MAX_EMAIL} in all (got {len(local)} and {len(address)})"
        )
    return address


EMAILS: Final = vol.All(cv.ensure_list, vol.Length(min=1), [email_address])


def meters_named(definition: dict[str, Any]) -> list[str]:
    """The meter numbers a (checked) definition's conditions and actions name, in order, once each."""
    named: list[str] = []
    for part in (*definition.get("conditions", ()), *definition.get("actions", ())):
        meter = part.get("meter") if isinstance(part, dict) else None
        if isinstance(meter, str) and meter not in named:
            named.append(meter)
    return named


CONDITION_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("field"): field_name,
        vol.Optional("operator"): vol.In(OPERATORS),
        vol.Optional("value"): finite_number(-1e15, 1e15),
        vol.Optional("duration"): SECONDS,
        vol.Optional("meter"): meter_address,
    },
    extra=vol.ALLOW_EXTRA,
)


def _action_schema(kind: str, known: dict[Any, Any]) -> vol.Schema:
    return vol.Schema({vol.Required("type"): kind, **known}, extra=vol.ALLOW_EXTRA)


ACTION_SCHEMAS: Final[dict[str, vol.Schema]] = {
    ACTION_EMAIL: _action_schema(ACTION_EMAIL, {vol.Required("to"): EMAILS}),
    ACTION_RELAY: _action_schema(
        ACTION_RELAY,
        {
            vol.Required("relay"): whole_number(1, 2),
            vol.Required("state"): vol.In(RELAY_STATES),
            vol.Optional("duration"): RELAY_SECONDS,
            vol.Optional("meter"): meter_address,
        },
    ),
    ACTION_WEBHOOK: _action_schema(ACTION_WEBHOOK, {vol.Required("url"): cv.url}),
    ACTION_IOSTACK: _action_schema(
        ACTION_IOSTACK,
        {
            vol.Required("output"): whole_number(1, MAX_OUTPUT),
            vol.Optional("duration"): SECONDS,
        },
    ),
}


def action(value: Any) -> dict[str, Any]:
    """One action: checked by its type when the type is one we know, else kept as sent."""
    if not isinstance(value, dict):
        raise vol.Invalid("an action is an object")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise vol.Invalid("an action's type is text, e.g. email, relay, webhook or iostack")
    schema = ACTION_SCHEMAS.get(kind.lower())
    if schema is None:
        return value
    checked: dict[str, Any] = schema({**value, "type": kind.lower()})
    return checked


SCHEDULE_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("days"): vol.All(cv.ensure_list, [vol.All(cv.string, vol.Lower, vol.In(DAYS))]),
        vol.Optional("start"): _time_of_day,
        vol.Optional("end"): _time_of_day,
        vol.Optional("repeat_after"): SECONDS,
    },
    extra=vol.ALLOW_EXTRA,
)

# A definition without the name and uuid (they are the actions' own fields).
DEFINITION_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("conditions"): vol.All(cv.ensure_list, [CONDITION_SCHEMA]),
        vol.Optional("actions"): vol.All(cv.ensure_list, [action]),
        vol.Optional("schedule"): SCHEDULE_SCHEMA,
        vol.Remove(TRIGGER_NAME): object,
        vol.Remove(TRIGGER_UUID): object,
    },
    extra=vol.ALLOW_EXTRA,
)
