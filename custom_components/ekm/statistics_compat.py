"""What the history and month-table importers share about long-term statistics, suited to
every Home Assistant version we support: metadata, and the last row of a statistic.

StatisticMetaData gained `unit_class` after 2025.4 (newer versions report its absence as
deprecated use); `mean_type` exists in all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from homeassistant.components.recorder.db_schema import Statistics
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    get_last_statistics,
    get_metadata,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance, session_scope
from homeassistant.util import dt as dt_util
from sqlalchemy import func, select

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


async def async_last_row(hass: HomeAssistant, statistic_id: str) -> Mapping[str, Any] | None:
    """The newest row of a sum statistic (its start, state and sum), None before the first."""
    found = await get_instance(hass).async_add_executor_job(
        get_last_statistics, hass, 1, statistic_id, False, {"state", "sum"}
    )
    rows = found.get(statistic_id)
    return rows[0] if rows else None


async def async_rows_before(
    hass: HomeAssistant, statistic_ids: Collection[str], start: datetime
) -> dict[str, Mapping[str, Any]]:
    """The last row (start, state, sum) before `start` of each sum statistic that has one.

    Hours that added nothing have no row, so the last row may be old: the last month is
    searched first, then all the rest for the statistics not found there.
    """
    found: dict[str, Mapping[str, Any]] = {}
    for since in (start - timedelta(days=31), datetime(2000, 1, 1, tzinfo=UTC)):
        wanted = set(statistic_ids) - set(found)
        if not wanted:
            break
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, since, start, wanted, "hour", None, {"state", "sum"}
        )
        found.update((sid, found_rows[-1]) for sid, found_rows in rows.items() if found_rows)
    return found


async def async_units(hass: HomeAssistant, statistic_ids: Collection[str]) -> dict[str, str | None]:
    """The stored unit of each of these statistics that exists."""
    found = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=set(statistic_ids))
    )
    return {sid: metadata["unit_of_measurement"] for sid, (_, metadata) in found.items()}


async def async_first_hour(hass: HomeAssistant, statistic_ids: Collection[str]) -> datetime | None:
    """The start of the oldest hourly row of any of these statistics; None without rows.

    One query of the smallest start: reading the rows to find it would read them all.
    """

    def first() -> float | None:
        found = get_metadata(hass, statistic_ids=set(statistic_ids))
        ids = [metadata_id for metadata_id, _ in found.values()]
        if not ids:
            return None
        with session_scope(hass=hass, read_only=True) as session:
            query = select(func.min(Statistics.start_ts)).where(Statistics.metadata_id.in_(ids))
            start: float | None = session.execute(query).scalar()
            return start

    start = await get_instance(hass).async_add_executor_job(first)
    return None if start is None else dt_util.utc_from_timestamp(start)
