"""The repository stands on its own: its docs exist, agree with the code, and nothing points outside."""

from __future__ import annotations

import functools
import os
from pathlib import Path
import re

import pytest

from custom_components.ekm.aioekm.fields import FIELDS, Layout

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("docs/architecture.md", "docs/rs485-protocol.md", "docs/push-api.md", "docs/simulator.md")

# Notes that live beside the repository, not in it. Built from pieces so this file does not match itself.
_OUTSIDE_NAMES = (
    "../" + "shared",
    "shared" + "/docs",
    "shared" + "/data",
    "ekm-" + "rs485.md",
    "ekm-" + "push-api.md",
    "ha-" + "reference.md",
)
_OUTSIDE = re.compile("|".join(map(re.escape, _OUTSIDE_NAMES)))
# The one allowed mention: a tool for machines without Python 3.14, named as an option.
_PY314_TOOL = "../" + "shared/tools/py314"
_PY314_ALLOWED = {"README.md", ".ci/run", "scripts/setup"}
_SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "htmlcov",
    "node_modules",
    "dist",
}
_SKIP_TOP = {"config"}  # scripts/develop's Home Assistant configuration, git-ignored


def repository_files() -> list[Path]:
    """Every text file of the checkout, without venvs, caches and generated files."""
    out = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if d not in _SKIP_DIRS
            and not d.startswith(".venv")
            and not (here == ROOT and d in _SKIP_TOP)
            and not d.endswith(".egg-info")
        ]
        for name in files:
            if name.startswith(".coverage") or name.endswith((".pyc", ".png", ".zip")):
                continue
            out.append(here / name)
    return out


# Code that climbs out of the checkout: `Path(__file__).parents[n]` above the root, a path
# piece "shared" or "..", or a "../name" whose name is not an entry of the checkout's root.
_CODE_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".toml", ".cfg", ".ini", ""}
_PARENTS = re.compile(r"parents\[(\d+)\]")
_PIECE = re.compile(r"""(["'])(?:shared|\.\.)\1""")
_DOT_DOT = re.compile(r"\.\./([\w.-]+)")


def _climbs_out(rel: str, line: str) -> bool:
    """Whether a line of code at `rel` (a path under the root) reaches outside the checkout."""
    depth = rel.count("/")  # Path(__file__).parents[depth] is the root
    if any(int(n) > depth for n in _PARENTS.findall(line)) or _PIECE.search(line):
        return True
    return any(name not in _top_names() for name in _DOT_DOT.findall(line))


@functools.cache
def _top_names() -> frozenset[str]:
    return frozenset(entry.name for entry in ROOT.iterdir())


def references_outside(rel: str, text: str) -> list[str]:
    """The lines of the file at `rel` that point outside the repository."""
    code = Path(rel).suffix in _CODE_SUFFIXES
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        checked = line.replace(_PY314_TOOL, "") if rel in _PY314_ALLOWED else line
        if _OUTSIDE.search(checked) or (code and _climbs_out(rel, checked)):
            found.append(f"{rel}:{number}: {line.strip()[:100]}")
    return found


def outside_references() -> list[str]:
    found = []
    this = Path(__file__).resolve()
    for path in repository_files():
        if path.resolve() == this:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found += references_outside(path.relative_to(ROOT).as_posix(), text)
    return found


def test_no_file_points_outside_the_repository() -> None:
    found = outside_references()
    assert not found, "point these at docs/ or tests/ instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("rel", "line"),
    [
        ("tests/aioekm/vectors.py", 'VECTORS = Path(__file__).parents[3] / "shared" / "data"'),
        ("tests/aioekm/vectors.py", "VECTORS = Path(__file__).parents[3] / 'vectors'"),
        ("benchmarks/x.py", 'DATA = ROOT / ".." / "captures"'),
        ("scripts/test", "cp ../captures/*.json tests/"),
        (".github/workflows/tests.yml", "      - run: ls ../" + "shared/data"),
        ("docs/push-api.md", "see ../" + "shared/docs/ekm-" + "push-api.md"),
        (".ci/run", "../" + "shared/tools/other"),
    ],
)
def test_outside_references_are_found(rel: str, line: str) -> None:
    """Planted: each way a file reached outside the checkout, or could, is reported."""
    assert references_outside(rel, f"# fine\n{line}\n") == [f"{rel}:2: {line.strip()[:100]}"]


@pytest.mark.parametrize(
    ("rel", "line"),
    [
        ("tests/ha/test_x.py", 'README = Path(__file__).parents[2] / "README.md"'),
        ("scripts/develop", "ln -s ../custom_components config/custom_components"),
        (".ci/run", "../" + "shared/tools/py314 scripts/test -q"),
        ("docs/simulator.md", "[the README](../README.md)"),
    ],
)
def test_paths_inside_the_checkout_pass(rel: str, line: str) -> None:
    assert references_outside(rel, line) == []


@pytest.mark.parametrize("doc", [*DOCS, "README.md", "CHANGELOG.md"])
def test_docs_exist_and_their_links_resolve(doc: str) -> None:
    """Relative links and images (the README's screenshots) point at files that exist."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert text.startswith("# ")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (ROOT / doc).parent.joinpath(target).exists(), f"{doc} links to missing {target}"


def _doc_layout(text: str, heading: str) -> dict[str, tuple[int, int]]:
    """The `| offset | length | `Name` | ...` rows under a '### heading' of the protocol doc."""
    section = text.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (\d+) \| `(\w+)` \|", section, re.MULTILINE)
    return {name: (int(offset), int(length)) for offset, length, name in rows}


@pytest.mark.parametrize(
    ("heading", "layout"),
    [
        ("4.2 v3 reply", Layout.V3),
        ("4.3 v4/v5 reply A", Layout.V4A),
        ("4.4 v4/v5 reply B", Layout.V4B),
    ],
)
def test_protocol_doc_layouts_are_the_field_table(heading: str, layout: Layout) -> None:
    text = (ROOT / "docs/rs485-protocol.md").read_text(encoding="utf-8")
    table = {f.name: f.at[layout] for f in FIELDS.values() if layout in f.at}
    assert _doc_layout(text, heading) == table


INTEGRATION = ROOT / "custom_components" / "ekm"
_PATH_LIKE = re.compile(r"[\w/.-]+\.(?:py|md)\b|[\w-]+/(?=[\s`),]|$)")


def named_paths_missing(text: str) -> list[str]:
    """Files and folders a document names (`x.py`, `push/cloud.py`, `rs485/`) that exist in none
    of the places a reader would look: the integration, its library, the repository root."""
    missing = []
    for name in sorted(set(_PATH_LIKE.findall(text))):
        bases = (INTEGRATION, INTEGRATION / "aioekm", ROOT)
        if not any((base / name).exists() for base in bases):
            missing.append(name)
    return missing


def test_architecture_names_files_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert named_paths_missing(text) == []


def test_architecture_names_every_module_of_the_integration() -> None:
    """A new module of the integration gets its place in the picture."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted(INTEGRATION.glob("*.py")) if p.name not in text] == []


def test_a_renamed_file_is_found() -> None:
    """Planted: a document naming a file that is gone fails the check."""
    assert named_paths_missing("the coordinators (`push_coordinator.py`, `rs485/`, `nowhere/`)") == [
        "nowhere/",
        "push_coordinator.py",
    ]
