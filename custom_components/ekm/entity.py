"""Base entity: one meter's view of the coordinator, whatever the connection mode."""

from __future__ import annotations

from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .aioekm.readings import MeterReading
from .coordinator import EkmCoordinator


class EkmEntity(CoordinatorEntity[EkmCoordinator]):
    """An entity of one meter; unavailable while that meter gives no valid reading."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: EkmCoordinator, address: str, description: EntityDescription) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self.address = address
        self._attr_unique_id = f"{address}_{description.key}"
        self._attr_device_info = coordinator.meter_device_info(address)

    @property
    def reading(self) -> MeterReading | None:
        """This meter's current reading."""
        return self.coordinator.reading(self.address)

    @property
    def available(self) -> bool:
        return super().available and self.reading is not None
