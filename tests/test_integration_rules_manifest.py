"""hassfest's manifest rules (manifest.py, codeowners.py, requirements.py): each planted defect
in a copy of manifest.json causes the problems it should, no more and no fewer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.integration_rules import problems
from tests.integration_rules.manifest import IOT_CLASSES
from tests.integration_rules_support import REAL, Plant, edit_json, manifest


def unsorted(data: dict[str, Any]) -> None:
    """Today's manifest had after_dependencies after config_flow."""
    later = data.pop("after_dependencies")
    items = list(data.items())
    index = [key for key, _ in items].index("config_flow") + 1
    data.clear()
    data.update([*items[:index], ("after_dependencies", later), *items[index:]])


CASES: dict[str, tuple[Plant, list[str]]] = {
    "manifest key order": (
        edit_json("manifest.json", unsorted),
        ["manifest.json: keys are not sorted: domain, name, then alphabetical order"],
    ),
    "manifest unknown key": (
        manifest(homepage="https://example.com"),
        ["manifest.json: extra keys not allowed @ data['homepage']. Got 'https://example.com'"],
    ),
    "manifest key of the wrong type": (
        manifest(config_flow="yes"),
        ["manifest.json: expected bool for dictionary value @ data['config_flow']. Got 'yes'"],
    ),
    "manifest name missing": (
        manifest(name=None),
        [
            "manifest.json: required key not provided @ data['name']",
            "manifest.json (HACS): required key not provided @ data['name']",
        ],
    ),
    "iot_class not known": (
        manifest(iot_class="local_pull"),
        [
            f"manifest.json: value must be one of {sorted(IOT_CLASSES)} for dictionary value"
            " @ data['iot_class']. Got 'local_pull'"
        ],
    ),
    "iot_class missing": (manifest(iot_class=None), ["manifest.json: no iot_class"]),
    "integration_type not known": (
        manifest(integration_type="bridge"),
        [
            "manifest.json: value must be one of ['device', 'entity', 'hardware', 'helper', 'hub',"
            " 'service', 'system'] for dictionary value @ data['integration_type']. Got 'bridge'"
        ],
    ),
    "quality_scale not known": (
        manifest(quality_scale="diamond"),
        [
            "manifest.json: value must be one of ['bronze', 'custom', 'gold', 'internal', 'legacy',"
            " 'no_score', 'platinum', 'silver'] for dictionary value @ data['quality_scale']. Got 'diamond'"
        ],
    ),
    "gold without code owners": (
        manifest(quality_scale="gold", codeowners=[]),
        ["manifest.json: a silver or higher quality scale needs code owners"],
    ),
    "version not AwesomeVersion": (
        manifest(version="first release"),
        [
            "manifest.json: 'first release' is not a valid version for dictionary value"
            " @ data['version']. Got 'first release'"
        ],
    ),
    "version missing": (
        manifest(version=None),
        [
            "manifest.json: no version",
            "manifest.json (HACS): required key not provided @ data['version']",
        ],
    ),
    "documentation over http": (
        manifest(documentation="http://github.com/ekm-ha/ekm-metering"),
        [
            "manifest.json: documentation url is not prefixed with https for dictionary value"
            " @ data['documentation']. Got 'http://github.com/ekm-ha/ekm-metering'"
        ],
    ),
    "documentation of core": (
        manifest(documentation="https://www.home-assistant.io/integrations/ekm"),
        [
            "manifest.json: documentation must be the custom integration's for dictionary value"
            " @ data['documentation']. Got 'https://www.home-assistant.io/integrations/ekm'"
        ],
    ),
    "issue_tracker not a URL": (
        manifest(issue_tracker="the issues tab"),
        [
            "manifest.json: expected a URL for dictionary value @ data['issue_tracker']."
            " Got 'the issues tab'",
            "manifest.json (HACS): invalid url for dictionary value @ data['issue_tracker']."
            " Got 'the issues tab'",
        ],
    ),
    "domain not the directory": (
        manifest(domain="ekm_metering"),
        ["manifest.json: domain does not match the directory name"],
    ),
    "code owners missing": (
        manifest(codeowners=None),
        [
            "manifest.json: required key not provided @ data['codeowners']",
            "manifest.json (HACS): required key not provided @ data['codeowners']",
        ],
    ),
    "code owner not a handle": (
        manifest(codeowners=["ekm-ha"]),
        ["manifest.json: code owner 'ekm-ha' is not a GitHub handle"],
    ),
    "requirement with a space": (
        manifest(requirements=["serialx >= 1.11"]),
        ["manifest.json: requirement 'serialx >= 1.11' contains a space"],
    ),
    "requirement not a package": (
        manifest(requirements=["~serialx"]),
        ["manifest.json: requirement '~serialx' does not match the package pattern"],
    ),
    "requirement version unparseable": (
        manifest(requirements=["serialx>=one.eleven"]),
        ["manifest.json: cannot parse the version (one.eleven) of serialx"],
    ),
    "dhcp MAC in lowercase": (
        manifest(dhcp=[{"macaddress": "4016fa*"}]),
        [
            "manifest.json: needs to be uppercase for dictionary value @ data['dhcp'][0]['macaddress']."
            " Got '4016fa*'"
        ],
    ),
    "dhcp MAC without wildcard": (
        manifest(dhcp=[{"macaddress": "4016FA"}]),
        [
            "manifest.json: needs to contain a wildcard matcher for dictionary value"
            " @ data['dhcp'][0]['macaddress']. Got '4016FA'"
        ],
    ),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected


def test_domain_of_a_core_integration() -> None:
    """A custom `sun` would shadow the built-in one: a hassfest warning."""
    planted = manifest(domain="sun")(replace(REAL, directory="sun"))
    assert problems(planted) == [
        "manifest.json: domain collides with a built-in core integration (hassfest warning)"
    ]
