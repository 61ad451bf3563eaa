"""scripts/release: the tag must match the manifest, the zip is what HACS unpacks, notes exist.

The zip holds the integration's files git tracks, less the library's simulator and command
line. tests/test_release_zip.py sets an entry up in Home Assistant from an unpacked zip.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "release"
VERSION = json.loads((ROOT / "custom_components/ekm/manifest.json").read_text())["version"]
INTEGRATION = "custom_components/ekm/"
# Tracked, but never run by Home Assistant: `pip install .` installs them, the zip leaves them out.
LEFT_OUT = ("aioekm/simulator/", "aioekm/cli/", "aioekm/__main__.py")


def release(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def tracked(root: Path, *paths: str) -> list[str]:
    return [path for path in git(root, "ls-files", "-z", "--", *paths).split("\0") if path]


def copy_tracked(root: Path) -> None:
    """This checkout's tracked integration files and changelog, copied to root (not yet a git checkout)."""
    for path in tracked(ROOT, INTEGRATION, "CHANGELOG.md"):
        if (ROOT / path).is_file():  # not if someone deleted it without `git rm`
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / path, root / path)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout of the integration and the changelog, with untracked leftovers planted in it."""
    root = tmp_path / "repo"
    copy_tracked(root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    ekm = root / INTEGRATION
    cache = ekm / "aioekm/__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "fields.cpython-313.pyc").write_bytes(b"\x00")
    (ekm / "stray.pyc").write_bytes(b"\x00")
    egg_info = ekm / "aioekm.egg-info"  # what `pip install .` leaves
    egg_info.mkdir()
    for name in ("PKG-INFO", "SOURCES.txt", "entry_points.txt", "top_level.txt"):
        (egg_info / name).write_text("aioekm\n")
    (ekm / "not_added.py").write_text("")  # a new module nobody ran `git add` on
    return root


@pytest.mark.parametrize("tag", [f"v{VERSION}", VERSION, f"refs/tags/v{VERSION}"])
def test_tag_matching_the_manifest_passes(tag: str) -> None:
    result = release("check", tag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VERSION


@pytest.mark.parametrize("tag", ["v0.0.0-not-it", f"v{VERSION}.1", f"x{VERSION}", ""])
def test_tag_not_matching_the_manifest_fails(tag: str) -> None:
    result = release("check", tag)
    assert result.returncode == 1
    assert "does not match manifest.json version" in result.stderr


def test_library_version_must_match_the_manifest(checkout: Path) -> None:
    (checkout / "setup.cfg").write_text(f"[metadata]\nname = aioekm\nversion = {VERSION}.post1\n")
    result = release("check", f"v{VERSION}", root=checkout)
    assert result.returncode == 1
    assert "setup.cfg version" in result.stderr
    (checkout / "setup.cfg").write_text(f"[metadata]\nname = aioekm\nversion = {VERSION}\n")
    assert release("check", f"v{VERSION}", root=checkout).returncode == 0


def test_build_refuses_a_mismatching_tag_before_writing(checkout: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = release("build", "v999.0.0", "--out", str(out), root=checkout)
    assert result.returncode == 1
    assert not (out / "ekm.zip").exists()


def test_zip_holds_the_integration_at_its_root(checkout: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = release("build", f"v{VERSION}", "--out", str(out), root=checkout)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out / "ekm.zip") as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domain"] == "ekm"
    assert manifest["version"] == VERSION
    assert not any(name.startswith(("ekm/", "custom_components/")) for name in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Everything the integration needs to load is there.
    for needed in ("__init__.py", "config_flow.py", "translations/en.json", "aioekm/rs485/frames.py"):
        assert needed in names
    assert (out / "notes.md").read_text().strip()


def test_zip_holds_exactly_the_tracked_files(checkout: Path, tmp_path: Path) -> None:
    """No leftover, no untracked file (named in a warning), none of the simulator and the CLI."""
    out = tmp_path / "ekm.zip"
    result = release("zip", str(out), root=checkout)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    expected = [
        path.removeprefix(INTEGRATION)
        for path in tracked(checkout, INTEGRATION)
        if not path.removeprefix(INTEGRATION).startswith(LEFT_OUT)
    ]
    assert names == expected
    assert result.stdout.strip().endswith(f"{len(expected)} files")
    assert result.stderr == (
        "release: warning: custom_components/ekm/not_added.py is not tracked by git, left out of the zip\n"
    )
    assert not [n for n in names if ".egg-info" in n or "__pycache__" in n or n.endswith(".pyc")]


def test_zip_leaves_out_the_simulator_and_the_command_line(checkout: Path, tmp_path: Path) -> None:
    out = tmp_path / "ekm.zip"
    assert release("zip", str(out), root=checkout).returncode == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    # They are there to leave out: the library keeps them.
    assert (checkout / INTEGRATION / "aioekm/simulator/fleet.py").is_file()
    assert (checkout / INTEGRATION / "aioekm/cli/main.py").is_file()
    assert not [n for n in names if n.startswith(LEFT_OUT)]
    assert "aioekm/__init__.py" in names
    assert "aioekm/py.typed" in names
    assert [n for n in names if n.startswith("aioekm/push/")]


def test_zip_outside_a_git_checkout_fails(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    copy_tracked(root)
    out = tmp_path / "ekm.zip"
    result = release("zip", str(out), root=root)
    assert result.returncode == 1
    assert result.stderr.startswith(f"release: {root} is not a git checkout (")
    assert "the zip holds the files git tracks" in result.stderr
    assert not out.exists()


def test_zip_of_a_tracked_file_the_checkout_lacks_fails(checkout: Path, tmp_path: Path) -> None:
    (checkout / INTEGRATION / "const.py").unlink()
    result = release("zip", str(tmp_path / "ekm.zip"), root=checkout)
    assert result.returncode == 1
    assert result.stderr == "release: git tracks files the checkout does not have: const.py\n"


def _imported_modules(path: Path, package: tuple[str, ...]) -> set[tuple[str, ...]]:
    """What a module of the integration imports of it, as paths from its folder: ("aioekm", "cli")."""
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(
                tuple(alias.name.split(".")[2:])
                for alias in node.names
                if alias.name.startswith("custom_components.ekm.")
            )
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        name = node.module or ""
        if node.level:
            base = package[: len(package) - node.level + 1]
        elif name == "custom_components.ekm" or name.startswith("custom_components.ekm."):
            base, name = (), name.removeprefix("custom_components.ekm").lstrip(".")
        else:
            continue
        module = (*base, *filter(None, name.split(".")))
        found.add(module)
        found.update((*module, alias.name) for alias in node.names)  # `from . import cli`
    return found


def test_nothing_shipped_imports_what_the_zip_leaves_out() -> None:
    """The integration and the library beside the simulator and the CLI never import them."""
    left_out = [tuple(p.removesuffix("/").removesuffix(".py").split("/")) for p in LEFT_OUT]
    shipped = [path.removeprefix(INTEGRATION) for path in tracked(ROOT, INTEGRATION)]
    offending = [
        f"{rel}: {'.'.join(module)}"
        for rel in shipped
        if rel.endswith(".py") and not rel.startswith(LEFT_OUT) and (ROOT / INTEGRATION / rel).is_file()
        for module in _imported_modules(ROOT / INTEGRATION / rel, tuple(rel.split("/")[:-1]))
        if any(module[: len(out)] == out for out in left_out)
    ]
    assert offending == []
    # The check sees such an import: the CLI's own module imports the simulator.
    simulate = ROOT / INTEGRATION / "aioekm/cli/simulate.py"
    assert ("aioekm", "simulator", "fleet") in _imported_modules(simulate, ("aioekm", "cli"))


def test_zip_is_the_same_for_the_same_tree(checkout: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert release("zip", str(first), root=checkout).returncode == 0
    assert release("zip", str(second), root=checkout).returncode == 0
    assert first.read_bytes() == second.read_bytes()


def test_notes_of_the_manifest_version_are_not_empty() -> None:
    result = release("notes", VERSION)
    assert result.returncode == 0, result.stderr
    notes = result.stdout
    assert notes.strip()
    assert "## [" not in notes  # only this version's section


def test_notes_of_an_unknown_or_empty_version_fail(checkout: Path) -> None:
    assert release("notes", "999.0.0", root=checkout).returncode == 1
    changelog = checkout / "CHANGELOG.md"
    changelog.write_text(f"# Changelog\n\n## [{VERSION}] - 2026-01-01\n\n## [0.0.1]\n\n- old\n")
    result = release("notes", VERSION, root=checkout)
    assert result.returncode == 1
    assert "empty" in result.stderr


def test_hacs_installs_the_zip() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["zip_release"] is True
    assert hacs["filename"] == "ekm.zip"
    workflow = (ROOT / ".github/workflows/release.yml").read_text()
    assert "scripts/release build" in workflow
    assert "ekm.zip" in workflow
