"""The RS-485 config flow against the simulator on a real pty: the bus form, the scan, the same bus
or meter twice, flows left open, the port field. Reconfigure and options: test_config_flow_reconfigure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ekm.aioekm.simulator.rs485 import Faults, Rs485Simulator
from custom_components.ekm.const import (
    CONF_CONNECTION,
    CONF_METERS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SCAN,
    CONF_SCAN_FROM,
    CONF_SCAN_TO,
    CONNECTION_RS485,
    DOMAIN,
)
from custom_components.ekm.flow_rs485 import parse_addresses

from .conftest import BUS_UNIQUE_ID, PASSWORD, V3, V4

MISSING_PORT = "/dev/ekm-test-no-such-port"


async def menu_form(hass: HomeAssistant, step: str, **context: Any) -> dict[str, Any]:
    """Start a flow (with `context` added to its own) and pick `step` from the menu: its empty form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER, **context})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["rs485", "cloud", "push3"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    assert result["errors"] == {}
    return dict(result)


async def _bus_form(hass: HomeAssistant) -> dict[str, Any]:
    """Start a flow and pick the RS-485 bus from the menu."""
    return await menu_form(hass, "rs485")


def test_parse_addresses() -> None:
    assert parse_addresses(" 300000001, 17507;17507\n000000000042 ") == [V4, V3, "000000000042"]
    assert parse_addresses("") == []
    with pytest.raises(ValueError, match="up to 12 digits"):
        parse_addresses("12ab")
    with pytest.raises(ValueError, match="up to 12 digits"):
        parse_addresses("1234567890123")


async def test_user_flow_creates_entry(hass: HomeAssistant, port: str, simulator: Rs485Simulator) -> None:
    """Both meters read, their protocols are stored, the password is kept."""
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {CONF_PORT: f" {port} ", CONF_METERS: "300000001 17507", CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"RS-485 {port}"
    assert result["data"] == {
        CONF_CONNECTION: CONNECTION_RS485,
        CONF_PORT: port,
        CONF_METERS: {V4: "v4", V3: "v3"},
        CONF_PASSWORD: PASSWORD,
    }
    assert result["result"].unique_id == BUS_UNIQUE_ID  # named after its lowest meter address
    # Both meters were really asked on the wire.
    assert {r.address for r in simulator.log if r.kind == "read"} == {V4, V3}
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_user_flow_without_password(hass: HomeAssistant, port: str) -> None:
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: "17507"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PASSWORD not in result["data"]
    assert result["data"][CONF_METERS] == {V3: "v3"}
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_METERS: "3000x0001"}, {CONF_METERS: "invalid_address"}),
        ({CONF_METERS: "  "}, {CONF_METERS: "no_meters"}),
        ({}, {CONF_METERS: "no_meters"}),
        ({CONF_METERS: "17507", CONF_PASSWORD: "1234"}, {CONF_PASSWORD: "invalid_password"}),
        (
            {CONF_METERS: "x", CONF_PASSWORD: "abcdefgh"},
            {CONF_METERS: "invalid_address", CONF_PASSWORD: "invalid_password"},
        ),
    ],
)
async def test_form_errors_then_recover(
    hass: HomeAssistant, port: str, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    """Bad input is a translated field error; the corrected form then goes through."""
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], {CONF_PORT: port, **user_input})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rs485"
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_cannot_connect(hass: HomeAssistant) -> None:
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: MISSING_PORT, CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_meter_not_answering_is_named(hass: HomeAssistant, port: str, faults: Faults) -> None:
    """A silent meter and an unknown address are listed as 'no answer'; the user fixes the list."""
    faults.silent_meters.add(V3)
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4}, {V3}, 42"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    # Only the reasons that have meters are listed.
    assert result["description_placeholders"] == {"failed": f"No answer: {V3}, 000000000042."}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V4}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_METERS] == {V4: "v4"}
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_crc_errors_are_named(hass: HomeAssistant, port: str, faults: Faults) -> None:
    faults.crc_error_rate = 1.0
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    assert result["description_placeholders"]["failed"] == f"CRC errors: {V3}."


async def test_duplicate_port_aborts(hass: HomeAssistant, port: str) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=port, data={CONF_PORT: port}).add_to_hass(hass)
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _scan_form(hass: HomeAssistant, port: str, meters: str = "") -> dict[str, Any]:
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: meters, CONF_SCAN: True, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "scan"
    assert result["description_placeholders"] == {"max": "32"}
    return dict(result)


async def test_scan_finds_meters(hass: HomeAssistant, port: str, simulator: Rs485Simulator) -> None:
    """Every address of the range is asked once; the typed meter and the found one are stored."""
    form = await _scan_form(hass, port, meters=V3)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "299999998", CONF_SCAN_TO: "300000002"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_METERS] == {V3: "v3", V4: "v4"}
    assert result["data"][CONF_PASSWORD] == PASSWORD
    asked = {r.address for r in simulator.log if r.kind == "read"}
    assert {f"{n:012d}" for n in range(299999998, 300000003)} <= asked
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("first", "last"),
    [("abc", "10"), ("20", "10"), ("1", "33"), ("1234567890123", "1")],
)
async def test_scan_bad_range(hass: HomeAssistant, port: str, first: str, last: str) -> None:
    form = await _scan_form(hass, port)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: first, CONF_SCAN_TO: last}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_range"}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "17506", CONF_SCAN_TO: "17508"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_METERS] == {V3: "v3"}
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_scan_nothing_found(hass: HomeAssistant, port: str) -> None:
    form = await _scan_form(hass, port)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "1", CONF_SCAN_TO: "3"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "nothing_found"}


async def test_scan_cannot_connect(hass: HomeAssistant) -> None:
    form = await _scan_form(hass, MISSING_PORT)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "1", CONF_SCAN_TO: "3"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_scan_then_listed_meter_fails(hass: HomeAssistant, port: str, faults: Faults) -> None:
    """A found meter plus a listed one that does not answer: back to the bus form, list filled in."""
    faults.silent_meters.add(V3)
    form = await _scan_form(hass, port, meters=V3)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "300000000", CONF_SCAN_TO: "300000002"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rs485"
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    assert result["description_placeholders"]["failed"] == f"No answer: {V3}."
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested[CONF_METERS] == {"suggested_value": f"{V3}, {V4}"}
    assert suggested[CONF_PORT] == {"suggested_value": port}
    assert suggested[CONF_PASSWORD] == {"suggested_value": PASSWORD}  # not lost on the way back
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V4, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


# --- the same bus or meter twice -------------------------------------------------------------


def other_bus_entry(hass: HomeAssistant, port: str, meters: dict[str, str], title: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"rs485_{min(meters)}",
        minor_version=2,
        data={CONF_PORT: port, CONF_METERS: meters},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.mark.usefixtures("socket_enabled")
async def test_same_tcp_adapter_by_host_name_aborts(hass: HomeAssistant, simulator: Rs485Simulator) -> None:
    """socket://localhost:P is the adapter an entry already has as socket://127.0.0.1:P."""
    url = await simulator.start_tcp()
    assert url.startswith("socket://127.0.0.1:")
    other_bus_entry(hass, url, {V4: "v4"}, "RS-485 first")
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: url.replace("127.0.0.1", "localhost"), CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_same_device_by_id_link_aborts(hass: HomeAssistant, port: str, tmp_path: Path) -> None:
    """A /dev/serial/by-id style link is the device it points to."""
    other_bus_entry(hass, port, {V4: "v4"}, "RS-485 first")
    link = tmp_path / "usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0"
    link.symlink_to(port)
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: str(link), CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_meter_of_another_entry_is_refused(hass: HomeAssistant, port: str) -> None:
    """A meter address another entry has is a field error naming that entry; without it, fine."""
    other_bus_entry(hass, "/dev/ttyOTHER", {V3: "v3"}, "RS-485 garage")
    form = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: f"{V4} {V3}"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_METERS: "meter_configured"}
    assert result["description_placeholders"]["entry"] == "RS-485 garage"
    assert result["description_placeholders"]["meters"] == V3
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_PORT: port, CONF_METERS: V4}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"rs485_{V4}"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_scan_finding_a_meter_of_another_entry(hass: HomeAssistant, port: str) -> None:
    other_bus_entry(hass, "/dev/ttyOTHER", {V3: "v3"}, "RS-485 garage")
    form = await _scan_form(hass, port)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_SCAN_FROM: "17506", CONF_SCAN_TO: "17508"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rs485"
    assert result["errors"] == {CONF_METERS: "meter_configured"}


# --- flows left open ------------------------------------------------------------------------


async def test_flow_left_open_does_not_block_a_new_one(
    hass: HomeAssistant, port: str, faults: Faults
) -> None:
    """A flow that failed and was left open (a closed browser tab) does not abort the next one."""
    faults.silent_meters.add(V3)
    first = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        first["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["errors"] == {CONF_METERS: "meters_failed"}
    faults.silent_meters.clear()
    second = await _bus_form(hass)
    result = await hass.config_entries.flow.async_configure(
        second["flow_id"], {CONF_PORT: port, CONF_METERS: V3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Home Assistant ends the abandoned flow of the same bus.
    assert not any(f["flow_id"] == first["flow_id"] for f in hass.config_entries.flow.async_progress())
    await hass.config_entries.async_unload(result["result"].entry_id)


# --- the port field ----------------------------------------------------------------------


async def test_port_field_is_not_prefilled(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """No guess in the port field: the frontend fills a required select with its first option.

    Checked on the JSON the frontend receives, which each HA version serialises its own way.
    """
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post("/api/config/config_entries/flow", json={"handler": DOMAIN})
    flow_id = (await response.json())["flow_id"]
    response = await client.post(f"/api/config/config_entries/flow/{flow_id}", json={"next_step_id": "rs485"})
    form = await response.json()
    (port_field,) = (f for f in form["data_schema"] if f["name"] == CONF_PORT)
    assert not port_field.get("required")
    assert "default" not in port_field
    assert not (port_field.get("description") or {}).get("suggested_value")
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_METERS: V3})
    assert result["errors"] == {CONF_PORT: "no_port"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: " ", CONF_METERS: V3})
    assert result["errors"] == {CONF_PORT: "no_port"}
