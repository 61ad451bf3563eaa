"""Run the `ekm` command line in a subprocess as an installed `aioekm` runs it.

`pip install .` maps custom_components/ekm/aioekm to the top-level package `aioekm`
(setup.cfg). The tests do the same without installing: the directory holding `aioekm`
goes at the END of sys.path, so the integration's own modules beside it (const.py,
sensor.py ...) never shadow anything, and Home Assistant is never imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).parents[2]
LIBRARY_PARENT = ROOT / "custom_components" / "ekm"

# `python -c RUN_AIOEKM ARGS...` is `python -m aioekm ARGS...` with aioekm from this checkout.
RUN_AIOEKM = (
    f"import runpy, sys; sys.path.append({str(LIBRARY_PARENT)!r}); "
    "runpy.run_module('aioekm', run_name='__main__', alter_sys=True)"
)


def ekm_command(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN_AIOEKM, *args]


def ekm_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EKM_METER_PASSWORD", "EKM_PUSH_KEY")}
    env.update(extra)
    return env


def ekm(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`ekm ARGS` in a subprocess, waited for: its exit code and output."""
    return subprocess.run(
        ekm_command(*args),
        cwd=ROOT,
        env=ekm_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def run_ekm(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`ekm ARGS` in a subprocess while this test's loop goes on (serving a simulator, say):
    (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *ekm_command(*args),
        cwd=ROOT,
        env=env or ekm_environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def ekm_simulate(*args: str) -> AsyncIterator[asyncio.StreamReader]:
    """`ekm simulate ARGS` in a subprocess: its output, to read what it serves; stopped at the end."""
    process = await asyncio.create_subprocess_exec(
        *ekm_command("simulate", *args),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        yield process.stdout
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
