"""Constants of the EKM Metering integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "ekm"
LOGGER: Final = logging.getLogger(__package__)

# --- config entry data ----------------------------------------------------
# data = {"port": "/dev/ttyUSB0" | "socket://host:4001",
#         "meters": {"000300000001": "v4", "000000017507": "v3"}, "password": "00000000"}
# Older entries also hold "connection": "rs485"; nothing reads it.
CONF_PORT: Final = "port"
CONF_METERS: Final = "meters"  # {12-digit address: protocol "v3" | "v4"}
CONF_PASSWORD: Final = "password"  # optional meter password (8 digits) for relays
# Only in the config flow forms, never stored.
CONF_SCAN: Final = "scan"
CONF_SCAN_FROM: Final = "scan_from"
CONF_SCAN_TO: Final = "scan_to"

# Connection types: the first step of the config flow is a menu of these.
CONNECTION_RS485: Final = "rs485"
# Later: CONNECTION_CLOUD = "cloud", CONNECTION_PUSH3 = "push3".

# --- options ---------------------------------------------------------------
CONF_SCAN_INTERVAL: Final = "scan_interval"  # seconds between bus cycles
CONF_B_FRAME_EVERY: Final = "b_frame_every"  # read the v4 B frame every Nth cycle
CONF_TIMEOUT: Final = "timeout"  # seconds for a reply to start
CONF_RETRIES: Final = "retries"  # extra attempts on a failed read

DEFAULT_SCAN_INTERVAL: Final = 10
DEFAULT_B_FRAME_EVERY: Final = 6
DEFAULT_TIMEOUT: Final = 1.5
DEFAULT_RETRIES: Final = 2
MIN_SCAN_INTERVAL: Final = timedelta(seconds=1)

# The factory password of every Omnimeter.
DEFAULT_PASSWORD: Final = "00000000"
