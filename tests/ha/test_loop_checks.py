"""The loop-hold check of conftest judges the integration's CPU time, not the machine's load."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from .loop_holds import LoopHolds


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def _busy_step() -> None:
    _burn(0.15)


def test_a_step_that_uses_cpu_is_reported() -> None:
    with LoopHolds(0.1) as holds:
        asyncio.run(_busy_step())
    (report,) = holds.held()
    assert "coro=<_busy_step()" in report
    assert report.endswith("s of CPU")


def test_a_step_that_waits_is_not_a_hold() -> None:
    """A step that waited (another process had the core, or it slept) used no CPU: not reported
    here; a blocking sleep or read in the loop is HA's blocking-call detector's to report."""

    async def waits() -> None:
        threading.Event().wait(0.3)  # a wait HA's detector does not know: only LoopHolds judges

    with LoopHolds(0.1) as holds:
        asyncio.run(waits())
    assert holds.held() == []


def test_the_tests_own_task_is_not_judged() -> None:
    """A snapshot comparison in the test function holds the loop; that is not the integration."""
    with LoopHolds(0.1) as holds:
        asyncio.run(_busy_step())
    assert holds.held(not_of="coro=<_busy_step()") == []


def test_a_garbage_collection_is_measured() -> None:
    garbage = [[i] for i in range(300_000)]

    async def collects() -> None:
        gc.collect()

    with LoopHolds(0.0) as holds:
        asyncio.run(collects())
    del garbage
    assert 0.0 < holds.longest_collection <= max(used for used, _ in holds.steps)


def test_the_longest_collection_and_only_that_is_forgiven() -> None:
    holds = LoopHolds(0.5)
    holds.steps += [(0.9, "<Task coro=<poll()>>"), (1.2, "<Task coro=<import_history()>>")]
    holds.longest_collection = 0.6
    assert holds.held() == ["<Task coro=<import_history()>> used 1.200 s of CPU"]


def test_the_loop_is_left_as_it_was() -> None:
    run = asyncio.events.Handle._run
    with LoopHolds(0.1):
        assert asyncio.events.Handle._run is not run
    assert asyncio.events.Handle._run is run
