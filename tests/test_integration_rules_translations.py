"""hassfest's translation rules (translations.py): each planted defect in a copy of
translations/en.json causes the problems it should, no more and no fewer."""

from __future__ import annotations

import pytest

from tests.integration_rules import problems
from tests.integration_rules.translations import translations_directory_problems
from tests.integration_rules_support import EN, REAL, Plant, manifest, setting

CASES: dict[str, tuple[Plant, list[str]]] = {
    "text with HTML": (
        setting(EN, "config.step.scan.title", "<b>Scan</b>"),
        [
            "translations/en.json: the string should not contain HTML for dictionary value"
            " @ data['config']['step']['scan']['title']. Got '<b>Scan</b>'"
        ],
    ),
    "text with a trailing space": (
        setting(EN, "config.step.scan.title", "Scan "),
        [
            "translations/en.json: the string should not contain leading or trailing spaces"
            " for dictionary value @ data['config']['step']['scan']['title']. Got 'Scan '"
        ],
    ),
    "placeholder in single quotes": (
        setting(EN, "exceptions.port_unavailable.message", "Port '{port}' is gone."),
        [
            "translations/en.json: the string should not contain placeholders inside single quotes"
            " for dictionary value @ data['exceptions']['port_unavailable']['message']."
            " Got \"Port '{port}' is gone.\""
        ],
    ),
    "text with a URL": (
        setting(EN, "issues.unknown_meter.description", "See https://ekmmetering.com for help."),
        [
            "translations/en.json: the string should not contain URLs, please use description placeholders"
            " instead for dictionary value @ data['issues']['unknown_meter']['description']."
            " Got 'See https://ekmmetering.com for help.'"
        ],
    ),
    "text around a reference": (
        setting(
            EN,
            "config.abort.already_configured",
            "Sorry: [%key:common::config_flow::abort::already_configured_device%]",
        ),
        [
            "translations/en.json: the string should not contain combined translations for dictionary value"
            " @ data['config']['abort']['already_configured']."
            " Got 'Sorry: [%key:common::config_flow::abort::already_configured_device%]'"
        ],
    ),
    "strings unknown key": (
        setting(EN, "notes", {"a": "b"}),
        ["translations/en.json: extra keys not allowed @ data['notes']. Got {'a': 'b'}"],
    ),
    "entity key not a translation key": (
        setting(EN, "entity.switch.Relay", {"name": "Relay"}),
        [
            "translations/en.json: Invalid translation key 'Relay', need to be [a-z0-9-_]+ and cannot start"
            " or end with a hyphen or underscore. for dictionary value @ data['entity']['switch']."
            " Got {'relay': {'name': 'Relay {relay}'}, 'Relay': {'name': 'Relay'}}"
        ],
    ),
    "exception key not a slug": (
        setting(EN, "exceptions.Port-Gone", {"message": "Gone."}),
        [
            "translations/en.json: invalid slug Port-Gone (try port_gone) for dictionary value"
            " @ data['exceptions']"
        ],
    ),
    "data_description without data": (
        setting(EN, "config.step.scan.data_description.ghost", "Not a field."),
        ["translations/en.json: data_description key ghost is not in data @ data['config']['step']['scan']"],
    ),
    "issue without title": (
        setting(EN, "issues.unknown_meter.title", None),
        ["translations/en.json: required key not provided @ data['issues']['unknown_meter']['title']"],
    ),
    "issue with description and fix_flow": (
        setting(EN, "issues.unknown_meter.fix_flow", {"step": {}}),
        [
            "translations/en.json: two or more values in the same group of exclusion 'fixable'"
            " @ data['issues']['unknown_meter'][<fixable>]"
        ],
    ),
    "options.title": (
        setting(EN, "options.title", "EKM"),
        ["translations/en.json: extra keys not allowed @ data['options']['title']. Got 'EKM'"],
    ),
    "helper without a user step description": (
        manifest(integration_type="helper"),
        ["translations/en.json: Step user needs a description for dictionary value @ data['config']"],
    ),
    "config.title": (
        setting(EN, "config.title", "EKM"),
        ["translations/en.json: config.title belongs at the root, as title (hassfest warning)"],
    ),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected


def test_legacy_translations_directory() -> None:
    names = frozenset(name.replace("translations/", ".translations/") for name in REAL.names)
    assert translations_directory_problems(names) == [
        ".translations: the directory is called translations since Home Assistant 0.112"
    ]
    assert translations_directory_problems(REAL.names) == []
