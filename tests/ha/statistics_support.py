"""What the tests of long-term statistics share: the recorder set up before the integration, and
the rows it stored read back.

Bind the fixture in a test module:
`auto_enable_custom_integrations = statistics_support.auto_enable_custom_integrations`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder before hass (phcc's rule), then the integration (conftest's fixture of this name)."""


async def rows_of(
    hass: HomeAssistant, sid: str, period: str = "hour", types: set[Any] | None = None
) -> list[dict[str, Any]]:
    """Every row of one statistic, per `period`, oldest first (state and sum unless `types` says)."""
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2020, 1, 1, tzinfo=UTC),
        None,
        {sid},
        period,
        None,
        types or {"state", "sum"},
    )
    return [dict(row) for row in found.get(sid, [])]


def start_of(row: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(row["start"], UTC)
