"""manifest.json: hassfest's manifest.py, codeowners.py and requirements.py (format)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import importlib.util
import re
from typing import Any
from urllib.parse import urlparse

from awesomeversion import AwesomeVersion, AwesomeVersionException, AwesomeVersionStrategy
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .common import _schema_problems

IOT_CLASSES = ("assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push")
INTEGRATION_TYPES = ("device", "entity", "hardware", "helper", "hub", "service", "system")
QUALITY_SCALES = ("bronze", "silver", "gold", "platinum", "custom", "no_score", "internal", "legacy")
CORE_DOCS = "https://www.home-assistant.io/integrations"
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def _rule(test: Callable[[str], bool], message: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not test(value):
            raise vol.Invalid(message)
        return value

    return validate


def _version(value: str) -> str:
    try:
        AwesomeVersion(value, ensure_strategy=VERSION_STRATEGIES)
    except AwesomeVersionException as err:
        raise vol.Invalid(f"'{value}' is not a valid version") from err
    return value


_LOWER = vol.All(str, _rule(lambda v: v == v.lower(), "needs to be lowercase"))
_UPPER = vol.All(str, _rule(lambda v: v == v.upper(), "needs to be uppercase"))
_MAC = vol.All(_UPPER, _rule(lambda v: "*" in v, "needs to contain a wildcard matcher"))
_DOCUMENTATION = vol.All(
    vol.Url(),
    _rule(lambda v: urlparse(v).scheme == "https", "documentation url is not prefixed with https"),
    _rule(lambda v: not v.startswith(CORE_DOCS), "documentation must be the custom integration's"),
)
MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Required("codeowners"): [str],
        vol.Required("documentation"): _DOCUMENTATION,
        vol.Optional("after_dependencies"): [str],
        vol.Optional("bluetooth"): [
            {
                vol.Optional("connectable"): bool,
                vol.Optional("service_uuid"): _LOWER,
                vol.Optional("service_data_uuid"): _LOWER,
                vol.Optional("local_name"): str,
                vol.Optional("manufacturer_id"): int,
                vol.Optional("manufacturer_data_start"): [int],
            }
        ],
        vol.Optional("config_flow"): bool,
        vol.Optional("dependencies"): [str],
        vol.Optional("dhcp"): [
            {
                vol.Optional("macaddress"): _MAC,
                vol.Optional("hostname"): _LOWER,
                vol.Optional("registered_devices"): cv.boolean,
            }
        ],
        vol.Optional("disabled"): str,
        vol.Optional("homekit"): {vol.Optional("models"): [str]},
        vol.Optional("import_executor"): bool,
        vol.Optional("integration_type"): vol.In(INTEGRATION_TYPES),
        vol.Optional("iot_class"): vol.In(IOT_CLASSES),
        vol.Optional("issue_tracker"): vol.Url(),
        vol.Optional("loggers"): [str],
        vol.Optional("mqtt"): [str],
        vol.Optional("preview_features"): {
            cv.slug: {
                vol.Optional(k): vol.Url() for k in ("feedback_url", "learn_more_url", "report_issue_url")
            }
        },
        vol.Optional("quality_scale"): vol.In(QUALITY_SCALES),
        vol.Optional("requirements"): [str],
        vol.Optional("single_config_entry"): bool,
        vol.Optional("ssdp"): [vol.All(vol.Schema({}, extra=vol.ALLOW_EXTRA), vol.Length(min=1))],
        vol.Optional("usb"): [
            {
                vol.Optional("vid"): _UPPER,
                vol.Optional("pid"): _UPPER,
                vol.Optional("serial_number"): _LOWER,
                vol.Optional("manufacturer"): _LOWER,
                vol.Optional("description"): _LOWER,
                vol.Optional("known_devices"): [str],
            }
        ],
        vol.Optional("version"): vol.All(str, _version),
        vol.Optional("zeroconf"): [
            vol.Any(
                str,
                {
                    vol.Required("type"): str,
                    vol.Optional("macaddress"): _MAC,
                    vol.Optional("manufacturer"): _LOWER,
                    vol.Optional("model"): _LOWER,
                    vol.Optional("name"): _LOWER,
                    vol.Optional("properties"): {str: _LOWER},
                },
            )
        ],
    }
)


def manifest_problems(manifest: Any, directory: str) -> list[str]:
    """hassfest's manifest.py, codeowners.py and requirements.py (format)."""
    found = _schema_problems("manifest.json", MANIFEST_SCHEMA, manifest)
    if not isinstance(manifest, Mapping):
        return found  # the schema says it is not a dictionary
    domain = manifest.get("domain")
    if domain != directory:
        found.append("manifest.json: domain does not match the directory name")
    if (
        isinstance(domain, str)
        and re.fullmatch(r"[a-z0-9_]+", domain)
        and importlib.util.find_spec(f"homeassistant.components.{domain}") is not None
    ):
        found.append("manifest.json: domain collides with a built-in core integration (hassfest warning)")
    if "iot_class" not in manifest:
        found.append("manifest.json: no iot_class")
    if manifest.get("quality_scale") in ("silver", "gold", "platinum") and not manifest.get("codeowners"):
        found.append("manifest.json: a silver or higher quality scale needs code owners")
    if not manifest.get("version"):
        found.append("manifest.json: no version")
    keys = list(manifest)
    if keys != sorted(keys, key=lambda key: {"domain": ".domain", "name": ".name"}.get(key, key)):
        found.append("manifest.json: keys are not sorted: domain, name, then alphabetical order")
    owners = manifest.get("codeowners")
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, str) and not owner.startswith("@"):
            found.append(f"manifest.json: code owner {owner!r} is not a GitHub handle")
    requirements = manifest.get("requirements")
    for requirement in requirements if isinstance(requirements, list) else []:
        if isinstance(requirement, str):
            found += requirement_problems(requirement)
    return found


_PACKAGE = re.compile(r"^(?:--.+\s)?([-_,.\w\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$")
_SPECIFIER = re.compile(r"^(==|>=|<=|~=|!=|<|>|===)?(.*)$")


def requirement_problems(requirement: str) -> list[str]:
    """hassfest's requirements.py format check of one requirement."""
    if " " in requirement:
        return [f"manifest.json: requirement {requirement!r} contains a space"]
    if not (match := _PACKAGE.match(requirement)):
        return [f"manifest.json: requirement {requirement!r} does not match the package pattern"]
    package, _, version = match.groups()
    for part in version.split(";", 1)[0].split(",") if version else []:
        spec = _SPECIFIER.match(part)
        if spec and AwesomeVersion(spec.group(2)).strategy == AwesomeVersionStrategy.UNKNOWN:
            return [f"manifest.json: cannot parse the version ({version}) of {package}"]
    return []
