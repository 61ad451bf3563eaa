"""The schema of an EKM trigger definition as the trigger actions take it.

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

from .aioekm.fields import FIELDS
from .aioekm.readings import normalize_address
from .aioekm.rs485.commands import MAX_RELAY_SECONDS

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
    """A meter number, 12 digits with its zero padding as the APIs send it."""
    try:
        return normalize_address(str(value))
    except ValueError:
        raise vol.Invalid(f"{value!r} is not a meter number") from None


def _time_of_day(value: Any) -> str:
    """HH:MM, kept as text (it goes to EKM as JSON)."""
    cv.time(value)
    return str(value)


SECONDS: Final = vol.All(vol.Coerce(int), vol.Range(min=0))
RELAY_SECONDS: Final = vol.All(vol.Coerce(int), vol.Range(min=0, max=MAX_RELAY_SECONDS))
EMAILS: Final = vol.All(cv.ensure_list, vol.Length(min=1), [vol.All(cv.string, vol.Email())])

CONDITION_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("field"): field_name,
        vol.Optional("operator"): vol.In(OPERATORS),
        vol.Optional("value"): vol.All(vol.Coerce(float), vol.Range(min=-1e15, max=1e15)),
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
            vol.Required("relay"): vol.All(vol.Coerce(int), vol.In([1, 2])),
            vol.Required("state"): vol.In(RELAY_STATES),
            vol.Optional("duration"): RELAY_SECONDS,
            vol.Optional("meter"): meter_address,
        },
    ),
    ACTION_WEBHOOK: _action_schema(ACTION_WEBHOOK, {vol.Required("url"): cv.url}),
    ACTION_IOSTACK: _action_schema(
        ACTION_IOSTACK,
        {
            vol.Required("output"): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional("duration"): SECONDS,
        },
    ),
}


def action(value: Any) -> dict[str, Any]:
    """One action: checked by its type when the type is one we know, else kept as sent."""
    if not isinstance(value, dict):
        raise vol.Invalid("an action is an object")
    schema = ACTION_SCHEMAS.get(str(value.get("type", "")).lower())
    if schema is None:
        return value
    checked: dict[str, Any] = schema({**value, "type": str(value["type"]).lower()})
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
