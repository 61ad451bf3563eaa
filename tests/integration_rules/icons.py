"""icons.json: hassfest's icons.py."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .common import _schema_problems, _slug_keys


def _icon(value: Any) -> str:
    string = cv.string_with_no_html(value)
    if not string.startswith("mdi:"):
        raise vol.Invalid(
            "The icon needs to be a valid icon from Material Design Icons and start with `mdi:`"
        )
    return string


def _not_same_as_default(value: dict[str, Any]) -> dict[str, Any]:
    for key, section in value.items():
        default, states = section.get("default"), section.get("state") or {}
        for state, state_icon in states.items():
            if default and state_icon == default:
                raise vol.Invalid(f"The icon for state `{key}.{state}` is the same as the default icon")
    return value


def _entity_icons(marker: type[vol.Marker]) -> dict[Any, Any]:
    return {
        marker("default"): _icon,
        vol.Optional("state"): _slug_keys(_icon),
        vol.Optional("state_attributes"): vol.All(
            _slug_keys({marker("default"): _icon, marker("state"): _slug_keys(_icon)}), _not_same_as_default
        ),
    }


_DATA_ENTRY_ICONS = vol.Schema({"step": {str: {"section": {str: _icon}}}})


def icons_schema(integration_type: str) -> vol.Schema:
    """The icons.json schema hassfest applies for an integration type."""
    schema: dict[Any, Any] = {
        vol.Optional("config"): _DATA_ENTRY_ICONS,
        vol.Optional("issues"): {str: {"fix_flow": _DATA_ENTRY_ICONS}},
        vol.Optional("options"): _DATA_ENTRY_ICONS,
        vol.Optional("services"): _slug_keys(
            {vol.Optional("service"): _icon, vol.Optional("sections"): _slug_keys(_icon)}
        ),
    }
    if integration_type in ("entity", "helper", "system"):
        marker = vol.Required if integration_type == "entity" else vol.Optional
        schema[marker("entity_component")] = vol.All(
            _slug_keys(_entity_icons(vol.Required), vol.Any("_", cv.slug)), _not_same_as_default
        )
    if integration_type not in ("entity", "system"):
        schema[vol.Optional("entity")] = vol.All(
            _slug_keys(vol.All(_slug_keys(_entity_icons(vol.Optional)), _not_same_as_default), cv.slug)
        )
    return vol.Schema(schema)


def icon_problems(icons: Any, integration_type: str) -> list[str]:
    return _schema_problems("icons.json", icons_schema(integration_type), icons)
