"""Constants of the EKM Metering integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from .aioekm import Protocol

DOMAIN: Final = "ekm"
LOGGER: Final = logging.getLogger(__package__)

# --- config entry data ----------------------------------------------------
# Every entry says how it reaches its meters; bus entries made before the cloud and Push3
# modes may lack it (read with helpers.connection_of).
CONF_CONNECTION: Final = "connection"  # CONNECTION_RS485 | CONNECTION_CLOUD | CONNECTION_PUSH3
# RS-485 bus:
# data = {"connection": "rs485", "port": "/dev/ttyUSB0" | "socket://host:4001",
#         "meters": {"000300000001": "v4", "000000017507": "v3"}, "password": "00000000"}
CONF_PORT: Final = "port"
CONF_METERS: Final = "meters"  # {12-digit address: protocol "v3" | "v4"}
CONF_PASSWORD: Final = "password"  # optional meter password (8 digits) for relays
# Only in the config flow forms, never stored.
CONF_SCAN: Final = "scan"
CONF_SCAN_FROM: Final = "scan_from"
CONF_SCAN_TO: Final = "scan_to"

# EKM Push cloud (account, gateway or meter key):
# data = {"connection": "cloud", "api_key": KEY, "api_token": TOKEN (optional, Trigger API),
#         "api_url"/"summary_url": only when not EKM's own hosts,
#         "meters": ["000300000001", ...] (the meters the user picked)}
# Push3 gateway on the LAN:
# data = {"connection": "push3", "host": "192.168.1.20" | "host:port", "api_key": KEY,
#         "mac": "4016fa123456" (when learned)}
CONF_API_TOKEN: Final = "api_token"
CONF_API_URL: Final = "api_url"
CONF_SUMMARY_URL: Final = "summary_url"
CONF_MAC: Final = "mac"
# (api_key and host are Home Assistant's CONF_API_KEY and CONF_HOST.)

# Connection types: the first step of the config flow is a menu of these.
CONNECTION_RS485: Final = "rs485"
CONNECTION_CLOUD: Final = "cloud"
CONNECTION_PUSH3: Final = "push3"

# --- options ---------------------------------------------------------------
CONF_SCAN_INTERVAL: Final = "scan_interval"  # seconds between bus cycles
CONF_B_FRAME_EVERY: Final = "b_frame_every"  # read the v4 B frame every Nth cycle
CONF_TIMEOUT: Final = "timeout"  # seconds for a reply to start
CONF_RETRIES: Final = "retries"  # extra attempts on a failed read

CONF_STALE_AFTER: Final = "stale_after"  # cloud/Push3: seconds before a reading is too old
CONF_HISTORY_DAYS: Final = "history_days"  # cloud: days of Summary history to import (0 = off)
# Energy prices (cloud: the history import's cost statistics; prices.py), in HA's currency:
CONF_PRICE: Final = "price"  # per kWh, every tariff
CONF_PRICE_TARIFF: Final = "price_tariff_{}"  # per kWh in tariff 1..4, instead of CONF_PRICE
CONF_PRICE_RETURN: Final = "price_return"  # per kWh returned to the grid

DEFAULT_SCAN_INTERVAL: Final = 10  # RS-485
DEFAULT_CLOUD_SCAN_INTERVAL: Final = 60
DEFAULT_PUSH3_SCAN_INTERVAL: Final = 15
DEFAULT_STALE_AFTER: Final = 600
DEFAULT_HISTORY_DAYS: Final = 365
DEFAULT_B_FRAME_EVERY: Final = 6
DEFAULT_TIMEOUT: Final = 1.5
DEFAULT_RETRIES: Final = 2
MIN_SCAN_INTERVAL: Final = timedelta(seconds=1)

# The factory password of every Omnimeter.
DEFAULT_PASSWORD: Final = "00000000"

# Which meters take each setting as a write (docs/rs485-protocol.md, section 5).
ALL_METERS: Final = frozenset(Protocol)
V4_METERS: Final = frozenset({Protocol.V4})
