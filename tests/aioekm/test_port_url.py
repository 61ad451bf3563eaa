"""A port URL's credentials (userinfo, ?password=) never show in reprs, errors or logs."""

from __future__ import annotations

import logging
import socket

import pytest

from custom_components.ekm.aioekm.errors import EkmConnectionError
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.port_url import redact_port_url

SECRET = "SECRETPW"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("socket://user:SECRETPW@127.0.0.1:1", "socket://***@127.0.0.1:1"),
        ("rfc2217://user:SECRETPW@host:4001", "rfc2217://***@host:4001"),
        ("rfc2217://SECRETPW@host:4001", "rfc2217://***@host:4001"),
        ("socket://u:SEC/RE@TPW@h:1", "socket://***@h:1"),
        ("socket://h:1?password=SECRETPW", "socket://h:1?password=REDACTED"),
        ("socket://u:SECRETPW@h:1?password=SECRETPW", "socket://***@h:1?password=REDACTED"),
        ("/dev/ttyUSB0", "/dev/ttyUSB0"),
        ("socket://127.0.0.1:4001", "socket://127.0.0.1:4001"),
    ],
)
def test_redact_port_url(url: str, shown: str) -> None:
    assert redact_port_url(url) == shown


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["socket", "rfc2217"])
async def test_bus_repr_errors_and_logs_hide_userinfo(
    scheme: str, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{scheme}://user:{SECRET}@127.0.0.1:{_closed_port()}"
    bus = EkmBus(url, first_byte_timeout=0.1, read_retries=0, reconnect_backoff=(0.0, 0.0))
    shown = [repr(bus)]
    with pytest.raises(EkmConnectionError) as err:
        await bus.open()
    shown.append(str(err.value))
    assert "***@127.0.0.1" in str(err.value)
    await bus.close()
    shown += [r.getMessage() for r in caplog.records]
    assert not [text for text in shown if SECRET in text]
