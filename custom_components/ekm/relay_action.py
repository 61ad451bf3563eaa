"""ekm.set_relay: switch targeted relays, with an optional timer; a target without a relay is an error.

A plain action with its own target resolution rather than an entity action: HA skips the
targets of an entity action that are not its entities (a sensor, a missing entity) without a
word, and a user who wrote an automation against the wrong entity must be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import CONF_PORT, Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
import voluptuous as vol

from . import compat
from .aioekm import EkmError
from .const import DOMAIN
from .helpers import translated_error
from .runtime import EkmConfigEntry, RelaySwitch
from .switch import ATTR_SECONDS, ATTR_STATE, RELAYS, SERVICE_SET_RELAY, SET_RELAY_FIELDS

# Typed Any: the schema classes differ between HA versions (voluptuous, then probatio).
SET_RELAY_SCHEMA: Final[Any] = vol.All(
    vol.Schema({**cv.ENTITY_SERVICE_FIELDS, **SET_RELAY_FIELDS}),
    cv.has_at_least_one_key(*cv.ENTITY_SERVICE_FIELDS),
)
_NUMBER_OF_KEY: Final = {description.key: description.number for description in RELAYS}


@dataclass(frozen=True, slots=True)
class _Relay:
    relays: RelaySwitch
    address: str
    number: int
    port: str  # for error messages of RS-485 entries


def _relay_of(hass: HomeAssistant, entity: er.RegistryEntry) -> _Relay | None:
    """The relay behind a switch entity of a loaded EKM entry; None for any other entity."""
    if entity.platform != DOMAIN or entity.domain != Platform.SWITCH or entity.disabled_by is not None:
        return None
    entry: EkmConfigEntry | None = hass.config_entries.async_get_entry(entity.config_entry_id or "")
    address, _, key = entity.unique_id.partition("_")
    number = _NUMBER_OF_KEY.get(key)
    if entry is None or number is None or getattr(entry, "runtime_data", None) is None:
        return None
    relays = entry.runtime_data.relays
    if relays is None or address not in entry.runtime_data.coordinator.meters:
        return None
    return _Relay(relays, address, number, str(entry.data.get(CONF_PORT, "")))


def _targeted_relays(hass: HomeAssistant, call: ServiceCall) -> list[_Relay]:
    """The relays the call targets; ServiceValidationError naming every target that is none."""
    selected = compat.referenced_entities(hass, call)
    registry = er.async_get(hass)
    relays: list[_Relay] = []
    not_relays: list[str] = []
    for entity_id in sorted(selected.referenced | selected.indirectly_referenced):
        entity = registry.async_get(entity_id)
        relay = _relay_of(hass, entity) if entity is not None else None
        if relay is not None:
            relays.append(relay)
        elif entity_id in selected.referenced:  # an area's other entities are no mistake
            not_relays.append(entity_id)
    if not_relays or not relays:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_relay_targeted",
            translation_placeholders={"targets": ", ".join(not_relays) or "-"},
        )
    return relays


async def _async_set_relay(call: ServiceCall) -> None:
    """Switch each targeted relay, one after the other (nothing is sent if any target is wrong)."""
    state: bool = call.data[ATTR_STATE]
    seconds: int = call.data[ATTR_SECONDS]
    for relay in _targeted_relays(call.hass, call):
        try:
            await relay.relays.async_set_relay(relay.address, relay.number, state, seconds)
        except EkmError as err:
            raise translated_error(err, relay.address, relay.port) from err


def async_setup_relay_action(hass: HomeAssistant) -> None:
    """Register ekm.set_relay (in async_setup)."""
    hass.services.async_register(DOMAIN, SERVICE_SET_RELAY, _async_set_relay, schema=SET_RELAY_SCHEMA)
