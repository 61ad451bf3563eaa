"""Constants of the EKM Metering integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "ekm"
LOGGER: Final = logging.getLogger(__package__)
