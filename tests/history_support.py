"""What both halves of the history tests share (tests/aioekm/cloud/test_history.py, the library's
import; tests/ha/test_history.py, the statistics in Home Assistant): the truth they compare with."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.ekm.aioekm.simulator.fleet import Fleet, VirtualMeter

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
