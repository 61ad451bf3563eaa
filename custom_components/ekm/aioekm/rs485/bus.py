"""The RS-485 bus client: one adapter, many meters, one transaction at a time.

A meter transaction is: read (selects the meter) -> optional B / table reads (month
tables, time-of-use tables) or password + write -> sign-off. Reads are retried a bounded number of times on a
timeout or a bad frame (exchange.Exchanges, which also keeps every reply with
its request); a write is never repeated: when its ACK is lost the meter is read
back and WriteUnconfirmedError says what state it is in. The port reconnects by
itself (port.Port).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
import logging
import math
from types import TracebackType
from typing import Self

from ..errors import (
    AddressMismatchError,
    CommandRejectedError,
    EkmConnectionError,
    EkmTimeoutError,
    FrameError,
    LateReplyError,
    WriteUnconfirmedError,
)
from ..fields import Layout
from ..readings import MeterReading, Protocol, normalize_address
from . import commands
from .commands import DEFAULT_PASSWORD
from .continuity import Continuity
from .exchange import Answer, Exchanges, MeterStats
from .frames import (
    MONTH_TABLE_REGISTERS,
    Frame,
    MonthTable,
    check_table_header,
    parse_reply,
    parse_table,
    to_reading,
)
from .freshness import Freshness, StaleReplyError
from .port import Port
from .port_url import redact_port_url
from .requests import password_frame, read_request, table_read_frame
from .setting_writes import Describe, MeterSettings
from .tariffs import (
    HOLIDAY_TABLE,
    SCHEDULE_TABLES,
    TariffTables,
    parse_holiday_table,
    parse_schedule_table,
    tariff_tables,
)

_LOGGER = logging.getLogger(__name__)

CLOCK_MARGIN = 0.1  # s: the meter's and this computer's clocks may run apart a little


class EkmBus(MeterSettings):
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
        self._port = Port(
            url,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            backoff=reconnect_backoff,
        )
        self._x = Exchanges(
            self._port,
            first_byte_timeout=first_byte_timeout,
            inter_byte_timeout=inter_byte_timeout,
            retries=read_retries,
        )
        self.lock = asyncio.Lock()
        self._protocols: dict[str, Protocol] = {}
        self._last_b: dict[str, Frame] = {}
        self._fresh = Freshness()
        self._continuity = Continuity(late=first_byte_timeout)

    def __repr__(self) -> str:
        return f"<EkmBus {redact_port_url(self.url)} connected={self.connected}>"

    @property
    def first_byte_timeout(self) -> float:
        return self._x.first_byte_timeout

    @property
    def inter_byte_timeout(self) -> float:
        return self._x.inter_byte_timeout

    @property
    def read_retries(self) -> int:
        return self._x.retries

    # --- connection -----------------------------------------------------------------

    async def open(self) -> None:
        """Open the port; EkmConnectionError if it cannot be opened."""
        await self._port.open()

    async def close(self) -> None:
        await self._port.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._port.connected

    def stats(self, address: str) -> MeterStats:
        """The counters of meter `address` (created on first use)."""
        return self._x.stats(address)

    # --- reads --------------------------------------------------------------------------

    async def _read_frame(
        self,
        address: str,
        layout: Layout,
        *,
        kwh_scale: int | None = None,
        attempts: int | None = None,
        not_before: datetime | None = None,
    ) -> Frame:
        """One frame of `layout`, retried on timeouts and bad frames.

        A reply older than one already taken from the meter, or (after a write) not
        later than `not_before`, is stale (rs485/freshness.py): dropped as a late reply.
        One the meter could not have sent after its previous reply is a bad frame
        (rs485/continuity.py).
        """
        loop = asyncio.get_running_loop()

        def parse(data: bytes) -> Frame:
            frame = parse_reply(data, address=address, layout=layout, kwh_scale=kwh_scale)
            now = loop.time()
            self._fresh.check(address, frame, not_before=not_before)
            self._continuity.check(address, frame, data, now=now)
            self._continuity.commit(address, frame, data, now=now)
            return self._fresh.commit(address, frame, now=now)

        def belongs(data: bytes) -> object:
            return parse_reply(data, address=address, layout=layout, plausibility=False)

        try:
            return await self._x.frame(
                address,
                read_request(address, layout),
                parse,
                what=f"the {layout.value} read",
                attempts=attempts,
                belongs=belongs,
            )
        except StaleReplyError:
            self._fresh.forget(address)  # its clock was probably set back: start afresh next time
            raise

    async def _detect(self, address: str, *, attempts: int | None = None) -> tuple[Protocol, Frame]:
        """Find the protocol by alternating the v4 A read and the v3 read; returns the frame read.

        A meter ignores the other generation's request, so each try costs a
        timeout on the wrong form: while the meter is silent the tries are shared
        between both forms (read_retries + 1 of them, rounded up so that each form
        gets as many) rather than multiplied. A bad frame is an answer in that form
        all the same: the meter gets that form's own retries, and a failure reports
        that form's error.
        """
        per_form = self._x.retries + 1 if attempts is None else attempts
        tries = 2 * math.ceil(per_form / 2) if attempts is None else 2 * attempts
        forms = ((Layout.V4A, Protocol.V4), (Layout.V3, Protocol.V3))
        late: LateReplyError | None = None
        for attempt in range(tries):
            layout, protocol = forms[attempt % 2]
            try:
                frame = await self._read_frame(address, layout, attempts=1)
            except EkmTimeoutError:
                continue
            except AddressMismatchError:
                continue  # another meter's reply: says nothing about this one
            except LateReplyError as err:
                late = err  # the answer to the other form's read, late: not an answer in this form
                continue
            except FrameError as err:
                if per_form <= 1:
                    raise
                try:
                    frame = await self._read_frame(address, layout, attempts=per_form - 1)
                except EkmTimeoutError:
                    raise err from None
            self._protocols[address] = protocol
            return protocol, frame
        if late is not None:
            raise late
        raise EkmTimeoutError(f"meter {address} answers neither the v4 nor the v3 read")

    async def read(
        self, address: str, *, protocol: Protocol | None = None, read_b: bool = True
    ) -> MeterReading:
        """One reading of meter `address` (v4: A, plus B when `read_b` else the cached B)."""
        address = normalize_address(address)
        async with self.lock:
            return await self._read_locked(address, protocol, read_b=read_b)

    async def _read_locked(
        self,
        address: str,
        protocol: Protocol | None,
        *,
        read_b: bool,
        attempts: int | None = None,
        not_before: datetime | None = None,
    ) -> MeterReading:
        try:
            first: Frame | None = None
            protocol = protocol or self._protocols.get(address)
            if protocol is None:
                protocol, first = await self._detect(address, attempts=attempts)
            if protocol is Protocol.V3:
                frame = first or await self._read_frame(
                    address, Layout.V3, attempts=attempts, not_before=not_before
                )
                reading = to_reading(frame, timestamp=datetime.now(UTC))
            else:
                a = first or await self._read_frame(
                    address, Layout.V4A, attempts=attempts, not_before=not_before
                )
                if read_b:
                    # Not older than A (freshness), so A and B come from the same moment.
                    b = await self._read_frame(
                        address, Layout.V4B, kwh_scale=a.kwh_scale, attempts=attempts, not_before=not_before
                    )
                    self._last_b[address] = b
                reading = to_reading(a, self._last_b.get(address), timestamp=datetime.now(UTC))
        except EkmConnectionError as err:
            self._x.count(address, err)
            raise
        finally:
            await self._x.sign_off()
        # A protocol the caller gave and the meter answered in: later sessions (writes,
        # tables) open with it instead of detecting again.
        self._protocols[address] = protocol
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
                await self._x.sign_off()
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
                return await self._x.frame(
                    address,
                    commands.month_table_read(reverse=reverse),
                    lambda data: parse_table(data, register=register, kwh_scale=frame.kwh_scale),
                    what=f"table {register}",
                    belongs=lambda data: parse_table(data, register=register, kwh_scale=frame.kwh_scale),
                )
            finally:
                await self._x.sign_off()

    async def read_tariffs(self, address: str) -> TariffTables:
        """The time-of-use setup (schedules, seasons, holidays): tables 0070, 0071, 00B0 in one session."""
        address = normalize_address(address)
        first, second = SCHEDULE_TABLES
        async with self.lock:
            try:
                await self._select(address)
                first_table = await self._x.frame(
                    address,
                    table_read_frame(first),
                    lambda data: parse_schedule_table(data, register=first),
                    what=f"table {first}",
                    belongs=lambda data: check_table_header(data, first),
                )
                second_table = await self._x.frame(
                    address,
                    table_read_frame(second),
                    lambda data: parse_schedule_table(data, register=second),
                    what=f"table {second}",
                    belongs=lambda data: check_table_header(data, second),
                )
                holidays = await self._x.frame(
                    address,
                    table_read_frame(HOLIDAY_TABLE),
                    parse_holiday_table,
                    what=f"table {HOLIDAY_TABLE}",
                    belongs=lambda data: check_table_header(data, HOLIDAY_TABLE),
                )
            finally:
                await self._x.sign_off()
        return tariff_tables(first_table, second_table, holidays)

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
        command: commands.Command,
        password: str,
        describe: Describe,
        *,
        v4_only: bool = False,
    ) -> MeterReading:
        """read (select) -> password (ACK) -> write (ACK) -> sign-off -> read back."""
        address = normalize_address(address)
        register, _ = command
        try:
            sign_on = password_frame(password)
        except ValueError:
            raise ValueError("meter password must be exactly 8 digits") from None
        write = commands.frame(command)
        loop = asyncio.get_running_loop()
        async with self.lock:
            started = loop.time()
            try:
                protocol, _ = await self._select(address)
                if v4_only and protocol is Protocol.V3:
                    raise CommandRejectedError(f"meter {address} is a v3 meter; this setting needs v4/v5")
                answer = await self._x.ack(sign_on)
                if answer is not Answer.ACK:
                    raise CommandRejectedError(self._password_refused(address, answer))
                answer = await self._x.ack(write)
                # Whether or not it answered, the meter may have taken the write.
                self._continuity.written(address, register)
            finally:
                await self._x.sign_off()
            not_before = await self._after_write(address, register, loop.time() - started)
            try:
                reading = await self._read_locked(address, protocol, read_b=True, not_before=not_before)
            except (EkmTimeoutError, FrameError) as err:
                if answer is Answer.ACK:
                    raise
                raise WriteUnconfirmedError(
                    f"meter {address} did not confirm the write to {register} ({answer.value}) and could "
                    f"not be read back ({err}); its state is unknown",
                    None,
                ) from err
        if answer is not Answer.ACK:
            raise WriteUnconfirmedError(
                f"meter {address} did not confirm the write to {register} ({answer.value}); "
                f"read back: {describe(reading)}",
                reading,
            )
        return reading

    async def _after_write(self, address: str, register: str, elapsed: float) -> datetime | None:
        """The meter time the read-back must be later than, once the wait for it is over.

        The select reply (time T, taken at loop time L, sent at or after the
        transaction began) was made at most `elapsed` before the write went out:
        every reply made before the write shows at most T + floor(1 + elapsed). A
        fresh reply shows that much + 1 s once the meter's clock surely passed it:
        1 s more after L. docs/rs485-protocol.md, "Late and stale replies".
        """
        if register == commands.SET_TIME:
            self._fresh.forget(address)  # a clock just set says nothing about the old one
            return None
        clock = self._fresh.clock(address)
        if not clock.runs or clock.newest is None:
            return None  # a clock never seen moving (stopped, unset, pinned) cannot order replies
        margin = math.floor(1 + elapsed)
        wait = clock.newest_at + margin + 1 + CLOCK_MARGIN - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)
        return clock.newest + timedelta(seconds=margin)

    def _password_refused(self, address: str, answer: Answer) -> str:
        """What the meter's answer to the password says (the password itself is never shown)."""
        if answer is Answer.NAK:
            return f"meter {address} did not accept the password (it answered NAK): wrong password?"
        if answer is Answer.OTHER:
            return f"meter {address} answered the password with noise instead of an ACK"
        return (
            f"meter {address} did not answer the password within {self.first_byte_timeout:g} s "
            "(a wrong password, or its answer was lost or late)"
        )


__all__ = ["DEFAULT_PASSWORD", "EkmBus", "MeterStats"]
