"""The rules hassfest and the HACS action hold a custom integration to, checked offline.

`problems(Checkout.read(root, "ekm"))` lists every broken rule as one line, "<file>: <what>";
an empty list means the files pass. A malformed file (a list, number or null where a mapping
belongs, at any level) is reported by its schema check; the later checks skip what is malformed
rather than raise or report what follows from it. The rules are re-stated from Home Assistant
core's `script/hassfest/` and HACS's `custom_components/hacs/utils/validate.py` and `validate/*.py`.
The hassfest GitHub action runs `python -m script.hassfest --action validate
--integration-path <dir>`: specific integrations, `integration.core` False. So these apply:

- manifest.py: the custom manifest schema (allowed keys and their types, `integration_type`,
  `iot_class`, `quality_scale` values, https `documentation` not pointing at core's docs, URL
  `issue_tracker`, AwesomeVersion `version` of a known strategy, discovery matchers' case and
  wildcards), `domain` equal to the directory, an `iot_class`, a `version`, code owners for
  silver and above, keys sorted `domain`, `name`, then alphabetical; a domain of a built-in
  integration is a warning.
- codeowners.py: each code owner is a GitHub handle, "@name".
- requirements.py: format only (the action does not pass --requirements): no space, the
  package pattern, and each version part parseable by AwesomeVersion (newer hassfest checks
  that last one for core only; kept, since a requirement passing it passes both versions).
- json.py: every JSON file of the integration parses.
- services.py: services.yaml exists when the code registers actions, matches the custom
  schema (slug names, `target` a target selector or empty, known field keys, valid selectors,
  `filter` only on targeted actions, each field name once across sections), every action,
  field and section has a name and a description inline or in translations/en.json (newer
  hassfest asks this of core only; kept, as above), a select selector's translation_key
  exists under `selector`.
- icons.py: the icons.json schema for the manifest's integration type (mdi: icons, no HTML,
  translation-key shaped keys, a state icon differing from its default, services in the
  `{"service", "sections"}` form; the bare-string form was deprecated for a year in Aug 2024).
  hassfest runs its same-as-default check on the platform mapping of `entity`, where it
  never fires; we run it per entity, as its message means.
- translations.py: translations/en.json (and strings.json if one appears) match the strings
  schema; each text has no HTML, no URL, no '{placeholder}' in single quotes, no text around
  a [%key:...%] reference, no leading or trailing space; data_description keys are in data;
  issues have a title and a description or a fix_flow; no legacy `.translations` directory;
  `config.title` is a warning.
- config_flow.py: `config_flow: true` needs config_flow.py; a flow with a discovery step sets
  a unique ID (a warning for custom integrations).
- config_schema.py: an integration with `async_setup` defines CONFIG_SCHEMA (a warning).
- dependencies.py: each `homeassistant.components.X` the code imports is in `dependencies` or
  `after_dependencies`, a platform of ours, implied by a discovery key, or always allowed.

HACS's action (hacs/integration, validate/*.py):
- hacsjson.py: hacs.json against HACS_MANIFEST_JSON_SCHEMA (PREVENT_EXTRA), `zip_release`
  needs `filename`.
- integration_manifest.py: the manifest has domain, documentation and issue_tracker URLs,
  codeowners, name and version.
- information.py: a README(.md) or INFO(.md) at the repository root; brands.py: the
  integration's brand/icon.png (else HACS asks brands.home-assistant.io, which we do not);
  license.py: a LICENSE file (GitHub detects the SPDX id from it).

The translation keys the code uses are checked both ways (missing and stale) where
tests/ha/test_translations.py and tests/ha/test_settings.py do not already: the steps and
menu options of the config and options flows, repair issues, selector translation keys.

Skipped, and why:
- quality_scale.py: `validate_iqs_file` returns at once for a non-core integration, so
  hassfest never reads our quality_scale.yaml.
- Rules hassfest applies to core only: the NO_IOT_CLASS exemptions (core domains), `==`
  pinned requirements, no `issue_tracker`, ALLOW_NAME_TRANSLATION (a step title equal to the
  name), a service icon per action and no extra translated fields (test_translations.py
  checks both anyway).
- Rules that run only over core's own tree: dependencies.py's existence, duplicate and
  circularity checks, [%key:...%] reference resolution in translations.py, and the generated
  files (codeowners, dhcp, usb, ssdp, zeroconf, bluetooth, mqtt, application_credentials,
  recorder, brand, mdi_icons, docker, metadata, coverage, mypy_config).
- requirements.py's install, standard-library and forbidden-package checks: --requirements.
- HACS's archived, description, issues and topics checks: GitHub settings, not files.
- conditions.py and triggers.py: we have no conditions.yaml or triggers.yaml; if one
  appears, `problems` says so, so that its rules get added here.

Two lookups use the installed Home Assistant rather than a copy: the domain collision with
a built-in integration, and the country codes of hacs.json (HACS lists the same ISO codes).

This package keeps one module per kind of file: manifest (manifest.json with its code owners
and requirements), hacs (hacs.json, HACS's manifest and repository checks), translations,
icons, services, code (the Python files: config flow, CONFIG_SCHEMA, the integrations they
import, the translation keys they use), and common (the helpers those share). A line reads the
same under Home Assistant 2026.10, which validates with probatio in voluptuous's place
(common._error_text writes its errors the voluptuous way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
import json
from pathlib import Path
from typing import Any

from .code import (
    config_flow_problems,
    config_schema_problems,
    dependency_problems,
    usage_problems,
)
from .hacs import hacs_json_problems, hacs_manifest_problems, hacs_repository_problems
from .icons import icon_problems
from .manifest import manifest_problems
from .services import services_problems
from .translations import translation_problems, translations_directory_problems

TEXT_SUFFIXES = (".py", ".json", ".yaml", ".yml")
NOT_COVERED = ("conditions.yaml", "triggers.yaml")


@dataclass(frozen=True)
class Checkout:
    """What the rules read: the integration's text files and file names, the repository root's names."""

    directory: str
    files: Mapping[str, str]  # path in the integration -> text, for .py, .json and .yaml files
    names: frozenset[str]  # every path in the integration, binary files too
    root_names: frozenset[str]  # file names at the repository root
    hacs_json: str | None

    @classmethod
    def read(cls, root: Path, directory: str) -> Checkout:
        package = root / "custom_components" / directory
        paths = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        names = frozenset(p.relative_to(package).as_posix() for p in paths)
        files = {
            p.relative_to(package).as_posix(): p.read_text(encoding="utf-8")
            for p in paths
            if p.suffix in TEXT_SUFFIXES
        }
        hacs = root / "hacs.json"
        return cls(
            directory=directory,
            files=files,
            names=names,
            root_names=frozenset(p.name for p in root.iterdir() if p.is_file()),
            hacs_json=hacs.read_text(encoding="utf-8") if hacs.is_file() else None,
        )

    def with_file(self, path: str, text: str | None) -> Checkout:
        """A copy with one text file replaced, added, or (None) removed."""
        files = {name: content for name, content in self.files.items() if name != path}
        names = self.names - {path}
        if text is not None:
            files[path] = text
            names |= {path}
        return replace(self, files=files, names=frozenset(names))


def _readable(checkout: Checkout, parsed: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """A JSON file as the later checks read it: {} if it is missing, None if it is not a JSON object.

    A file that is invalid JSON or not an object is reported once, and checks that read it skip.
    """
    if path not in checkout.files:
        return {}
    value = parsed.get(path)
    return value if isinstance(value, dict) else None


def problems(checkout: Checkout) -> list[str]:
    """Every rule the checkout breaks."""
    found: list[str] = []
    parsed: dict[str, Any] = {}
    for path, text in sorted(checkout.files.items()):
        if path.endswith(".json"):
            try:
                parsed[path] = json.loads(text)
            except ValueError:
                found.append(f"{path}: invalid JSON")
    if "manifest.json" not in checkout.files:
        found.append("manifest.json: missing")
    elif "manifest.json" in parsed:
        found += manifest_problems(parsed["manifest.json"], checkout.directory)
        found += hacs_manifest_problems(parsed["manifest.json"])
    manifest = _readable(checkout, parsed, "manifest.json")
    strings = _readable(checkout, parsed, "translations/en.json")
    integration_type = str((manifest or {}).get("integration_type", "hub"))
    found += translations_directory_problems(checkout.names)
    for path in ("strings.json", "translations/en.json"):
        if path in parsed:
            found += translation_problems(path, parsed[path], integration_type)
    if "icons.json" in parsed:
        found += icon_problems(parsed["icons.json"], integration_type)
    sources = {path: text for path, text in checkout.files.items() if path.endswith(".py")}
    found += services_problems(checkout.files.get("services.yaml"), strings, sources)
    found += config_flow_problems(manifest, sources.get("config_flow.py"))
    found += config_schema_problems(sources.get("__init__.py"), sources.get("config.py"))
    found += dependency_problems(manifest, checkout.directory, sources, checkout.names)
    found += usage_problems(sources, strings, checkout.files.get("services.yaml"))
    found += [
        f"{name}: hassfest validates this file, integration_rules does not yet"
        for name in NOT_COVERED
        if name in checkout.names
    ]
    found += hacs_json_problems(checkout.hacs_json)
    found += hacs_repository_problems(checkout.root_names, checkout.names)
    return found
