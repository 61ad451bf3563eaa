"""What both halves of the history tests share (tests/aioekm/cloud/test_history.py, the library's
import; tests/ha/test_history.py, the statistics in Home Assistant): the truth they compare with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
import pytest

from custom_components.ekm.aioekm.push.dates import parse_api_time
from custom_components.ekm.aioekm.push.summary import Report
from custom_components.ekm.aioekm.readings import normalize_address
from custom_components.ekm.aioekm.simulator.fleet import Fleet, VirtualMeter
from custom_components.ekm.aioekm.simulator.push import Fault
from custom_components.ekm.aioekm.simulator.push.access import ApiError
from custom_components.ekm.aioekm.simulator.push.summary import answer_rows

V4 = "000300000001"  # the v4 meter of both fleets


def register(meter: VirtualMeter, name: str, when: datetime) -> float:
    """A register as the simulated meter shows it at `when` (closed form, no HTTP)."""
    values = meter.values(when.timestamp())
    total, reverse = values["kWh_Tot"], values["Rev_kWh_Tot"]
    assert isinstance(total, float) and isinstance(reverse, float)
    if name == "Fwd_kWh_Tot":
        return total - reverse
    if name == "Net_kWh_Tot":
        return total - 2 * reverse
    value = values[name]
    assert isinstance(value, (int, float))
    return float(value)


@pytest.fixture
def exporting(fleet: Fleet) -> VirtualMeter:
    """V4 with its second line exporting (solar), so export and net move too.

    Bind it in a test module: `exporting = history_support.exporting`."""
    meter = fleet.meters[V4]
    meter.lines[1].reverse = True
    return meter


class SummaryFault(Fault):
    """A fault of GET /summary alone (a `path` of "/summary" also hits Summary V2's paths)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(path="/summary", **kw)

    def matches(self, request: web.Request) -> bool:
        return request.path == "/summary" and super().matches(request)


class Tampered(SummaryFault):
    """A faulty cloud: GET /summary answers its real rows, but those starting in [t, t + span) get
    `changes[t]` (e.g. {"kWh_Tot_Last": -5.0}) instead of what the meter showed."""

    def __init__(
        self,
        fleet: Fleet,
        changes: Mapping[datetime, Mapping[str, Any]],
        span: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__(times=None)
        self.fleet = fleet
        self.changes = changes
        self.span = span
        self.query: Mapping[str, str] = {}

    @property
    def replaces_answer(self) -> bool:
        return True

    def matches(self, request: web.Request) -> bool:
        self.query = request.query  # kept for response(), which is called next
        return super().matches(request)

    def response(self) -> web.Response:
        q = self.query
        meter = self.fleet.meters[normalize_address(q["meters"])]
        start, end = parse_api_time(q["start_date"], UTC), parse_api_time(q["end_date"], UTC)
        wanted = q["fields"].split("~") if q.get("fields") else None
        offset, limit = int(q.get("offset") or 0), int(q.get("limit") or 1000)
        try:
            rows = answer_rows(
                [meter],
                Report(q["report"]),
                start,
                end,
                zone=UTC,
                wanted=wanted,
                now=self.fleet.clock(),
                offset=offset,
                limit=limit,
            )
        except ApiError as err:
            return err.response()
        for row in rows:
            row_start = datetime.fromtimestamp(row["Start_Time_Stamp_UTC_ms"] / 1000, UTC)
            for at, values in self.changes.items():
                if at <= row_start < at + self.span:
                    row.update(values)
        return web.json_response(rows)
