"""What the cloud and Push3 modes share: readings that arrive already taken, maybe long ago.

A Push reading carries its own time (Time_Stamp_UTC_ms). A reading older than the
stale threshold makes its meter unavailable: EKM and a Push3 gateway keep serving a
meter's last reading after the meter goes silent. A reading with the same time stamp
as the one published is the same reading: it is not published again, so its entities
are not rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from . import compat
from .aioekm.errors import AuthenticationError, EkmError, InvalidRequestError, RateLimitedError
from .aioekm.push.mapping import MeterProblem, RealtimeResult, Unavailable
from .aioekm.readings import MeterReading, Protocol
from .const import CONF_SCAN_INTERVAL, CONF_STALE_AFTER, DEFAULT_STALE_AFTER, DOMAIN, LOGGER
from .coordinator import EkmConfigEntry, EkmCoordinator
from .entity_table import ENTITY_TABLE, NoEntity

# The fields that have entities: the only ones worth mapping from a large answer.
MAPPED_FIELDS: Final = frozenset(name for name, row in ENTITY_TABLE.items() if not isinstance(row, NoEntity))
STALE: Final = "stale"


class PushCoordinator(EkmCoordinator):
    """Readings from an EKM Push source (the cloud or a Push3 gateway)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EkmConfigEntry,
        *,
        meters: Mapping[str, Protocol],
        default_interval: float,
    ) -> None:
        interval = float(entry.options.get(CONF_SCAN_INTERVAL, default_interval))
        super().__init__(hass, entry, meters=meters, update_interval=timedelta(seconds=interval))
        self.stale_after = timedelta(seconds=float(entry.options.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER)))
        # Why each meter without a reading has none (diagnostics): EKM's code and text.
        self.problems: dict[str, MeterProblem] = {}
        self.polls = 0
        self._bugs_logged: set[str] = set()

    def accept(self, result: RealtimeResult) -> dict[str, MeterReading]:
        """The readings to publish from a poll; every meter without one is recorded as failed."""
        now = dt_util.utcnow()
        published = self.data or {}
        data: dict[str, MeterReading] = {}
        for address in self.meters:
            reading = result.readings.get(address)
            if reading is None:
                problem = result.problems.get(address) or MeterProblem(Unavailable.NOT_ANSWERED)
                self.problems[address] = problem
                self.meter_failed(address, str(problem.reason))
                continue
            if reading.timestamp is not None and now - reading.timestamp > self.stale_after:
                self.problems[address] = MeterProblem(
                    Unavailable.NO_DATA, message=f"newest reading taken {reading.timestamp.isoformat()}"
                )
                self.meter_failed(address, STALE)
                continue
            self.problems.pop(address, None)
            self.meter_answered(address)
            previous = published.get(address)
            if previous is not None and previous.timestamp == reading.timestamp is not None:
                data[address] = previous  # the same reading: its entities stay as they are
                continue
            self.sync_device(reading)
            data[address] = self.publishable(reading)
        return data

    def poll_failed(self, err: EkmError, what: str) -> Exception:
        """The Home Assistant exception for an error of a whole poll."""
        if isinstance(err, AuthenticationError):
            return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        if isinstance(err, RateLimitedError):
            return compat.update_failed(
                err.retry_after,
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after or 0:.0f}"},
            )
        if isinstance(err, InvalidRequestError) and type(err).__name__ not in self._bugs_logged:
            # EKM calls our request invalid: a bug of this integration, reported once per run.
            # The library's message has the key and token masked.
            self._bugs_logged.add(type(err).__name__)
            LOGGER.error("EKM refused a request as invalid; please report this as a bug: %s", err)
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="push_unavailable",
            translation_placeholders={"source": what},
        )

    def diagnostics(self) -> dict[str, Any]:
        return {
            **super().diagnostics(),
            "polls": self.polls,
            "stale_after": self.stale_after.total_seconds(),
            "problems": {
                address: {"reason": str(p.reason), "code": p.code, "message": p.message}
                for address, p in self.problems.items()
            },
        }
