"""Changing an RS-485 entry against the simulator on a real pty: its reconfigure flow and its options."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator
from custom_components.ekm.const import (
    CONF_B_FRAME_EVERY,
    CONF_CONNECTION,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_TIMEOUT,
    CONNECTION_RS485,
    DOMAIN,
)

from .conftest import BUS_UNIQUE_ID, OPTIONS, PASSWORD, V3, V4, entry_data
from .test_config_flow import MISSING_PORT, other_bus_entry

EN_ABORTS = json.loads(
    (Path(__file__).parents[2] / "custom_components" / "ekm" / "translations" / "en.json").read_text()
)["config"]["abort"]


async def test_reconfigure(hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str) -> None:
    """Dropping a meter and changing the password; an empty password keeps the stored one."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested[CONF_METERS] == {"suggested_value": f"{V4}, {V3}"}
    assert "suggested_value" not in (suggested.get(CONF_PASSWORD) or {})

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_METERS: V4}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_METERS] == {V4: "v4"}
    assert loaded_entry.data[CONF_PASSWORD] == PASSWORD
    assert loaded_entry.data[CONF_CONNECTION] == CONNECTION_RS485  # an entry from before the key gets it
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert set(loaded_entry.runtime_data.coordinator.meters) == {V4}
    assert loaded_entry.unique_id == f"rs485_{V4}"  # its meter left the bus: named after a kept one

    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4} {V3}", CONF_PASSWORD: "87654321"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_PASSWORD] == "87654321"
    assert loaded_entry.data[CONF_METERS] == {V4: "v4", V3: "v3"}


async def test_reconfigure_errors_then_recover(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str, faults: Faults
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: port, CONF_METERS: "x"})
    assert result["errors"] == {CONF_METERS: "invalid_address"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PORT: MISSING_PORT, CONF_METERS: V4}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    faults.silent_meters.add(V3)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PORT: port, CONF_METERS: f"{V4},{V3}", CONF_PASSWORD: "87654321"}
    )
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    assert result["description_placeholders"]["failed"] == f"No answer: {V3}."
    # The form keeps what was typed, except the password.
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested[CONF_METERS] == {"suggested_value": f"{V4},{V3}"}
    assert "suggested_value" not in (suggested.get(CONF_PASSWORD) or {})
    faults.silent_meters.clear()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PORT: port, CONF_METERS: f"{V4},{V3}"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.unique_id == BUS_UNIQUE_ID


async def test_reconfigure_to_another_entrys_port_aborts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str
) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id="/dev/ttyOTHER", data={CONF_PORT: "/dev/ttyOTHER"}).add_to_hass(
        hass
    )
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: "/dev/ttyOTHER", CONF_METERS: V4}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert loaded_entry.data[CONF_PORT] == port


@pytest.mark.usefixtures("socket_enabled")
async def test_reconfigure_to_a_new_port(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """The same bus seen through a TCP adapter: the title follows the port, the unique_id stays."""
    url = await simulator.start_tcp()
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: url, CONF_METERS: f"{V4}, {V3}"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.unique_id == BUS_UNIQUE_ID
    assert loaded_entry.title == f"RS-485 {url}"
    assert loaded_entry.data[CONF_PORT] == url
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_options_flow(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """New options are stored and the entry reloads with them."""
    before = loaded_entry.runtime_data.coordinator
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SCAN_INTERVAL: 30, CONF_B_FRAME_EVERY: 2, CONF_TIMEOUT: 0.5, CONF_RETRIES: 0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options == {
        CONF_SCAN_INTERVAL: 30.0,
        CONF_B_FRAME_EVERY: 2,
        CONF_TIMEOUT: 0.5,
        CONF_RETRIES: 0,
    }
    after = loaded_entry.runtime_data.coordinator
    assert after is not before
    assert after.update_interval is not None and after.update_interval.total_seconds() == 30
    assert after.bus.first_byte_timeout == 0.5
    assert after.bus.read_retries == 0


async def test_reconfigure_entry_waiting_for_its_port(hass: HomeAssistant, port: str) -> None:
    """An entry whose adapter moved (setup retrying) is pointed at the new port and loads."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=MISSING_PORT, data=entry_data(MISSING_PORT), options=OPTIONS
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PORT] == port
    assert entry.data[CONF_PASSWORD] == PASSWORD
    await hass.config_entries.async_unload(entry.entry_id)


# --- the same bus or meter twice -------------------------------------------------------------


async def test_reconfigure_to_a_meter_of_another_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str
) -> None:
    other_bus_entry(hass, "/dev/ttyOTHER", {"000000000042": "v4"}, "RS-485 garage")
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4} 42"}
    )
    assert result["errors"] == {CONF_METERS: "meter_configured"}
    assert result["description_placeholders"]["entry"] == "RS-485 garage"


async def test_reconfigure_to_another_bus_aborts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str
) -> None:
    """A list without any of the bus's meters is another bus: unique_id_mismatch, entry untouched."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_METERS: "42"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert result["description_placeholders"] == {"meters": f"{V4}, {V3}"}
    assert loaded_entry.unique_id == BUS_UNIQUE_ID
    assert set(loaded_entry.data[CONF_METERS]) == {V4, V3}


# --- windows left open ----------------------------------------------------------------------


async def test_second_reconfigure_window_is_a_translated_abort(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: str, faults: Faults
) -> None:
    """Two reconfigure windows of one bus: the second ends with already_in_progress, which en.json has."""
    faults.silent_meters.add(V3)
    first = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        first["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4} {V3}"}
    )
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    result = await loaded_entry.start_reconfigure_flow(hass)
    if result["type"] is FlowResultType.FORM:  # HA 2025.4 aborts when the unique_id is set
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4} {V3}"}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_in_progress"
    assert result["reason"] in EN_ABORTS
