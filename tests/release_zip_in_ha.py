"""Run by tests/test_release_zip.py: Home Assistant sets up the integration unpacked from ekm.zip.

Not collected here: the parent test copies this module into an empty folder and runs pytest on
it in a subprocess that sees only the unpacked copy. EKM_ZIP_CONFIG is a fresh config directory
holding it in custom_components/ekm/ and is the only place on PYTHONPATH with a
`custom_components`, so importing it below pins that copy (tests/conftest.py does the same for
the checkout). EKM_ZIP_PORT is the bus of a simulator the parent runs from the checkout (the
zip has none); what the meter's kWh sensor shows goes to EKM_ZIP_RESULT for the parent to check
against the simulated meter.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
import sys
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.loader import async_get_integration
import pytest
from pytest_homeassistant_custom_component import common
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.ekm
from custom_components.ekm.const import CONF_METERS, CONF_PORT, DOMAIN

CONFIG = Path(os.environ["EKM_ZIP_CONFIG"])
UNPACKED = CONFIG / "custom_components" / "ekm"
PORT = os.environ["EKM_ZIP_PORT"]
METER = os.environ["EKM_ZIP_METER"]
# What the zip leaves out: importing them must fail, as in an install from HACS.
ABSENT = ("aioekm.simulator", "aioekm.cli", "aioekm.__main__")

# hass.config.config_dir is the fresh directory too, so HA's loader mounts it: newer test
# helpers take it from the hass_config_dir fixture, older ones (HA 2025.4's) from this function.
common.get_test_config_dir = lambda *parts: os.path.join(CONFIG, *parts)


@pytest.fixture
def hass_config_dir() -> str:
    return str(CONFIG)


def _modules() -> list[str]:
    """Every module of the unpacked copy, by its dotted name."""
    names = []
    for path in sorted(UNPACKED.rglob("*.py")):
        parts = path.relative_to(CONFIG).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_unpacked_copy_is_the_one_imported() -> None:
    assert Path(custom_components.ekm.__file__).parent == UNPACKED
    assert [Path(p) for p in custom_components.__path__] == [CONFIG / "custom_components"]


async def test_an_entry_sets_up_from_the_zip(hass: HomeAssistant, enable_custom_integrations: None) -> None:
    assert hass.config.config_dir == str(CONFIG)
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.file_path == UNPACKED
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"RS-485 {PORT}",
        unique_id=f"rs485_{METER}",
        minor_version=2,
        data={CONF_PORT: PORT, CONF_METERS: {METER: "v4"}},
    )
    entry.add_to_hass(hass)
    before = time.time()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER}_kWh_Tot")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    after = time.time()
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    result = {"state": state.state, "entity_id": entity_id, "before": before, "after": after}
    await hass.async_add_executor_job(Path(os.environ["EKM_ZIP_RESULT"]).write_text, json.dumps(result))


def test_every_module_of_the_zip_imports() -> None:
    modules = _modules()
    assert "custom_components.ekm.aioekm.rs485" in modules
    for name in modules:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert Path(module.__file__).is_relative_to(UNPACKED), name
    for name in ABSENT:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"custom_components.ekm.{name}")
    # Nothing came from anywhere else (the checkout, say).
    files = {
        name: getattr(module, "__file__", None)
        for name, module in sys.modules.items()
        if name.split(".")[0] == "custom_components"
    }
    assert [name for name, file in files.items() if file and not Path(file).is_relative_to(UNPACKED)] == []
