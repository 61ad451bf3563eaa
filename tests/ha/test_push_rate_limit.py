"""A 429 with Retry-After: no poll until it is over, on every Home Assistant version we support.

Newer versions wait by themselves (UpdateFailed(retry_after=...)); on older ones (2025.4)
the push coordinator stretches its interval until the next poll.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.ekm.aioekm.push.errors import MAX_RETRY_AFTER
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from . import push_support
from .push_support import CLOUD_INTERVAL, add_cloud_entry, poll, set_up

live_clock = push_support.live_clock
loopback_http = push_support.loopback_http
push_server = push_support.push_server


def realtime_requests(server: PushServer) -> int:
    return len(server.requests_to("/readMeter"))


async def test_no_poll_until_retry_after(
    hass: HomeAssistant, push_server: PushServer, live_clock: Any
) -> None:
    entry = add_cloud_entry(hass, push_server)
    await set_up(hass, entry)
    fault = push_server.inject(Fault(status=429, retry_after="600", times=None, path="/readMeter"))
    push_server.log.clear()
    await poll(hass)
    assert realtime_requests(push_server) == 1  # answered 429, Retry-After 600
    for _ in range(5):  # 5 usual intervals: nothing asked (before: one request each)
        await poll(hass)
    assert realtime_requests(push_server) == 1
    push_server.faults.remove(fault)
    await poll(hass, 601)
    assert realtime_requests(push_server) == 2
    assert entry.runtime_data.coordinator.last_update_success
    await poll(hass)  # back to the usual interval
    assert realtime_requests(push_server) == 3
    assert entry.runtime_data.coordinator.update_interval == timedelta(seconds=CLOUD_INTERVAL)


async def test_retry_after_bounded(hass: HomeAssistant, push_server: PushServer, live_clock: Any) -> None:
    """A Retry-After of a day waits MAX_RETRY_AFTER (an hour) at most."""
    entry = add_cloud_entry(hass, push_server)
    await set_up(hass, entry)
    fault = push_server.inject(Fault(status=429, retry_after="86400", times=1, path="/readMeter"))
    push_server.log.clear()
    await poll(hass)
    assert fault.times == 0
    await poll(hass, MAX_RETRY_AFTER - 60)
    assert realtime_requests(push_server) == 1
    await poll(hass, MAX_RETRY_AFTER + 1)
    assert realtime_requests(push_server) == 2
    assert entry.runtime_data.coordinator.last_update_success
