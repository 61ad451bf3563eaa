"""The loaded bus entry the settings tests (buttons, selects, numbers) write through.

Bind the fixture in a test module (`bus = settings_support.bus`) or use the helpers directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ekm.aioekm.simulator import Fleet
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.const import DOMAIN


def entity_id(registry: er.EntityRegistry, domain: str, unique_id: str) -> str:
    found = registry.async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def unique_ids(keys: Mapping[str, Iterable[str]]) -> set[str]:
    """The unique_ids of the entities for these keys, given by meter address."""
    return {f"{address}_{key}" for address, meter_keys in keys.items() for key in meter_keys}


def writes(simulator: Rs485Simulator) -> list[str | None]:
    """The data of every write request the simulated bus received, in order."""
    return [request.data for request in simulator.log if request.kind == "write"]


def state(hass: HomeAssistant, target: str) -> str:
    current = hass.states.get(target)
    assert current is not None, target
    return current.state


async def refused(call: Awaitable[object], translation_key: str) -> HomeAssistantError:
    """Await a service call that must fail with this translated error; the error, for more checks."""
    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_key == translation_key
    return err.value


def meter_keeps_its_settings(monkeypatch: pytest.MonkeyPatch, *, ack: bool) -> None:
    """Every simulated meter leaves a write unapplied, and ACKs it or not."""
    monkeypatch.setattr(
        "custom_components.ekm.aioekm.simulator.rs485.apply_write", lambda meter, register, data, t: ack
    )


@dataclass
class LoadedBus:
    """The set-up bus entry, its registry and the simulator behind it."""

    hass: HomeAssistant
    entry: MockConfigEntry
    registry: er.EntityRegistry
    fleet: Fleet
    simulator: Rs485Simulator

    def entity_id(self, domain: str, unique_id: str) -> str:
        return entity_id(self.registry, domain, unique_id)

    def state(self, target: str) -> str:
        return state(self.hass, target)

    def writes(self) -> list[str | None]:
        return writes(self.simulator)

    def registered(self, domain: str) -> dict[str, er.RegistryEntry]:
        """The entry's registry entries of one platform, by unique_id."""
        entries = er.async_entries_for_config_entry(self.registry, self.entry.entry_id)
        return {e.unique_id: e for e in entries if e.domain == domain}

    async def read_options(self) -> None:
        """Poll until the B frame is read (every third poll, OPTIONS) and its states are written."""
        for _ in range(3):
            await self.entry.runtime_data.coordinator.async_refresh()
        await self.hass.async_block_till_done()


@pytest.fixture
def bus(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    fleet: Fleet,
    simulator: Rs485Simulator,
) -> LoadedBus:
    return LoadedBus(hass, loaded_entry, entity_registry, fleet, simulator)
