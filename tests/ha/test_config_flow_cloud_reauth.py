"""The EKM Push cloud reauth and reconfigure flows, over real HTTP to the fake server."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import (
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_CONNECTION,
    CONF_METERS,
    CONF_SUMMARY_URL,
    CONNECTION_CLOUD,
    DOMAIN,
)
from custom_components.ekm.flow_push import cloud_unique_id

from . import push_support, test_config_flow_cloud
from .conftest import V3, V4
from .push_support import API_TOKEN, GATEWAY
from .test_config_flow_cloud import (
    BASIC_FIELDS,
    cloud_entry_of,
    form_fields,
    suggested_value,
    url_section,
    url_suggested_value,
)

# The fake server's fixtures, used by name.
loopback_http = push_support.loopback_http
push_server = push_support.push_server
no_entry_setup = push_support.no_entry_setup
ekm_hosts = test_config_flow_cloud.ekm_hosts

pytestmark = pytest.mark.usefixtures("no_entry_setup")


# --- reauth ---------------------------------------------------------------------------


async def test_reauth_with_a_new_key(hass: HomeAssistant, push_server: PushServer) -> None:
    """A key of the same account replaces the old one; token kept, unique_id follows the key."""
    old = "revoked-key-0123456789"
    entry = cloud_entry_of(
        old,
        [V4, V3],
        **{CONF_API_TOKEN: API_TOKEN, CONF_API_URL: push_server.url, CONF_SUMMARY_URL: push_server.url},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_cloud"
    assert form_fields(dict(result)) == [CONF_API_KEY, CONF_API_TOKEN]
    assert result["description_placeholders"] == {"name": "EKM Push account"}

    # An empty key keeps the stored one, which EKM still refuses.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: " "})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "still-wrong-key"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.gateways[GATEWAY]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {
        CONF_CONNECTION: CONNECTION_CLOUD,
        CONF_API_KEY: push_server.keys.gateways[GATEWAY],
        CONF_API_TOKEN: API_TOKEN,
        CONF_API_URL: push_server.url,
        CONF_SUMMARY_URL: push_server.url,
        CONF_METERS: [V4, V3],
    }
    assert entry.unique_id == cloud_unique_id(push_server.keys.gateways[GATEWAY])
    await finish_reload(hass, entry)


async def test_reauth_with_a_key_of_another_account(hass: HomeAssistant, push_server: PushServer) -> None:
    """A key that sees none of the entry's meters is another account's."""
    entry = cloud_entry_of(
        "old-key", [V3], **{CONF_API_URL: push_server.url, CONF_SUMMARY_URL: push_server.url}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.meters[V4]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data[CONF_API_KEY] == "old-key"


async def test_reauth_with_the_key_of_another_entry(hass: HomeAssistant, push_server: PushServer) -> None:
    urls = {CONF_API_URL: push_server.url, CONF_SUMMARY_URL: push_server.url}
    cloud_entry_of(push_server.keys.account, [V4], **urls).add_to_hass(hass)
    entry = cloud_entry_of("old-key", [V3], **urls)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: push_server.keys.account}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- reconfigure ------------------------------------------------------------------------


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, *, advanced: bool = False
) -> dict[str, Any]:
    context = {"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id, "show_advanced_options": advanced}
    result = await hass.config_entries.flow.async_init(DOMAIN, context=context)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_cloud"
    return dict(result)


async def test_reconfigure_meters_keeping_the_key(hass: HomeAssistant, push_server: PushServer) -> None:
    """Empty key and token fields keep both; the meters step starts from the entry's meters."""
    urls = {CONF_API_URL: push_server.url, CONF_SUMMARY_URL: push_server.url}
    entry = cloud_entry_of(push_server.keys.account, [V4], **{CONF_API_TOKEN: API_TOKEN, **urls})
    entry.add_to_hass(hass)
    form = await _reconfigure(hass, entry)
    assert form_fields(form) == BASIC_FIELDS
    result = await hass.config_entries.flow.async_configure(form["flow_id"], {})
    assert result["step_id"] == "meters"
    assert suggested_value(dict(result), CONF_METERS) == [V4]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V3, V4]})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_CONNECTION: CONNECTION_CLOUD,
        CONF_API_KEY: push_server.keys.account,
        CONF_API_TOKEN: API_TOKEN,
        **urls,
        CONF_METERS: [V3, V4],
    }
    assert entry.unique_id == cloud_unique_id(push_server.keys.account)
    await finish_reload(hass, entry)


async def test_reconfigure_new_key_and_urls(
    hass: HomeAssistant, push_server: PushServer, ekm_hosts: str
) -> None:
    """Advanced mode: the URLs set back to EKM's are no longer stored; the new key moves the unique_id."""
    entry = cloud_entry_of(
        "old-key", [V4], **{CONF_API_URL: "http://old.example", CONF_SUMMARY_URL: "http://old.example"}
    )
    entry.add_to_hass(hass)
    form = await _reconfigure(hass, entry, advanced=True)
    assert url_suggested_value(form, CONF_API_URL) == "http://old.example"
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], url_section("old.example", ekm_hosts)
    )
    assert result["errors"] == {"base": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {CONF_API_KEY: "bad-key", **url_section(ekm_hosts, ekm_hosts)},
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {CONF_API_KEY: push_server.keys.gateways[GATEWAY], **url_section(ekm_hosts, ekm_hosts)},
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_METERS: [V4]})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_CONNECTION: CONNECTION_CLOUD,
        CONF_API_KEY: push_server.keys.gateways[GATEWAY],
        CONF_METERS: [V4],
    }
    assert entry.unique_id == cloud_unique_id(push_server.keys.gateways[GATEWAY])
    await finish_reload(hass, entry)


async def test_reconfigure_to_another_account_aborts(hass: HomeAssistant, push_server: PushServer) -> None:
    entry = cloud_entry_of(
        "old-key", [V3], **{CONF_API_URL: push_server.url, CONF_SUMMARY_URL: push_server.url}
    )
    entry.add_to_hass(hass)
    form = await _reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_API_KEY: push_server.keys.meters[V4]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def finish_reload(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The flow reloads the entry: let the set-up finish, then unload (a set-up still running
    when the test ends writes to the registries after Home Assistant's last write)."""
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
