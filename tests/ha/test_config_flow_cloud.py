"""The EKM Push cloud config flow and options, over real HTTP to the fake server.

Reauth and reconfigure: test_config_flow_cloud_reauth.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import flow_cloud
from custom_components.ekm.aioekm.push.cloud import DEFAULT_API_URL, DEFAULT_SUMMARY_URL
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.faults import HTML_PAGE, Fault
from custom_components.ekm.const import (
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_CONNECTION,
    CONF_HISTORY_DAYS,
    CONF_METERS,
    CONF_PRICE,
    CONF_PRICE_RETURN,
    CONF_PRICE_TARIFF,
    CONF_SCAN_INTERVAL,
    CONF_STALE_AFTER,
    CONF_SUMMARY_URL,
    CONNECTION_CLOUD,
    DOMAIN,
)
from custom_components.ekm.flow_cloud import _ADVANCED_MODE_DEPRECATED, SECTION_URLS
from custom_components.ekm.flow_push import cloud_unique_id

from . import push_support
from .conftest import V3, V4, entry_data
from .push_support import API_TOKEN, GATEWAY, closed_port_url
from .test_config_flow import menu_form

# The fake server's fixtures, used by name.
loopback_http = push_support.loopback_http
push_server = push_support.push_server
no_entry_setup = push_support.no_entry_setup

pytestmark = pytest.mark.usefixtures("no_entry_setup")


@pytest.fixture
def ekm_hosts(push_server: PushServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """EKM's own hosts are the fake server: the flow without advanced mode reaches it."""
    monkeypatch.setattr(flow_cloud, "DEFAULT_API_URL", push_server.url)
    monkeypatch.setattr(flow_cloud, "DEFAULT_SUMMARY_URL", push_server.url)
    return push_server.url


async def _cloud_form(hass: HomeAssistant, *, advanced: bool = False) -> dict[str, Any]:
    return await menu_form(hass, "cloud", show_advanced_options=advanced)


async def _send_key(
    hass: HomeAssistant, key: str, *, advanced: bool = False, **fields: Any
) -> dict[str, Any]:
    """A new flow's cloud form, sent with `key` (and `fields`): the result."""
    form = await _cloud_form(hass, advanced=advanced)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], {CONF_API_KEY: key, **fields})
    return dict(result)


def form_fields(result: dict[str, Any]) -> list[str]:
    return [str(key) for key in result["data_schema"].schema]


def suggested_value(result: dict[str, Any], name: str) -> Any:
    for key in result["data_schema"].schema:
        if str(key) == name:
            return (key.description or {}).get("suggested_value")
    raise KeyError(name)


def url_suggested_value(result: dict[str, Any], name: str) -> Any:
    """The suggested value of a field in the collapsed URL section."""
    section = next(v for k, v in result["data_schema"].schema.items() if str(k) == SECTION_URLS)
    assert section.options["collapsed"] is True
    return suggested_value({"data_schema": section.schema}, name)


def url_section(api_url: str, summary_url: str) -> dict[str, Any]:
    return {SECTION_URLS: {CONF_API_URL: api_url, CONF_SUMMARY_URL: summary_url}}


# Advanced mode shows the URL section; HA 2026 deprecated advanced mode and always shows it, folded.
BASIC_FIELDS = [CONF_API_KEY, CONF_API_TOKEN] + ([SECTION_URLS] if _ADVANCED_MODE_DEPRECATED else [])


def cloud_entry_of(key: str, meters: list[str], **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="EKM Push account",
        unique_id=cloud_unique_id(key),
        data={CONF_CONNECTION: CONNECTION_CLOUD, CONF_API_KEY: key, CONF_METERS: meters, **data},
    )


async def test_account_key_adds_every_meter(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    """The key is checked with the Account API; the meters step lists and picks every meter."""
    form = await _cloud_form(hass)
    assert form_fields(form) == BASIC_FIELDS  # no URLs outside advanced mode
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_API_KEY: f" {push_server.keys.account} ", CONF_API_TOKEN: API_TOKEN}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meters"
    assert result["description_placeholders"]["name"] == "EKM Push account"
    assert suggested_value(dict(result), CONF_METERS) == [V3, V4]
    options = result["data_schema"].schema[CONF_METERS].config["options"]
    assert options == [
        {"value": V3, "label": f"Meter 17507 ({V3})"},
        {"value": V4, "label": f"Meter 300000001 ({V4})"},
    ]
    assert [r.param("key") for r in push_server.requests_to("/account/api/account")] == [
        push_server.keys.account
    ]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4, V3]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "EKM Push account"
    assert result["data"] == {
        CONF_CONNECTION: CONNECTION_CLOUD,
        CONF_API_KEY: push_server.keys.account,
        CONF_API_TOKEN: API_TOKEN,
        CONF_METERS: [V3, V4],
    }
    unique_id = result["result"].unique_id
    assert unique_id == cloud_unique_id(push_server.keys.account)
    assert push_server.keys.account not in unique_id


async def test_gateway_key_titled_with_the_gateway(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    result = await _send_key(hass, push_server.keys.gateways[GATEWAY])
    assert result["description_placeholders"]["name"] == "Push3 100000"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Push3 100000"
    assert result["data"][CONF_METERS] == [V4]
    assert CONF_API_TOKEN not in result["data"]


async def test_meter_key_titled_with_the_meter(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    result = await _send_key(hass, push_server.keys.meters[V3])
    assert suggested_value(dict(result), CONF_METERS) == [V3]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3]})
    assert result["title"] == "Meter 17507"
    assert result["data"][CONF_METERS] == [V3]


async def test_advanced_urls_stored_only_when_not_ekms(hass: HomeAssistant, push_server: PushServer) -> None:
    """Advanced mode shows EKM's hosts; another server's URLs are stored."""
    form = await _cloud_form(hass, advanced=True)
    assert form_fields(form) == [CONF_API_KEY, CONF_API_TOKEN, SECTION_URLS]
    assert url_suggested_value(form, CONF_API_URL) == DEFAULT_API_URL
    assert url_suggested_value(form, CONF_SUMMARY_URL) == DEFAULT_SUMMARY_URL
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {
            CONF_API_KEY: push_server.keys.account,
            **url_section(push_server.url, push_server.url + "/"),
        },
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4, V3]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_URL] == push_server.url
    assert result["data"][CONF_SUMMARY_URL] == push_server.url + "/"


async def test_advanced_default_urls_not_stored(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    """The hosts left as shown (a trailing slash aside) are EKM's: nothing stored."""
    form = await _cloud_form(hass, advanced=True)
    assert url_suggested_value(form, CONF_API_URL) == ekm_hosts
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {CONF_API_KEY: push_server.keys.account, **url_section(ekm_hosts + "/", ekm_hosts)},
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_API_URL not in result["data"]
    assert CONF_SUMMARY_URL not in result["data"]


async def test_bad_urls(hass: HomeAssistant, push_server: PushServer) -> None:
    result = await _send_key(
        hass, push_server.keys.account, advanced=True, **url_section("http://[]", "ftp://x")
    )
    assert result["errors"] == {"base": "invalid_url"}
    assert url_suggested_value(dict(result), CONF_SUMMARY_URL) == "ftp://x"  # typed values stay
    assert push_server.log == []


@pytest.mark.parametrize("url", ["http://x y", "http://user:pw@127.0.0.1/", "http://h\x00/"])
async def test_urls_with_spaces_or_credentials(
    hass: HomeAssistant, push_server: PushServer, url: str
) -> None:
    """Before: accepted, then the library refused the URL (a ValueError ended as `unknown`)."""
    result = await _send_key(
        hass, push_server.keys.account, advanced=True, **url_section(url, push_server.url)
    )
    assert result["errors"] == {"base": "invalid_url"}
    assert push_server.log == []


async def test_url_the_library_refuses(
    hass: HomeAssistant, push_server: PushServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL the form lets through but the library refuses (ValueError) is `invalid_url` too."""
    monkeypatch.setattr(flow_cloud, "valid_base_url", lambda text: True)
    result = await _send_key(
        hass,
        push_server.keys.account,
        advanced=True,
        **url_section("http://user:pw@127.0.0.1/", push_server.url),
    )
    assert result["errors"] == {"base": "invalid_url"}


@pytest.mark.parametrize(
    ("answer", "error"),
    [({"Account": {"x": [1]}}, "cannot_connect"), ({"key_type": "account"}, "no_meters_found")],
)
async def test_json_that_is_not_an_account_answer(
    hass: HomeAssistant, loopback_http: None, answer: dict[str, Any], error: str
) -> None:
    """A server that answers JSON without anything of an Account answer is not EKM's: the URL is
    wrong (before: `no_meters_found`). An Account answer without meters still says so."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", lambda request: web.json_response(answer))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        result = await _send_key(hass, "k" * 20, advanced=True, **url_section(url, url))
    finally:
        await runner.cleanup()
    assert result["errors"] == {"base": error}


async def test_errors_then_recover(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Empty key, wrong key, unexpected answer: form errors, the key never in the log; then it works."""
    form = await _cloud_form(hass)
    flow_id = form["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: "  "})
    assert result["errors"] == {CONF_API_KEY: "no_key"}

    wrong = "wrong-key-0123456789"
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: wrong})
    assert result["errors"] == {"base": "invalid_auth"}
    assert push_server.log[-1].status == 401

    push_server.inject(Fault(body=HTML_PAGE, content_type="text/html", path="/account"))
    caplog.set_level(logging.DEBUG)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: push_server.keys.account})
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while checking the EKM Push key: MalformedResponseError" in caplog.text
    assert push_server.keys.account not in caplog.text and wrong not in caplog.text

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: push_server.keys.account})
    assert result["step_id"] == "meters"


@pytest.mark.parametrize("fault", [Fault(status=503), Fault(status=429, retry_after="30")])
async def test_server_failing_is_cannot_connect(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str, fault: Fault
) -> None:
    push_server.inject(fault)
    result = await _send_key(hass, push_server.keys.account)
    assert result["errors"] == {"base": "cannot_connect"}
    assert len(push_server.log) == 1  # one try: the user submits again


async def test_server_down_is_cannot_connect(hass: HomeAssistant, push_server: PushServer) -> None:
    down = await closed_port_url()
    result = await _send_key(hass, push_server.keys.account, advanced=True, **url_section(down, down))
    assert result["errors"] == {"base": "cannot_connect"}


async def test_key_seeing_no_meters(hass: HomeAssistant, push_server: PushServer, ekm_hosts: str) -> None:
    push_server.remove_meter(V4)
    push_server.remove_meter(V3)
    result = await _send_key(hass, push_server.keys.account)
    assert result["errors"] == {"base": "no_meters_found"}


async def test_same_key_twice_aborts(hass: HomeAssistant, push_server: PushServer, ekm_hosts: str) -> None:
    cloud_entry_of(push_server.keys.account, [V4]).add_to_hass(hass)
    result = await _send_key(hass, push_server.keys.account)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert push_server.log == []


def listed_meters(result: dict[str, Any]) -> list[str]:
    """The meters the meters step offers."""
    for key, field in result["data_schema"].schema.items():
        if str(key) == CONF_METERS:
            return [option["value"] for option in field.config["options"]]
    raise KeyError(CONF_METERS)


async def test_meters_of_other_entries(hass: HomeAssistant, push_server: PushServer, ekm_hosts: str) -> None:
    """A meter another entry has (here an RS-485 entry) is not listed: the step says which and where.

    Before: it was listed (not pre-selected) and refused when picked."""
    bus = MockConfigEntry(
        domain=DOMAIN, title="RS-485 bus", data=entry_data("/dev/x", **{CONF_METERS: {V3: "v3"}})
    )
    bus.add_to_hass(hass)
    result = await _send_key(hass, push_server.keys.account)
    assert listed_meters(result) == [V4]
    assert suggested_value(dict(result), CONF_METERS) == [V4]
    assert result["description_placeholders"]["taken"] == f"{V3} (RS-485 bus)"
    with pytest.raises(InvalidData):  # not an option of the form
        await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3, V4]})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: []})
    assert result["errors"] == {CONF_METERS: "no_meters_selected"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_METERS] == [V4]


async def test_every_meter_listed_when_none_is_taken(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    result = await _send_key(hass, push_server.keys.account)
    assert sorted(listed_meters(result)) == sorted([V3, V4])
    assert result["description_placeholders"]["taken"] == "none"


async def test_a_meter_taken_while_the_step_is_open_is_refused(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    """Listed when the step opened, set up elsewhere before it was sent: refused, naming the entry."""
    result = await _send_key(hass, push_server.keys.account)
    MockConfigEntry(
        domain=DOMAIN, title="RS-485 bus", data=entry_data("/dev/x", **{CONF_METERS: {V3: "v3"}})
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3, V4]})
    assert result["errors"] == {CONF_METERS: "meter_configured"}
    assert result["description_placeholders"]["meters"] == V3
    assert result["description_placeholders"]["entry"] == "RS-485 bus"
    assert listed_meters(dict(result)) == [V4]


async def test_a_key_whose_meters_are_all_taken(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    """Nothing left to pick: the key step says so instead of showing an empty list."""
    MockConfigEntry(
        domain=DOMAIN, title="RS-485 bus", data=entry_data("/dev/x", **{CONF_METERS: {V3: "v3", V4: "v4"}})
    ).add_to_hass(hass)
    result = await _send_key(hass, push_server.keys.account)
    assert result["step_id"] == "cloud"
    assert result["errors"] == {"base": "key_meters_configured"}
    assert result["description_placeholders"]["entry"] == "RS-485 bus"
    assert set(result["description_placeholders"]["meters"].split(", ")) == {V3, V4}


# --- options --------------------------------------------------------------------------------


async def test_options(hass: HomeAssistant) -> None:
    entry = cloud_entry_of("some-key", [V4])
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "cloud"
    assert form_fields(dict(result)) == [
        CONF_SCAN_INTERVAL,
        CONF_STALE_AFTER,
        CONF_HISTORY_DAYS,
        CONF_PRICE,
        *(CONF_PRICE_TARIFF.format(n) for n in (1, 2, 3, 4)),
        CONF_PRICE_RETURN,
    ]
    assert suggested_value(dict(result), CONF_SCAN_INTERVAL) == 60
    assert suggested_value(dict(result), CONF_STALE_AFTER) == 600
    assert suggested_value(dict(result), CONF_HISTORY_DAYS) == 365
    with pytest.raises(InvalidData):  # EKM's cloud is not polled more often than every 15 s
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 5, CONF_STALE_AFTER: 600, CONF_HISTORY_DAYS: 0}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, CONF_STALE_AFTER: 900, CONF_HISTORY_DAYS: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 30, CONF_STALE_AFTER: 900, CONF_HISTORY_DAYS: 0}

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert suggested_value(dict(result), CONF_SCAN_INTERVAL) == 30
