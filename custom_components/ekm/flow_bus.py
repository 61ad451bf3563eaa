"""What the config flow asks of an RS-485 bus: a reading of each listed meter (the probe), or the
addresses of a range that answer (the scan)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .aioekm import EkmBus, EkmConnectionError, EkmTimeoutError, FrameError, Protocol, normalize_address
from .const import CONF_METERS
from .helpers import failure_reason

# Testing meters in the flow: short waits, one retry, so a wrong address costs little.
PROBE_TIMEOUT = 1.0
PROBE_RETRIES = 1
SCAN_TIMEOUT = 0.5
MAX_SCAN: Final = 32
# The reasons a meter failed the probe, as meters_failed's {failed} lists them. Home Assistant
# checks translations with str.format syntax (no ICU select), so the list is built here and
# names only the reasons that have meters.
FAILURE_LABELS: Final = {
    "timeout": "No answer",
    "crc": "CRC errors",
    "wrong_address": "Answer from another address",
    "bad_reply": "Unreadable answer",
}


@dataclass
class ProbeResult:
    """Which meters answered (with their protocol) and why the others did not."""

    protocols: dict[str, Protocol] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    cannot_connect: bool = False

    @property
    def errors(self) -> dict[str, str]:
        """The form errors: none when every meter answered."""
        if self.cannot_connect:
            return {"base": "cannot_connect"}
        if self.failures:
            return {CONF_METERS: "meters_failed"}
        return {}

    def placeholders(self) -> dict[str, str]:
        """{failed}: per reason that has meters, its label and those meters ("" when none failed)."""
        parts = []
        for reason, label in FAILURE_LABELS.items():
            meters = [a for a, r in self.failures.items() if r == reason]
            if meters:
                parts.append(f"{label}: {', '.join(meters)}.")
        return {"failed": " ".join(parts)}


async def async_try_connect(
    port: str, addresses: Iterable[str], running: EkmBus | None = None
) -> ProbeResult:
    """Read every meter once; whether the port opened and which meters answered.

    `running` is the open bus of a loaded entry on the same port: the port is locked
    to it, and its lock keeps the probe from colliding with the polls.
    """
    try:
        if running is not None:
            return await _async_read_all(running, addresses)
        async with EkmBus(port, first_byte_timeout=PROBE_TIMEOUT, read_retries=PROBE_RETRIES) as bus:
            return await _async_read_all(bus, addresses)
    except EkmConnectionError:
        return ProbeResult(cannot_connect=True)


async def _async_read_all(bus: EkmBus, addresses: Iterable[str]) -> ProbeResult:
    result = ProbeResult()
    for address in addresses:
        try:
            reading = await bus.read(address)
        except (EkmTimeoutError, FrameError) as err:  # EkmConnectionError: the port is gone
            result.failures[address] = failure_reason(err)
        else:
            result.protocols[address] = reading.protocol
    return result


async def async_scan(port: str, first: int, last: int) -> list[str]:
    """The addresses in first..last that answer; EkmConnectionError if the port cannot be used."""
    async with EkmBus(port, first_byte_timeout=SCAN_TIMEOUT, read_retries=0) as bus:
        found = await bus.scan(normalize_address(n) for n in range(first, last + 1))
    return [reading.address for reading in found]
