"""Realtime polls of many meters: `~`-joined batches, read side by side, refused meters set apart.

One `readMeter` request names as many meters as the URL length and the meter cap
allow. EKM answers a whole request with 1200 (unknown meter) or 1000-1003 (no
data) when one of its meters is at fault; those meters are set apart and the
others asked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
import re

from ..errors import NoDataError, PushApiError, UnknownMeterError
from ..readings import normalize_address
from .errors import server_text
from .mapping import MeterProblem, RealtimeResult, Unavailable

# The meters an EKM message names: "Found invalid meter: 300000001 for key: ..." (1200),
# "There is not data for: 300000001,300000002 This meter first reported on: ..." (1000-1003).
_NAMED_METERS = re.compile(r"(?:invalid meter|data for):\s*([0-9][0-9~, ]*)", re.IGNORECASE)


def plan(addresses: Sequence[str], base_length: int, *, max_meters: int, max_length: int) -> list[list[str]]:
    """Split meters into as few `~`-joined batches as the URL length and the meter cap allow.

    `base_length` is the length of the request's URL with an empty meter list.
    """
    batches: list[list[str]] = []
    current: list[str] = []
    length = base_length
    for address in addresses:
        extra = len(address) + (1 if current else 0)
        if current and (len(current) >= max_meters or length + extra > max_length):
            batches.append(current)
            current, length, extra = [], base_length, len(address)
        current.append(address)
        length += extra
    if current:
        batches.append(current)
    return batches


def set_apart(batch: list[str], err: PushApiError, problems: dict[str, MeterProblem]) -> list[list[str]]:
    """Record the meters of `batch` that `err` is about; return what is left to ask again.

    EKM answers a whole request with 1200 or 1000-1003; the meters its message names
    are set apart, and a batch whose culprits are not named is halved until they are.
    """
    reason = Unavailable.UNKNOWN_METER if isinstance(err, UnknownMeterError) else Unavailable.NO_DATA
    problem = MeterProblem(reason, err.code, server_text(err))
    match = _NAMED_METERS.search(str(err))
    named = {n.lstrip("0") or "0" for n in re.split(r"[~, ]+", match.group(1)) if n} if match else set()
    culprits = [a for a in batch if a in named] or (batch if len(batch) == 1 else [])
    for address in culprits:
        problems[normalize_address(address)] = problem
    rest = [a for a in batch if a not in culprits]
    if not culprits:
        half = len(rest) // 2
        return [rest[:half], rest[half:]]
    return [rest] if rest else []


async def read_batches(
    batches: Iterable[list[str]],
    read: Callable[[list[str]], Awaitable[RealtimeResult]],
    problems: dict[str, MeterProblem],
    *,
    max_concurrency: int,
) -> list[RealtimeResult]:
    """The results of `read` for every batch, at most `max_concurrency` requests at a time.

    A batch EKM refuses for some of its meters (1200, 1000-1003) has them recorded
    in `problems` and the rest asked again; any other error fails the poll.
    """
    gate = asyncio.Semaphore(max_concurrency)

    async def fetch(batch: list[str]) -> list[RealtimeResult]:
        parts: list[RealtimeResult] = []
        pending = [batch]
        while pending:
            part = pending.pop()
            if not part:  # an empty `meters` would ask for every meter of the key
                continue
            try:
                async with gate:
                    parts.append(await read(part))
            except (UnknownMeterError, NoDataError) as err:
                parts.append(RealtimeResult(requests=1))
                pending.extend(set_apart(part, err, problems))
        return parts

    outcomes = await asyncio.gather(*(fetch(b) for b in batches), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [p for o in outcomes if isinstance(o, list) for p in o]
