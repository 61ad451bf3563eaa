"""Shared test setup.

HA's loader puts its own test config dir first on sys.path and would import
`custom_components` from there; importing ours first pins the package.
"""

from __future__ import annotations

import custom_components.ekm  # noqa: F401  (must come before HA's loader runs)
