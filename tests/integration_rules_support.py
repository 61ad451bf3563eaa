"""What the tests of the offline hassfest/HACS checker (tests/test_integration_rules*.py) share:
the real files, read once, and the plants that change one thing in a copy of them.

A plant takes a Checkout and returns a changed copy; nothing is written to disk. Each test module
holds a CASES table, {case name: (plant, the problems that one change causes)}, for one kind of file.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
from typing import Any

from tests.integration_rules import Checkout

ROOT = Path(__file__).parents[1]
REAL = Checkout.read(ROOT, "ekm")
EN = "translations/en.json"
Plant = Callable[[Checkout], Checkout]


def _order(key: str) -> str:
    return {"domain": ".domain", "name": ".name"}.get(key, key)


def edit_json(path: str, change: Callable[[dict[str, Any]], None], *, sort: bool = False) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        data = json.loads(checkout.files[path])
        change(data)
        if sort:
            data = {key: data[key] for key in sorted(data, key=_order)}
        return checkout.with_file(path, json.dumps(data, indent=2))

    return plant


def manifest(**values: Any) -> Plant:
    """Set (None: remove) manifest keys, keeping hassfest's key order."""

    def change(data: dict[str, Any]) -> None:
        for key, value in values.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    return edit_json("manifest.json", change, sort=True)


def edit_text(path: str, old: str, new: str) -> Plant:
    def plant(checkout: Checkout) -> Checkout:
        assert old in checkout.files[path], old
        return checkout.with_file(path, checkout.files[path].replace(old, new))

    return plant


def setting(path: str, keys: str, value: Any) -> Plant:
    """Set (None: delete) the value at a dotted path of a JSON file."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = keys.split(".")
        for key in parents:
            data = data.setdefault(key, {})
        if value is None:
            del data[last]
        else:
            data[last] = value

    return edit_json(path, change)
