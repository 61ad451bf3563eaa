"""The slow-callback check of conftest judges the integration, not the test's own code."""

from __future__ import annotations

import gc
import logging

from .conftest import _GcPauses, _slow_callback

OWN = "coro=<test_entities()"


def _record(message: str, name: str = "asyncio") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)


def test_the_tests_own_task_is_not_judged() -> None:
    """A snapshot comparison in the test function holds the loop; that is not the integration."""
    record = _record(
        "Executing <Task finished name='Task-29' coro=<test_entities() done, defined at "
        "/repo/tests/ha/test_sensor.py:28> result=None> took 2.418 seconds"
    )
    assert _slow_callback(record, OWN) == 0.0


def test_other_tasks_are_judged() -> None:
    refresh = _record(
        "Executing <Task pending name='ekm refresh' coro=<DataUpdateCoordinator._async_refresh() "
        "running at /ha/helpers/update_coordinator.py:300>> took 0.750 seconds"
    )
    assert _slow_callback(refresh, OWN) == 0.75
    fixture = _record(
        "Executing <Task pending coro=<loaded_entry() running at conftest.py:171>> took 1.2 seconds"
    )
    assert _slow_callback(fixture, OWN) == 1.2
    assert _slow_callback(_record("took 3.0 seconds", name="custom_components.ekm"), OWN) == 0.0


def test_a_garbage_collection_pause_is_measured() -> None:
    """The check forgives what the collector took, and only that: it must see the pause."""
    pauses = _GcPauses()
    garbage = [[i] for i in range(200_000)]
    gc.callbacks.append(pauses)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(pauses)
    del garbage
    assert 0.0 < pauses.longest < 5.0
