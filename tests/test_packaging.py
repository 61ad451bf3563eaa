"""`pip install .` gives the library as top-level `aioekm` and the `ekm` command, without HA.

The metadata lives in setup.cfg; the fast tests read it and check it against the code.
One slow test really installs into a fresh virtualenv (packages from pip's configured index).
"""

from __future__ import annotations

import ast
import configparser
import json
from pathlib import Path
import re
import shutil
import subprocess
import sys

import pytest

from .aioekm.cli_support import LIBRARY_PARENT, ROOT, ekm_environment

LIBRARY = LIBRARY_PARENT / "aioekm"
RUNTIME = {"aiohttp", "serialx", "yarl"}
# Used when installed (Home Assistant ships it), never required: imported inside try/except.
OPTIONAL = {"orjson"}


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg")
    return config


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def _third_party_imports() -> set[str]:
    """Top-level names of the absolute imports in the library that are not the standard library."""
    found: set[str] = set()
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found.update(n.split(".")[0] for n in names if n.split(".")[0] not in sys.stdlib_module_names)
    return found - {"__future__"}


def test_install_requires_is_exactly_what_the_library_imports() -> None:
    requires = _lines(setup_cfg()["options"]["install_requires"])
    assert {_name(r) for r in requires} == RUNTIME
    assert _third_party_imports() == RUNTIME | OPTIONAL
    assert "homeassistant" not in _third_party_imports()


def test_serialx_bound_matches_the_integration_manifest() -> None:
    manifest = json.loads((ROOT / "custom_components" / "ekm" / "manifest.json").read_text())
    requires = _lines(setup_cfg()["options"]["install_requires"])
    assert [r for r in requires if _name(r) == "serialx"] == manifest["requirements"]
    assert setup_cfg()["metadata"]["version"] == manifest["version"]


def test_every_library_directory_is_a_package() -> None:
    """`packages = find:` skips a directory without __init__.py, and pip would drop its modules."""
    options = setup_cfg()["options.packages.find"]
    assert (ROOT / options["where"]) == LIBRARY_PARENT
    assert _lines(options["include"]) == ["aioekm", "aioekm.*"]
    for directory in [LIBRARY, *(p for p in LIBRARY.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        if any(directory.glob("*.py")):
            assert (directory / "__init__.py").is_file(), directory
    assert (LIBRARY / "py.typed").is_file()
    assert setup_cfg()["options.package_data"]["aioekm"].strip() == "py.typed"


def test_console_script_resolves_without_home_assistant() -> None:
    """`ekm = aioekm.cli.main:main`, imported as the installed package is (top-level aioekm)."""
    (entry,) = _lines(setup_cfg()["options.entry_points"]["console_scripts"])
    name, _, target = (part.strip() for part in entry.partition("="))
    module, _, function = target.partition(":")
    assert (name, module, function) == ("ekm", "aioekm.cli.main", "main")
    probe = (
        f"import importlib, sys; sys.path.append({str(LIBRARY_PARENT)!r}); "
        f"main = getattr(importlib.import_module({module!r}), {function!r}); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'homeassistant'], 'HA imported'; "
        "sys.exit(main(['--help']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path("/"),
        env=ekm_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ekm")


def _copy_sources(destination: Path) -> None:
    """What pip needs to build aioekm, outside the checkout so no build/ or egg-info lands in it."""
    for name in ("setup.cfg", "pyproject.toml", "LICENSE"):
        shutil.copy(ROOT / name, destination / name)
    shutil.copytree(
        LIBRARY,
        destination / "custom_components" / "ekm" / "aioekm",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pip_install_gives_the_ekm_command_and_nothing_of_home_assistant(tmp_path: Path) -> None:
    source, venv = tmp_path / "source", tmp_path / "venv"
    source.mkdir()
    _copy_sources(source)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = ekm_environment()
    env.pop("PYTHONPATH", None)

    def in_venv(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """ARGS run from tmp_path with the venv's environment: output captured, exit code not checked."""
        return subprocess.run(
            [str(arg) for arg in args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    install = in_venv(
        python, "-m", "pip", "install", "--disable-pip-version-check", "-q", source, timeout=500
    )
    if install.returncode != 0 and re.search(
        r"NewConnectionError|Failed to establish|Temporary failure", install.stderr
    ):
        pytest.skip(f"no package index reachable: {install.stderr.strip().splitlines()[-1]}")
    assert install.returncode == 0, install.stderr

    help_text = in_venv(venv / "bin" / "ekm", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("usage: ekm")
    probe = (
        "import importlib.metadata as m, json, aioekm, aioekm.cli.main, aioekm.simulator.rs485; "
        "print(json.dumps({'file': aioekm.__file__, 'requires': m.requires('aioekm'), "
        "'installed': sorted(d.metadata['Name'].lower() for d in m.distributions())}))"
    )
    probed = in_venv(python, "-c", probe)
    assert probed.returncode == 0, probed.stderr
    found = json.loads(probed.stdout)
    assert found["file"].startswith(str(venv))
    assert {_name(r) for r in found["requires"]} == RUNTIME
    assert {"aioekm", *RUNTIME} <= set(found["installed"])
    assert "homeassistant" not in found["installed"]
    assert (Path(found["file"]).parent / "py.typed").is_file()
