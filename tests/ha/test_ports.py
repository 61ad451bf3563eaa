"""Port identities: the same adapter however it is written, different adapters apart."""

from __future__ import annotations

from pathlib import Path
import socket
from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.ekm.helpers import port_label
from custom_components.ekm.ports import _plain, async_port_identity


async def _same(hass: HomeAssistant, a: str, b: str) -> bool:
    return (await async_port_identity(hass, a)).same_as(await async_port_identity(hass, b))


@pytest.fixture
def invalid_names_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under `.invalid` (never registered, RFC 6761) fail as an unknown name does.

    The test harness refuses every lookup but localhost and IP addresses on newer versions,
    and a lookup leaving the machine would be slow or flaky anyway; localhost still resolves
    for real.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("invalid_names_unknown")
async def test_urls(hass: HomeAssistant) -> None:
    assert await _same(hass, "socket://localhost:4001", "socket://127.0.0.1:4001")
    assert await _same(hass, "SOCKET://LocalHost:4001/", " socket://127.0.0.1:4001")
    assert not await _same(hass, "socket://127.0.0.1:4001", "socket://127.0.0.1:4002")
    assert not await _same(hass, "socket://127.0.0.1:4001", "rfc2217://127.0.0.1:4001")
    assert not await _same(hass, "socket://127.0.0.1:4001", "socket://127.0.0.2:4001")
    # A name that does not resolve stands for itself.
    assert await _same(hass, "socket://no-such-host.invalid:4001", "socket://NO-SUCH-HOST.invalid:4001")
    assert not await _same(hass, "socket://no-such-host.invalid:4001", "socket://127.0.0.1:4001")


async def test_esphome_secrets_do_not_tell_ports_apart(hass: HomeAssistant) -> None:
    """Only the redacted URL counts: a changed key is the same proxy port, another port is not."""
    a = "esphome://127.0.0.1:6053/?port_name=rs485&key=abc"
    assert await _same(hass, a, "esphome://127.0.0.1:6053/?port_name=rs485&key=xyz")
    assert not await _same(hass, a, "esphome://127.0.0.1:6053/?port_name=other&key=abc")


async def test_device_links(hass: HomeAssistant, tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-FTDI_A10K-if00-port0").symlink_to(device)
    assert await _same(hass, str(by_id / "usb-FTDI_A10K-if00-port0"), str(device))
    assert not await _same(hass, str(device), str(tmp_path / "ttyUSB1"))


async def test_urls_without_a_port_number_or_host(hass: HomeAssistant) -> None:
    """A port number out of range or a URL without a host still has an identity: its text."""
    bad = await async_port_identity(hass, "socket://127.0.0.1:99999")
    assert bad.same_as(await async_port_identity(hass, "socket://127.0.0.1:99999"))
    assert not bad.same_as(await async_port_identity(hass, "socket://127.0.0.1:9999"))
    hostless = await async_port_identity(hass, "rfc2217:///dev/ttyUSB0")
    assert not hostless.same_as(await async_port_identity(hass, "rfc2217:///dev/ttyUSB1"))


@pytest.mark.parametrize(
    ("address", "plain"),
    [("::ffff:192.168.1.5", "192.168.1.5"), ("fe80::1", "fe80::1"), ("10.0.0.7", "10.0.0.7"), ("gw", "gw")],
)
def test_addresses_are_compared_as_written_for_ipv4(address: str, plain: str) -> None:
    """An IPv4 address that came back as IPv6-mapped is the IPv4 address; a name stays a name."""
    assert _plain(address) == plain


def test_port_label_hides_a_user_and_password() -> None:
    """The port shown in titles and errors carries no credentials (serialx alone kept user:pw@)."""
    label = port_label("socket://admin:SECRETPW@10.0.0.5:4001")
    assert "SECRETPW" not in label and "admin" not in label
    assert label.endswith("@10.0.0.5:4001")
