"""Malformed files (invalid JSON or YAML, a list or number where a mapping is expected): the
schema check reports the shape, later checks skip the file instead of crashing problems()."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.integration_rules import Checkout, problems
from tests.integration_rules_support import EN, REAL, Plant


def malformed(path: str, keys: str, value: Any) -> Plant:
    """Set the value at a dotted path ("": the whole file) of a JSON or YAML file, null included."""

    def plant(checkout: Checkout) -> Checkout:
        text = checkout.files[path]
        data = yaml.safe_load(text) if path.endswith(".yaml") else json.loads(text)
        if keys:
            *parents, last = keys.split(".")
            parent = data
            for key in parents:
                parent = parent[key]
            parent[last] = value
        else:
            data = value
        dump = yaml.safe_dump(data, sort_keys=False) if path.endswith(".yaml") else json.dumps(data)
        return checkout.with_file(path, dump)

    return plant


CASES: dict[str, tuple[Plant, list[str]]] = {
    # --- a list, number or null where a mapping is expected, or a file that does not parse --
    "manifest not an object": (
        malformed("manifest.json", "", []),
        [
            "manifest.json: expected a dictionary. Got []",
            "manifest.json (HACS): expected a dictionary. Got []",
        ],
    ),
    "manifest invalid JSON": (
        lambda c: c.with_file("manifest.json", "{"),
        ["manifest.json: invalid JSON"],
    ),
    "manifest after_dependencies a number": (
        malformed("manifest.json", "after_dependencies", 5),
        ["manifest.json: expected a list for dictionary value @ data['after_dependencies']. Got 5"],
    ),
    "manifest after_dependencies holding a mapping": (
        malformed("manifest.json", "after_dependencies", [{}]),
        ["manifest.json: expected str @ data['after_dependencies'][0]. Got {}"],
    ),
    "manifest dependencies null": (
        malformed("manifest.json", "dependencies", None),
        ["manifest.json: expected a list for dictionary value @ data['dependencies']. Got None"],
    ),
    "services.yaml fields a number": (
        malformed("services.yaml", "send_command.fields", 5),
        ["services.yaml: expected a dictionary for dictionary value @ data['send_command']['fields']. Got 5"],
    ),
    "services.yaml fields a list": (
        malformed("services.yaml", "send_command.fields", ["command"]),
        [
            "services.yaml: expected a dictionary for dictionary value @ data['send_command']['fields']."
            " Got ['command']"
        ],
    ),
    "services.yaml action a list": (
        malformed("services.yaml", "send_command", [1]),
        ["services.yaml: expected a dictionary for dictionary value @ data['send_command']. Got [1]"],
    ),
    "services.yaml select translation_key a list": (
        malformed(
            "services.yaml",
            "send_command.fields.command.selector",
            {"select": {"options": ["a"], "translation_key": ["a"]}},
        ),
        [
            "services.yaml: value should be a string for dictionary value"
            " @ data['send_command']['fields']['command']['selector']['translation_key']"
        ],
    ),
    "strings not an object": (
        malformed(EN, "", []),
        ["translations/en.json: expected a dictionary. Got []"],
    ),
    "strings invalid JSON": (
        lambda c: c.with_file(EN, "{"),
        ["translations/en.json: invalid JSON"],
    ),
    "config not a mapping": (
        malformed(EN, "config", []),
        ["translations/en.json: expected a dictionary for dictionary value @ data['config']. Got []"],
    ),
    "config.step a number": (
        malformed(EN, "config.step", 5),
        ["translations/en.json: expected a dictionary for dictionary value @ data['config']['step']. Got 5"],
    ),
    "config.step null": (
        malformed(EN, "config.step", None),
        [
            "translations/en.json: expected a dictionary for dictionary value @ data['config']['step']."
            " Got None"
        ],
    ),
    "config step a string": (
        malformed(EN, "config.step.user", "Menu"),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']. Got 'Menu'"
        ],
    ),
    "menu_options a number": (
        malformed(EN, "config.step.user.menu_options", 5),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']['menu_options']. Got 5"
        ],
    ),
    "menu_options a list of mappings": (
        malformed(EN, "config.step.user.menu_options", [{"rs485": "RS-485"}]),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['config']['step']['user']['menu_options']. Got [{'rs485': 'RS-485'}]"
        ],
    ),
    "issues a number": (
        malformed(EN, "issues", 5),
        ["translations/en.json: expected a dictionary for dictionary value @ data['issues']. Got 5"],
    ),
    "issues a list of mappings": (
        malformed(EN, "issues", [{}]),
        ["translations/en.json: expected a dictionary for dictionary value @ data['issues']. Got [{}]"],
    ),
    "selector a list": (
        malformed(EN, "selector", ["mode"]),
        ["translations/en.json: expected dictionary for dictionary value @ data['selector']. Got ['mode']"],
    ),
    "services texts a number": (
        malformed(EN, "services", 5),
        ["translations/en.json: expected dictionary for dictionary value @ data['services']. Got 5"],
    ),
    "action texts a list": (
        malformed(EN, "services.set_relay", []),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['services']['set_relay']. Got []"
        ],
    ),
    "action field texts a number": (
        malformed(EN, "services.set_relay.fields.state", 5),
        [
            "translations/en.json: expected a dictionary for dictionary value"
            " @ data['services']['set_relay']['fields']['state']. Got 5"
        ],
    ),
    # --- json.py ----------------------------------------------------------------------------
    "invalid JSON": (lambda c: c.with_file("icons.json", '{"entity": '), ["icons.json: invalid JSON"]),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected
