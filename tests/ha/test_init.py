"""The integration loads from a config entry and unloads cleanly."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.const import DOMAIN


async def test_load_and_unload(hass: HomeAssistant) -> None:
    """A MockConfigEntry sets up, then unloads, on this HA version."""
    entry = MockConfigEntry(domain=DOMAIN, title="EKM", data={})
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
