"""Push JSON (cloud Realtime and Push3 local) into the same MeterReading as RS-485.

Values arrive as strings or numbers; each is parsed by its field's Kind from the
field table. Keys the table does not know are kept in `MeterReading.extra`, a
value that cannot be parsed is kept there too (never guessed, never lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import math
import re
from typing import Any

from ..errors import MalformedResponseError
from ..fields import FIELDS, Field, Kind
from ..readings import (
    FieldValue,
    MeterReading,
    Protocol,
    format_cos_theta,
    make_reading,
    normalize_address,
    parse_cos_theta,
    protocol_of_model,
)
from .dates import datetime_of_ms, epoch_ms

# Keys of a read that describe it rather than measure: consumed, not kept in extra.
READ_KEYS = frozenset({"Good", "Date", "Time", "Time_Stamp_UTC_ms", "Model", "Firmware", "Meter_Address"})
# Keys of a ReadSet consumed by the mapping; its other keys go to each reading's extra.
READSET_KEYS = frozenset({"Meter", "Protocol", "ReadData"})
_METER_TIME = re.compile(r"[0-9]{14}")  # yymmddwwhhmmss
# Derived fields we compute ourselves (their cloud encoding is not documented).
_RECOMPUTED = frozenset(f"Power_Factor_Ln_{n}" for n in (1, 2, 3))
# No register holds more than 2**53 (every value stays exact as a float and an int).
_MAX_EXACT = 2**53


@dataclass(frozen=True, slots=True)
class RealtimeResult:
    """The newest good reading per meter from one poll, and what was skipped."""

    readings: dict[str, MeterReading] = field(default_factory=dict)
    bad_reads: int = 0  # reads with Good: 0, skipped
    missing: tuple[str, ...] = ()  # meters asked for (or listed) without a good read
    requests: int = 0  # HTTP requests the poll took
    bad_values: int = 0  # values that could not be parsed (kept in extra)


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("boolean is not a number")
    if isinstance(raw, int) and abs(raw) > _MAX_EXACT:
        raise ValueError("too large a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        value = float(raw)  # float() itself ignores surrounding whitespace
    else:
        raise ValueError(f"not a number: {type(raw).__name__}")

    if not math.isfinite(value) or abs(value) > _MAX_EXACT:
        raise ValueError("not a finite number a meter can show")
    return value


def parse_value(fld: Field, raw: Any) -> FieldValue:
    """A JSON value as the reading keeps field `fld`; ValueError if it does not fit."""
    kind = fld.kind
    if kind in (Kind.KWH, Kind.DECIMAL):
        return _number(raw)
    if kind in (Kind.INT, Kind.DERIVED):
        number = _number(raw)
        if not number.is_integer():
            raise ValueError(f"{fld.name} is not a whole number")
        return int(number)
    if kind is Kind.COS_THETA:
        if not isinstance(raw, str) or len(raw) > 12:  # '0.83 L' or 'L083'; longer is not one
            raise ValueError(f"{fld.name} is not a power factor")
        return format_cos_theta(parse_cos_theta(raw))
    if kind is Kind.TIME:
        text = f"{raw:014d}" if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if isinstance(text, str) and _METER_TIME.fullmatch(text.strip()):
            return text.strip()
        raise ValueError(f"{fld.name} is not a yymmddwwhhmmss time")
    # CODE: short text; numbers sent for codes become their text.
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError(f"{fld.name} is not a code")
    return str(raw).strip()


def is_good(read: Mapping[str, Any]) -> bool:
    """False for reads flagged `Good: 0` (any spelling); reads without the flag count as good."""
    flag = read.get("Good", 1)
    if isinstance(flag, str):
        return flag.strip().lower() not in ("0", "false", "no", "")
    return bool(flag)


def timestamp_ms(read: Mapping[str, Any]) -> int | None:
    """Time_Stamp_UTC_ms as an int, None if missing, unreadable or out of range."""
    return epoch_ms(read.get("Time_Stamp_UTC_ms"))


def newest_good(reads: Iterable[Any]) -> tuple[Mapping[str, Any] | None, int]:
    """(the good read with the greatest Time_Stamp_UTC_ms, how many bad reads were skipped)."""
    best: Mapping[str, Any] | None = None
    best_ms = -1
    bad = 0
    for read in reads:
        if not isinstance(read, Mapping):
            bad += 1
            continue
        if not is_good(read):
            bad += 1
            continue
        ms = timestamp_ms(read)
        stamp = ms if ms is not None else -1
        if best is None or stamp > best_ms:
            best, best_ms = read, stamp
    return best, bad


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
) -> tuple[MeterReading, int]:
    """One JSON read into a MeterReading, and how many values could not be parsed.

    `context` holds ReadSet keys (MAC_Addr, Interval ...) kept in extra.
    """
    model = _text(read.get("Model"))
    firmware = _text(read.get("Firmware"))
    values: dict[str, FieldValue] = {}
    extra: dict[str, Any] = {k: v for k, v in (context or {}).items() if k not in READSET_KEYS}
    bad = 0
    for name, raw in read.items():
        if name in READ_KEYS:
            continue
        fld = FIELDS.get(name)
        if fld is None or name in _RECOMPUTED or raw is None:
            extra[name] = raw
            continue
        try:
            values[name] = parse_value(fld, raw)
        except ValueError:
            extra[name] = raw
            bad += 1
    stamp = datetime_of_ms(read.get("Time_Stamp_UTC_ms"))
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


def meter_address(raw: Any, what: str) -> str:
    """A meter number from an answer as 12 digits; MalformedResponseError unless 1-12 ASCII digits."""
    text = _text(raw)
    if not text.isascii():  # '²' is a digit to str.isdigit(), not to a meter
        raise MalformedResponseError(f"{what}: meter number {text[:20]!r} is not an address")
    try:
        return normalize_address(text)
    except ValueError:
        raise MalformedResponseError(f"{what}: meter number {text[:20]!r} is not an address") from None


def realtime_result(payload: Any, requested: Sequence[str] = (), *, requests: int = 0) -> RealtimeResult:
    """The cloud `readMeter` answer `{"readMeter": {"ReadSet": [...]}}` into readings."""
    what = "readMeter"
    body = payload.get("readMeter", payload.get("readmeter")) if isinstance(payload, Mapping) else None
    if not isinstance(body, Mapping):
        raise MalformedResponseError(f"{what}: answer has no readMeter object")
    readsets = body.get("ReadSet", [])
    if not isinstance(readsets, list):
        raise MalformedResponseError(f"{what}: ReadSet is not a list")
    readings: dict[str, MeterReading] = {}
    bad_reads = bad_values = 0
    for readset in readsets:
        if not isinstance(readset, Mapping):
            raise MalformedResponseError(f"{what}: a ReadSet entry is not an object")
        address = meter_address(readset.get("Meter"), what)
        reads = readset.get("ReadData") or []
        if not isinstance(reads, list):
            raise MalformedResponseError(f"{what}: ReadData of {address} is not a list")
        read, bad = newest_good(reads)
        bad_reads += bad
        if read is None:
            continue
        reading, bad = map_read(address, read, declared_protocol=readset.get("Protocol"), context=readset)
        bad_values += bad
        previous = readings.get(address)
        if previous is None or _newer(reading, previous):
            readings[address] = reading
    return _result(readings, requested, bad_reads, bad_values, requests)


def push3_result(payload: Any, requested: Sequence[str] = (), *, requests: int = 0) -> RealtimeResult:
    """The Push3 local `readMeter` answer `{"<address>": [reads]}` into readings."""
    what = "Push3 readMeter"
    if not isinstance(payload, Mapping):
        raise MalformedResponseError(f"{what}: answer is not an object keyed by meter")
    readings: dict[str, MeterReading] = {}
    bad_reads = bad_values = 0
    for key, sent in payload.items():
        address = meter_address(key, what)
        reads = [sent] if isinstance(sent, Mapping) else sent  # tolerate a single read
        if not isinstance(reads, list):
            raise MalformedResponseError(f"{what}: reads of {address} are not a list")
        read, bad = newest_good(reads)
        bad_reads += bad
        if read is None:
            continue
        reading, bad = map_read(address, read)
        bad_values += bad
        readings[address] = reading
    return _result(readings, requested, bad_reads, bad_values, requests)


def _newer(a: MeterReading, b: MeterReading) -> bool:
    if a.timestamp is None:
        return False
    return b.timestamp is None or a.timestamp > b.timestamp


def _result(
    readings: dict[str, MeterReading],
    requested: Sequence[str],
    bad_reads: int,
    bad_values: int,
    requests: int,
) -> RealtimeResult:
    """The result; with meters `requested`, readings of any other meter are dropped."""
    wanted = dict.fromkeys(normalize_address(a) for a in requested)
    if wanted:
        readings = {a: r for a, r in readings.items() if a in wanted}
    missing = tuple(a for a in wanted if a not in readings)
    return RealtimeResult(readings, bad_reads, missing, requests, bad_values)


def merge_results(parts: Iterable[RealtimeResult], requested: Sequence[str]) -> RealtimeResult:
    """One result from the batches of a poll."""
    readings: dict[str, MeterReading] = {}
    bad_reads = bad_values = requests = 0
    for part in parts:
        for address, reading in part.readings.items():
            previous = readings.get(address)
            if previous is None or _newer(reading, previous):
                readings[address] = reading
        bad_reads += part.bad_reads
        bad_values += part.bad_values
        requests += part.requests
    return _result(readings, requested, bad_reads, bad_values, requests)
