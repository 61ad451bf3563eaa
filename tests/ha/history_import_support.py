"""What the tests of the cloud history import in Home Assistant share: one clock for the fake
server and the importer, an entry that imports, the import_history action, the truth to compare with.

Bind the fixture in a test module: `now = history_import_support.now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.ekm import history, history_derived
from custom_components.ekm.aioekm.simulator import ManualClock
from custom_components.ekm.aioekm.simulator.fleet import EPOCH, VirtualMeter
from custom_components.ekm.aioekm.simulator.push import PushServer
from custom_components.ekm.const import CONF_HISTORY_DAYS, CONF_METERS, DOMAIN

from ..history_support import register
from . import push_support
from .statistics_support import start_of

HOUR = timedelta(hours=1)
FIRST = datetime.fromtimestamp(EPOCH, UTC)  # the fleet's first report
NY = ZoneInfo("America/New_York")


class Clock:
    """One 'now' for the fake server's fleet and the importer."""

    def __init__(self, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
        self._clock = clock
        monkeypatch.setattr(history, "utcnow", self.now)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.t, UTC)

    def set(self, when: datetime) -> None:
        self._clock.t = when.timestamp()


@pytest.fixture
def now(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    # Windows of 23 hours (hourly rows, two spare): the fake server, in the test's event loop,
    # renders a page quickly, and a few days take several windows.
    monkeypatch.setattr(history, "page_rows", 25)
    result = Clock(clock, monkeypatch)
    result.set(FIRST + timedelta(days=4, minutes=40))
    return result


def add_entry(
    hass: HomeAssistant,
    server: PushServer,
    days: int = 365,
    meters: list[str] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
) -> MockConfigEntry:
    """A cloud entry that imports `days` of history, with more `options` (prices) and pulse
    `inputs` (the data of pulse_input subentries), not set up yet."""
    entry = push_support.add_cloud_entry(hass, server, **({CONF_METERS: meters} if meters else {}))
    options = {**entry.options, CONF_HISTORY_DAYS: days, **(options or {})}
    hass.config_entries.async_update_entry(entry, options=options)
    for data in inputs:
        subentry = ConfigSubentry(
            data=MappingProxyType(dict(data)),
            subentry_type="pulse_input",
            title=str(data["measures"]).capitalize(),
            unique_id=f"{data['meter']}_{data['input']}",
        )
        hass.config_entries.async_add_subentry(entry, subentry)
    return entry


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the entry and let its history import finish, written to the database."""
    await push_support.set_up(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def imported_entry(
    hass: HomeAssistant,
    server: PushServer,
    days: int = 365,
    meters: list[str] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
) -> MockConfigEntry:
    """A cloud entry that imports `days` of history (of `meters`, if given), set up: its import done."""
    entry = add_entry(hass, server, days, meters, options=options, inputs=inputs)
    await set_up(hass, entry)
    return entry


async def import_history(hass: HomeAssistant, entry_id: str, start: str, end: str) -> Any:
    """The import_history action for `entry_id`, from `start` to `end` (ISO 8601): its response."""
    return await hass.services.async_call(
        DOMAIN,
        "import_history",
        {"config_entry_id": entry_id, "start": start, "end": end},
        blocking=True,
        return_response=True,
    )


async def unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def sid(address: str, key: str) -> str:
    return f"{DOMAIN}:{address}_{key}"


def assert_follows(
    rows: list[dict[str, Any]], meter: VirtualMeter, name: str, first_sum: float = 0.0
) -> None:
    """Hour by hour: a row's state is the register at the hour's end and its sum advanced by what the
    register advanced in that hour; in the hours without a row the register did not move."""
    previous, previous_end = first_sum, None
    for row in rows:
        start = start_of(row)
        if previous_end is not None:
            for hour in hours(previous_end, start - HOUR):
                assert register(meter, name, hour + HOUR) == register(meter, name, hour), (name, hour)
        before, after = register(meter, name, start), register(meter, name, start + HOUR)
        assert row["state"] == pytest.approx(after, abs=1e-6), (name, start)
        assert row["sum"] - previous == pytest.approx(after - before, abs=1e-6), (name, start)
        previous, previous_end = row["sum"], start + HOUR


def hours(first: datetime, last: datetime) -> list[datetime]:
    return [first + i * HOUR for i in range(int((last - first) / HOUR) + 1)]


@pytest.fixture(params=[history_derived.READ, timedelta(hours=5)], ids=["a month a read", "5 hours a read"])
def derived_reads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The derived statistics read their sources a month at a time (a back-fill of days: one
    read), or 5 hours at a time: their sums carry from one read to the next."""
    monkeypatch.setattr(history_derived, "READ", request.param)
