"""scripts/setup: one install at a time, and the Home Assistant scripts/develop runs.

The lock test runs a copy of scripts/setup in a scratch directory with a stand-in for
Python whose `pip install` waits for a gate file, so nothing is really installed.
"""

from __future__ import annotations

from collections.abc import Callable
import os
from pathlib import Path
import re
import select
import shutil
import subprocess
import sys
import time
from typing import IO

import homeassistant
from homeassistant.const import __version__ as HA_VERSION
import pytest

from .aioekm.cli_support import ROOT

FAKE_PYTHON = """#!/bin/sh
# Stands in for python3.13 as scripts/setup calls it.
case "$1" in
  -c) echo 3.13 ;;
  --version) echo "Python 3.13.0" ;;
  -m)
    case "$2" in
      venv) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
      pip)
        echo "begin $PPID" >> "$FAKE_LOG"
        while [ ! -e "$FAKE_GATE" ]; do sleep 0.05; done
        echo "end $PPID" >> "$FAKE_LOG"
        ;;
    esac
    ;;
esac
"""


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _read_line(stream: IO[str], timeout: float = 60.0) -> str:
    ready, _, _ = select.select([stream.fileno()], [], [], timeout)
    assert ready, "no line in time"
    return stream.readline()


@pytest.mark.skipif(shutil.which("flock") is None, reason="scripts/setup locks with flock(1)")
def test_two_setups_at_once_install_one_after_the_other(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", repo / "scripts" / "setup")
    (repo / "requirements_test.txt").write_text("homeassistant\n")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log, gate = tmp_path / "pip.log", tmp_path / "gate"
    env = {**os.environ, "EKM_PYTHON": str(fake), "FAKE_LOG": str(log), "FAKE_GATE": str(gate)}

    def setup() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(repo / "scripts" / "setup")],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = setup()
    _wait_for(lambda: log.exists() and "begin" in log.read_text(), "the first install to start")
    second = setup()
    try:
        assert second.stderr is not None
        assert _read_line(second.stderr).startswith("setup: waiting for another scripts/setup")
        assert second.poll() is None  # held at the lock while the first one installs
        gate.touch()
        out_first, _ = first.communicate(timeout=60)
        out_second, _ = second.communicate(timeout=60)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    assert (first.returncode, second.returncode) == (0, 0)
    assert out_first.splitlines()[-1] == out_second.splitlines()[-1] == ".venv-py3.13"
    # Only the first one installed (pip upgrade, then the requirements), never two at once;
    # the second found the venv ready once it held the lock.
    events = [line.split() for line in log.read_text().splitlines()]
    assert events == [[kind, str(first.pid)] for kind in ("begin", "end", "begin", "end")]


def test_develop_runs_the_home_assistant_of_the_tests() -> None:
    """scripts/setup --develop pins HA per track; it must be the HA these tests run against."""
    text = (ROOT / "scripts" / "setup").read_text()
    table = dict(re.findall(r"^\s+([\d.]+|\*)\) echo (\d+\.\d+\.\d+) ;;$", text, re.MULTILINE))
    track = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert table.get(track, table["*"]) == HA_VERSION


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="the pycares pin is for HA 2025.4 on Python 3.13")
def test_home_assistants_own_installs_keep_the_pycares_pin(tmp_path: Path) -> None:
    """HA installs an integration's requirements with `uv pip install --upgrade` while it runs
    (dhcp's aiodiscover in scripts/develop), which lifted pycares to 5 and broke aiodns 3.2.0.
    With the overrides file scripts/setup writes, as scripts/develop passes it, pycares stays."""
    setup = (ROOT / "scripts" / "setup").read_text()
    pin = re.search(r"^PYCARES_PIN='(.+)'$", setup, re.MULTILINE)
    assert pin is not None
    assert 'echo "$PYCARES_PIN" > "$VENV/$UV_OVERRIDES"' in setup
    assert 'UV_OVERRIDES="uv-overrides.txt"' in setup
    assert 'UV_OVERRIDE="$PWD/$VENV/uv-overrides.txt"' in (ROOT / "scripts" / "develop").read_text()
    overrides = tmp_path / "uv-overrides.txt"
    overrides.write_text(pin.group(1) + "\n")
    constraints = Path(homeassistant.__file__).parent / "package_constraints.txt"
    # The arguments of homeassistant.util.package.install_package, as a dry run.
    args = [sys.executable, "-m", "uv", "pip", "install", "--dry-run", "--python", sys.executable]
    args += ["--upgrade", "aiodiscover==2.6.1", "--constraint", str(constraints)]
    args += ["--index-strategy", "unsafe-first-match"]
    env = {**os.environ, "UV_OVERRIDE": str(overrides)}
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0 and re.search(r"(?i)network|connect|dns|offline", run.stderr):
        pytest.skip(f"no package index reachable: {run.stderr.strip()[-200:]}")
    assert run.returncode == 0, run.stderr
    assert "aiodiscover==2.6.1" in run.stderr + run.stdout  # the dry run did resolve it
    assert "pycares" not in run.stderr + run.stdout


FAKE_VENV_PYTHON = """#!/bin/sh
# Stands in for the test venv's python as scripts/test calls it: the pytest run records what
# coverage data lay in the checkout when it started, and its arguments.
case "$1" in
  -c) echo "Home Assistant 0 on Python 3.13.0" ;;
  -m)
    if [ "$2" = pytest ]; then
      ls -a | grep '^\\.coverage' > "$FAKE_LOG" || true
      shift 2
      echo "args: $*" >> "$FAKE_LOG"
    fi
    ;;
esac
"""


def _run_fake_test_script(tmp_path: Path, *args: str) -> list[str]:
    """scripts/test in a scratch checkout whose setup, tools and Python are stand-ins; stale
    coverage data of another run lies in it. Returns what the pytest stand-in recorded."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", repo / "scripts" / "test")
    (repo / "scripts" / "setup").write_text("#!/bin/sh\necho .venv-fake\n")
    (repo / "scripts" / "setup").chmod(0o755)
    (repo / "setup.cfg").write_text("[coverage:run]\nbranch = true\n")
    venv = repo / ".venv-fake" / "bin"
    venv.mkdir(parents=True)
    for tool, text in (("python", FAKE_VENV_PYTHON), ("ruff", "#!/bin/sh\n"), ("mypy", "#!/bin/sh\n")):
        (venv / tool).write_text(text)
        (venv / tool).chmod(0o755)
    for stale in (".coverage", ".coverage.vm.123.XkQzAbcd"):
        (repo / stale).write_text("statement coverage data of another run")
    log = tmp_path / "pytest.log"
    env = {**os.environ, "FAKE_LOG": str(log)}
    env.pop("EKM_TEST_WORKERS", None)
    run = subprocess.run(
        [str(repo / "scripts" / "test"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return log.read_text().splitlines()


def test_test_runs_start_from_clean_coverage_data(tmp_path: Path) -> None:
    """Data left by a run with other settings (statement, not branch, coverage) cannot be
    combined with this run's and failed it at the end: none is left when pytest starts."""
    (args,) = _run_fake_test_script(tmp_path)
    assert args.startswith("args: ")


def test_tests_run_in_parallel_and_print_the_slowest(tmp_path: Path) -> None:
    (args,) = _run_fake_test_script(tmp_path, "-k", "relay")
    workers = 3 * len(os.sched_getaffinity(0))  # what nproc counts
    assert f"-n {workers} --dist worksteal --durations=15 --cov" in args
    assert args.endswith("-k relay")


def test_snapshot_updates_run_in_one_process(tmp_path: Path) -> None:
    """syrupy writes snapshots from one process: in workers, each drops the others' as unused."""
    (args,) = _run_fake_test_script(tmp_path, "tests/ha", "--snapshot-update")
    assert "-n 0 " in args
