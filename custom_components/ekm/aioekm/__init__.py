"""aioekm: asyncio library for EKM Metering Omnimeters (RS-485) and the EKM Push API.

Home Assistant-free; could ship to PyPI unchanged. The names below are its public API: what
an application (the Home Assistant integration beside this package among them) imports.
The simulator (aioekm.simulator) and the command line (aioekm.cli) are imported on their own.
"""

from .errors import (
    AddressMismatchError,
    AuthenticationError,
    CommandRejectedError,
    CrcError,
    EkmConnectionError,
    EkmError,
    EkmTimeoutError,
    FrameError,
    ImplausibleChangeError,
    InvalidRequestError,
    LateReplyError,
    NotFoundError,
    PushApiError,
    RateLimitedError,
    ServerError,
    WriteUnconfirmedError,
)
from .fields import FIELDS, Field, Kind, Layout, Quantity
from .push import Push3Client, PushClient
from .push.account import Account, AccountMeter, Gateway, KeyType
from .push.cloud import DEFAULT_API_URL, DEFAULT_SUMMARY_URL, CommandAck
from .push.errors import MAX_RETRY_AFTER, server_text
from .push.history import SUM_REGISTERS, Baseline, HourlyStatistics, fetch_hourly
from .push.history_plan import HOUR, PAGE_ROWS, HistoryWindow, floor_hour, plan_windows, window_hours
from .push.http import RetryPolicy
from .push.mapping import MeterProblem, RealtimeResult, Unavailable
from .push.redaction import redact
from .push.summary import Report
from .push.trigger import Trigger, check_json, check_uuid
from .readings import (
    FieldValue,
    MeterReading,
    Protocol,
    frame_fields,
    model_name,
    normalize_address,
    protocol_of_model,
)
from .rs485 import EkmBus
from .rs485.commands import (
    CT_RATIOS,
    MAX_DEMAND_PERIODS,
    MAX_PULSE_INPUT_RATIO,
    MAX_RELAY_SECONDS,
    MAX_TARIFF_PERIODS,
    TARIFF_SCHEDULES,
    MaxDemandReset,
)
from .rs485.frames import MonthTable
from .rs485.port_url import redact_port_url
from .rs485.tariff_calendar import tariff_at
from .rs485.tariffs import TariffPeriod, TariffTables

__all__ = [
    "CT_RATIOS",
    "DEFAULT_API_URL",
    "DEFAULT_SUMMARY_URL",
    "FIELDS",
    "HOUR",
    "MAX_DEMAND_PERIODS",
    "MAX_PULSE_INPUT_RATIO",
    "MAX_RELAY_SECONDS",
    "MAX_RETRY_AFTER",
    "MAX_TARIFF_PERIODS",
    "PAGE_ROWS",
    "SUM_REGISTERS",
    "TARIFF_SCHEDULES",
    "Account",
    "AccountMeter",
    "AddressMismatchError",
    "AuthenticationError",
    "Baseline",
    "CommandAck",
    "CommandRejectedError",
    "CrcError",
    "EkmBus",
    "EkmConnectionError",
    "EkmError",
    "EkmTimeoutError",
    "Field",
    "FieldValue",
    "FrameError",
    "Gateway",
    "HistoryWindow",
    "HourlyStatistics",
    "ImplausibleChangeError",
    "InvalidRequestError",
    "KeyType",
    "Kind",
    "LateReplyError",
    "Layout",
    "MaxDemandReset",
    "MeterProblem",
    "MeterReading",
    "MonthTable",
    "NotFoundError",
    "Protocol",
    "Push3Client",
    "PushApiError",
    "PushClient",
    "Quantity",
    "RateLimitedError",
    "RealtimeResult",
    "Report",
    "RetryPolicy",
    "ServerError",
    "TariffPeriod",
    "TariffTables",
    "Trigger",
    "Unavailable",
    "WriteUnconfirmedError",
    "check_json",
    "check_uuid",
    "fetch_hourly",
    "floor_hour",
    "frame_fields",
    "model_name",
    "normalize_address",
    "plan_windows",
    "protocol_of_model",
    "redact",
    "redact_port_url",
    "server_text",
    "tariff_at",
    "window_hours",
]
