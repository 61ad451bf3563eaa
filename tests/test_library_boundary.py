"""aioekm must stay Home Assistant-free, with only relative imports of itself."""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

import pytest

LIBRARY = Path(__file__).parent.parent / "custom_components" / "ekm" / "aioekm"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def offending_imports(root: Path) -> list[str]:
    """'file: module' for every import of homeassistant or of our package by absolute name."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in ("homeassistant", "custom_components"):
                bad.append(f"{path.relative_to(root)}: {name}")
    return bad


def test_library_has_no_homeassistant_imports() -> None:
    assert LIBRARY.is_dir()
    assert offending_imports(LIBRARY) == []


def test_checker_catches_an_offender(tmp_path: Path) -> None:
    """The check above can fail: a planted import is reported."""
    (tmp_path / "bad.py").write_text("from homeassistant.core import HomeAssistant\n")
    (tmp_path / "worse.py").write_text("import custom_components.ekm.const\n")
    assert offending_imports(tmp_path) == [
        "bad.py: homeassistant.core",
        "worse.py: custom_components.ekm.const",
    ]


@pytest.mark.parametrize("module", ["aioekm"])
def test_library_imports_without_homeassistant(module: str, tmp_path: Path) -> None:
    """Importing the library in a fresh interpreter does not pull homeassistant in.

    The library is linked alone into an empty folder, as `pip install .` places it: the
    integration's own modules (select.py, sensor.py ...) must not shadow the standard library's.
    """
    (tmp_path / "aioekm").symlink_to(LIBRARY, target_is_directory=True)
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import {module}; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'homeassistant']; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
