"""hassfest's and HACS's rules for a custom integration: our files pass, and what the checker
does not cover yet says so.

Each rule's planted defects live in a module per kind of file: test_integration_rules_manifest.py,
_hacs.py, _services_icons.py, _translations.py, _code.py and _malformed.py (a file of the wrong
shape); the plants they share are in integration_rules_support.py.
"""

from __future__ import annotations

import json

import pytest

from tests.integration_rules import problems
from tests.integration_rules.manifest import manifest_problems
from tests.integration_rules_support import REAL, Plant


def test_the_manifest_passes() -> None:
    assert manifest_problems(json.loads(REAL.files["manifest.json"]), "ekm") == []


def test_the_integration_and_the_repository_pass() -> None:
    assert problems(REAL) == []


CASES: dict[str, tuple[Plant, list[str]]] = {
    # --- conditions.py / triggers.py --------------------------------------------------------
    "triggers.yaml not covered": (
        lambda c: c.with_file("triggers.yaml", "{}\n"),
        ["triggers.yaml: hassfest validates this file, integration_rules does not yet"],
    ),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected
