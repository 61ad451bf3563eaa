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


INTEGRATION = LIBRARY.parent


def _library_imports(node: ast.AST) -> tuple[str, list[str]] | None:
    """(module, names) of an import of the library: relative `.aioekm...`, or by absolute name."""
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level == 1 and module.startswith("aioekm"):
            return module, [alias.name for alias in node.names]
        if node.level == 0 and ".aioekm" in f".{module}":
            return module, []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if ".aioekm" in f".{alias.name}":
                return alias.name, []
    return None


def private_library_imports(root: Path, public: set[str]) -> list[str]:
    """'file: what' for every import of the library by the integration that is not a name of
    its public API (`from .aioekm import Name`, Name in aioekm.__all__)."""
    bad = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (found := _library_imports(node)) is None:
                continue
            module, names = found
            if module != "aioekm" or not names:
                bad.append(f"{path.name}: {module}")
            bad.extend(f"{path.name}: aioekm.{name}" for name in names if name not in public)
    return bad


def test_the_integration_imports_only_the_librarys_public_api() -> None:
    from custom_components.ekm import aioekm

    assert private_library_imports(INTEGRATION, set(aioekm.__all__)) == []


def test_public_api_checker_catches_offenders(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text("from .aioekm.push.cloud import PushClient\n")
    (tmp_path / "unlisted.py").write_text("from .aioekm import PushClient, _secret\n")
    (tmp_path / "absolute.py").write_text("from custom_components.ekm.aioekm.rs485 import bus\n")
    (tmp_path / "fine.py").write_text("from .aioekm import PushClient\nfrom .const import DOMAIN\n")
    assert private_library_imports(tmp_path, {"PushClient"}) == [
        "absolute.py: custom_components.ekm.aioekm.rs485",
        "deep.py: aioekm.push.cloud",
        "unlisted.py: aioekm._secret",
    ]


def test_every_public_name_exists() -> None:
    from custom_components.ekm import aioekm

    assert [name for name in aioekm.__all__ if not hasattr(aioekm, name)] == []
    assert len(aioekm.__all__) == len(set(aioekm.__all__))
