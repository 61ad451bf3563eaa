"""Keep the Push key and the API token out of every text and value the library hands on.

Secrets are masked by value, wherever they appear: in URLs and messages (also
URL-encoded), and anywhere in a decoded answer, since a server may echo them in
any field at any depth (`"extra": {"key": "..."}`). A server may also echo a
secret in another case or cut: any run of FRAGMENT or more characters of a
secret, whatever the case of its ASCII letters, is masked whole, also when it is cut into
groups ("GwKe-yS3c-...": separators are looked through) or every character of it is
%-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
import re
import string
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"
# Query parameters and headers that carry secrets, whatever their value.
_SECRET_PARAM = re.compile(r"(?i)\b(key|token|api_token|password)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',]+")

# Fragments are found by probes: the secret's 8-character windows at every 4th offset (and
# the last one). Every run of 8 + 4 - 1 characters holds a whole probe; a found probe is then
# widened to the whole run. A few str.find calls per secret keep this fast on large bodies.
_PROBE = 8
_STEP = 4
FRAGMENT = _PROBE + _STEP - 1
# Folds ASCII letters only, so that positions in the folded text are those of the text.
_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# What a secret cut into groups may be cut with; looked through when searching.
_SEPARATORS = "-_.: \t\r\n"
_DROP = str.maketrans("", "", _SEPARATORS)

type Probe = tuple[str, str, int]  # (folded form, probe, offset of the probe in the form)


def secret_forms(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """Each secret as sent and as it looks URL-encoded, longest first."""
    forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s), _escaped(s))}
    return tuple(sorted(forms, key=len, reverse=True))


def _escaped(secret: str) -> str:
    """Every byte %-encoded, letters and digits too (what quote() leaves alone)."""
    return "".join(f"%{byte:02x}" for byte in secret.encode())


@lru_cache(maxsize=16)
def _compact(forms: tuple[str, ...]) -> tuple[str, ...]:
    """The forms without separators, to find a secret cut into groups in a text without them."""
    return tuple(dict.fromkeys(form.translate(_DROP) for form in forms))


@lru_cache(maxsize=16)
def _probes(forms: tuple[str, ...]) -> tuple[Probe, ...]:
    probes: list[Probe] = []
    for form in forms:
        folded = form.translate(_FOLD)
        width = min(_PROBE, len(folded))
        last = len(folded) - width
        offsets = sorted({*range(0, last + 1, _STEP), last})
        probes.extend((folded, folded[offset : offset + width], offset) for offset in offsets)
    return tuple(probes)


def _spans(folded: str, probes: tuple[Probe, ...]) -> list[tuple[int, int]]:
    """Where runs of a secret that hold a probe lie in `folded`."""
    spans: list[tuple[int, int]] = []
    for form, probe, offset in probes:
        found = folded.find(probe)
        while found >= 0:
            # Widen to the whole run of the secret around the probe.
            left, i = found, offset
            while left > 0 and i > 0 and folded[left - 1] == form[i - 1]:
                left, i = left - 1, i - 1
            right, j = found + len(probe), offset + len(probe)
            while right < len(folded) and j < len(form) and folded[right] == form[j]:
                right, j = right + 1, j + 1
            spans.append((left, right))
            found = folded.find(probe, found + 1)
    return spans


def _mask(text: str, probes: tuple[Probe, ...], compact: tuple[Probe, ...] = ()) -> str:
    """`text` with every run of a secret that holds a probe replaced by REDACTED.

    `compact` probes are searched in the text without separators, and what they find is
    masked in the text from its first to its last character.
    """
    folded = text.translate(_FOLD)
    spans = _spans(folded, probes)
    if compact:
        squeezed = folded.translate(_DROP)
        hits = _spans(squeezed, compact) if len(squeezed) != len(folded) else []
        if hits:
            kept = [i for i, char in enumerate(folded) if char not in _SEPARATORS]
            spans.extend((kept[left], kept[right - 1] + 1) for left, right in hits)
    if not spans:
        return text
    spans.sort()
    parts: list[str] = []
    done = 0
    for left, right in spans:
        if right <= done:
            continue
        if left > done:
            parts.append(text[done:left])
            parts.append(REDACTED)
        elif not parts or parts[-1] != REDACTED:
            parts.append(REDACTED)
        done = right
    parts.append(text[done:])
    return "".join(parts)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret (any case, cut, URL-encoded) and every key=/Bearer value masked."""
    forms = secret_forms(secrets)
    if forms:
        text = _mask(text, _probes(forms), _probes(_compact(forms)))
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def holds_secret(value: Any, secrets: Iterable[str | None]) -> bool:
    """Whether a decoded JSON value holds a secret (as redact_value() finds them) in any of its
    strings or object keys, at any depth.

    Each distinct string is searched once: a Summary page of a megabyte has a few thousand
    (its keys repeat in every row), and searching them is far cheaper than searching the body.
    """
    forms = secret_forms(secrets)
    if not forms:
        return False
    texts: set[str] = set()
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            texts.update(node)
            children: Iterable[Any] = node.values()
        elif type(node) is list:
            children = node
        else:
            if type(node) is str:
                texts.add(node)
            continue
        for child in children:
            kind = type(child)
            if kind is str:
                texts.add(child)
            elif kind is dict or kind is list:
                stack.append(child)
    # No secret holds a NUL, so none is found across two of the strings.
    joined = "\0".join(texts)
    return _mask(joined, _probes(forms), _probes(_compact(forms))) is not joined


def redact_value(value: Any, secrets: Iterable[str | None]) -> Any:
    """A decoded JSON value with every secret masked in its strings and object keys, at any depth."""
    forms = secret_forms(secrets)
    if not forms:
        return value
    probes, compact = _probes(forms), _probes(_compact(forms))

    def mask(text: str) -> str:
        return _mask(text, probes, compact)

    # Iterative, so that a deep (hostile) document cannot exhaust the stack.
    root: list[Any] = [value]
    stack: list[tuple[list[Any] | dict[str, Any], Any]] = [(root, 0)]
    while stack:
        holder, slot = stack.pop()
        item = holder[slot]
        if isinstance(item, str):
            holder[slot] = mask(item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            masked = {mask(k): v for k, v in item.items()}
            if masked.keys() != item.keys():
                item.clear()
                item.update(masked)
            stack.extend((item, k) for k in item)
    return root[0]
