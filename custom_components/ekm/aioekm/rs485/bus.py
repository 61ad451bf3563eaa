"""The RS-485 bus client: one adapter, many meters, one transaction at a time.

A meter transaction is: read (selects the meter) -> optional B / table reads or
password + write -> sign-off. Reads are retried a bounded number of times on a
timeout or a bad frame; a write is never repeated: when its ACK is lost the
meter is read back and WriteUnconfirmedError says what state it is in.

The port reconnects by itself: after it goes away, each transaction tries to
reopen it, spaced by an exponential backoff; the loss and the recovery are
logged once each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import logging
from types import TracebackType
from typing import Self

import serialx

from ..errors import (
    CommandRejectedError,
    CrcError,
    EkmConnectionError,
    EkmError,
    EkmTimeoutError,
    FrameError,
    WriteUnconfirmedError,
)
from ..fields import Layout
from ..readings import MeterReading, Protocol, normalize_address
from . import commands
from .commands import DEFAULT_PASSWORD
from .frames import ACK, MONTH_TABLE_REGISTERS, Frame, MonthTable, parse_reply, parse_table, to_reading
from .requests import SIGN_OFF, password_frame, read_request, table_read_frame, write_frame
from .transport import Link

_LOGGER = logging.getLogger(__name__)


@dataclass
class MeterStats:
    """Per-meter counters; errors count every failed attempt, retries included."""

    good_reads: int = 0
    crc_errors: int = 0
    timeouts: int = 0
    other_errors: int = 0
    last_error: str | None = None
    last_success: datetime | None = None


# What to say about a meter after a write whose ACK was lost: the fields that show it.
Describe = Callable[[MeterReading], str]


def _fields(*names: str) -> Describe:
    def describe(reading: MeterReading) -> str:
        return ", ".join(f"{name} is {reading.get(name)}" for name in names)

    return describe


def _relay_state(relay: int) -> Describe:
    def describe(reading: MeterReading) -> str:
        closed = reading.relay_closed(relay)
        state = "unknown" if closed is None else "closed (on)" if closed else "open (off)"
        return f"relay {relay} is {state}"

    return describe


def _not_readable(what: str) -> Describe:
    def describe(reading: MeterReading) -> str:
        return f"the meter answers, but its {what} cannot be read back"

    return describe


class EkmBus:
    """Client of one RS-485 bus (a serial port or a serialx URL)."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        bytesize: int = 7,
        parity: str = "E",
        stopbits: int = 1,
        first_byte_timeout: float = 1.5,
        inter_byte_timeout: float = 0.5,
        read_retries: int = 2,
        reconnect_backoff: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.url = url
        self._settings = (baudrate, bytesize, parity, stopbits)
        self.first_byte_timeout = first_byte_timeout
        self.inter_byte_timeout = inter_byte_timeout
        self.read_retries = read_retries
        self.reconnect_backoff = reconnect_backoff
        self.lock = asyncio.Lock()
        self._link: Link | None = None
        self._wanted = False  # open() was called and close() was not
        self._down_since: float | None = None  # the link failed and is not back yet
        self._retry_at = 0.0
        self._delay = reconnect_backoff[0]
        self._protocols: dict[str, Protocol] = {}
        self._last_b: dict[str, Frame] = {}
        self._stats: dict[str, MeterStats] = {}

    def __repr__(self) -> str:
        return f"<EkmBus {serialx.redact_uri(self.url)} connected={self.connected}>"

    # --- connection -----------------------------------------------------------------

    async def open(self) -> None:
        """Open the port; EkmConnectionError if it cannot be opened."""
        if self.connected:
            return
        baudrate, bytesize, parity, stopbits = self._settings
        self._link = await Link.open(
            self.url, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits
        )
        self._wanted = True
        self._down_since = None
        self._delay = self.reconnect_backoff[0]

    async def close(self) -> None:
        self._wanted = False
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    async def _ready_link(self) -> Link:
        """The open link, reopening a lost one when the backoff allows."""
        link = self._link
        if link is not None and not link.closed:
            return link
        if not self._wanted:
            raise EkmConnectionError(f"bus {serialx.redact_uri(self.url)} is not open")
        loop = asyncio.get_running_loop()
        if link is not None:  # it just went away
            self._link = None
            await link.close()
            self._went_down(link.lost_reason or "connection lost")
        if loop.time() < self._retry_at:
            raise EkmConnectionError(
                f"{serialx.redact_uri(self.url)} is unavailable; "
                f"next reconnect attempt in {self._retry_at - loop.time():.1f} s"
            )
        baudrate, bytesize, parity, stopbits = self._settings
        try:
            self._link = await Link.open(
                self.url, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits
            )
        except EkmConnectionError as err:
            self._went_down(str(err))
            self._retry_at = loop.time() + self._delay
            self._delay = min(self._delay * 2, self.reconnect_backoff[1])
            raise
        if self._down_since is not None:
            _LOGGER.info("RS-485 bus %s is back", serialx.redact_uri(self.url))
        self._down_since = None
        self._retry_at = 0.0
        self._delay = self.reconnect_backoff[0]
        return self._link

    def _went_down(self, reason: str) -> None:
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            _LOGGER.warning(
                "RS-485 bus %s went away (%s); reconnecting in the background of each poll",
                serialx.redact_uri(self.url),
                reason,
            )

    # --- frames -----------------------------------------------------------------------

    async def _send(self, data: bytes) -> Link:
        link = await self._ready_link()
        await link.send(data)
        return link

    async def _reply(self, link: Link, request: bytes, *, frame: bool) -> bytes:
        return await link.receive_reply(
            frame=frame,
            echo=request,
            first_byte_timeout=self.first_byte_timeout,
            inter_byte_timeout=self.inter_byte_timeout,
        )

    async def _sign_off(self) -> None:
        link = self._link
        if link is not None and not link.closed:
            # A lost link is noticed (and reopened) by the next transaction.
            with contextlib.suppress(EkmConnectionError):
                await link.send(SIGN_OFF)

    def _count(self, address: str, err: EkmError) -> None:
        stats = self.stats(address)
        if isinstance(err, CrcError):
            stats.crc_errors += 1
        elif isinstance(err, EkmTimeoutError):
            stats.timeouts += 1
        else:
            stats.other_errors += 1
        stats.last_error = f"{type(err).__name__}: {err}"

    async def _read_frame(
        self, address: str, layout: Layout, *, kwh_scale: int | None = None, attempts: int | None = None
    ) -> Frame:
        """One frame of `layout`, retried on timeouts and bad frames."""
        request = read_request(address, layout)
        tries = self.read_retries + 1 if attempts is None else attempts
        error: EkmError = EkmTimeoutError("no attempt")
        for attempt in range(tries):
            link = await self._send(request)
            try:
                data = await self._reply(link, request, frame=True)
                return parse_reply(data, address=address, layout=layout, kwh_scale=kwh_scale)
            except EkmTimeoutError:
                error = EkmTimeoutError(f"meter {address} did not answer the {layout.value} read")
                self._count(address, error)
            except FrameError as err:
                error = err
                self._count(address, err)
            _LOGGER.debug("meter %s, %s read attempt %d failed: %s", address, layout, attempt + 1, error)
        raise error

    async def _detect(self, address: str, *, attempts: int | None = None) -> tuple[Protocol, Frame]:
        """Find the protocol by alternating the v4 A read and the v3 read; returns the frame read.

        A meter ignores the other generation's request, so each try costs a
        timeout on the wrong form: the tries are shared between both forms
        (read_retries + 1 of them, at least one of each) rather than multiplied.
        """
        tries = max(2, self.read_retries + 1) if attempts is None else 2 * attempts
        forms = ((Layout.V4A, Protocol.V4), (Layout.V3, Protocol.V3))
        error: EkmError = EkmTimeoutError(f"meter {address} did not answer")
        timeouts = 0
        for attempt in range(tries):
            layout, protocol = forms[attempt % 2]
            try:
                frame = await self._read_frame(address, layout, attempts=1)
            except EkmTimeoutError as err:
                timeouts += 1
                error = err
                continue
            except FrameError as err:
                error = err
                continue
            self._protocols[address] = protocol
            return protocol, frame
        if timeouts == tries:
            error = EkmTimeoutError(f"meter {address} answers neither the v4 nor the v3 read")
        raise error

    # --- reads --------------------------------------------------------------------------

    async def read(
        self, address: str, *, protocol: Protocol | None = None, read_b: bool = True
    ) -> MeterReading:
        """One reading of meter `address` (v4: A, plus B when `read_b` else the cached B)."""
        address = normalize_address(address)
        async with self.lock:
            return await self._read_locked(address, protocol, read_b=read_b)

    async def _read_locked(
        self, address: str, protocol: Protocol | None, *, read_b: bool, attempts: int | None = None
    ) -> MeterReading:
        try:
            first: Frame | None = None
            protocol = protocol or self._protocols.get(address)
            if protocol is None:
                protocol, first = await self._detect(address, attempts=attempts)
            if protocol is Protocol.V3:
                frame = first or await self._read_frame(address, Layout.V3, attempts=attempts)
                reading = to_reading(frame, timestamp=datetime.now(UTC))
            else:
                a = first or await self._read_frame(address, Layout.V4A, attempts=attempts)
                if read_b:
                    b = await self._read_frame(address, Layout.V4B, kwh_scale=a.kwh_scale, attempts=attempts)
                    self._last_b[address] = b
                reading = to_reading(a, self._last_b.get(address), timestamp=datetime.now(UTC))
        except EkmConnectionError as err:
            self._count(address, err)
            raise
        finally:
            await self._sign_off()
        stats = self.stats(address)
        stats.good_reads += 1
        stats.last_success = reading.timestamp
        return reading

    async def detect_protocol(self, address: str) -> Protocol:
        """v3 or v4 (v5 speaks v4), asked of the meter itself; remembered for later reads."""
        address = normalize_address(address)
        async with self.lock:
            try:
                protocol, _ = await self._detect(address)
            finally:
                await self._sign_off()
            return protocol

    async def scan(self, addresses: Iterable[str]) -> list[MeterReading]:
        """Readings of the meters among `addresses` that answer (one try per address)."""
        found: list[MeterReading] = []
        for wanted in addresses:
            address = normalize_address(wanted)
            async with self.lock:
                try:
                    found.append(await self._read_locked(address, None, read_b=True, attempts=1))
                except (EkmTimeoutError, FrameError) as err:
                    _LOGGER.debug("scan: %s: %s", address, err)
        return found

    async def read_month_table(self, address: str, reverse: bool = False) -> MonthTable:
        """The last six months of forward (or reverse) kWh, from table 0011 (0012)."""
        address = normalize_address(address)
        register = MONTH_TABLE_REGISTERS[1 if reverse else 0]
        async with self.lock:
            try:
                _, frame = await self._select(address)
                request = table_read_frame(register)
                error: EkmError = EkmTimeoutError(f"meter {address} did not answer table {register}")
                for _ in range(self.read_retries + 1):
                    link = await self._send(request)
                    try:
                        data = await self._reply(link, request, frame=True)
                        return parse_table(data, register=register, kwh_scale=frame.kwh_scale)
                    except EkmTimeoutError:
                        error = EkmTimeoutError(f"meter {address} did not answer table {register}")
                    except FrameError as err:
                        error = err
                    self._count(address, error)
                raise error
            finally:
                await self._sign_off()

    async def _select(self, address: str) -> tuple[Protocol, Frame]:
        """The read that opens a meter session (v3 read or v4 A read)."""
        protocol = self._protocols.get(address)
        if protocol is None:
            return await self._detect(address)
        layout = Layout.V3 if protocol is Protocol.V3 else Layout.V4A
        return protocol, await self._read_frame(address, layout)

    # --- writes -------------------------------------------------------------------------

    async def _write(
        self,
        address: str,
        command: tuple[str, str],
        password: str,
        describe: Describe,
        *,
        v4_only: bool = False,
    ) -> MeterReading:
        """read (select) -> password (ACK) -> write (ACK) -> sign-off -> read back."""
        address = normalize_address(address)
        register, data = command
        try:
            sign_on = password_frame(password)
        except ValueError:
            raise ValueError("meter password must be exactly 8 digits") from None
        write = write_frame(register, data)
        async with self.lock:
            acked = True
            try:
                protocol, _ = await self._select(address)
                if v4_only and protocol is Protocol.V3:
                    raise CommandRejectedError(f"meter {address} is a v3 meter; this setting needs v4/v5")
                link = await self._send(sign_on)
                if not await self._ack(link, sign_on):
                    raise CommandRejectedError(
                        f"meter {address} did not accept the password (wrong password?)"
                    )
                link = await self._send(write)
                acked = await self._ack(link, write)
            finally:
                await self._sign_off()
            try:
                reading = await self._read_locked(address, protocol, read_b=True)
            except (EkmTimeoutError, FrameError) as err:
                if acked:
                    raise
                raise WriteUnconfirmedError(
                    f"meter {address} did not confirm the write to {register} and could not be "
                    f"read back ({err}); its state is unknown",
                    None,
                ) from err
        if not acked:
            raise WriteUnconfirmedError(
                f"meter {address} did not confirm the write to {register}; read back: {describe(reading)}",
                reading,
            )
        return reading

    async def _ack(self, link: Link, request: bytes) -> bool:
        """Whether the meter sent its ACK (anything else, or silence, is a failure)."""
        try:
            reply = await self._reply(link, request, frame=False)
        except EkmTimeoutError:
            return False
        return reply[0] == ACK

    async def set_relay(
        self, address: str, relay: int, closed: bool, seconds: int = 0, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Close (on) or open (off) relay 1/2; with seconds > 0 it flips back after that long."""
        return await self._write(
            address, commands.relay(relay, closed, seconds), password, _relay_state(relay), v4_only=True
        )

    async def set_time(
        self, address: str, when: datetime | None = None, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        """Set the meter clock (default: this computer's local time)."""
        when = when or datetime.now()
        return await self._write(address, commands.set_time(when), password, _fields("Meter_Time"))

    async def set_ct_ratio(
        self, address: str, amps: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(address, commands.ct_ratio(amps), password, _fields("CT_Ratio"))

    async def set_pulse_input_ratio(
        self, address: str, input_: int, ratio: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address,
            commands.pulse_input_ratio(input_, ratio),
            password,
            _fields(f"Pulse_Ratio_{input_}"),
            v4_only=True,
        )

    async def set_pulse_output_ratio(
        self, address: str, ratio: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.pulse_output_ratio(ratio), password, _fields("CF_Ratio"), v4_only=True
        )

    async def set_max_demand_period(
        self, address: str, minutes: int, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.max_demand_period(minutes), password, _fields("Max_Demand_Period")
        )

    async def set_max_demand_auto_reset(
        self, address: str, mode: commands.MaxDemandReset | str, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.max_demand_auto_reset(mode), password, _fields("Max_Demand_Rst"), v4_only=True
        )

    async def reset_max_demand(self, address: str, *, password: str = DEFAULT_PASSWORD) -> MeterReading:
        return await self._write(
            address, commands.reset_max_demand(), password, _fields("RMS_Watts_Max_Demand")
        )

    async def zero_resettable_kwh(self, address: str, *, password: str = DEFAULT_PASSWORD) -> MeterReading:
        return await self._write(
            address, commands.zero_resettable_kwh(), password, _fields("kWh_Rst", "Rev_kWh_Rst"), v4_only=True
        )

    async def change_password(
        self, address: str, new_password: str, *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.change_password(new_password), password, _not_readable("password")
        )

    async def set_lcd_items(
        self, address: str, items: Sequence[int | str], *, password: str = DEFAULT_PASSWORD
    ) -> MeterReading:
        return await self._write(
            address, commands.lcd_items(items), password, _not_readable("LCD list"), v4_only=True
        )

    # --- stats --------------------------------------------------------------------------

    def stats(self, address: str) -> MeterStats:
        """The counters of meter `address` (created on first use)."""
        return self._stats.setdefault(normalize_address(address), MeterStats())


__all__ = ["DEFAULT_PASSWORD", "EkmBus", "MeterStats"]
