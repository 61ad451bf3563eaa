"""Account API answers as a typed tree: account -> gateways -> meters and ioStacks.

Only `key_type`, `host`, `gateways[].mac_address` and `meters[].address` are on
record; names, models and state are read where present and everything else is
kept in `extra`. The key the API echoes back is deliberately not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ..errors import MalformedResponseError
from ..readings import normalize_address
from .mapping import meter_address

_EMPTY: Mapping[str, Any] = MappingProxyType({})
# What the Account API can be asked about: /account/api/<target>.
ACCOUNT_TARGETS = ("account", "gateway", "meter", "iostack")


class KeyType(StrEnum):
    """What a Push key opens."""

    ACCOUNT = "account"
    GATEWAY = "gateway"
    METER = "meter"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AccountMeter:
    address: str  # 12 digits
    name: str | None = None
    model: str | None = None
    protocol: str | None = None
    gateway: str | None = None  # MAC of the Push3 it reports through, if known
    state: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # with state=1
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class AccountIoStack:
    id: str
    name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Gateway:
    mac: str  # lower-case hex, as the API writes it
    name: str | None = None
    meters: tuple[AccountMeter, ...] = ()
    iostacks: tuple[AccountIoStack, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    model: str | None = None  # e.g. "Push3", where the answer says (deep=true)
    firmware: str | None = None

    @property
    def is_push3(self) -> bool | None:
        """Whether the gateway is a Push3 (takes sendCommand); None when the answer does not say.

        EKM documents no model field; `model`, `type` or `gateway_type` are read where sent.
        """
        if self.model is None:
            return None
        return "push3" in self.model.lower().replace(" ", "")

    @property
    def mac_colons(self) -> str:
        """The MAC as `40:16:fa:10:00:00` (Home Assistant's form), if it is 12 hex digits."""
        digits = self.mac.replace(":", "").replace("-", "")
        if len(digits) != 12:
            return self.mac
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True, slots=True)
class Account:
    key_type: KeyType
    host: str | None
    gateways: tuple[Gateway, ...]
    meters: tuple[AccountMeter, ...]  # every meter the key sees, gateway members included
    iostacks: tuple[AccountIoStack, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def gateway(self, mac: str) -> Gateway | None:
        return next((g for g in self.gateways if g.mac == mac.lower()), None)

    def meter(self, address: str) -> AccountMeter | None:
        address = normalize_address(address)
        return next((m for m in self.meters if m.address == address), None)


def _str(raw: Any) -> str | None:
    if raw is None or isinstance(raw, (dict, list)):
        return None
    text = str(raw).strip()
    return text or None


def _list(raw: Mapping[str, Any], name: str, what: str) -> list[Any]:
    value = raw.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponseError(f"{what}: {name} is not a list")
    return value


_METER_KEYS = frozenset({"address", "meter", "name", "model", "protocol", "state", "mac_address", "gateway"})


def _meter(raw: Any, gateway: str | None, what: str) -> AccountMeter:
    if not isinstance(raw, Mapping):
        raw = {"address": raw}
    address = meter_address(raw.get("address", raw.get("meter", "")), what)
    state = raw.get("state")
    return AccountMeter(
        address=address,
        name=_str(raw.get("name")),
        model=_str(raw.get("model")),
        protocol=_str(raw.get("protocol")),
        gateway=(_str(raw.get("gateway")) or _str(raw.get("mac_address")) or gateway or None),
        state=MappingProxyType(dict(state)) if isinstance(state, Mapping) else _EMPTY,
        extra=MappingProxyType({k: v for k, v in raw.items() if k not in _METER_KEYS}),
    )


def _iostack(raw: Any, what: str) -> AccountIoStack:
    if not isinstance(raw, Mapping):
        raw = {"id": raw}
    ident = _str(raw.get("id", raw.get("address", raw.get("iostack"))))
    if ident is None:
        raise MalformedResponseError(f"{what}: an ioStack has no id")
    return AccountIoStack(
        ident,
        _str(raw.get("name")),
        MappingProxyType({k: v for k, v in raw.items() if k not in ("id", "address", "iostack", "name")}),
    )


def _gateway(raw: Any, what: str) -> Gateway:
    if not isinstance(raw, Mapping):
        raw = {"mac_address": raw}
    mac = _str(raw.get("mac_address", raw.get("mac")))
    if mac is None:
        raise MalformedResponseError(f"{what}: a gateway has no mac_address")
    mac = mac.lower()
    return Gateway(
        mac=mac,
        name=_str(raw.get("name")),
        meters=tuple(_meter(m, mac, what) for m in _list(raw, "meters", what)),
        iostacks=tuple(_iostack(i, what) for i in _list(raw, "iostacks", what)),
        extra=MappingProxyType({k: v for k, v in raw.items() if k not in _GATEWAY_KEYS}),
        model=_str(raw.get("model", raw.get("type", raw.get("gateway_type")))),
        firmware=_str(raw.get("firmware", raw.get("version"))),
    )


_GATEWAY_KEYS = frozenset(
    {
        "mac_address",
        "mac",
        "name",
        "meters",
        "iostacks",
        "model",
        "type",
        "gateway_type",
        "firmware",
        "version",
    }
)


def parse_account(payload: Any, what: str = "account") -> Account:
    """The Account API answer into an Account (meters of gateways merged into `meters`)."""
    if not isinstance(payload, Mapping):
        raise MalformedResponseError(f"{what}: expected a JSON object")
    try:
        key_type = KeyType(str(payload.get("key_type", "unknown")).lower())
    except ValueError:
        key_type = KeyType.UNKNOWN
    gateways = tuple(_gateway(g, what) for g in _list(payload, "gateways", what))
    meters: dict[str, AccountMeter] = {}
    for gateway in gateways:
        for meter in gateway.meters:
            meters.setdefault(meter.address, meter)
    for raw in _list(payload, "meters", what):
        meter = _meter(raw, None, what)
        known = meters.get(meter.address)
        if known is None or (not known.state and meter.state):
            meters[meter.address] = meter if known is None else _merge(known, meter)
    skip = {"key", "key_type", "host", "gateways", "meters", "iostacks"}
    return Account(
        key_type=key_type,
        host=_str(payload.get("host")),
        gateways=gateways,
        meters=tuple(meters.values()),
        iostacks=tuple(_iostack(i, what) for i in _list(payload, "iostacks", what)),
        extra=MappingProxyType({k: v for k, v in payload.items() if k not in skip}),
    )


def _merge(known: AccountMeter, more: AccountMeter) -> AccountMeter:
    return AccountMeter(
        address=known.address,
        name=known.name or more.name,
        model=known.model or more.model,
        protocol=known.protocol or more.protocol,
        gateway=known.gateway or more.gateway,
        state=more.state or known.state,
        extra=MappingProxyType({**more.extra, **known.extra}),
    )
