"""The cloud coordinator against every EKM status code, stale readings and a changing account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
import gc
import logging
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm import (
    async_remove_config_entry_device,
    cloud_coordinator,
    compat,
    coordinator as coordinator_module,
)
from custom_components.ekm.aioekm.push.account import AccountIoStack
from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer
from custom_components.ekm.compat import get_device
from custom_components.ekm.const import CONF_METERS, DOMAIN

from . import push_support
from .conftest import V3, V4
from .push_support import GATEWAY, meter_states, poll, set_up

cloud_entry = push_support.cloud_entry
live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server

NEW = "000300000099"


def _available(states: dict[str, str]) -> bool:
    """Every entity of the meter available (Communicating on)."""
    return states["communicating"] == STATE_ON and STATE_UNAVAILABLE not in states.values()


def _unavailable(states: dict[str, str]) -> bool:
    """Every entity of the meter unavailable but Communicating, which is off."""
    rest = {k: v for k, v in states.items() if k != "communicating"}
    return states["communicating"] == STATE_OFF and set(rest.values()) == {STATE_UNAVAILABLE}


def _assert_only_v3_unavailable(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """V3 is unavailable (but its Communicating, which is off); V4 is not."""
    assert _unavailable(meter_states(hass, entry, V3))
    assert _available(meter_states(hass, entry, V4))


@asynccontextmanager
async def _v3_failing(
    hass: HomeAssistant, entry: MockConfigEntry, table: dict[str, Any], value: Any
) -> AsyncIterator[None]:
    """V3 in one of the fake server's tables of failures (no_data, stale) with `value`, for the
    block: a poll makes V3 alone unavailable. After the block V3 leaves the table, and the next
    poll brings it back."""
    table[V3] = value
    await poll(hass)
    _assert_only_v3_unavailable(hass, entry)
    yield
    del table[V3]
    await poll(hass)
    assert _available(meter_states(hass, entry, V3))


async def _ekm_finds_no_v3(hass: HomeAssistant, push_server: PushServer) -> None:
    """A poll in which EKM answers 1200 for V3: an invalid meter, in a message that names the
    key, as EKM's does."""
    key = push_server.keys.account
    push_server.inject(
        Fault(status=400, code=1200, message=f"Found invalid meter: 17507 for key: {key}", path="/readMeter")
    )
    await poll(hass)


@pytest.fixture
async def loaded(hass: HomeAssistant, cloud_entry: MockConfigEntry) -> MockConfigEntry:
    await set_up(hass, cloud_entry)
    assert cloud_entry.state is ConfigEntryState.LOADED
    return cloud_entry


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003])
async def test_no_data_makes_that_meter_unavailable(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer, code: int
) -> None:
    """EKM has no data for one meter: only that meter goes unavailable, with EKM's reason in diagnostics."""
    async with _v3_failing(hass, loaded, push_server.no_data, code):
        problem = loaded.runtime_data.coordinator.diagnostics()["problems"][V3]
        assert problem["reason"] == "no_data"
        assert problem["code"] == code
        assert "There is not data for" in problem["message"]


async def test_unknown_meter_raises_a_repair_issue(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    """1200 for one meter: it alone is unavailable and a repair issue says to remove it."""
    await _ekm_finds_no_v3(hass, push_server)
    _assert_only_v3_unavailable(hass, loaded)
    issue_id = f"unknown_meter_{loaded.entry_id}_{V3}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "unknown_meter"
    assert issue.translation_placeholders == {"address": V3, "entry": loaded.title}
    problem = loaded.runtime_data.coordinator.problems[V3]
    assert problem.code == 1200
    assert push_server.keys.account not in (problem.message or "")

    # The account still lists it: it stays; the next good answer clears the issue.
    await poll(hass)
    assert _available(meter_states(hass, loaded, V3))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_invalid_request_is_logged_once_as_a_bug(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer, caplog: pytest.LogCaptureFixture
) -> None:
    """1100-1103: the poll fails; logged once as a bug, the key masked."""
    key = push_server.keys.account
    push_server.inject(
        Fault(status=400, code=1102, message=f"Invalid value: key={key}", path="/readMeter", times=2)
    )
    await poll(hass)
    await poll(hass)
    bugs = [
        r for r in caplog.records if r.levelno == logging.ERROR and "report this as a bug" in r.getMessage()
    ]
    assert len(bugs) == 1
    assert "EKM 1102" in bugs[0].getMessage()
    assert key not in caplog.text
    assert (
        _unavailable(meter_states(hass, loaded, V4))
        or meter_states(hass, loaded, V4)["kWh_Tot"] == STATE_UNAVAILABLE
    )
    await poll(hass)
    assert _available(meter_states(hass, loaded, V4))


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, code=1300, message="Internal error", path="/readMeter", times=3),
        Fault(status=503, message="busy", path="/readMeter", times=3),
    ],
    ids=["1300", "503"],
)
async def test_server_errors_fail_the_poll(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer, fault: Fault
) -> None:
    """1300 and HTTP 5xx (after the client's retries): UpdateFailed, every meter unavailable; then back."""
    push_server.inject(fault)
    await poll(hass)
    coordinator = loaded.runtime_data.coordinator
    assert not coordinator.last_update_success
    assert isinstance(coordinator.last_exception, UpdateFailed)
    assert meter_states(hass, loaded, V4)["kWh_Tot"] == STATE_UNAVAILABLE
    await poll(hass)
    assert coordinator.last_update_success
    assert _available(meter_states(hass, loaded, V4))


async def test_rate_limited_backs_off(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    """429: UpdateFailed carrying Retry-After where HA supports it."""
    push_server.inject(Fault(status=429, retry_after="120", path="/readMeter"))
    await poll(hass)
    coordinator = loaded.runtime_data.coordinator
    assert isinstance(coordinator.last_exception, UpdateFailed)
    if compat.HAS_UPDATE_FAILED_RETRY_AFTER:
        assert getattr(coordinator.last_exception, "retry_after", None) == 120


async def test_refused_key_starts_reauth(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    """401 on a poll: ConfigEntryAuthFailed, and a reauth flow starts."""
    push_server.inject(Fault(status=401, message="invalid key", path="/readMeter", times=None))
    await poll(hass)
    flows = list(loaded.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1


async def test_refused_key_at_setup(
    hass: HomeAssistant, cloud_entry: MockConfigEntry, push_server: PushServer
) -> None:
    push_server.inject(Fault(status=403, message="invalid key", path="/account", times=None))
    assert not await hass.config_entries.async_setup(cloud_entry.entry_id)
    assert cloud_entry.state is ConfigEntryState.SETUP_ERROR
    assert len(list(cloud_entry.async_get_active_flows(hass, {SOURCE_REAUTH}))) == 1


async def test_stale_reading(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer, live_clock: ManualClock
) -> None:
    """A reading older than stale_after: that meter is unavailable, the others not."""
    async with _v3_failing(hass, loaded, push_server.stale, live_clock.t - 601):
        assert loaded.runtime_data.coordinator.failures == {V3: "stale"}


async def test_same_reading_is_not_rewritten(
    hass: HomeAssistant, loaded: MockConfigEntry, live_clock: ManualClock
) -> None:
    """A poll that brings the same reading (same Time_Stamp_UTC_ms) writes no state."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{V4}_RMS_Watts_Tot")
    assert entity_id is not None
    before = hass.states.get(entity_id).last_reported  # HA updates a State's last_reported in place
    await poll(hass)
    assert hass.states.get(entity_id).last_reported == before
    live_clock.advance(30)
    await poll(hass)
    assert hass.states.get(entity_id).last_reported != before


async def test_meter_added_and_removed(
    hass: HomeAssistant,
    loaded: MockConfigEntry,
    push_server: PushServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meter new to the account gets its device and entities without a reload; a meter taken off
    the account (1200) is removed with its device once three reads of the account lack it."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    push_server.add_meter(make_meter(NEW, "v4", gateway=GATEWAY, index=5))
    await poll(hass)
    registry = dr.async_get(hass)
    assert get_device(registry, (DOMAIN, NEW), loaded.entry_id) is not None
    await poll(hass)
    assert _available(meter_states(hass, loaded, NEW))
    assert NEW in loaded.data[CONF_METERS]

    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1000)
    push_server.remove_meter(V3)
    await poll(hass)  # 1200: unavailable, repair issue, the account is read again next time
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unknown_meter_{loaded.entry_id}_{V3}") is not None
    for _ in range(cloud_coordinator.ACCOUNT_MISSES_TO_REMOVE - 1):
        await poll(hass)  # the account lacks it, and 1200 again: read again next time
        assert get_device(registry, (DOMAIN, V3), loaded.entry_id) is not None
    await poll(hass)
    assert get_device(registry, (DOMAIN, V3), loaded.entry_id) is None
    assert meter_states(hass, loaded, V3) == {}
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unknown_meter_{loaded.entry_id}_{V3}") is None
    assert V3 not in loaded.runtime_data.coordinator.meters
    assert V3 in loaded.data[CONF_METERS]  # still the user's pick: read again if it comes back
    assert _available(meter_states(hass, loaded, V4))


async def test_meter_dropped_for_a_moment_is_kept(
    hass: HomeAssistant,
    loaded: MockConfigEntry,
    push_server: PushServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EKM drops a meter from the account for two polls, then lists it again: its device, its
    entities and the user's name for one stay, and it reads again."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{V3}_kWh_Tot")
    assert entity_id is not None
    registry.async_update_entity(entity_id, name="Flat 3 energy")
    meter = push_server.fleet.meters[V3]
    push_server.remove_meter(V3)
    await poll(hass)
    await poll(hass)
    assert get_device(dr.async_get(hass), (DOMAIN, V3), loaded.entry_id) is not None
    push_server.add_meter(meter)
    await poll(hass)
    await poll(hass)
    assert V3 in loaded.data[CONF_METERS]
    assert _available(meter_states(hass, loaded, V3))
    entry = registry.async_get(entity_id)
    assert entry is not None and entry.name == "Flat 3 energy"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unknown_meter_{loaded.entry_id}_{V3}") is None


@pytest.mark.parametrize("reload", [False, True])
async def test_meter_removed_from_the_account_comes_back(
    hass: HomeAssistant,
    loaded: MockConfigEntry,
    push_server: PushServer,
    monkeypatch: pytest.MonkeyPatch,
    reload: bool,
) -> None:
    """A meter removed after the account lacked it long enough is added again when the account
    lists it again, also when the entry reloads first (it is not taken as left out by the user)."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    meter = push_server.fleet.meters[V3]
    push_server.remove_meter(V3)
    for _ in range(cloud_coordinator.ACCOUNT_MISSES_TO_REMOVE):
        await poll(hass)
    assert V3 not in loaded.runtime_data.coordinator.meters
    push_server.add_meter(meter)
    if reload:
        assert await hass.config_entries.async_reload(loaded.entry_id)
        await hass.async_block_till_done()
    await poll(hass)
    await poll(hass)
    assert V3 in loaded.runtime_data.coordinator.meters
    assert get_device(dr.async_get(hass), (DOMAIN, V3), loaded.entry_id) is not None
    assert _available(meter_states(hass, loaded, V3))


async def test_only_fields_of_enabled_entities_are_mapped(
    hass: HomeAssistant, loaded: MockConfigEntry, live_clock: ManualClock
) -> None:
    """After the first poll, a poll maps only what enabled entities show; enabling one maps its field."""
    coordinator = loaded.runtime_data.coordinator
    assert "Reactive_Pwr_Tot" in coordinator.data[V4]  # first poll: every field with an entity
    live_clock.advance(30)
    await poll(hass)
    reading = coordinator.data[V4]
    assert "kWh_Tot" in reading
    assert "State_Out" in reading  # the relays
    assert "Reactive_Pwr_Tot" not in reading  # its sensor starts disabled

    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{V4}_Reactive_Pwr_Tot")
    assert entity_id is not None
    registry.async_update_entity(entity_id, disabled_by=None)
    live_clock.advance(30)
    await coordinator.async_refresh()  # before HA reloads the entry for the enabled entity
    assert "Reactive_Pwr_Tot" in coordinator.data[V4]


async def test_unknown_meter_can_be_deleted(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    """A meter EKM answers 1200 for, though the account still lists it: the user may delete its
    device; it leaves the entry (and its issue goes). A meter that reads cannot be deleted."""
    registry = dr.async_get(hass)
    v3 = get_device(registry, (DOMAIN, V3), loaded.entry_id)
    v4 = get_device(registry, (DOMAIN, V4), loaded.entry_id)
    assert v3 is not None and v4 is not None
    assert not await async_remove_config_entry_device(hass, loaded, v3)

    await _ekm_finds_no_v3(hass, push_server)
    assert await async_remove_config_entry_device(hass, loaded, v3)
    assert not await async_remove_config_entry_device(hass, loaded, v4)
    assert V3 not in loaded.runtime_data.coordinator.meters
    assert loaded.data[CONF_METERS] == [V4]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unknown_meter_{loaded.entry_id}_{V3}") is None
    await poll(hass)  # not asked for any more, and not added back from the account
    assert V3 not in loaded.runtime_data.coordinator.meters
    assert "17507" not in (push_server.requests_to("/readMeter")[-1].param("meters") or "")


async def test_large_fleet_is_written_in_slices(
    hass: HomeAssistant, loaded: MockConfigEntry, live_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many listeners: they are told in slices (here one per loop turn); every state still lands."""
    monkeypatch.setattr(coordinator_module, "SLICED_ABOVE", 1)
    monkeypatch.setattr(coordinator_module, "SLICE_SECONDS", 0.0)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{V4}_RMS_Watts_Tot")
    assert entity_id is not None
    live_clock.advance(600)
    await poll(hass)
    watts = loaded.runtime_data.coordinator.data[V4]["RMS_Watts_Tot"]
    assert float(hass.states.get(entity_id).state) == watts
    assert _available(meter_states(hass, loaded, V3))


async def test_slices_go_through_the_coordinators_own_registry(
    hass: HomeAssistant, loaded: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large fleet's update tells one slice per loop turn, in the order listeners came; one
    removed meanwhile is not told; a newer update supersedes the slices still pending."""
    monkeypatch.setattr(coordinator_module, "SLICED_ABOVE", 1)
    monkeypatch.setattr(coordinator_module, "SLICE_SECONDS", 0.0)
    coordinator = loaded.runtime_data.coordinator
    told: list[int] = []
    removers = [coordinator.async_add_listener(lambda n=n: told.append(n)) for n in range(5)]
    coordinator.async_set_updated_data(coordinator.data)
    assert len(told) < 5  # not all in this step
    removers[4]()
    await hass.async_block_till_done()
    assert told == [0, 1, 2, 3]
    told.clear()
    coordinator.async_set_updated_data(coordinator.data)
    coordinator.async_set_updated_data(coordinator.data)  # supersedes the first
    await hass.async_block_till_done()
    assert told == [0, 1, 2, 3]
    for remove in removers[:4]:
        remove()


async def test_gateway_status_unavailable(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    """Summary V2 gateway status failing: Connected is unavailable, the meters read on."""
    push_server.inject(Fault(status=400, code=1101, path="/summary/api/v2/gstat", times=None))
    await poll(hass)
    connected = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{GATEWAY}_connected")
    assert connected is not None
    assert hass.states.get(connected).state == STATE_UNAVAILABLE
    assert _available(meter_states(hass, loaded, V4))


async def test_account_unavailable_keeps_the_meters(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Account API failing on its slower cadence: meters stay as they were and keep reading."""
    monkeypatch.setattr(cloud_coordinator, "ACCOUNT_EVERY", 1)
    push_server.inject(Fault(status=503, path="/account", times=None))
    await poll(hass)
    assert set(loaded.runtime_data.coordinator.meters) == {V4, V3}
    assert _available(meter_states(hass, loaded, V3))

    push_server.faults.clear()
    push_server.inject(Fault(status=401, message="invalid key", path="/account", times=None))
    await poll(hass)
    assert len(list(loaded.async_get_active_flows(hass, {SOURCE_REAUTH}))) == 1


async def test_removing_the_entry_removes_its_issues(
    hass: HomeAssistant, loaded: MockConfigEntry, push_server: PushServer
) -> None:
    await _ekm_finds_no_v3(hass, push_server)
    issue_id = f"unknown_meter_{loaded.entry_id}_{V3}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_remove(loaded.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_iostacks_come_and_go(hass: HomeAssistant, loaded: MockConfigEntry) -> None:
    """ioStacks in the account become devices behind their gateway, and go when the account drops
    them. (The fake account has none: the Account answer is given to the coordinator here.)"""
    coordinator = loaded.runtime_data.coordinator
    account = coordinator.account
    gateway = account.gateways[0]
    with_iostack = replace(
        account,
        gateways=(
            replace(
                gateway,
                iostacks=(AccountIoStack("io-7", "Boiler room"),),
            ),
        ),
    )
    coordinator.async_apply_account(with_iostack)
    registry = dr.async_get(hass)
    device = get_device(registry, (DOMAIN, "iostack_io-7"), loaded.entry_id)
    hub = get_device(registry, (DOMAIN, f"gateway_{GATEWAY}"), loaded.entry_id)
    assert device is not None and hub is not None
    assert device.name == "Boiler room"
    assert device.via_device_id == hub.id

    coordinator.async_apply_account(account)
    assert get_device(registry, (DOMAIN, "iostack_io-7"), loaded.entry_id) is None
    assert get_device(registry, (DOMAIN, V4), loaded.entry_id) is not None


async def test_stored_url_with_credentials(
    hass: HomeAssistant, push_server: PushServer, live_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry whose base URL holds a user and password (stored before the flow refused them)
    fails setup saying to reconfigure it (before: an unexpected ValueError), and the password
    is not logged."""
    entry = push_support.add_cloud_entry(hass, push_server, api_url="http://me:hunter2hunter2@127.0.0.1:1/")
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "reconfigure" in (entry.reason or "")
    assert "hunter2" not in caplog.text


@pytest.mark.parametrize(
    ("field", "impossible"),
    [("kWh_Tot", -5000.0), ("RMS_Volts_Ln_1", 1e15), ("Line_Freq", 1e9)],
)
async def test_an_impossible_reading_is_never_shown(
    hass: HomeAssistant,
    loaded: MockConfigEntry,
    push_server: PushServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    field: str,
    impossible: float,
) -> None:
    """EKM serves V3 a read with a physically impossible value (issue #18, item 2): V3 is
    unavailable, with the reason in diagnostics, rather than show any value of that read."""
    meter = push_server.fleet.meters[V3]
    real = meter.values
    shown = meter_states(hass, loaded, V3)["kWh_Tot"]
    monkeypatch.setattr(meter, "values", lambda t: {**real(t), field: impossible})
    push_server.fleet.clock.t += 60  # a new read
    await poll(hass)
    _assert_only_v3_unavailable(hass, loaded)
    problem = loaded.runtime_data.coordinator.diagnostics()["problems"][V3]
    assert problem["reason"] == "bad_reads"
    assert field in problem["message"]
    monkeypatch.setattr(meter, "values", real)
    push_server.fleet.clock.t += 60
    await poll(hass)
    states = meter_states(hass, loaded, V3)
    assert _available(states)
    assert float(states["kWh_Tot"]) >= float(shown)


def _tracked(reading: Any) -> int:
    """Objects of one reading the garbage collector walks: the reading, its values and extra
    keys, and what those hold."""
    own = [reading.values, reading.extra]
    held = [inner for outer in own for inner in gc.get_referents(outer)]
    return sum(1 for thing in (reading, *own, *held) if gc.is_tracked(thing))


async def test_a_poll_keeps_one_tracked_object_per_reading(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    """A poll's readings cost the garbage collector as little as a dataclass of two dicts of
    numbers and text can (issue #18, item 8): no read-only view around each dict. Python 3.13
    does not track such dicts (1 object a reading), 3.14 does (3)."""
    await poll(hass)
    readings = loaded.runtime_data.coordinator.data
    assert set(readings) == {V3, V4}
    dicts = sum(1 for plain in ({"kWh_Tot": 1.0}, {"MAC_Addr": "4016fa100000"}) if gc.is_tracked(plain))
    for reading in readings.values():
        assert _tracked(reading) == 1 + dicts
