"""HACS's rules (integration_manifest.py, hacsjson.py, information.py, brands.py, license.py):
each planted defect in a copy of the repository causes the problems it should, no more and no fewer."""

from __future__ import annotations

from dataclasses import replace
import json
from typing import Any

import pytest

from tests.integration_rules import Checkout, problems
from tests.integration_rules_support import REAL, Plant, manifest


def hacs_json(**values: Any) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        assert checkout.hacs_json is not None
        data = json.loads(checkout.hacs_json) | values
        return replace(checkout, hacs_json=json.dumps({k: v for k, v in data.items() if v is not None}))

    return plant


CASES: dict[str, tuple[Plant, list[str]]] = {
    "HACS: no issue_tracker": (
        manifest(issue_tracker=None),
        ["manifest.json (HACS): required key not provided @ data['issue_tracker']"],
    ),
    "hacs.json unknown key": (
        hacs_json(domains=["ekm"]),
        ["hacs.json: extra keys not allowed @ data['domains']. Got ['ekm']"],
    ),
    "hacs.json without name": (
        hacs_json(name=None),
        ["hacs.json: required key not provided @ data['name']"],
    ),
    "hacs.json key of the wrong type": (
        hacs_json(zip_release="yes"),
        ["hacs.json: expected bool for dictionary value @ data['zip_release']. Got 'yes'"],
    ),
    "hacs.json country not known": (
        hacs_json(country=["US", "XX"]),
        [
            "hacs.json: Value 'XX' is not a country code. for dictionary value @ data['country']."
            " Got ['US', 'XX']"
        ],
    ),
    "hacs.json zip without filename": (
        hacs_json(filename=None),
        ["hacs.json: zip_release is True, but filename is not set"],
    ),
    "hacs.json missing": (lambda c: replace(c, hacs_json=None), ["hacs.json: missing"]),
    "no README": (
        lambda c: replace(c, root_names=c.root_names - {"README.md"}),
        ["repository: no README or INFO file at the root"],
    ),
    "no LICENSE": (
        lambda c: replace(c, root_names=c.root_names - {"LICENSE"}),
        ["repository: no LICENSE file at the root"],
    ),
    "no brand icon": (
        lambda c: replace(c, names=c.names - {"brand/icon.png"}),
        ["brand/icon.png: missing (HACS would look the domain up in the brands repository)"],
    ),
}


@pytest.mark.parametrize(("plant", "expected"), CASES.values(), ids=CASES.keys())
def test_planted_defect(plant: Plant, expected: list[str]) -> None:
    assert problems(plant(REAL)) == expected
