"""The Push3 gateway config flow, DHCP discovery, reauth, reconfigure and options, over real HTTP.

The gateway is the fake server's Push3 local API on its own port, at its real path /readMeter.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.config_entries import SOURCE_DHCP
from homeassistant.const import CONF_API_KEY, CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import flow_push3
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.push.faults import HTML_PAGE, Fault
from custom_components.ekm.aioekm.simulator.push.push3 import Push3Gateway
from custom_components.ekm.const import (
    CONF_CONNECTION,
    CONF_MAC,
    CONF_METERS,
    CONF_SCAN_INTERVAL,
    CONF_STALE_AFTER,
    CONNECTION_PUSH3,
    DOMAIN,
)
from custom_components.ekm.flow_push import parse_host
from custom_components.ekm.prices import PRICE_KEYS

from . import push_support
from .conftest import V3, V4, entry_data
from .push_support import GATEWAY, closed_port_url, push3_host
from .test_config_flow import menu_form

# The fake server's fixtures, used by name.
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
no_entry_setup = push_support.no_entry_setup

pytestmark = pytest.mark.usefixtures("no_entry_setup")

MAC_COLONS = "40:16:fa:10:00:00"


async def _push3_form(hass: HomeAssistant) -> dict[str, Any]:
    return await menu_form(hass, "push3")


async def _send_gateway(hass: HomeAssistant, host: str, key: str) -> dict[str, Any]:
    """A new flow's Push3 form, sent with `host` and `key`: the result."""
    form = await _push3_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_HOST: host, CONF_API_KEY: key}
    )
    return dict(result)


async def _key_refused_then_taken(hass: HomeAssistant, flow_id: str, key: str) -> dict[str, Any]:
    """A form that asks only the key: an empty one, then a wrong one, are refused; then `key` is sent."""
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: " "})
    assert result["errors"] == {CONF_API_KEY: "no_key"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: "still-wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    return dict(await hass.config_entries.flow.async_configure(flow_id, {CONF_API_KEY: key}))


def _push3_entry(host: str, key: str, *, mac: str | None = None) -> MockConfigEntry:
    data = {CONF_CONNECTION: CONNECTION_PUSH3, CONF_HOST: host, CONF_API_KEY: key}
    if mac:
        data[CONF_MAC] = mac
    return MockConfigEntry(domain=DOMAIN, title="Push3 gateway", unique_id=mac or host, data=data)


def _dhcp(ip: str = "127.0.0.1", mac: str = GATEWAY) -> DhcpServiceInfo:
    return DhcpServiceInfo(ip=ip, hostname="push3", macaddress=mac)


@pytest.fixture
def discovery_port(push3_gateway: Push3Gateway, monkeypatch: pytest.MonkeyPatch) -> int:
    """Discovered gateways are asked on the fake gateway's port instead of 80."""
    port = int(push3_gateway.url.rsplit(":", 1)[1])
    monkeypatch.setattr(flow_push3, "DISCOVERY_PORT", port)
    return port


def test_parse_host() -> None:
    assert parse_host(" 192.168.1.20 ") == parse_host("http://192.168.1.20/")
    host = parse_host("Push3.local:8080")
    assert host is not None and (host.host, host.name, host.port_suffix) == (
        "push3.local:8080",
        "push3.local",
        ":8080",
    )
    assert parse_host("192.168.1.20:80").host == "192.168.1.20"  # type: ignore[union-attr]
    assert parse_host("[fe80::1]:81").host == "[fe80::1]:81"  # type: ignore[union-attr]
    for bad in ("", "host/path", "host:99999", "user@host", "a b", "http://", ":80", "[]"):
        assert parse_host(bad) is None, bad


@pytest.mark.parametrize(
    "bad",
    [
        "host\x00x",
        "[::1]:0",
        "[fe80::1%eth0]",
        "_x_:99",
        "x..y",
        "a" * 64,
        "999.999.999.999",
        "%41",
        "https://x",
    ],
)
def test_parse_host_refuses(bad: str) -> None:
    """What no resolver looks up (or only the https gateway that is not one) is not a host."""
    assert parse_host(bad) is None


def test_parse_host_takes_a_pasted_url() -> None:
    assert parse_host("HTTP://Push3.local:8080/") == parse_host("push3.local:8080")
    assert parse_host("http://[::1]:81").host == "[::1]:81"  # type: ignore[union-attr]


async def test_hostile_host_is_an_invalid_host(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """Before: `_x_:99` reached the HTTP client and ended as `unknown` with an ERROR log."""
    result = await _send_gateway(hass, "_x_:99", "key")
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_user_flow_creates_entry(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    """The gateway is read with its key; without a known MAC the host names the entry."""
    _push3_entry("192.0.2.9", "other-key").add_to_hass(hass)  # another gateway
    host = push3_host(push3_gateway)
    result = await _send_gateway(hass, f" http://{host}/ ", push3_gateway.key)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Push3 {host}"
    assert result["data"] == {
        CONF_CONNECTION: CONNECTION_PUSH3,
        CONF_HOST: host,
        CONF_API_KEY: push3_gateway.key,
        CONF_METERS: {V3: "v3", V4: "v4"},  # known from the start to entries set up beside it
    }
    assert result["result"].unique_id == host
    assert push3_gateway.log == ["cnt,key"]


async def test_user_flow_errors_then_recover(
    hass: HomeAssistant, push3_gateway: Push3Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    form = await _push3_form(hass)
    flow_id = form["flow_id"]
    host = push3_host(push3_gateway)

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_HOST: "a/b", CONF_API_KEY: "k"})
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_HOST: host, CONF_API_KEY: " "})
    assert result["errors"] == {CONF_API_KEY: "no_key"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_HOST: host, CONF_API_KEY: "wrong"})
    assert result["errors"] == {"base": "invalid_auth"}  # a Push3 refuses a key with a bare HTTP 500

    # A 500 that is no key error, then an answer that is not JSON.
    push3_gateway.faults.append(Fault(status=500, body="flash write failed", content_type="text/plain"))
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: host, CONF_API_KEY: push3_gateway.key}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    push3_gateway.faults.append(Fault(body=HTML_PAGE, content_type="text/html"))
    caplog.set_level(logging.DEBUG)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: host, CONF_API_KEY: push3_gateway.key}
    )
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while checking the Push3 gateway: MalformedResponseError" in caplog.text
    assert push3_gateway.key not in caplog.text

    down = (await closed_port_url()).removeprefix("http://")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: down, CONF_API_KEY: push3_gateway.key}
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: host, CONF_API_KEY: push3_gateway.key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_gateway_twice_aborts(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    host = push3_host(push3_gateway)
    _push3_entry(host, push3_gateway.key, mac=GATEWAY).add_to_hass(hass)
    result = await _send_gateway(hass, f"http://{host}", push3_gateway.key)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert push3_gateway.log == []


@pytest.mark.parametrize("spelling", ["localhost", "LOCALHOST", "http://127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_same_gateway_under_another_spelling_aborts(
    hass: HomeAssistant, push3_gateway: Push3Gateway, spelling: str
) -> None:
    """Names are resolved before comparing: localhost:P is the gateway at 127.0.0.1:P."""
    host = push3_host(push3_gateway)
    port = host.rsplit(":", 1)[1]
    _push3_entry(host, push3_gateway.key).add_to_hass(hass)
    result = await _send_gateway(hass, f"{spelling}:{port}", push3_gateway.key)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert push3_gateway.log == []


async def test_same_name_on_another_port_is_another_gateway(
    hass: HomeAssistant, push3_gateway: Push3Gateway
) -> None:
    host = push3_host(push3_gateway)
    _push3_entry("localhost:1", push3_gateway.key).add_to_hass(hass)
    result = await _send_gateway(hass, host, push3_gateway.key)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_meters_of_other_entries(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    """A gateway whose every meter another entry reads is refused, naming it; one meter free is enough."""
    bus = MockConfigEntry(domain=DOMAIN, title="RS-485 bus", data=entry_data("/dev/x"))
    bus.add_to_hass(hass)
    form = await _push3_form(hass)
    user_input = {CONF_HOST: push3_host(push3_gateway), CONF_API_KEY: push3_gateway.key}
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input)
    assert result["errors"] == {"base": "gateway_meters_configured"}
    assert result["description_placeholders"] == {"meters": f"{V3}, {V4}", "entry": "RS-485 bus"}

    hass.config_entries.async_update_entry(bus, data=entry_data("/dev/x", **{CONF_METERS: {V3: "v3"}}))
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY  # V4 is left for it
    assert result["data"][CONF_METERS] == {V4: "v4"}


# --- DHCP discovery --------------------------------------------------------------------------


async def test_dhcp_discovers_a_new_gateway(
    hass: HomeAssistant, push3_gateway: Push3Gateway, discovery_port: int
) -> None:
    """Only the key is asked; the MAC names the entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_DHCP}, data=_dhcp())
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "dhcp_confirm"
    assert [str(key) for key in result["data_schema"].schema] == [CONF_API_KEY]
    assert result["description_placeholders"]["mac"] == MAC_COLONS
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {"name": f"Push3 {MAC_COLONS}"}

    result = await _key_refused_then_taken(hass, result["flow_id"], push3_gateway.key)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Push3 {MAC_COLONS}"
    assert result["data"] == {
        CONF_CONNECTION: CONNECTION_PUSH3,
        CONF_HOST: f"127.0.0.1:{discovery_port}",
        CONF_API_KEY: push3_gateway.key,
        CONF_MAC: GATEWAY,
        CONF_METERS: {V3: "v3", V4: "v4"},
    }
    assert result["result"].unique_id == GATEWAY


async def test_dhcp_on_the_http_port(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real gateway answers on port 80: the host is the bare address."""
    monkeypatch.setattr(flow_push3, "DISCOVERY_PORT", 80)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_DHCP}, data=_dhcp(ip="192.168.1.20")
    )
    assert result["description_placeholders"]["host"] == "192.168.1.20"


async def test_dhcp_updates_the_host_of_a_known_gateway(hass: HomeAssistant) -> None:
    """Same MAC at a new address: the host follows (its port kept), no second entry."""
    entry = _push3_entry("192.168.1.20:8080", "key", mac=GATEWAY)
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_DHCP}, data=_dhcp(ip="192.168.1.33")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "192.168.1.33:8080"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_dhcp_learns_the_mac_of_a_gateway_added_by_address(hass: HomeAssistant) -> None:
    other = _push3_entry("192.168.1.21", "key2")  # another gateway, left alone
    other.add_to_hass(hass)
    _push3_entry("192.168.1.22", "key3", mac="4016fa100001").add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, title="RS-485 bus", data=entry_data("/dev/x")).add_to_hass(hass)
    entry = _push3_entry("192.168.1.20", "key")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_DHCP}, data=_dhcp(ip="192.168.1.20")
    )
    assert result["reason"] == "already_configured"
    assert entry.unique_id == GATEWAY
    assert entry.data[CONF_MAC] == GATEWAY
    assert other.unique_id == "192.168.1.21" and CONF_MAC not in other.data


async def test_dhcp_knows_a_gateway_added_by_name(hass: HomeAssistant) -> None:
    """A gateway added as `localhost` is the one DHCP reports at 127.0.0.1: it learns its MAC
    instead of being offered again."""
    entry = _push3_entry("localhost:8080", "key")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_DHCP}, data=_dhcp(ip="127.0.0.1")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_MAC] == GATEWAY


# --- reauth and reconfigure --------------------------------------------------------------


async def test_reauth(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    host = push3_host(push3_gateway)
    entry = _push3_entry(host, "old-key", mac=GATEWAY)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_push3"
    assert result["description_placeholders"]["host"] == host
    result = await _key_refused_then_taken(hass, result["flow_id"], push3_gateway.key)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == push3_gateway.key
    assert entry.unique_id == GATEWAY


async def test_reauth_at_an_address_that_leads_to_another_gateway(
    hass: HomeAssistant, push_server: PushServer, push3_gateway: Push3Gateway
) -> None:
    """DHCP gave the entry's address to another gateway: that gateway's key works there, but it
    answers for none of the entry's meters. The key is refused, the entry unchanged."""
    other_mac, other_meter = "4016fa2fffff", "000300000099"
    push_server.add_meter(make_meter(other_meter, "v4", gateway=other_mac))
    other = Push3Gateway(push_server, other_mac)
    await other.start()
    try:
        data = {**_push3_entry(push3_host(other), "old-key", mac=GATEWAY).data, CONF_METERS: {V3: "v3"}}
        entry = MockConfigEntry(domain=DOMAIN, title="Push3", unique_id=GATEWAY, data=data)
        entry.add_to_hass(hass)
        result = await entry.start_reauth_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: other.key})
        assert result["errors"] == {"base": "other_gateway"}
        assert entry.data[CONF_API_KEY] == "old-key"
    finally:
        await other.close()


async def test_reconfigure_to_a_new_address(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    """An empty key keeps the stored one; a gateway known by address moves its unique_id along."""
    host = push3_host(push3_gateway)
    entry = _push3_entry("192.0.2.1", push3_gateway.key)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_push3"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: "no/host"})
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: host, CONF_API_KEY: "bad"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: host})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_CONNECTION: CONNECTION_PUSH3, CONF_HOST: host, CONF_API_KEY: push3_gateway.key}
    assert entry.unique_id == host


async def test_reconfigure_keeps_the_mac(hass: HomeAssistant, push3_gateway: Push3Gateway) -> None:
    entry = _push3_entry("192.0.2.1", "old-key", mac=GATEWAY)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: push3_host(push3_gateway), CONF_API_KEY: push3_gateway.key}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == GATEWAY
    assert entry.data[CONF_API_KEY] == push3_gateway.key


async def test_reconfigure_to_another_entrys_gateway_aborts(
    hass: HomeAssistant, push3_gateway: Push3Gateway
) -> None:
    host = push3_host(push3_gateway)
    _push3_entry(host, push3_gateway.key, mac=GATEWAY).add_to_hass(hass)
    entry = _push3_entry("192.0.2.1", "key")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: host})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "192.0.2.1"


# --- options ------------------------------------------------------------------------------------


async def test_options(hass: HomeAssistant) -> None:
    entry = _push3_entry("192.0.2.1", "key")
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "push3"
    fields = {
        str(key): (key.description or {}).get("suggested_value") for key in result["data_schema"].schema
    }
    # The prices (optional, none set) give Tariff now and Price now sensors.
    assert fields == {CONF_SCAN_INTERVAL: 15, CONF_STALE_AFTER: 600, **dict.fromkeys(PRICE_KEYS)}
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 1, CONF_STALE_AFTER: 600}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 5, CONF_STALE_AFTER: 120}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 5, CONF_STALE_AFTER: 120}
