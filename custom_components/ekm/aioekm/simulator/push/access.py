"""Who may see what on the fake Push server: keys, their scope, and the error answers.

Keys: one account key (every meter), one per gateway (its meters), one per meter; they
are derived from the fleet's addresses, so the same fleet always gets the same keys.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import hashlib
from typing import Any

from aiohttp import web

from ..fleet import Fleet, VirtualMeter

DEFAULT_GATEWAY = "4016fa0fffff"  # for meters built without one


def gateway_of(meter: VirtualMeter) -> str:
    return (meter.gateway or DEFAULT_GATEWAY).lower()


@dataclass(frozen=True)
class SimKeys:
    """The keys the fake API accepts, derived from the fleet's addresses."""

    account: str
    gateways: dict[str, str]  # MAC -> key
    meters: dict[str, str]  # address -> key

    @classmethod
    def for_fleet(cls, fleet: Fleet) -> SimKeys:
        seed = ",".join(sorted(fleet.meters))

        def make(kind: str, ident: str) -> str:
            return _make_key(kind, ident, seed)

        macs = sorted({gateway_of(m) for m in fleet.meters.values()})
        return cls(
            account=make("account", ""),
            gateways={mac: make("gateway", mac) for mac in macs},
            meters={a: make("meter", a) for a in sorted(fleet.meters)},
        )

    def add(self, meter: VirtualMeter) -> None:
        """Keys for a meter added while serving (and for its gateway, if new); others unchanged."""
        seed = "added"
        mac = gateway_of(meter)
        if mac not in self.gateways:
            self.gateways[mac] = _make_key("gateway", mac, seed)
        self.meters.setdefault(meter.address, _make_key("meter", meter.address, seed))


def _make_key(kind: str, ident: str, seed: str) -> str:
    digest = hashlib.sha256(f"ekm-sim/{kind}/{ident}/{seed}".encode()).digest()
    return base64.b64encode(digest[:15], altchars=b"Kq").decode()


@dataclass(frozen=True)
class Scope:
    """What one key opens: the whole account, one gateway's meters or one meter."""

    kind: str  # account | gateway | meter
    ident: str

    def sees(self, meter: VirtualMeter) -> bool:
        if self.kind == "account":
            return True
        if self.kind == "gateway":
            return gateway_of(meter) == self.ident
        return meter.address == self.ident


class ApiError(Exception):
    """An answer the handlers give instead of data."""

    def __init__(self, http: int, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.http = http
        self.message = message
        self.code = code

    def response(self) -> web.Response:
        body: dict[str, Any] = {"error": self.message}
        if self.code is not None:
            body["status_code"] = self.code
        return web.json_response(body, status=self.http)


INVALID_KEY = ApiError(401, "Invalid key", "401")


async def json_object(request: web.Request, not_object: str = "Invalid JSON body") -> dict[str, Any]:
    """The request's JSON body; a 400 unless it is an object (`not_object` says why then)."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Invalid JSON body") from None
    if not isinstance(body, dict):
        raise ApiError(400, not_object)
    return body
