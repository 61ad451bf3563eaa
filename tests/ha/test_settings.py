"""What the setting entities share: one entity per setting, texts for each, the write path's refusals."""

from __future__ import annotations

import json
from pathlib import Path
import string
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.readings import MeterReading
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.button import BUTTONS
from custom_components.ekm.const import DOMAIN, V4_METERS
from custom_components.ekm.meter_settings import async_write_setting
from custom_components.ekm.number import PULSE_RATIOS
from custom_components.ekm.select import SELECTS

from . import settings_support
from .conftest import V3, V4
from .settings_support import LoadedBus, refused, unique_ids

bus = settings_support.bus

PACKAGE = Path(__file__).parents[2] / "custom_components" / "ekm"
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())

# The settings config entities show, and the sensors they replace on each meter.
REPLACED = {
    V4: {
        "CT_Ratio",
        "Max_Demand_Period",
        "Max_Demand_Rst",
        "Pulse_Ratio_1",
        "Pulse_Ratio_2",
        "Pulse_Ratio_3",
    },
    V3: {"CT_Ratio", "Max_Demand_Period"},
}


def test_names_states_and_icons() -> None:
    """Each description has a name with its placeholders, each select option a text, each key an icon."""
    platforms: dict[str, Any] = {"select": SELECTS, "number": PULSE_RATIOS, "button": BUTTONS}
    for platform, descriptions in platforms.items():
        names = EN["entity"][platform]
        assert {d.translation_key for d in descriptions} == set(names) == set(ICONS["entity"][platform])
        for d in descriptions:
            text = names[d.translation_key]["name"]
            placeholders = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            assert placeholders == set(d.translation_placeholders or {}), d.key
    for d in SELECTS:
        states = EN["entity"]["select"][d.translation_key].get("state")
        if states is not None:
            assert set(states) == set(d.options or []), d.key


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_one_entity_per_setting(bus: LoadedBus) -> None:
    """A setting the meter takes is a config entity and no sensor; others stay sensors."""
    sensors = set(bus.registered("sensor"))
    settings = set(bus.registered("select")) | set(bus.registered("number"))
    for unique_id in unique_ids(REPLACED):
        assert unique_id not in sensors, unique_id
        assert unique_id in settings, unique_id
    # Not written by the integration: still read-only sensors, unique_ids as before.
    assert {f"{V4}_CF_Ratio", f"{V3}_Pulse_Ratio_1", f"{V4}_RMS_Watts_Max_Demand"} <= sensors


async def test_replaced_sensors_leave_the_registry(
    hass: HomeAssistant, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """An upgrade: the old CT ratio sensor is removed, not left as "no longer provided"."""
    old = entity_registry.async_get_or_create(
        "sensor", DOMAIN, f"{V4}_CT_Ratio", config_entry=entry, suggested_object_id="old_ct_ratio"
    )
    kept = entity_registry.async_get_or_create("sensor", DOMAIN, f"{V4}_CF_Ratio", config_entry=entry)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(old.entity_id) is None
    assert entity_registry.async_get_entity_id("select", DOMAIN, f"{V4}_CT_Ratio") is not None
    assert entity_registry.async_get(kept.entity_id) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_v3_meter_without_the_setting(bus: LoadedBus) -> None:
    """A v4-only write for a v3 meter is refused, translated, before anything reaches the bus."""
    bus.simulator.log.clear()

    async def write(client: EkmBus, address: str, password: str) -> MeterReading:
        return await client.zero_resettable_kwh(address, password=password)

    err = await refused(
        async_write_setting(bus.entry.runtime_data, V3, V4_METERS, write, None), "setting_not_supported"
    )
    assert str(err).startswith(f"Meter {V3} does not take this setting (it is a v4/v5 setting)")
    assert bus.simulator.log == []
    assert bus.writes() == []
