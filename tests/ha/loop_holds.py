"""Steps of the event loop that held it, measured in the CPU time they used.

asyncio's debug mode reports a step by its wall time, and on a busy machine (parallel test
workers, other processes) a step of 10 ms can take half a second of wall time while the core
serves someone else. The CPU time a step used in the loop's thread is what it cost the loop;
a blocking wait (sleep, file or socket I/O) uses none and is the job of Home Assistant's
blocking-call detector, which the tests keep on.
"""

from __future__ import annotations

import asyncio
from asyncio import events
from collections.abc import Callable
import gc
import time
from types import TracebackType
from typing import Any


def describe(handle: events.Handle) -> str:
    """The task a step belongs to (its coroutine names the code), else the callback."""
    owner = getattr(handle._callback, "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)


class LoopHolds:
    """While entered, every step of every event loop in this thread that used more CPU time than
    `threshold`, minus the longest garbage collection (a collection late in a long run costs
    what the objects of every earlier test cost, not what the step did)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.steps: list[tuple[float, str]] = []  # (CPU seconds, what ran)
        self.longest_collection = 0.0
        self._collection_started = 0.0
        self._original: Callable[[events.Handle], None] | None = None

    def __enter__(self) -> LoopHolds:
        original = events.Handle._run
        self._original = original
        steps = self.steps
        threshold = self.threshold

        def run(handle: events.Handle) -> None:
            started = time.thread_time()
            original(handle)
            used = time.thread_time() - started
            if used > threshold:
                steps.append((used, describe(handle)))

        events.Handle._run = run  # type: ignore[method-assign]
        gc.callbacks.append(self._collection)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        gc.callbacks.remove(self._collection)
        if self._original is not None:
            events.Handle._run = self._original  # type: ignore[method-assign]

    def _collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collection_started = time.thread_time()
        else:
            spent = time.thread_time() - self._collection_started
            self.longest_collection = max(self.longest_collection, spent)

    def held(self, *, not_of: str = "") -> list[str]:
        """The steps over the threshold once the longest collection is forgiven, except those
        whose description contains `not_of` (the test function's own task: between two awaits
        it runs test code, e.g. a snapshot comparison, not the integration)."""
        return [
            f"{what} used {used:.3f} s of CPU"
            for used, what in self.steps
            if used - self.longest_collection > self.threshold and not (not_of and not_of in what)
        ]
