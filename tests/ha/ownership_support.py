"""What the tests of meters seen by several entries share: copies of entries, who has what."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.const import DOMAIN


def collisions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "does not generate unique IDs" in r.getMessage()]


async def take_out(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> MockConfigEntry:
    """Remove a fixture's entry (not set up yet) and return a copy, with `changes`, to add later."""
    assert await hass.config_entries.async_remove(entry.entry_id)
    fields: dict[str, Any] = {
        "domain": DOMAIN,
        "title": entry.title,
        "unique_id": entry.unique_id,
        "minor_version": entry.minor_version,
        "data": dict(entry.data),
        "options": dict(entry.options),
    }
    return MockConfigEntry(**(fields | changes))


def has_device(registry: dr.DeviceRegistry, entry: MockConfigEntry, address: str) -> bool:
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    return any((DOMAIN, address) in device.identifiers for device in devices)


def unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {e.unique_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}
