"""Hourly rows held by column (push/history_series.py): read like a tuple of rows, nothing for the
garbage collector to follow per hour (issue #19: full collections stopped the event loop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import gc

import pytest

from custom_components.ekm.aioekm.push.history import hourly_statistics
from custom_components.ekm.aioekm.push.history_series import HourlyMean, HourlyMeans, HourlySum, HourlySums
from custom_components.ekm.aioekm.push.summary import FieldStats, SummaryRow

START = datetime(2026, 11, 24, tzinfo=UTC)
HOURS = [START + timedelta(hours=n) for n in range(3)]


def sums() -> HourlySums:
    return HourlySums(HOURS, [10.0, 11.5, 12.0], [0.0, 1.5, 2.0])


def test_read_like_a_tuple_of_rows() -> None:
    series = sums()
    rows = (HourlySum(HOURS[0], 10.0, 0.0), HourlySum(HOURS[1], 11.5, 1.5), HourlySum(HOURS[2], 12.0, 2.0))
    assert len(series) == 3
    assert series[0] == rows[0]
    assert series[-1].sum == 2.0
    assert tuple(series) == rows
    assert series == rows == series  # either side
    assert series == list(rows)
    assert series[1:] == rows[1:]
    assert isinstance(series[1:], HourlySums)
    assert list(series[1:].states) == [11.5, 12.0]
    assert series != rows[:2]
    assert series != HourlySums(HOURS, [10.0, 11.5, 12.0], [0.0, 1.5, 2.5])
    assert series != "abc"
    assert (series == 3) is False
    assert list(series.starts) == HOURS
    assert repr(series).startswith("HourlySums([HourlySum(start=datetime.datetime(2026, 11, 24, 0, 0")
    with pytest.raises(TypeError):
        hash(series)
    with pytest.raises(IndexError):
        series[3]


def test_columns_of_one_length() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        HourlySums(HOURS, [10.0, 11.5], [0.0, 1.5, 2.0])
    assert len(HourlySums((), (), ())) == 0


def test_means_by_column() -> None:
    means = HourlyMeans(HOURS[:1], [500.0], [400.0], [600.0])
    assert means == [HourlyMean(HOURS[0], 500.0, 400.0, 600.0)]
    assert means[0].max == 600.0


def test_nothing_per_hour_for_the_collector() -> None:
    """A NamedTuple row is tracked for good (only exact tuples are untracked): a year of them
    filled the collector's oldest generation. A series holds a tuple of datetimes (untracked once
    collected) and float arrays (never tracked)."""
    rows = [
        SummaryRow(
            meter="000300000001",
            start=START + timedelta(minutes=15 * n),
            end=START + timedelta(minutes=15 * (n + 1)),
            stats={"kWh_Tot": FieldStats(min=100.0 + n, max=100.5 + n)},
        )
        for n in range(4 * 48)
    ]
    statistics = hourly_statistics(rows)
    series = statistics.sums["kWh_Tot"]
    assert len(series) == 48
    first = series[:1]
    gc.collect()
    assert not gc.is_tracked(series.starts)
    assert tracked_within(series) == tracked_within(first) <= 4  # the series, its columns' holder, arrays
    assert series[-1] == HourlySum(START + timedelta(hours=47), 291.5, 191.5)


def tracked_within(root: object) -> int:
    """Objects the collector follows, reachable from `root` (itself included)."""
    seen: set[int] = set()
    stack = [root]
    count = 0
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, type):
            continue
        seen.add(id(node))
        count += gc.is_tracked(node)
        stack.extend(gc.get_referents(node))
    return count
