"""Push JSON (cloud Realtime and Push3 local) into the same MeterReading as RS-485.

Values arrive as strings or numbers; each is parsed by its field's Kind from the
field table. Keys the table does not know are kept in `MeterReading.extra`, a
value that cannot be parsed is kept there too (never guessed, never lost).
A read that holds a physically impossible value (bounds.py), or that is stamped
ahead of our clock, is refused whole: the meter's next-newest read is used.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
import logging
from operator import itemgetter
import time
from typing import Any

from ..bounds import MAX_CLOCK_AHEAD_S, implausible
from ..errors import MalformedResponseError
from ..readings import (
    FieldValue,
    MeterReading,
    Protocol,
    format_cos_theta,
    make_reading,
    normalize_address,
    protocol_of_model,
)
from .dates import epoch_ms
from .values import PARSERS as _PARSERS, legacy_power_factor, parse_value

__all__ = ["legacy_power_factor", "parse_value"]  # kept importable from here too

_LOGGER = logging.getLogger(__package__)

# Keys of a read that describe it rather than measure: consumed, not kept in extra.
READ_KEYS = frozenset({"Good", "Date", "Time", "Time_Stamp_UTC_ms", "Model", "Firmware", "Meter_Address"})
# Keys of a ReadSet consumed by the mapping; its other keys go to each reading's extra.
READSET_KEYS = frozenset({"Meter", "Protocol", "ReadData"})
# Derived fields we compute ourselves (their cloud encoding is not documented).
_RECOMPUTED = frozenset(f"Power_Factor_Ln_{n}" for n in (1, 2, 3))


class Unavailable(StrEnum):
    """Why a meter of a poll has no reading (the other meters are not affected)."""

    NO_DATA = "no_data"  # EKM 1000-1099 for this meter, or its ReadSet had no reads
    BAD_READS = "bad_reads"  # only reads flagged Good: 0
    UNKNOWN_METER = "unknown_meter"  # EKM 1200: not (or no longer) one of the key's meters
    NOT_ANSWERED = "not_answered"  # asked for, but the answer does not mention it


@dataclass(frozen=True, slots=True)
class MeterProblem:
    """Why one meter has no reading in a poll."""

    reason: Unavailable
    code: int | None = None  # EKM status code, when the server gave one (1000-1003, 1200)
    message: str | None = None  # the server's text, secrets masked


@dataclass(frozen=True, slots=True)
class RealtimeResult:
    """The newest good reading per meter from one poll, and why the others have none.

    Every meter asked for is in exactly one of `readings` and `problems`; `missing`
    lists the meters of `problems` (in the order asked).
    """

    readings: dict[str, MeterReading] = field(default_factory=dict)
    # Reads skipped: flagged Good: 0, stamped ahead of our clock, or physically impossible.
    bad_reads: int = 0
    missing: tuple[str, ...] = ()  # meters asked for (or listed) without a good read
    requests: int = 0  # HTTP requests the poll took
    bad_values: int = 0  # values that could not be parsed (kept in extra)
    problems: dict[str, MeterProblem] = field(default_factory=dict)


# What the derived fields are computed from: mapping only some fields keeps these too.
_DERIVED_INPUTS: dict[str, tuple[str, ...]] = {
    "Fwd_kWh_Tot": ("kWh_Tot", "Rev_kWh_Tot"),
    "Net_kWh_Tot": ("kWh_Tot", "Rev_kWh_Tot"),
    "Net_Calc_Watts_Tot": (
        "RMS_Watts_Ln_1",
        "RMS_Watts_Ln_2",
        "RMS_Watts_Ln_3",
        "State_Watts_Dir",
        "RMS_Watts_Tot",
    ),
    **{
        f"Net_Calc_Watts_Ln_{n}": (f"RMS_Watts_Ln_{n}", "State_Watts_Dir", "RMS_Watts_Tot") for n in (1, 2, 3)
    },
    **{f"Power_Factor_Ln_{n}": (f"Cos_Theta_Ln_{n}",) for n in (1, 2, 3)},
}


def with_inputs(fields: Iterable[str]) -> frozenset[str]:
    """`fields` and what their derived values are computed from (for `map_read(only=...)`)."""
    wanted = set(fields)
    for name in list(wanted):
        wanted.update(_DERIVED_INPUTS.get(name, ()))
    return frozenset(wanted)


@lru_cache(maxsize=16)
def _plan(only: frozenset[str]) -> tuple[tuple[str, Callable[[Any], FieldValue] | None], ...]:
    """(name, parser) of the fields to map, in a stable order; no parser for what is kept as sent."""
    return tuple(
        (name, None if name in _RECOMPUTED or name in READ_KEYS else _PARSERS.get(name))
        for name in sorted(only)
    )


def is_good(read: Mapping[str, Any]) -> bool:
    """False for reads flagged `Good: 0` (any spelling); reads without the flag count as good."""
    flag = read.get("Good", 1)
    if isinstance(flag, str):
        return flag.strip().lower() not in ("0", "false", "no", "")
    return bool(flag)


def timestamp_ms(read: Mapping[str, Any]) -> int | None:
    """Time_Stamp_UTC_ms as an int, None if missing, unreadable or out of range."""
    raw = read.get("Time_Stamp_UTC_ms")
    if isinstance(raw, str) and (not raw.isascii() or "_" in raw):
        return None
    return epoch_ms(raw)


@dataclass(frozen=True, slots=True)
class GoodReads:
    """A meter's reads sorted out: the good ones newest first, and how many were set apart."""

    newest_first: list[Mapping[str, Any]]
    bad: int  # flagged Good: 0, or not a read at all
    ahead: int  # stamped later than our clock allows: a read from the future never wins


def good_reads(reads: Iterable[Any], now_ms: float) -> GoodReads:
    """The good reads of one meter, newest Time_Stamp_UTC_ms first (unstamped ones last).

    A read stamped more than MAX_CLOCK_AHEAD_S after `now_ms` is set apart, not kept:
    a year-9999 stamp would otherwise beat every real read.
    """
    latest = now_ms + MAX_CLOCK_AHEAD_S * 1000
    stamped: list[tuple[int, Mapping[str, Any]]] = []
    bad = ahead = 0
    for read in reads:
        if not isinstance(read, Mapping) or not is_good(read):
            bad += 1
            continue
        ms = timestamp_ms(read)
        if ms is not None and ms > latest:
            ahead += 1
            continue
        stamped.append((-1 if ms is None else ms, read))
    stamped.sort(key=itemgetter(0), reverse=True)  # stable: equal stamps keep the answer's order
    return GoodReads([read for _, read in stamped], bad, ahead)


def protocol_for(declared: Any, model: str) -> Protocol:
    """The ReadSet's Protocol ('v3', 'v4', 'v5' speaks v4) or else the model's."""
    if isinstance(declared, str):
        text = declared.strip().lower()
        if text == "v3":
            return Protocol.V3
        if text in ("v4", "v5"):
            return Protocol.V4
    return protocol_of_model(model)


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or raw is None:
        return ""
    return str(raw).strip()


def map_read(
    address: str,
    read: Mapping[str, Any],
    *,
    declared_protocol: Any = None,
    context: Mapping[str, Any] | None = None,
    only: Collection[str] | None = None,
) -> tuple[MeterReading, int]:
    """One JSON read into a MeterReading, and how many values could not be parsed.

    `context` holds ReadSet keys (MAC_Addr, Interval ...) kept in extra. With `only`
    (see `with_inputs`), just those fields are mapped and the read's other keys are
    skipped, not kept in extra: the cheap path for a caller that shows a few fields.
    """
    model = _text(read.get("Model"))
    firmware = _text(read.get("Firmware"))
    values: dict[str, FieldValue] = {}
    extra: dict[str, Any] = {k: v for k, v in (context or {}).items() if k not in READSET_KEYS}
    bad = 0
    if only is None:
        for name, raw in read.items():
            parse = _PARSERS.get(name)
            if parse is None or name in _RECOMPUTED or raw is None:
                if name not in READ_KEYS:
                    extra[name] = raw
                continue
            try:
                values[name] = parse(raw)
            except ValueError:
                extra[name] = raw
                bad += 1
    else:
        # Look the few wanted names up rather than walk every key of the read.
        for name, parser in _plan(only if isinstance(only, frozenset) else frozenset(only)):
            raw = read.get(name)
            if raw is None or parser is None:
                if name in read:
                    extra[name] = raw
                continue
            try:
                values[name] = parser(raw)
            except ValueError:
                extra[name] = raw
                bad += 1
    _legacy_power_factors(read, values, only)
    ms = timestamp_ms(read)
    stamp = None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
    reading = make_reading(
        address,
        protocol_for(declared_protocol, model),
        model,
        firmware,
        values,
        timestamp=stamp,
        extra=extra,
    )
    return reading, bad


def _legacy_power_factors(
    read: Mapping[str, Any], values: dict[str, FieldValue], only: Collection[str] | None
) -> None:
    """A line the cloud sent only as a legacy Power_Factor gets its Cos_Theta from it.

    Power_Factor_Ln_N itself is then derived from that Cos_Theta, as for RS-485.
    """
    for line in (1, 2, 3):
        cos = f"Cos_Theta_Ln_{line}"
        if cos in values or (only is not None and cos not in only):
            continue
        raw = read.get(f"Power_Factor_Ln_{line}")
        if raw is None:
            continue
        try:
            values[cos] = format_cos_theta(legacy_power_factor(raw))
        except ValueError:
            continue


def meter_address(raw: Any, what: str) -> str:
    """A meter number from an answer as 12 digits; MalformedResponseError unless 1-12 ASCII digits."""
    text = _text(raw)
    if not text.isascii():  # '²' is a digit to str.isdigit(), not to a meter
        raise MalformedResponseError(f"{what}: meter number {text[:20]!r} is not an address")
    try:
        return normalize_address(text)
    except ValueError:
        raise MalformedResponseError(f"{what}: meter number {text[:20]!r} is not an address") from None


_NO_READS = MeterProblem(Unavailable.NO_DATA, message="the answer has no reads for this meter")
_ONLY_BAD = MeterProblem(Unavailable.BAD_READS, message="every read was flagged Good: 0")
_AHEAD = MeterProblem(Unavailable.BAD_READS, message="its reads are stamped ahead of this computer's clock")
_NOT_ANSWERED = MeterProblem(Unavailable.NOT_ANSWERED, message="the answer does not mention this meter")


def realtime_result(
    payload: Any,
    requested: Sequence[str] = (),
    *,
    requests: int = 0,
    only: Collection[str] | None = None,
    now: float | None = None,
) -> RealtimeResult:
    """The cloud `readMeter` answer `{"readMeter": {"ReadSet": [...]}}` into readings.

    `now` (epoch seconds, default the system clock) is what a read's stamp may not pass.
    """
    what = "readMeter"
    body = payload.get("readMeter", payload.get("readmeter")) if isinstance(payload, Mapping) else None
    if not isinstance(body, Mapping):
        raise MalformedResponseError(f"{what}: answer has no readMeter object")
    readsets = body.get("ReadSet", [])
    if not isinstance(readsets, list):
        raise MalformedResponseError(f"{what}: ReadSet is not a list")

    def meters() -> Iterator[tuple[str, Any, Mapping[str, Any] | None]]:
        for readset in readsets:
            if not isinstance(readset, Mapping):
                raise MalformedResponseError(f"{what}: a ReadSet entry is not an object")
            yield meter_address(readset.get("Meter"), what), readset.get("ReadData") or [], readset

    return _collect(what, meters(), requested, requests=requests, only=only, now=now)


def push3_result(
    payload: Any,
    requested: Sequence[str] = (),
    *,
    requests: int = 0,
    only: Collection[str] | None = None,
    now: float | None = None,
) -> RealtimeResult:
    """The Push3 local `readMeter` answer `{"<address>": [reads]}` into readings (`now`: as above)."""
    what = "Push3 readMeter"
    if not isinstance(payload, Mapping):
        raise MalformedResponseError(f"{what}: answer is not an object keyed by meter")
    meters = (
        # A single read is tolerated in place of a list.
        (meter_address(key, what), [sent] if isinstance(sent, Mapping) else sent, None)
        for key, sent in payload.items()
    )
    return _collect(what, meters, requested, requests=requests, only=only, now=now)


def _collect(
    what: str,
    meters: Iterable[tuple[str, Any, Mapping[str, Any] | None]],
    requested: Sequence[str],
    *,
    requests: int,
    only: Collection[str] | None,
    now: float | None,
) -> RealtimeResult:
    """Each meter's newest good read as a reading, from (address, reads, its ReadSet) triples.

    A meter listed twice keeps its newer reading.
    """
    now_ms = (time.time() if now is None else now) * 1000
    readings: dict[str, MeterReading] = {}
    problems: dict[str, MeterProblem] = {}
    bad_reads = bad_values = 0
    for address, reads, readset in meters:
        if not isinstance(reads, list):
            raise MalformedResponseError(f"{what}: reads of {address} are not a list")
        good = good_reads(reads, now_ms)
        bad_reads += good.bad + good.ahead
        declared = None if readset is None else readset.get("Protocol")
        reading: MeterReading | None = None
        refused: str | None = None
        for read in good.newest_first:
            mapped, bad = map_read(address, read, declared_protocol=declared, context=readset, only=only)
            # The whole read is refused: one impossible value says the rest cannot be trusted.
            v4 = mapped.protocol is Protocol.V4
            reason = implausible(mapped.values, state_inputs=v4, one_instant=False)
            if reason is None:
                reading = mapped
                bad_values += bad
                break
            _LOGGER.debug("%s: a read of %s refused: %s", what, address, reason)
            bad_reads += 1
            refused = refused or reason
        if reading is None:
            problems.setdefault(address, _refusal(good, refused))
            continue
        previous = readings.get(address)
        if previous is None or _newer(reading, previous):
            readings[address] = reading
    return _result(
        readings, problems, requested, bad_reads=bad_reads, bad_values=bad_values, requests=requests
    )


def _refusal(good: GoodReads, implausible_reason: str | None) -> MeterProblem:
    """Why a meter whose reads were all set apart has no reading."""
    if implausible_reason is not None:
        return MeterProblem(
            Unavailable.BAD_READS, message=f"no read is physically possible: {implausible_reason}"
        )
    if good.ahead:
        return _AHEAD
    return _ONLY_BAD if good.bad else _NO_READS


def _newer(a: MeterReading, b: MeterReading) -> bool:
    if a.timestamp is None:
        return False
    return b.timestamp is None or a.timestamp > b.timestamp


def _result(
    readings: dict[str, MeterReading],
    problems: dict[str, MeterProblem],
    requested: Sequence[str],
    *,
    bad_reads: int,
    bad_values: int,
    requests: int,
) -> RealtimeResult:
    """The result; with meters `requested`, readings of any other meter are dropped."""
    wanted = dict.fromkeys(normalize_address(a) for a in requested)
    if wanted:
        readings = {a: r for a, r in readings.items() if a in wanted}
        problems = {a: problems.get(a, _NOT_ANSWERED) for a in wanted if a not in readings}
    else:
        problems = {a: p for a, p in problems.items() if a not in readings}
    return RealtimeResult(readings, bad_reads, tuple(problems), requests, bad_values, problems)


def merge_results(
    parts: Iterable[RealtimeResult],
    requested: Sequence[str],
    problems: Mapping[str, MeterProblem] | None = None,
) -> RealtimeResult:
    """One result from the batches of a poll, and the problems found apart from them."""
    readings: dict[str, MeterReading] = {}
    found: dict[str, MeterProblem] = dict(problems or {})
    bad_reads = bad_values = requests = 0
    for part in parts:
        for address, reading in part.readings.items():
            previous = readings.get(address)
            if previous is None or _newer(reading, previous):
                readings[address] = reading
        for address, problem in part.problems.items():
            found.setdefault(address, problem)
        bad_reads += part.bad_reads
        bad_values += part.bad_values
        requests += part.requests
    return _result(readings, found, requested, bad_reads=bad_reads, bad_values=bad_values, requests=requests)
