"""ekm.zip, unpacked into a fresh Home Assistant config directory as HACS does, sets up an entry.

scripts/release builds the zip from this checkout's tracked files. It goes into
<config>/custom_components/ekm/ and a second pytest, in a subprocess that sees only that copy
(tests/release_zip_in_ha.py), sets up an RS-485 entry in Home Assistant. The zip has no
simulator, so this process runs the checkout's (`ekm simulate` on a pty, as scripts/develop
does) and checks the kWh the entry read against the simulated meter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import json
import os
from pathlib import Path
import select
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from custom_components.ekm.aioekm.simulator.fleet import Fleet

from .aioekm.cli_support import ROOT, ekm_command, ekm_environment

SCRIPT = ROOT / "scripts" / "release"
INNER = Path(__file__).with_name("release_zip_in_ha.py")
INTEGRATION = "custom_components/ekm/"
# What the zip leaves out of the tracked files: Home Assistant never runs them.
LEFT_OUT = ("aioekm/simulator/", "aioekm/cli/", "aioekm/__main__.py")
METER = "000300000001"
FLEET = "300000001:v4"
# Generous: the inner run takes a few seconds, but tests run side by side on a busy machine.
# Each of its tests may take INNER_TIMEOUT (pytest-timeout then shows where it hung), the whole
# run TIMEOUT; this test's own limit (setup.cfg's is 120 s) is raised to match.
INNER_TIMEOUT = 120
TIMEOUT = 240


def tracked_integration_files() -> set[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", INTEGRATION],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {path.removeprefix(INTEGRATION) for path in listed.split("\0") if path}


@contextmanager
def simulator() -> Iterator[str]:
    """`ekm simulate` of the checkout on a pty; yields the pty's path."""
    process = subprocess.Popen(
        ekm_command("simulate", "--pty", "--meters", FLEET, "--turnaround", "0.005"),
        cwd=ROOT,
        env=ekm_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        output = b""
        deadline = time.monotonic() + 60
        while b"\n" not in output:
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"simulator printed {output!r} only"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"simulator ended: {process.communicate()[1].decode()}"
            output += chunk
        line = output.decode().splitlines()[0]
        assert line.startswith("listening on /"), line
        yield line.removeprefix("listening on ")
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def inner_environment(config: Path, port: str, result: Path) -> dict[str, str]:
    """This environment without what would reach the checkout, pytest options or coverage."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_"))
    }
    env.update(
        PYTHONPATH=str(config),
        PYTHONDONTWRITEBYTECODE="1",
        EKM_ZIP_CONFIG=str(config),
        EKM_ZIP_PORT=port,
        EKM_ZIP_METER=METER,
        EKM_ZIP_RESULT=str(result),
    )
    return env


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 60)
def test_the_zip_sets_up_in_home_assistant(tmp_path: Path) -> None:
    zip_path = tmp_path / "ekm.zip"
    built = subprocess.run(
        [sys.executable, str(SCRIPT), "zip", str(zip_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr

    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        config = tmp_path / "config"
        archive.extractall(config / "custom_components" / "ekm")
    assert len(names) == len(set(names))
    assert not [n for n in names if n.startswith(LEFT_OUT)]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo")) or ".egg-info" in n]
    assert set(names) == {n for n in tracked_integration_files() if not n.startswith(LEFT_OUT)}
    (config / "configuration.yaml").write_text("")

    # A folder of its own for the inner run: no conftest.py or setup.cfg of the checkout.
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(INNER, run / "test_unpacked_zip.py")
    (run / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        f"timeout = {INNER_TIMEOUT}\n"
    )
    result = tmp_path / "result.json"
    with simulator() as port:
        inner = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:sugar", "-q", "-x"],
            cwd=run,
            env=inner_environment(config, port, result),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    # A new module nobody ran `git add` on is not in the zip: the release would miss it too.
    untracked = f"{built.stderr}(`git add` what the integration needs)\n" if built.stderr else ""
    assert inner.returncode == 0, f"{untracked}{inner.stdout[-6000:]}\n{inner.stderr[-3000:]}"
    assert "3 passed" in inner.stdout, inner.stdout[-3000:]

    # The kWh the entry shows is the simulated meter's at some moment of the read.
    shown = json.loads(result.read_text())
    meter = Fleet.parse(FLEET).meters[METER]
    low, high = (meter.values(shown[when])["kWh_Tot"] for when in ("before", "after"))
    assert isinstance(low, float) and isinstance(high, float)
    assert low <= float(shown["state"]) <= high, shown
