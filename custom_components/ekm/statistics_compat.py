"""Long-term statistics metadata that suits every Home Assistant version we support.

StatisticMetaData gained `unit_class` after 2025.4 (newer versions report its absence as
deprecated use); `mean_type` exists in all of them.
"""

from __future__ import annotations

from typing import Any, cast

from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData

from .const import DOMAIN

HAS_UNIT_CLASS: bool = "unit_class" in StatisticMetaData.__annotations__


def external_metadata(
    statistic_id: str, name: str, unit: str | None, unit_class: str | None, *, mean: bool
) -> StatisticMetaData:
    """Metadata of one of our external statistics: a sum (energy, pulses) or a mean (power)."""
    metadata: dict[str, Any] = {
        "statistic_id": statistic_id,
        "source": DOMAIN,
        "name": name,
        "unit_of_measurement": unit,
        "has_sum": not mean,
        "mean_type": StatisticMeanType.ARITHMETIC if mean else StatisticMeanType.NONE,
    }
    if HAS_UNIT_CLASS:
        metadata["unit_class"] = unit_class
    # A cast: each version's TypedDict names keys the other lacks.
    return cast(StatisticMetaData, metadata)
