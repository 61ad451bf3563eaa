"""Run the `ekm` command line in a subprocess as an installed `aioekm` runs it.

`pip install .` maps custom_components/ekm/aioekm to the top-level package `aioekm`
(setup.cfg). The tests do the same without installing: the directory holding `aioekm`
goes at the END of sys.path, so the integration's own modules beside it (const.py,
sensor.py ...) never shadow anything, and Home Assistant is never imported.
"""

from __future__ import annotations

import os
from pathlib import Path
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
