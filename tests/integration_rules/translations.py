"""translations/en.json (and strings.json): hassfest's translations.py."""

from __future__ import annotations

from collections.abc import Callable
import re
from typing import Any

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .common import _get, _schema_problems, _slug_keys

_URL = re.compile(
    r"(?:(?:ftps?|scp|https?|mqtts?|socket|socks5)://|www\.)[a-z0-9]+(?:[-.][a-z0-9]+)*\.[a-z]{2,5}",
    re.IGNORECASE,
)


def _text(value: Any) -> str:
    """A translated text as hassfest accepts it."""
    string = cv.string_with_no_html(value)
    if re.search(r"'{\w+}'", string):
        raise vol.Invalid("the string should not contain placeholders inside single quotes")
    if re.search(r"(.+\[%)|(%\].+)", string):
        raise vol.Invalid("the string should not contain combined translations")
    if string != string.strip():
        raise vol.Invalid("the string should not contain leading or trailing spaces")
    if _URL.search(string):
        raise vol.Invalid("the string should not contain URLs, please use description placeholders instead")
    return string


_LEGACY_TITLE: dict[Any, Any] = {vol.Optional("title"): str}


def _data_entry(
    mandatory_description: str | None = None, *, legacy_title: bool = False, subentry_flow: bool = False
) -> Callable[[Any], Any]:
    step = {
        vol.Optional("title"): _text,
        vol.Optional("description"): _text,
        vol.Optional("data"): {str: _text},
        vol.Optional("data_description"): {str: _text},
        vol.Optional("menu_options"): {str: _text},
        vol.Optional("submit"): _text,
        vol.Optional("sections"): {
            str: {
                vol.Optional("data"): {str: _text},
                vol.Optional("data_description"): {str: _text},
                vol.Optional("description"): _text,
                vol.Optional("name"): _text,
            }
        },
    }
    schema = vol.Schema(
        {
            vol.Optional("flow_title"): _text,
            vol.Required("step"): {str: step},
            vol.Optional("error"): {str: _text},
            vol.Optional("abort"): {str: _text},
            vol.Optional("progress"): {str: _text},
            vol.Optional("create_entry"): {str: _text},
            # config.title: a warning for custom integrations, reported by translation_problems
            **(_LEGACY_TITLE if legacy_title else {}),
            # A subentry flow names its kind and its "add" button; a config flow may name the latter.
            **(
                {
                    vol.Required("entry_type"): _text,
                    vol.Required("initiate_flow"): {vol.Required("user"): _text, str: _text},
                }
                if subentry_flow
                else {vol.Optional("initiate_flow"): {vol.Required("user"): _text}}
            ),
        }
    )

    def validate(value: Any) -> Any:
        value = schema(value)
        for step_id, info in value["step"].items():
            for key in info.get("data_description", {}):
                if key not in info.get("data", {}):
                    raise vol.Invalid(f"data_description key {key} is not in data", path=["step", step_id])
        if mandatory_description and "description" not in value["step"].get(mandatory_description, {}):
            raise vol.Invalid(f"Step {mandatory_description} needs a description")
        return value

    return validate


def _description_or_fix_flow(value: Any) -> Any:
    """cv.has_at_least_one_key("description", "fix_flow"), worded as before HA 2026.10's probatio."""
    if not isinstance(value, dict):
        raise vol.Invalid("expected dictionary")
    if "description" not in value and "fix_flow" not in value:
        raise vol.Invalid("must contain at least one of description, fix_flow.")
    return value


_ISSUES = {
    str: vol.All(
        _description_or_fix_flow,
        vol.Schema(
            {
                vol.Required("title"): _text,
                vol.Exclusive("description", "fixable"): _text,
                vol.Exclusive("fix_flow", "fixable"): _data_entry(),
            }
        ),
    )
}
_STATE_ATTRIBUTES = _slug_keys({vol.Optional("name"): _text, vol.Optional("state"): _slug_keys(_text)})


def strings_schema(integration_type: str) -> vol.Schema:
    """The strings.json schema hassfest applies to a custom integration's translations/en.json."""
    return vol.Schema(
        {
            vol.Optional("title"): _text,
            vol.Optional("config"): _data_entry(
                "user" if integration_type == "helper" else None, legacy_title=True
            ),
            vol.Optional("config_subentries"): _slug_keys(
                _data_entry(subentry_flow=True), vol.Any("_", cv.slug)
            ),
            vol.Optional("options"): _data_entry(),
            vol.Optional("selector"): _slug_keys({"options": _slug_keys(_text)}, vol.Any("_", cv.slug)),
            vol.Optional("device_automation"): {
                vol.Optional(key): {str: _text}
                for key in (
                    "action_type",
                    "condition_type",
                    "trigger_type",
                    "trigger_subtype",
                    "extra_fields",
                    "extra_fields_descriptions",
                )
            },
            vol.Optional("system_health"): {vol.Optional("info"): _slug_keys(_text)},
            vol.Optional("config_panel"): _slug_keys(_slug_keys(_text), vol.Any("_", cv.slug)),
            vol.Optional("application_credentials"): {vol.Optional("description"): _text},
            vol.Optional("issues"): _ISSUES,
            vol.Optional("entity_component"): _slug_keys(
                {
                    vol.Optional("name"): str,
                    vol.Optional("state"): _slug_keys(_text),
                    vol.Optional("state_attributes"): _STATE_ATTRIBUTES,
                },
                vol.Any("_", cv.slug),
            ),
            vol.Optional("device"): _slug_keys({vol.Optional("name"): _text}),
            vol.Optional("entity"): _slug_keys(
                _slug_keys(
                    {
                        vol.Optional("name"): _text,
                        vol.Optional("state"): _slug_keys(_text),
                        vol.Optional("state_attributes"): _STATE_ATTRIBUTES,
                    }
                ),
                cv.slug,
            ),
            vol.Optional("exceptions"): _slug_keys({vol.Optional("message"): _text}, cv.slug),
            vol.Optional("services"): _slug_keys(
                {
                    vol.Required("name"): _text,
                    vol.Required("description"): _text,
                    vol.Optional("fields"): _slug_keys(
                        {
                            vol.Required("name"): str,
                            vol.Required("description"): _text,
                            vol.Optional("example"): _text,
                        }
                    ),
                    vol.Optional("sections"): _slug_keys(
                        {vol.Required("name"): str, vol.Optional("description"): _text}
                    ),
                }
            ),
            vol.Optional("conversation"): {vol.Required("agent"): {vol.Required("done"): _text}},
            vol.Optional("common"): vol.Schema({cv.slug: _text}),
        }
    )


def translation_problems(path: str, strings: Any, integration_type: str) -> list[str]:
    """hassfest's translations.py for one strings file."""
    found = _schema_problems(path, strings_schema(integration_type), strings)
    if _get(strings, "config", "title") is not None:
        found.append(f"{path}: config.title belongs at the root, as title (hassfest warning)")
    return found


def translations_directory_problems(names: frozenset[str]) -> list[str]:
    """The pre-0.112 `.translations` directory name."""
    if any(n.startswith("translations/") for n in names) or not any(
        n.startswith(".translations/") for n in names
    ):
        return []
    return [".translations: the directory is called translations since Home Assistant 0.112"]
