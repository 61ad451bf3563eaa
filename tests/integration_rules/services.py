"""services.yaml: hassfest's services.py, with names and descriptions from translations/en.json."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, selector, service
from homeassistant.util.yaml import parse_yaml
import voluptuous as vol

from .common import _get, _mapping, _schema_problems

REGISTERS_SERVICES = re.compile(
    r"hass\.services\.(async_)?register|async_register_entity_service|async_register_admin_service"
)


def _exists(value: Any) -> Any:
    if value is None:
        raise vol.Invalid("Value cannot be None")
    return value


def _unique_fields(fields: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, value in fields.items():
        for name in value["fields"] if value and "fields" in value else [key]:
            if name in seen:
                raise vol.Invalid(f"Duplicate use of field {name} in service.")
            seen.add(name)
    return fields


def _action_schema(targeted: bool) -> vol.Schema:
    labels = {vol.Optional("name"): str, vol.Optional("description"): str}
    field: dict[Any, Any] = {
        **labels,
        vol.Optional("example"): _exists,
        vol.Optional("default"): _exists,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
    }
    if targeted:
        field[vol.Optional("filter")] = {
            vol.Exclusive("attribute", "field_filter"): {
                vol.Required(str): [vol.All(str, service.validate_attribute_option)]
            },
            vol.Exclusive("supported_features", "field_filter"): [
                vol.All(str, service.validate_supported_feature)
            ],
        }
    section: dict[Any, Any] = {
        **labels,
        vol.Optional("collapsed"): bool,
        vol.Required("fields"): {str: vol.Schema(field)},
    }
    action: dict[Any, Any] = {
        **labels,
        vol.Optional("fields"): vol.All(
            {str: vol.Any(vol.Schema(field), vol.Schema(section))}, _unique_fields
        ),
    }
    if targeted:
        # hassfest's Any(CONFIG_SCHEMA, None): an empty `target:` passes on every HA version.
        action[vol.Required("target")] = vol.Any(selector.TargetSelector.CONFIG_SCHEMA, None)
    return vol.Schema(action)


_TARGETED, _UNTARGETED = _action_schema(True), _action_schema(False)


def _action(value: Any) -> Any:
    """hassfest's Any(targeted, untargeted, None), picked by `target` so errors name the real cause."""
    if value is None:
        return None
    return (_TARGETED if isinstance(value, dict) and "target" in value else _UNTARGETED)(value)


SERVICES_SCHEMA = vol.Schema({cv.slug: _action})


def services_problems(
    text: str | None, strings: Mapping[str, Any] | None, sources: Mapping[str, str]
) -> list[str]:
    """hassfest's services.py, with names and descriptions looked up in translations/en.json.

    A lookup through texts that are not mappings (`strings` None: the file is not a JSON
    object) is skipped: the strings schema check reports them.
    """
    if text is None:
        if any(REGISTERS_SERVICES.search(source) for source in sources.values()):
            return ["services.yaml: missing, but the integration registers actions"]
        return []
    try:
        actions = parse_yaml(text)
    except HomeAssistantError:
        return ["services.yaml: invalid YAML"]
    if not isinstance(actions, dict):
        return ["services.yaml: not a mapping of actions"]
    if found := _schema_problems("services.yaml", SERVICES_SCHEMA, actions):
        return found
    selectors = _mapping(strings, "selector")
    for name, action in actions.items():
        if action is None:
            continue
        texts = _mapping(strings, "services", name)
        found += [
            f"services.yaml: action {name} has no {key} and is not in the translations file"
            for key in ("name", "description")
            if key not in action and texts is not None and texts.get(key) is None
        ]
        for key, item in action.get("fields", {}).items():
            if "fields" in item:
                section = _mapping(texts, "sections", key)
                if "name" not in item and section is not None and section.get("name") is None:
                    found.append(f"services.yaml: action {name} has a section {key} with no name")
                continue
            field = _mapping(texts, "fields", key)
            found += [
                f"services.yaml: action {name} has a field {key} with no {label}"
                f" and is not in the translations file"
                for label in ("name", "description")
                if label not in item and field is not None and field.get(label) is None
            ]
            select_key = _get(item, "selector", "select", "translation_key")
            if select_key is not None and selectors is not None and selectors.get(select_key) is None:
                found.append(
                    f"services.yaml: action {name} has a field {key} with a selector translation key"
                    f" {select_key} that is not in the translations file"
                )
    return found
