"""The integration's actions, registered once for the whole integration."""

from __future__ import annotations

from datetime import time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
import voluptuous as vol

from . import compat
from .aioekm import (
    MAX_TARIFF_PERIODS,
    TARIFF_SCHEDULES,
    EkmBus,
    MeterReading,
    TariffPeriod,
    WriteUnconfirmedError,
)
from .cloud_services import async_setup_cloud_services
from .const import ALL_METERS, DOMAIN
from .history_action import async_setup_history_services
from .meter_settings import async_write_setting
from .relay_action import async_setup_relay_action
from .runtime import EkmConfigEntry, EkmRuntimeData
from .sensor import TARIFFS
from .validation import whole_number

SERVICE_SET_TARIFF_SCHEDULE: Final = "set_tariff_schedule"
ATTR_SCHEDULE: Final = "schedule"
ATTR_PERIODS: Final = "periods"
ATTR_START: Final = "start"
ATTR_TARIFF: Final = "tariff"


def _start(value: Any) -> time:
    """A period's start: "HH:MM" (the meter keeps no seconds; "HH:MM:00" from the UI is fine)."""
    if isinstance(value, str) and not value.isascii():
        raise vol.Invalid(f"a time is written with the digits 0-9, got {value!r}")
    start = cv.time(value)
    if start.second or start.microsecond:
        raise vol.Invalid(f"a period starts on a whole minute, got {value}")
    return start


def _in_order(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    starts = [period[ATTR_START] for period in periods]
    if starts != sorted(set(starts)):
        raise vol.Invalid("the periods must start at different times, earliest first")
    return periods


PERIOD_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_START): _start,
        vol.Required(ATTR_TARIFF): whole_number(min(TARIFFS), max(TARIFFS)),
    }
)

# The target (meter devices, their entities, or areas, floors, labels holding them) and the
# schedule: 1..4 periods, each starting a tariff at a time of day.
SET_TARIFF_SCHEDULE_FIELDS: Final[dict[Any, Any]] = {
    **cv.ENTITY_SERVICE_FIELDS,
    vol.Required(ATTR_SCHEDULE): whole_number(1, len(TARIFF_SCHEDULES)),
    vol.Required(ATTR_PERIODS): vol.All(
        cv.ensure_list, vol.Length(min=1, max=MAX_TARIFF_PERIODS), [PERIOD_SCHEMA], _in_order
    ),
}
# Typed Any: the schema classes differ between HA versions (voluptuous, then probatio).
SET_TARIFF_SCHEDULE_SCHEMA: Final[Any] = vol.All(
    vol.Schema(SET_TARIFF_SCHEDULE_FIELDS), cv.has_at_least_one_key(*cv.ENTITY_SERVICE_FIELDS)
)


def _targeted_devices(hass: HomeAssistant, call: ServiceCall) -> set[str]:
    """The ids of the devices the call targets, directly or through their entities, areas..."""
    selected = compat.referenced_entities(hass, call)
    entities = er.async_get(hass)
    devices: set[str] = set(selected.referenced_devices)
    for entity_id in selected.referenced | selected.indirectly_referenced:
        if (entity := entities.async_get(entity_id)) is not None and entity.device_id is not None:
            devices.add(entity.device_id)
    return devices


def _targeted_meters(hass: HomeAssistant, call: ServiceCall) -> list[tuple[EkmRuntimeData, str]]:
    """(runtime data, address) of each meter of a loaded entry whose device the call targets."""
    targeted = _targeted_devices(hass, call)
    registry = dr.async_get(hass)
    meters: list[tuple[EkmRuntimeData, str]] = []
    entry: EkmConfigEntry
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is not ConfigEntryState.LOADED:
            continue
        for address in entry.runtime_data.coordinator.meters:
            device = compat.get_device(registry, (DOMAIN, address), entry.entry_id)
            if device is not None and device.id in targeted:
                meters.append((entry.runtime_data, address))
    return meters


async def _async_set_tariff_schedule(call: ServiceCall) -> None:
    """Write one tariff schedule to each targeted meter, once, meter after meter."""
    meters = _targeted_meters(call.hass, call)
    if not meters:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_meter_targeted")
    schedule: int = call.data[ATTR_SCHEDULE]
    periods = tuple(
        TariffPeriod(period[ATTR_START], period[ATTR_TARIFF]) for period in call.data[ATTR_PERIODS]
    )

    async def written(bus: EkmBus, address: str) -> bool:
        # The A/B frames do not show schedules: the meter's schedule table does.
        return (await bus.read_tariffs(address)).schedule(schedule).periods == periods

    async def write(bus: EkmBus, address: str, password: str) -> MeterReading:
        try:
            reading = await bus.set_tariff_schedule(address, schedule, periods, password=password)
        except WriteUnconfirmedError as err:
            if err.reading is None or not await written(bus, address):
                raise
            return err.reading  # the ACK was lost, the table shows the schedule
        if not await written(bus, address):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="setting_not_applied",
                translation_placeholders={"address": address},
            )
        return reading

    for runtime, address in meters:
        try:
            await async_write_setting(runtime, address, ALL_METERS, write, None)
        finally:
            if runtime.bus is not None:  # whatever the meter now holds: read it again
                runtime.bus.tariffs_changed(address)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions in async_setup."""
    async_setup_relay_action(hass)
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_TARIFF_SCHEDULE,
        _async_set_tariff_schedule,
        schema=SET_TARIFF_SCHEDULE_SCHEMA,
    )
    async_setup_cloud_services(hass)
    async_setup_history_services(hass)
