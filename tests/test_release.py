"""scripts/release: the tag must match the manifest, the zip is what HACS unpacks, notes exist."""

from __future__ import annotations

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


def release(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the integration and the changelog, with build leftovers planted in it."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "custom_components/ekm", root / "custom_components/ekm")
    shutil.copy(ROOT / "CHANGELOG.md", root / "CHANGELOG.md")
    cache = root / "custom_components/ekm/aioekm/__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "fields.cpython-313.pyc").write_bytes(b"\x00")
    (root / "custom_components/ekm/stray.pyc").write_bytes(b"\x00")
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
