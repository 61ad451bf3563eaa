"""Helpers the rule modules share: schema errors as lines, nested lookups, translation keys."""

from __future__ import annotations

from collections.abc import Callable
import re
from typing import Any

from homeassistant.helpers import config_validation as cv
import voluptuous as vol


def _schema_problems(path: str, schema: Callable[[Any], Any], data: Any) -> list[str]:
    """One line per error voluptuous finds, with the offending value when it is short."""
    try:
        schema(data)
    except vol.MultipleInvalid as err:
        return [f"{path}: {_describe(data, error)}" for error in err.errors]
    except vol.Invalid as err:
        return [f"{path}: {_describe(data, err)}"]
    return []


def _describe(data: Any, error: vol.Invalid) -> str:
    for key in error.path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return _error_text(error)
    shown = repr(data)
    return f"{_error_text(error)}. Got {shown}" if len(shown) <= 80 else _error_text(error)


# Home Assistant 2026.10 validates with probatio, which it installs as `voluptuous`. Its errors
# carry voluptuous's msg, error_type and path, but render them differently ("at 'a.b'" for
# "@ data['a']['b']", no "for dictionary value"), word some messages differently (those carry a
# translation_key, which voluptuous's errors lack) and append ", did you mean ...?" to some. An
# error is written out the voluptuous way from its parts, so a line reads the same on both.
_VOLUPTUOUS_WORDING = {
    "not_a_valid_option": "extra keys not allowed",
    "expected_mapping": "expected a dictionary",
}
_SUGGESTION = re.compile(r", did you mean [^?]*\?$")


def _error_text(error: vol.Invalid) -> str:
    """str(error) as voluptuous writes it: the message, 'for <error type>', '@ data[<key>]...'."""
    while isinstance(error, vol.MultipleInvalid) and error.errors:
        error = error.errors[0]  # voluptuous writes a nested MultipleInvalid as its first error
    message = _VOLUPTUOUS_WORDING.get(getattr(error, "translation_key", None) or "", error.msg)
    if getattr(error, "candidates", None):
        message = _SUGGESTION.sub("", message)
    kind = f" for {error.error_type}" if getattr(error, "error_type", None) else ""
    path = "".join(f"[{key!r}]" for key in error.path)
    return f"{message}{kind}{' @ data' + path if path else ''}"


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _mapping(data: Any, *keys: str) -> dict[Any, Any] | None:
    """The mapping at keys: {} where a key is absent, None where a value on the way is not a mapping.

    None means malformed: the schema check reports it, and a later check reading it skips it.
    """
    for key in keys:
        if not isinstance(data, dict):
            return None
        if key not in data:
            return {}
        data = data[key]
    return data if isinstance(data, dict) else None


_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def _translation_key(value: Any) -> str:
    if not isinstance(value, str) or not _TRANSLATION_KEY.match(value):
        raise vol.Invalid(
            f"Invalid translation key '{value}', need to be [a-z0-9-_]+ and"
            " cannot start or end with a hyphen or underscore."
        )
    return value


def _slug_keys(value: Any, keys: Callable[[Any], str] = _translation_key) -> Callable[[Any], Any]:
    return cv.schema_with_slug_keys(value, slug_validator=keys)
