"""The energy prices in a cloud entry's options: what is stored, and bad input as form errors."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.const import (
    CONF_CONNECTION,
    CONF_HISTORY_DAYS,
    CONF_METERS,
    CONF_PRICE,
    CONF_PRICE_RETURN,
    CONF_PRICE_TARIFF,
    CONF_SCAN_INTERVAL,
    CONF_STALE_AFTER,
    CONNECTION_CLOUD,
    DOMAIN,
)
from custom_components.ekm.prices import Prices

from .conftest import V4

TIMING = {CONF_SCAN_INTERVAL: 60, CONF_STALE_AFTER: 600, CONF_HISTORY_DAYS: 365}
PRICE_FIELDS = [CONF_PRICE, *(CONF_PRICE_TARIFF.format(n) for n in (1, 2, 3, 4)), CONF_PRICE_RETURN]


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="EKM Push account",
        unique_id="prices",
        data={CONF_CONNECTION: CONNECTION_CLOUD, CONF_API_KEY: "some-key", CONF_METERS: [V4]},
        options=TIMING,
    )
    entry.add_to_hass(hass)
    return entry


async def _submit(hass: HomeAssistant, entry: MockConfigEntry, values: dict[str, Any]) -> dict[str, Any]:
    form = await hass.config_entries.options.async_init(entry.entry_id)
    return dict(await hass.config_entries.options.async_configure(form["flow_id"], {**TIMING, **values}))


def _field(result: dict[str, Any], name: str) -> Any:
    return next(key for key in result["data_schema"].schema if str(key) == name)


async def test_prices_are_optional_and_in_the_currency(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    form = dict(await hass.config_entries.options.async_init(entry.entry_id))
    assert [str(key) for key in form["data_schema"].schema][3:] == PRICE_FIELDS
    price = form["data_schema"].schema[_field(form, CONF_PRICE)]
    assert price.config["unit_of_measurement"] == f"{hass.config.currency}/kWh"
    assert (_field(form, CONF_PRICE).description or {}).get("suggested_value") is None
    # Timing alone: no price stored, no cost statistic.
    result = await hass.config_entries.options.async_configure(form["flow_id"], TIMING)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == TIMING
    assert Prices.of(entry.options) == Prices(None, None)


async def test_one_price_and_a_tariffs_own(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    values = {CONF_PRICE: 0.25, CONF_PRICE_TARIFF.format(2): 0.1, CONF_PRICE_RETURN: 0.05}
    result = await _submit(hass, entry, values)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**TIMING, **values}
    assert Prices.of(entry.options) == Prices({1: 0.25, 2: 0.1, 3: 0.25, 4: 0.25}, 0.05)
    form = dict(await hass.config_entries.options.async_init(entry.entry_id))
    assert _field(form, CONF_PRICE).description == {"suggested_value": 0.25}
    # A price emptied is removed.
    await hass.config_entries.options.async_configure(form["flow_id"], {**TIMING, CONF_PRICE: 0.3})
    assert entry.options == {**TIMING, CONF_PRICE: 0.3}
    await hass.async_block_till_done()  # the reload the change starts, and the entry's saves


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({CONF_PRICE: float("nan")}, {CONF_PRICE: "invalid_price"}),  # NaN passes the selector's range
        ({CONF_PRICE: 0.2, CONF_PRICE_RETURN: float("nan")}, {CONF_PRICE_RETURN: "invalid_price"}),
        ({CONF_PRICE_TARIFF.format(1): 0.3}, {CONF_PRICE_TARIFF.format(1): "tariff_price_needs_price"}),
    ],
)
async def test_bad_prices_are_form_errors(
    hass: HomeAssistant, entry: MockConfigEntry, values: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await _submit(hass, entry, values)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert entry.options == TIMING  # nothing stored


@pytest.mark.parametrize("price", ["abc", -0.1, 1001, float("inf")])
async def test_prices_that_are_not_numbers_or_out_of_range_are_refused(
    hass: HomeAssistant, entry: MockConfigEntry, price: Any
) -> None:
    with pytest.raises(InvalidData):
        await _submit(hass, entry, {CONF_PRICE: price})
    assert entry.options == TIMING
