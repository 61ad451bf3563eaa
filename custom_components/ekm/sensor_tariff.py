"""'Tariff now' and 'Price now' of each meter: for the Energy dashboard's price of entity sources.

Tariff now says which tariff (T1-T4) the meter counts into:
- on a bus, worked out from the meter's own time-of-use tables in its own clock
  (aioekm tariff_at; the tables are read once per meter, and again after a schedule write);
- from the cloud or a Push3 gateway, which do not give the tables, observed: the tariff
  register that moved since the previous reading (unknown until one has).
No reply of the meter states the tariff in force directly.

Price now is the entry's price of that tariff (options, HA's currency per kWh): the "entity
with the current price" of the Energy dashboard's grid source. Both exist only where prices
are set (prices.py).
"""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .aioekm import MeterReading, tariff_at
from .coordinator import EkmCoordinator
from .entity import EkmEntity, Written, add_entities_of_meters
from .prices import TARIFFS, Prices
from .runtime import EkmConfigEntry, EkmRuntimeData

TARIFF_STATES: Final = [f"t{n}" for n in TARIFFS]

TARIFF_NOW: Final = SensorEntityDescription(
    key="Tariff_Now",
    translation_key="tariff_now",
    device_class=SensorDeviceClass.ENUM,
    options=TARIFF_STATES,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class EkmTariffNowSensor(EkmEntity, SensorEntity):
    """The tariff the meter counts into now."""

    def __init__(self, coordinator: EkmCoordinator, runtime: EkmRuntimeData, address: str) -> None:
        super().__init__(coordinator, address, TARIFF_NOW)
        self.runtime = runtime
        self._observed: int | None = None  # Push: the tariff register that moved last
        self._registers: tuple[float, ...] | None = None

    def tariff(self) -> int | None:
        """1..4, or None while it is not known."""
        reading = self.reading
        if reading is None:
            return None
        bus = self.runtime.bus
        if bus is not None:
            tables = bus.tariff_tables.get(self.address)
            if tables is None or reading.meter_time is None:
                return None
            return tariff_at(tables, reading.meter_time)
        return self._observed

    @callback
    def _handle_coordinator_update(self) -> None:
        if self.runtime.bus is None and (reading := self.reading) is not None:
            self._observe(reading)
        super()._handle_coordinator_update()

    def _observe(self, reading: MeterReading) -> None:
        registers = tuple(_number(reading.get(f"kWh_Tariff_{n}")) for n in TARIFFS)
        previous, self._registers = self._registers, registers
        if previous is None:
            return
        moved = [n for n, now, before in zip(TARIFFS, registers, previous, strict=True) if now > before]
        if len(moved) == 1:  # two moved: the change fell between the readings; keep the last
            self._observed = moved[0]

    def _what_is_shown(self) -> Written:
        # Written when the tariff changes too, not only when the reading does.
        shown = super()._what_is_shown()
        return (hash((shown[0], self.tariff())), shown[1], shown[2])

    @property
    def native_value(self) -> str | None:
        tariff = self.tariff()
        return None if tariff is None else f"t{tariff}"


class EkmPriceNowSensor(EkmTariffNowSensor):
    """The price per kWh of the tariff in force, from the entry's options."""

    def __init__(
        self,
        coordinator: EkmCoordinator,
        runtime: EkmRuntimeData,
        address: str,
        prices: Prices,
        currency: str,
    ) -> None:
        super().__init__(coordinator, runtime, address)
        self.prices = prices
        self.entity_description = SensorEntityDescription(
            key="Price_Now",
            translation_key="price_now",
            native_unit_of_measurement=f"{currency}/kWh",
            suggested_display_precision=4,
        )
        self._attr_unique_id = f"{address}_Price_Now"

    @property
    def native_value(self) -> float | None:  # type: ignore[override]
        tariff = self.tariff()
        tariffs = self.prices.tariffs
        return None if tariff is None or tariffs is None else tariffs[tariff]


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def add_tariff_sensors(
    hass: HomeAssistant, entry: EkmConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Tariff now and Price now of every meter that counts per tariff, where prices are set."""
    prices = Prices.of(entry.options)
    if prices.tariffs is None:
        return
    currency = hass.config.currency

    def make(runtime: EkmRuntimeData, addresses: list[str]) -> list[EkmTariffNowSensor]:
        coordinator = runtime.coordinator
        entities: list[EkmTariffNowSensor] = []
        for address in addresses:
            entities.append(EkmTariffNowSensor(coordinator, runtime, address))
            entities.append(EkmPriceNowSensor(coordinator, runtime, address, prices, currency))
        return entities

    add_entities_of_meters(entry, async_add_entities, make)
