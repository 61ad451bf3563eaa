"""What the cloud and Push3 modes share: readings that arrive already taken, maybe long ago.

A Push reading carries its own time (Time_Stamp_UTC_ms). A reading older than the
stale threshold makes its meter unavailable: EKM and a Push3 gateway keep serving a
meter's last reading after the meter goes silent. A reading with the same time stamp
as the one published is the same reading: it is not published again, so its entities
are not rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from . import compat
from .aioekm import (
    MAX_RETRY_AFTER,
    AuthenticationError,
    EkmError,
    InvalidRequestError,
    MeterProblem,
    MeterReading,
    Protocol,
    RateLimitedError,
    RealtimeResult,
    Unavailable,
)
from .binary_sensor import INPUT_LEVELS
from .const import CONF_SCAN_INTERVAL, CONF_STALE_AFTER, DEFAULT_STALE_AFTER, DOMAIN, LOGGER
from .coordinator import EkmCoordinator, gateway_identifier
from .pulse_inputs import count_field_of_key
from .runtime import EkmConfigEntry
from .sensor import SENSOR_DESCRIPTIONS
from .switch import RELAYS

# Entity key -> the field it shows: sensors (and the settings entities that stand in for
# some of them) are named after their field, decoded bits after their field and number.
KEY_FIELDS: Final[dict[str, str]] = {
    **{sensor.key: sensor.key for sensor in SENSOR_DESCRIPTIONS},
    **{bit.key: bit.field for bit in (*INPUT_LEVELS, *RELAYS)},
    "Clock_Offset": "Meter_Time",
}
# The fields that have entities: the only ones worth mapping from a large answer.
MAPPED_FIELDS: Final = frozenset(KEY_FIELDS.values())
ADDRESS_LENGTH: Final = 12  # an entity's unique_id is "<address>_<key>"
STALE: Final = "stale"
MAPPED_PLATFORMS: Final = frozenset({"sensor", "binary_sensor", "switch", "select", "number"})


class PushSourceCoordinator(EkmCoordinator):
    """Readings from an EKM Push source (the cloud or a Push3 gateway); its meters sit behind
    gateways and come and go while it runs (runtime.GatewayStatus, runtime.MeterSearch)."""

    # A Push reading says when the gateway took it: an answer that comes late (a poll asked
    # before a relay's confirmation, a gateway serving an older read) is older than the one
    # published, whatever the order the answers came in.
    orders_by_timestamp = True

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
        self.poll_interval = self.update_interval  # the usual one; a 429 may stretch update_interval
        # Why each meter without a reading has none (diagnostics): EKM's code and text.
        self.problems: dict[str, MeterProblem] = {}
        self.polls = 0
        self._quiet_until: datetime | None = None  # EKM's Retry-After of the last 429
        self._bugs_logged: set[str] = set()
        self._fields: frozenset[str] | None = None  # None: to be worked out again
        entry.async_on_unload(
            hass.bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_registry_updated, event_filter=self._ours
            )
        )

    def gateway_device(self, mac: str) -> tuple[str, str]:
        """Device identifier of gateway `mac`."""
        return gateway_identifier(mac)

    @callback
    def async_look_for_meters(self) -> None:
        """Another entry's meters were freed: poll soon, to take those this source serves.

        Not while EKM asked us to wait (429): the next poll finds them. The refresh is the
        entry's task, so an unload cancels it.
        """
        if self._quiet_until is not None and dt_util.utcnow() < self._quiet_until:
            return
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{self.name} looks for meters"
        )

    @callback
    def _ours(self, event_data: Mapping[str, Any]) -> bool:
        return str(event_data.get("entity_id", "")).split(".", 1)[0] in MAPPED_PLATFORMS

    @callback
    def _async_registry_updated(self, event: Event[Any]) -> None:
        self._fields = None  # an entity came, went, or was enabled or disabled

    def fields_to_map(self) -> frozenset[str]:
        """The fields of this entry's enabled entities: mapping a large answer costs per field.

        Before the entities exist (the first poll) every field with an entity is mapped.
        """
        if self.polls <= 1:
            return MAPPED_FIELDS
        if self._fields is None:
            fields = set()
            registry = er.async_get(self.hass)
            for entity in er.async_entries_for_config_entry(registry, self.config_entry.entry_id):
                if entity.disabled_by is None:
                    key = entity.unique_id[ADDRESS_LENGTH + 1 :]
                    name = KEY_FIELDS.get(key) or count_field_of_key(key)
                    if name is not None:
                        fields.add(name)
            self._fields = frozenset(fields)
        return self._fields

    def accept(self, result: RealtimeResult) -> dict[str, MeterReading]:
        """The readings to publish from a poll; every meter without one is recorded as failed."""
        self.update_interval = self.poll_interval  # a poll answered: any Retry-After is over
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
            self._wait_for_retry_after(err.retry_after)
            return compat.update_failed(
                err.retry_after,
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after or 0:.0f}"},
            )
        self.update_interval = self.poll_interval
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

    def _wait_for_retry_after(self, retry_after: float | None) -> None:
        """Poll next when the server's Retry-After is over (at most MAX_RETRY_AFTER from now).

        Newer Home Assistant waits that long by itself (UpdateFailed(retry_after)); older
        versions would ask again after the usual interval, so the interval is stretched
        until the next poll that gets an answer or another error.
        """
        wait = timedelta(seconds=min(retry_after or 0.0, MAX_RETRY_AFTER))
        self._quiet_until = dt_util.utcnow() + wait  # no search for meters before then either
        if compat.HAS_UPDATE_FAILED_RETRY_AFTER or not retry_after or self.poll_interval is None:
            return
        self.update_interval = max(self.poll_interval, wait)

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
