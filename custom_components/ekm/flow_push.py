"""What the config flow asks of the Push cloud and of a Push3 gateway, and the names it gives them.

The library's errors come through as they are; the flow turns them into form errors. Nothing
here puts the key or token into a title or an id.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import ipaddress
import re
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL

from .aioekm import Account, AccountMeter, KeyType, Push3Client, PushClient, RetryPolicy

# One try in a form: the user sees the error at once and can submit again.
FLOW_RETRY: Final = RetryPolicy(attempts=1)
FLOW_TIMEOUT: Final = 15.0
CLOUD_UNIQUE_ID_PREFIX: Final = "cloud_"


async def async_read_account(
    hass: HomeAssistant, key: str, token: str | None, api_url: str, summary_url: str
) -> Account:
    """What the key sees: gateways with their names, meters and ioStacks (deep answer)."""
    client = PushClient(
        async_get_clientsession(hass),
        key,
        api_url=api_url,
        summary_url=summary_url,
        api_token=token,
        timeout=FLOW_TIMEOUT,
        retry=FLOW_RETRY,
    )
    return await client.account(deep=True)


async def async_read_push3(hass: HomeAssistant, host: str, key: str) -> dict[str, str]:
    """The meters a Push3 gateway serves ({address: protocol}), read with its local key."""
    client = Push3Client(async_get_clientsession(hass), host, key, timeout=FLOW_TIMEOUT, retry=FLOW_RETRY)
    result = await client.read_meters()
    return {address: str(result.readings[address].protocol) for address in sorted(result.readings)}


def cloud_unique_id(key: str) -> str:
    """A stable id for a Push key that does not reveal it: the same key cannot be added twice."""
    return CLOUD_UNIQUE_ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def account_name(account: Account) -> str:
    """The title of an entry: the gateway's or meter's name for their keys, else the account's."""
    if account.key_type is KeyType.GATEWAY and len(account.gateways) == 1:
        gateway = account.gateways[0]
        return gateway.name or f"EKM Push gateway {gateway.mac_colons}"
    if account.key_type is KeyType.METER and len(account.meters) == 1:
        meter = account.meters[0]
        return meter.name or f"EKM Push meter {meter.address}"
    name = account.extra.get("name")
    return name if isinstance(name, str) and name.strip() else "EKM Push account"


def meter_label(meter: AccountMeter) -> str:
    """A meter as listed in the picker: its name where it has one, and always its address."""
    return f"{meter.name} ({meter.address})" if meter.name else meter.address


@dataclass(frozen=True, slots=True)
class Push3Host:
    """A gateway's address as typed: `host` or `host:port`."""

    host: str  # as stored: name or IP, with ":port" when not 80
    name: str  # without the port

    @property
    def port_suffix(self) -> str:
        return self.host[len(self.name) :]

    @property
    def port(self) -> int:
        return int(self.port_suffix[1:]) if self.port_suffix else 80


# One label of a host name (RFC 1123): letters, digits and inner hyphens.
_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def _valid_host_name(name: str) -> bool:
    """An IP address (IPv6 without a zone) or a host name a resolver would look up."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        labels = name.removesuffix(".").split(".")
        # A numeric last label is a mistyped address (999.1.1.1), not a name (RFC 3696).
        return (
            len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()
        )
    return True


def parse_host(text: str) -> Push3Host | None:
    """`host` or `host:port` (an `http://` prefix in any case and a trailing `/` are tolerated);
    None if not one (the gateway's local API is plain http: an `https://` URL is not one either)."""
    text = text.strip()
    if text[:7].lower() == "http://":
        text = text[7:]
    text = text.rstrip("/")
    if not text or not text.isprintable() or any(c in text for c in "/?#@ %"):
        return None
    try:
        url = URL(f"http://{text}")
        port = url.explicit_port
    except (ValueError, IndexError):  # yarl: no host, a bad port; IndexError for "[]"
        return None
    name = url.raw_host or ""  # yarl requires a host in an http URL
    if port == 0 or not _valid_host_name(name):
        return None
    if ":" in name:  # an IPv6 address keeps its brackets
        name = f"[{name}]"
    return Push3Host(f"{name}:{port}" if port not in (None, 80) else name, name)


def normalize_mac(mac: str) -> str:
    """A MAC as the entries store it: 12 lower-case hex digits."""
    return mac.replace(":", "").replace("-", "").lower()


def same_url(a: str, b: str) -> bool:
    """Two base URLs that name the same server (a trailing slash or case in the host aside)."""
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def valid_base_url(text: str) -> bool:
    """An http(s) URL with a host, without spaces or a user and password (the key and token are
    the credentials; a password in the URL would be stored and shown in the clear)."""
    text = text.strip()
    if not text.isprintable() or " " in text:
        return False
    try:
        url = URL(text)
    except (ValueError, IndexError):  # yarl raises IndexError for "http://[]"
        return False
    return url.scheme in ("http", "https") and bool(url.host) and url.user is None and url.password is None


def without_credentials(text: str) -> str:
    """A URL with any user and password taken out (for diagnostics)."""
    try:
        return str(URL(text).with_user(None))
    except (ValueError, IndexError):
        return "**REDACTED**"
