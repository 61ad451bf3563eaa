"""Decode a JSON answer within bounds: what it may build is sized from its text before it is built.

A few kilobytes of gzip expand to 32 MiB of `[{},{},...]`: ten million objects, about
1 GB once decoded. Before decoding, the text's brackets, commas and colons are counted
(at C speed, a slice at a time) and an answer that would hold more values, or take more
memory, than `JsonLimits` allow is refused unread. After decoding, depth, array lengths
(reads per meter, rows per page) and object sizes are checked before anyone walks them.

Loop time: a C decoder holds the GIL for a whole document, even in a worker thread. So
only documents of at most a few tens of thousands of values go to a C decoder; larger
ones are decoded by the json module's Python scanner (its strings still in C), which
lets other threads, and so the event loop, run between values. No string or number may
run longer than a quarter MiB, so no single C call is long either.

Duplicated keys: `{"000300000001": [...], "000300000001": [...]}` keeps both reads (lists
and objects of one key are gathered into one list); a scalar key given twice keeps the
last value, as JSON decoders do.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
import json
import json.scanner
import re
from typing import Any


class TooLargeError(ValueError):
    """The answer would build more than the limits allow; it was not decoded (or not kept)."""


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """What one decoded answer may hold (docs/push-api.md, "Bounded answers")."""

    items: int = 400_000  # values in all
    array: int = 10_000  # items of one array: reads of a meter, rows of a page, meters of an answer
    members: int = 10_000  # members of one object
    # Nesting. EKM's readings are at most 5 deep; a trigger comes back as sent, and the library
    # sends definitions up to trigger.MAX_JSON_DEPTH (64) deep, inside two levels of answer.
    depth: int = 72
    memory: int = 64 << 20  # estimated size of the decoded value, bytes


DEFAULT_LIMITS = JsonLimits()

# Worst cost in bytes of what a token builds (CPython 3.13, 64-bit; measured with
# benchmarks/push_answer_bounds.py): `{}` 72, `{"a":0}` 192, a unique key 95-120 (and 64 more
# while the json module holds it as a pair), a float 32-41.
_PER_CONTAINER = 80
_PER_MEMBER = 200
_PER_ITEM = 64
# Documents with at most this many values go to a C decoder: its worst case (unique keys)
# takes ~200 ns a value with orjson, ~750 ns with json and a pairs hook: ~10-20 ms of GIL.
_ORJSON_ITEMS = 50_000
_C_ITEMS = 25_000
# ... and at most this many bytes: a few values can be long strings, and one C call over 30 MiB
# of them held the GIL ~30 ms idle and ~100 ms under load; the Python scanner lets go between values.
_C_BYTES = 2 << 20
# Every full block of the text must hold a string boundary: no C call scans a longer run.
_BLOCK = 256 << 10
_SLICE = 1 << 20  # counted a slice at a time, so that no single call holds the GIL long
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _fast_loads() -> Callable[[bytes], Any] | None:
    """orjson.loads when installed (Home Assistant ships it); the library does not require it."""
    try:
        import orjson  # noqa: PLC0415
    except ImportError:
        return None
    loads: Callable[[bytes], Any] = orjson.loads
    return loads


_FAST_LOADS = _fast_loads()


def _gather(old: Any, new: Any) -> Any:
    """The value of a key given twice: reads (objects, lists) of both go on together."""
    if isinstance(old, (dict, list)) and isinstance(new, (dict, list)):
        return [*(old if isinstance(old, list) else [old]), *(new if isinstance(new, list) else [new])]
    return new


def _release(items: list[Any]) -> None:
    """Empty a long list a slice at a time: freeing it whole is one C call that holds the GIL."""
    while items:
        del items[-4096:]


def _decoders(limits: JsonLimits) -> tuple[json.JSONDecoder, json.JSONDecoder]:
    """json decoders (C scanner, Python scanner) that gather duplicated keys and refuse an object or
    array beyond `limits` as soon as its members are read, before it is built."""

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > limits.members:
            _release(pairs)
            raise TooLargeError(f"an object of the answer has more than {limits.members} members")
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        merged: dict[str, Any] = {}
        for key, value in pairs:
            merged[key] = _gather(merged[key], value) if key in merged else value
        return merged

    def parse_array(
        s_and_end: tuple[str, int], scan_once: Callable[[str, int], Any]
    ) -> tuple[list[Any], int]:
        values, end = json.decoder.JSONArray(s_and_end, scan_once)  # type: ignore[attr-defined]
        if len(values) > limits.array:
            _release(values)
            raise TooLargeError(f"an array of the answer has more than {limits.array} items")
        return values, end

    in_c = json.JSONDecoder(object_pairs_hook=pairs_hook)
    in_python = json.JSONDecoder(object_pairs_hook=pairs_hook)
    in_python.parse_array = parse_array  # type: ignore[attr-defined]
    in_python.scan_once = json.scanner.py_make_scanner(in_python)  # type: ignore[attr-defined]
    return in_c, in_python


def _count(raw: bytes, token: bytes) -> int:
    """Occurrences of `token`, counted a slice at a time (each token counted once)."""
    reach = _SLICE + len(token) - 1
    return sum(raw.count(token, start, start + reach) for start in range(0, len(raw), _SLICE))


def contains(raw: bytes, token: bytes) -> bool:
    """Whether `token` is in `raw`, searched a slice at a time (one search of 32 MiB takes ~30 ms)."""
    reach = _SLICE + len(token) - 1
    return any(raw.find(token, start, start + reach) >= 0 for start in range(0, len(raw), _SLICE))


def measure(raw: bytes, limits: JsonLimits = DEFAULT_LIMITS) -> int:
    """An upper bound of the values `raw` decodes to; TooLargeError beyond `limits`.

    Counts brackets, commas and colons, in strings too (so it only over-estimates).
    """
    opens = _count(raw, b"{") + _count(raw, b"[")
    commas = _count(raw, b",")
    items = opens + commas + 1
    if items > limits.items:
        raise TooLargeError(f"answer holds up to {items} values, more than {limits.items}")
    ascii_text = raw.isascii()
    # The text as a str (json) and the strings built from it: 1 byte a character, up to 4
    # when any character is beyond Latin-1.
    text = len(raw) * (1 if ascii_text else 4)
    strings = len(raw) * (1 if ascii_text and not contains(raw, b"\\u") else 4)
    memory = _PER_CONTAINER * opens + _PER_MEMBER * _count(raw, b":") + _PER_ITEM * commas + text + strings
    if memory > limits.memory:
        raise TooLargeError(f"answer would take ~{memory >> 20} MiB decoded, more than {limits.memory >> 20}")
    for start in range(0, len(raw) - _BLOCK + 1, _BLOCK):
        # An escaped quote does not end a string: a block needs one that is not escaped.
        end = start + _BLOCK
        if raw.count(b'"', start, end) <= raw.count(b'\\"', start, end):
            raise TooLargeError(f"answer has a string, number or space longer than {_BLOCK >> 10} KiB")
    return items


def _text(raw: bytes) -> str:
    """`raw` as text; a slice at a time when it is not ASCII (UTF-8 decoding is not free)."""
    if raw.isascii():
        return raw.decode("ascii")
    decoder = codecs.getincrementaldecoder("utf-8")()
    last = len(raw) - 1
    return "".join(
        decoder.decode(raw[start : start + _SLICE], final=start + _SLICE > last)
        for start in range(0, len(raw), _SLICE)
    )


def _decode_merging(raw: bytes, items: int, limits: JsonLimits) -> Any:
    in_c, in_python = _decoders(limits)
    decoder = in_c if items <= _C_ITEMS and len(raw) <= _C_BYTES else in_python
    try:
        return decoder.decode(_text(raw))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _scrub(node: dict[str, Any] | list[Any]) -> None:
    """Lone surrogates (`"\\ud800"`, which json accepts) become U+FFFD: no later encoder chokes."""

    def clean(value: Any) -> Any:
        return _SURROGATE.sub("\ufffd", value) if type(value) is str and not value.isascii() else value

    if type(node) is list:
        node[:] = [clean(v) for v in node]
        return
    assert isinstance(node, dict)
    cleaned = {clean(k): clean(v) for k, v in node.items()}
    node.clear()
    node.update(cleaned)


def check_shape(value: Any, limits: JsonLimits = DEFAULT_LIMITS, *, scrub: bool = False) -> int:
    """Depth, array lengths and object sizes of a decoded value within `limits`; its members."""
    members = 0
    stack: list[tuple[Any, int]] = [(value, 1)] if type(value) in (dict, list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limits.depth:
            raise TooLargeError(f"answer is nested deeper than {limits.depth}")
        if scrub:
            _scrub(node)
        if type(node) is dict:
            if len(node) > limits.members:
                raise TooLargeError(f"an object of the answer has more than {limits.members} members")
            members += len(node)
            children = node.values()
        else:
            if len(node) > limits.array:
                raise TooLargeError(f"an array of the answer has more than {limits.array} items")
            children = node
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return members


def decode_json(raw: bytes, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """The JSON value of a body within `limits`; TooLargeError or ValueError otherwise.

    orjson decodes what it can (several times faster than json); what it refuses (NaN,
    integers beyond 64 bits, lone surrogates) and what may hold a duplicated key is left
    to json, so both give the same values.
    """
    items = measure(raw, limits)
    if raw.startswith(_BOM):
        raw = raw[3:]
    if _FAST_LOADS is not None and items <= _ORJSON_ITEMS and len(raw) <= _C_BYTES:
        try:
            value = _FAST_LOADS(raw)
        except ValueError:
            pass
        else:
            # A key given twice leaves fewer members than the text has keys (`":` also counts
            # in strings, which only costs a second decoding).
            if check_shape(value, limits) >= _count(raw, b'":') + _count(raw, b'" :'):
                return value
    value = _decode_merging(raw, items, limits)
    # Only an escape can make a lone surrogate (orjson refuses them; json does not).
    lone = contains(raw, b"\\ud") or contains(raw, b"\\uD")
    check_shape(value, limits, scrub=lone)
    return _SURROGATE.sub("\ufffd", value) if lone and type(value) is str else value
