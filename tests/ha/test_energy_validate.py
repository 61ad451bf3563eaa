"""Home Assistant's own check of an Energy configuration (websocket energy/validate) with a cloud
meter's statistics: grid import with its cost, return with its compensation, water and gas from the
pulse inputs. For external statistics HA checks that each one exists (energy/validate.py)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.energy import data as energy_data
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.ekm.aioekm.simulator.fleet import VirtualMeter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_PRICE, CONF_PRICE_RETURN

from .. import history_support
from . import history_import_support, push_support, statistics_support
from .conftest import V4
from .history_import_support import Clock, imported_entry, sid, unload

loopback_http = push_support.loopback_http
push_server = push_support.push_server
exporting = history_support.exporting
auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations
now = history_import_support.now

WATER = {"meter": V4, "input": 1, "measures": "water", "unit": "m³", "per_pulse": "0.001", "name": ""}
GAS = {"meter": V4, "input": 2, "measures": "gas", "unit": "m³", "per_pulse": "0.01", "name": ""}
NO_PRICE: dict[str, Any] = {"entity_energy_price": None, "number_energy_price": None}
# Home Assistant 2026 keeps a grid's import and export in one source; 2025 in lists of flows.
UNIFIED_GRID = "flow_from" not in energy_data.GridSourceType.__annotations__


def _grid(address: str) -> dict[str, Any]:
    energy_from, cost = sid(address, "energy_import"), sid(address, "energy_import_cost")
    energy_to, compensation = sid(address, "energy_export"), sid(address, "energy_export_compensation")
    if UNIFIED_GRID:
        return {
            "type": "grid",
            "stat_energy_from": energy_from,
            "stat_cost": cost,
            "stat_energy_to": energy_to,
            "stat_compensation": compensation,
            **NO_PRICE,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "cost_adjustment_day": 0,
        }
    return {
        "type": "grid",
        "flow_from": [{"stat_energy_from": energy_from, "stat_cost": cost, **NO_PRICE}],
        "flow_to": [{"stat_energy_to": energy_to, "stat_compensation": compensation, **NO_PRICE}],
        "cost_adjustment_day": 0,
    }


def _source(kind: str, statistic: str) -> dict[str, Any]:
    return {"type": kind, "stat_energy_from": statistic, "stat_cost": None, **NO_PRICE}


async def _validate(hass_ws_client: WebSocketGenerator, hass: HomeAssistant, sources: list[dict]) -> Any:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "energy/save_prefs", "energy_sources": sources})
    saved = await client.receive_json()
    assert saved["success"], saved
    await client.send_json_auto_id({"type": "energy/validate"})
    answer = await client.receive_json()
    assert answer["success"], answer
    return answer["result"]


async def test_energy_validate_finds_no_issue_with_the_cloud_statistics(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    push_server: PushServer,
    now: Clock,
    exporting: VirtualMeter,
) -> None:
    prices = {CONF_PRICE: 0.3, CONF_PRICE_RETURN: 0.08}
    entry = await imported_entry(hass, push_server, days=2, meters=[V4], options=prices, inputs=[WATER, GAS])
    assert await async_setup_component(hass, "energy", {})
    sources = [_grid(V4), _source("water", sid(V4, "water_1")), _source("gas", sid(V4, "gas_2"))]
    result = await _validate(hass_ws_client, hass, sources)
    assert result["energy_sources"] == [[], [], []]
    assert result["device_consumption"] == []
    # The check is real: a statistic that does not exist is an issue.
    result = await _validate(hass_ws_client, hass, [_source("water", sid(V4, "water_3"))])
    assert [issue["type"] for issue in result["energy_sources"][0]] == ["statistics_not_defined"]
    await unload(hass, entry)
