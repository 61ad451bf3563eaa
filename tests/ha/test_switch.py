"""Relay switches: writes reach the virtual meter, refusals and silence become translated errors."""

from __future__ import annotations

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.ekm import compat
from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.fleet import ManualClock
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import DOMAIN

from .conftest import FROZEN_T, V3, V4, unique_ids

RELAY_1 = f"switch.omnimeter_{V4}_relay_1"
RELAY_2 = f"switch.omnimeter_{V4}_relay_2"


def _writes(simulator: Rs485Simulator) -> int:
    return sum(1 for request in simulator.log if request.kind == "write")


async def _switch(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True)


async def test_relays_only_on_v4(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    switches = unique_ids(hass, loaded_entry, "switch")
    assert switches == {f"{V4}_Relay_1", f"{V4}_Relay_2"}
    assert not any(unique_id.startswith(V3) for unique_id in switches)
    state = hass.states.get(RELAY_1)
    assert state is not None
    assert state.state == STATE_OFF
    assert state.attributes["friendly_name"] == f"Omnimeter {V4} Relay 1"


async def test_turn_on_and_off(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """Each action is one write on the wire; the meter's relay follows; the state is its read-back."""
    meter = fleet.meters[V4]
    await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    assert meter.relays == [True, False]
    assert _writes(simulator) == 1
    assert hass.states.get(RELAY_1).state == STATE_ON  # type: ignore[union-attr]

    await _switch(hass, SERVICE_TURN_ON, RELAY_2)
    assert meter.relays == [True, True]
    await _switch(hass, SERVICE_TURN_OFF, RELAY_1)
    assert meter.relays == [False, True]
    assert _writes(simulator) == 3
    assert hass.states.get(RELAY_1).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(RELAY_2).state == STATE_ON  # type: ignore[union-attr]
    # Written with the stored password.
    assert [r.data for r in simulator.log if r.kind == "password"] == ["12345678"] * 3


async def test_timed_relay(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    clock: ManualClock,
    simulator: Rs485Simulator,
) -> None:
    """set_relay with seconds: the meter switches back by itself, and the next poll shows it."""
    meter = fleet.meters[V4]
    await hass.services.async_call(
        DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_2, "state": True, "seconds": 5}, blocking=True
    )
    assert meter.relays == [False, True]
    assert meter.relay_until[1] == FROZEN_T + 5
    assert [r.data for r in simulator.log if r.kind == "write"] == ["10005"]
    assert hass.states.get(RELAY_2).state == STATE_ON  # type: ignore[union-attr]

    clock.t = FROZEN_T + 6
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert meter.relays == [False, False]
    assert hass.states.get(RELAY_2).state == STATE_OFF  # type: ignore[union-attr]


async def test_set_relay_rejects_bad_seconds(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    with pytest.raises(vol.Invalid, match="9999"):
        await hass.services.async_call(
            DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_1, "state": True, "seconds": 10000}, blocking=True
        )


async def test_wrong_password(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """The meter ignores the password: a translated error, no write, the relay unchanged."""
    fleet.meters[V4].password = "99999999"
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    assert err.value.translation_key == "command_rejected"
    assert err.value.translation_placeholders == {"address": V4, "port": loaded_entry.data["port"]}
    assert str(err.value) == f"Meter {V4} refused the command. Is the meter password right?"
    assert "12345678" not in str(err.value)
    assert fleet.meters[V4].relays == [False, False]
    assert _writes(simulator) == 0
    assert hass.states.get(RELAY_1).state == STATE_OFF  # type: ignore[union-attr]


async def test_silent_meter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    simulator.faults.silent_meters.add(V4)
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    assert err.value.translation_key == "meter_timeout"
    assert fleet.meters[V4].relays == [False, False]
    assert _writes(simulator) == 0


async def test_lost_ack_confirmed_by_read_back(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """The meter switched but its ACK was lost: the read-back shows it, so it is a success, written once."""
    simulator.faults.lose_write_acks = True
    await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    assert fleet.meters[V4].relays == [True, False]
    assert _writes(simulator) == 1
    assert hass.states.get(RELAY_1).state == STATE_ON  # type: ignore[union-attr]


async def test_write_then_b_frame(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """After a write the next poll reads the v4 B frame too, out of its every-Nth turn."""
    coordinator = loaded_entry.runtime_data.coordinator
    await coordinator.async_refresh()  # cycle 1 of 3: no B
    simulator.log.clear()
    await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    simulator.log.clear()
    await coordinator.async_refresh()  # cycle 2 of 3: B because of the write
    b_reads = [
        r for r in simulator.log if r.kind == "read" and r.layout is not None and r.layout.value == "v4b"
    ]
    assert len(b_reads) == 1


async def test_bus_lost(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Rs485Simulator
) -> None:
    """No adapter, no write: the error names the bus."""
    await simulator.disconnect()
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, RELAY_1)
    assert err.value.translation_key == "bus_unavailable"
    assert str(err.value) == f"The RS-485 bus {loaded_entry.data['port']} is unavailable"
    assert _writes(simulator) == 0


async def test_set_relay_action_is_registered_at_integration_setup(hass: HomeAssistant) -> None:
    """The action exists before any entry loads (quality rule action-setup); with no relay loaded
    its target is no relay, and it says so."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert hass.services.has_service(DOMAIN, "set_relay")
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "set_relay", {ATTR_ENTITY_ID: RELAY_1, "state": True}, blocking=True
        )
    assert raised.value.translation_key == "no_relay_targeted"
    assert hass.states.get(RELAY_1) is None


@pytest.mark.parametrize(
    "targets",
    [
        [f"sensor.omnimeter_{V4}_total_energy"],  # a sensor of the same meter
        ["switch.omnimeter_000000000000_relay_1"],  # no such entity
        [RELAY_1, f"sensor.omnimeter_{V4}_total_energy"],  # one relay among them: nothing is sent
    ],
)
async def test_set_relay_on_what_is_no_relay(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet: Fleet,
    simulator: Rs485Simulator,
    targets: list[str],
) -> None:
    """A target without a relay is a translated error naming it, and nothing is written."""
    assert hass.states.get(f"sensor.omnimeter_{V4}_total_energy") is not None
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "set_relay", {ATTR_ENTITY_ID: targets, "state": True}, blocking=True
        )
    assert raised.value.translation_key == "no_relay_targeted"
    wrong = ", ".join(sorted(t for t in targets if t != RELAY_1))
    expected = f"Not an EKM relay switch: {wrong}. Choose one or more relay switches"
    assert str(raised.value).startswith(expected)
    assert _writes(simulator) == 0
    assert fleet.meters[V4].relays == [False, False]


async def test_set_relay_on_a_meter_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet: Fleet, simulator: Rs485Simulator
) -> None:
    """A meter's device as the target switches its relays (its other entities are no mistake)."""
    device = compat.get_device(dr.async_get(hass), (DOMAIN, V4), loaded_entry.entry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "set_relay", {"device_id": device.id, "state": True}, blocking=True
    )
    assert fleet.meters[V4].relays == [True, True]
    assert _writes(simulator) == 2
