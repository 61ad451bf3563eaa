"""HACS's checks: hacs.json, the integration manifest's HACS keys, and the repository's files."""

from __future__ import annotations

import json
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.generated.countries import COUNTRIES
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .common import _schema_problems

HACS_INTEGRATION_MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("codeowners"): list,
        vol.Required("documentation"): cv.url,
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): cv.url,
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(AwesomeVersion),
    },
    extra=vol.ALLOW_EXTRA,
)


def hacs_manifest_problems(manifest: Any) -> list[str]:
    """HACS's integration_manifest.py."""
    return _schema_problems("manifest.json (HACS)", HACS_INTEGRATION_MANIFEST_SCHEMA, manifest)


def _countries(value: Any) -> list[str]:
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise vol.Invalid(f"Value '{value}' is not a string or list.")
    for code in (code.upper() for code in codes):
        if code != "ALL" and code not in COUNTRIES:
            raise vol.Invalid(f"Value '{code}' is not a country code.")
    return [code.upper() for code in codes]


HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): _countries,
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): str,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
    },
    extra=vol.PREVENT_EXTRA,
)


def hacs_json_problems(text: str | None) -> list[str]:
    """HACS's hacsjson.py."""
    if text is None:
        return ["hacs.json: missing"]
    try:
        data = json.loads(text)
    except ValueError:
        return ["hacs.json: invalid JSON"]
    found = _schema_problems("hacs.json", HACS_JSON_SCHEMA, data)
    if isinstance(data, dict) and data.get("zip_release") and not data.get("filename"):
        found.append("hacs.json: zip_release is True, but filename is not set")
    return found


def hacs_repository_problems(root_names: frozenset[str], names: frozenset[str]) -> list[str]:
    """HACS's information.py, brands.py (local assets) and license.py (a file GitHub can read)."""
    found = []
    if not {name.lower() for name in root_names} & {"readme", "readme.md", "info", "info.md"}:
        found.append("repository: no README or INFO file at the root")
    if "brand/icon.png" not in names:
        found.append("brand/icon.png: missing (HACS would look the domain up in the brands repository)")
    if not any(name.upper().startswith(("LICENSE", "LICENCE", "COPYING")) for name in root_names):
        found.append("repository: no LICENSE file at the root")
    return found
