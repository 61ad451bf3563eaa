"""Shared test setup.

HA's loader puts its own test config dir first on sys.path and would import
`custom_components` from there; importing ours first pins the package.
"""

from __future__ import annotations

import logging

import custom_components.ekm  # noqa: F401  (must come before HA's loader runs)

# pytest-homeassistant-custom-component gives the root logger a stderr handler when it loads,
# as HA core's tests do. pytest captures what a test logs through handlers of its own; the
# stderr handler only prints what the recorder's thread logs between two tests into the run's
# output (hundreds of SQL lines).
for _handler in list(logging.root.handlers):
    if type(_handler) is logging.StreamHandler:
        logging.root.removeHandler(_handler)
