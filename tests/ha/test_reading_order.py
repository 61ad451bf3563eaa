"""A meter's entities never go back to an older reading: a poll that was reading while a write
(RS-485) or a relay's confirmation (cloud) published a newer one publishes the newer one, and a
Push reading taken before the one published is not published after it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN, SERVICE_TURN_ON
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import CONF_TIMEOUT, DOMAIN

from . import push_support
from .conftest import V4
from .push_support import poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server
push3_gateway = push_support.push3_gateway
push3_entry = push_support.push3_entry
cloud_entry = push_support.cloud_entry

# V4's entities whose state only ever moves forward with the meter: counting registers and its clock.
FORWARD = ("Pulse_Cnt_1", "kWh_Tot", "Meter_Time")
RELAY_1 = f"{V4}_Relay_1"


class History:
    """Every state each watched entity of V4 took, in order."""

    def __init__(self, hass: HomeAssistant, keys: tuple[str, ...]) -> None:
        registry = er.async_get(hass)
        self.entity_ids: dict[str, str] = {}
        for key in keys:
            domain = "switch" if key.startswith("Relay_") else "sensor"
            entity_id = registry.async_get_entity_id(domain, DOMAIN, f"{V4}_{key}")
            assert entity_id is not None, key
            self.entity_ids[entity_id] = key
        self.states: dict[str, list[str]] = {key: [] for key in keys}
        for entity_id, key in self.entity_ids.items():
            if (state := hass.states.get(entity_id)) is not None:
                self.states[key].append(state.state)
        self.stop = async_track_state_change_event(hass, list(self.entity_ids), self._changed)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            self.states[self.entity_ids[event.data["entity_id"]]].append(new.state)

    def assert_never_back(self) -> None:
        for key in FORWARD:
            values = [_ordered(key, state) for state in self.states[key]]
            assert len(values) >= 2, (key, self.states[key])  # it moved: the check means something
            assert values == sorted(values), (key, self.states[key])


def _ordered(key: str, state: str) -> float | datetime:
    """A state as its key orders: the meter clock by time, counters by number (a pulse count such
    as 14601205 also reads as an ISO date, so it is not guessed from the text)."""
    if key == "Meter_Time":
        parsed = dt_util.parse_datetime(state)
        assert parsed is not None, state
        return parsed
    return float(state)


async def _until(condition: Callable[[], bool], what: str, *, seconds: float = 5.0) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_poll_reading_across_a_write_publishes_the_write_s_newer_reading(
    hass: HomeAssistant,
    entity_registry_enabled_by_default: None,
    entry: MockConfigEntry,
    simulator: Rs485Simulator,
    clock: ManualClock,
) -> None:
    """A poll reads V4, whose reply is slow; meanwhile relay 1 is switched and the meter's clock
    and counters move. The write waits for V4's reply, writes and reads V4 back (newer), then the
    poll reads V3 and ends: what it publishes for V4 must be the write's read-back, not its own
    older read."""
    # Replies may take a second here: V4's reply to the poll is held that long.
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_TIMEOUT: 3.0})
    await set_up(hass, entry)
    coordinator = entry.runtime_data.coordinator
    history = History(hass, (*FORWARD, "Relay_1"))
    clock.t += 60
    await coordinator.async_refresh()  # the meter moved: states move forward once
    # From here the meters' time runs as a real meter's does (a write's read-back must show
    # the meter's clock past the write).
    ticking = hass.async_create_background_task(_run(clock), "meter time runs")
    simulator.faults.slow = 1.0
    asked = len(simulator.log)
    polling = hass.async_create_task(coordinator.async_refresh())
    # The meter's clock jumped a minute in no time above: the bus took that reading only once it
    # saw it twice, and waits out a possible late reply before the next request.
    await _until(
        lambda: any(r.kind == "read" and r.address == V4 for r in simulator.log[asked:]),
        "the poll to ask V4",
        seconds=30,
    )
    # V4's reply to the poll is made (it leaves in a second); the meter moves on, and the
    # write's exchanges are answered at once.
    simulator.faults.slow = 0.0
    clock.t += 60
    switching = hass.async_create_task(
        hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: _id(hass, "switch", RELAY_1)}, blocking=True
        )
    )
    await polling
    await switching
    ticking.cancel()
    await hass.async_block_till_done()
    writes = [i for i, r in enumerate(simulator.log) if r.kind == "write"]
    reads_of_v3 = [i for i, r in enumerate(simulator.log) if r.kind == "read" and r.address != V4]
    assert writes and reads_of_v3[-1] > writes[0]  # the write did land while the poll was reading
    history.stop()
    history.assert_never_back()
    await hass.config_entries.async_unload(entry.entry_id)  # the port closes
    assert history.states["Relay_1"][-1] == STATE_ON
    assert STATE_ON not in history.states["Relay_1"][: history.states["Relay_1"].index(STATE_ON)]
    assert "off" not in history.states["Relay_1"][history.states["Relay_1"].index(STATE_ON) :]


async def _run(clock: ManualClock) -> None:
    """Move the simulated time on with the real one."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while True:
        await asyncio.sleep(0.02)
        now = loop.time()
        clock.t += now - last
        last = now


def _id(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def _hold_first(server: PushServer, path: str) -> tuple[asyncio.Event, asyncio.Event]:
    """The first request to `path` is held (before it is answered) until the returned `release`
    is set; `arrived` is set when it comes. The answer is made after the hold."""
    arrived, release = asyncio.Event(), asyncio.Event()
    answer: Callable[[web.Request, Any], Awaitable[web.StreamResponse]] = server._answer

    async def held(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == path and not arrived.is_set():
            arrived.set()
            await release.wait()
        return await answer(request, handler)

    server._answer = held  # type: ignore[method-assign]
    return arrived, release


async def test_a_cloud_poll_answered_after_a_relay_confirmation_keeps_the_newer_reading(
    hass: HomeAssistant,
    entity_registry_enabled_by_default: None,
    cloud_entry: MockConfigEntry,
    push_server: PushServer,
    live_clock: ManualClock,
) -> None:
    """A poll asks EKM; its answer (a reading taken then) comes only after a relay was switched and
    its confirmation read, taken later, was published: the poll's older reading is not published."""
    await set_up(hass, cloud_entry)
    coordinator = cloud_entry.runtime_data.coordinator
    history = History(hass, FORWARD)
    asked_at = live_clock.t
    arrived, release = _hold_first(push_server, "/readMeter")
    polling = hass.async_create_task(coordinator.async_refresh())
    await asyncio.wait_for(arrived.wait(), 10)
    live_clock.t += 30
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: _id(hass, "switch", RELAY_1)}, blocking=True
    )
    # (No async_block_till_done here: it would wait for the held poll.)
    push_server.stale[V4] = asked_at  # the held answer carries the reading taken when it was asked
    release.set()
    await polling
    await hass.async_block_till_done()
    history.stop()
    history.assert_never_back()
    assert hass.states.get(_id(hass, "switch", RELAY_1)).state == STATE_ON  # type: ignore[union-attr]


async def test_a_push3_gateway_serving_an_older_read_changes_nothing(
    hass: HomeAssistant,
    entity_registry_enabled_by_default: None,
    push3_entry: MockConfigEntry,
    push_server: PushServer,
    live_clock: ManualClock,
) -> None:
    """The gateway's next answer holds a read taken before the one published (a gateway that came
    back with an older buffer): the entities keep the newer reading, then move on with newer ones."""
    live_clock.t -= 60
    await set_up(hass, push3_entry)
    history = History(hass, FORWARD)
    live_clock.t += 60
    await poll(hass)
    newest = hass.states.get(_id(hass, "sensor", f"{V4}_Meter_Time"))
    push_server.stale[V4] = live_clock.t - 30
    await poll(hass)
    assert hass.states.get(_id(hass, "sensor", f"{V4}_Meter_Time")) == newest
    del push_server.stale[V4]
    live_clock.t += 60
    await poll(hass)
    history.stop()
    history.assert_never_back()
    assert len(history.states["Meter_Time"]) == 3


async def test_a_push_read_of_unknown_age_does_not_replace_a_dated_one(
    hass: HomeAssistant, cloud_entry: MockConfigEntry
) -> None:
    """A Push read without a usable time stamp (missing, or one the mapping refused) may be
    older than the one published: the published one stays."""
    await set_up(hass, cloud_entry)
    coordinator = cloud_entry.runtime_data.coordinator
    dated = coordinator.reading(V4)
    assert dated is not None and dated.timestamp is not None
    undated = replace(dated, timestamp=None, values={**dated.values, "RMS_Volts_Ln_1": 99.0})
    assert coordinator.publishable(undated) is dated
