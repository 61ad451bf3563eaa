"""`ekm`: read and configure EKM meters on an RS-485 bus, talk to the Push cloud, simulate.

    ekm simulate --pty --meters 300000001:v4,000000017507:v3 [--tcp PORT] [--wire-speed] [--http PORT]
    ekm read --port URL --meter ADDRESS [--json]
    ekm scan --port URL --from A --to B
    ekm relay --port URL --meter ADDRESS --relay 1 --state on|off [--seconds N] [--password P]
    ekm set-time | ct-ratio | pulse-input-ratio | pulse-output-ratio | max-demand-period |
        max-demand-reset | reset-max-demand | zero-kwh | change-password | lcd-items | month-table
    ekm cloud ...

Errors end the command with a one-line message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime
import json
import os
import signal
import sys
from typing import Any

from ..errors import EkmError, WriteUnconfirmedError
from ..readings import MeterReading, model_name, normalize_address
from ..rs485 import commands
from ..rs485.bus import DEFAULT_PASSWORD, EkmBus
from ..simulator.fleet import Fleet
from ..simulator.rs485 import Rs485Simulator
from . import push as push_cli

type Handler = Callable[[argparse.Namespace], Awaitable[int]]
type BusAction = Callable[[EkmBus, argparse.Namespace], Awaitable[MeterReading]]

PASSWORD_ENV = "EKM_METER_PASSWORD"


# --- output -----------------------------------------------------------------------------


def _print_reading(reading: MeterReading, as_json: bool) -> None:
    if as_json:
        print(json.dumps(reading.as_dict()))
        return
    print(
        f"meter {reading.address}: {model_name(reading.model)}, model {reading.model}, "
        f"firmware {reading.firmware}, protocol {reading.protocol}"
    )
    for name, value in reading.as_dict().items():
        if name not in ("Meter", "Model", "Firmware", "Protocol"):
            print(f"  {name:<24} {value}")


# --- bus commands -------------------------------------------------------------------------


def _bus(args: argparse.Namespace) -> EkmBus:
    return EkmBus(args.port, first_byte_timeout=args.timeout, read_retries=args.retries)


def _password(args: argparse.Namespace) -> str:
    return str(args.password or os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD)


async def _read(args: argparse.Namespace) -> int:
    async with _bus(args) as bus:
        reading = await bus.read(args.meter)
    _print_reading(reading, args.json)
    return 0


async def _scan(args: argparse.Namespace) -> int:
    first, last = int(normalize_address(args.first)), int(normalize_address(args.last))
    if last < first:
        raise ValueError("--to must not be below --from")
    async with _bus(args) as bus:
        found = await bus.scan(str(n) for n in range(first, last + 1))
    if args.json:
        print(json.dumps([reading.as_dict() for reading in found]))
        return 0
    for reading in found:
        print(
            f"{reading.address} {reading.protocol} {model_name(reading.model)} "
            f"firmware {reading.firmware} kWh_Tot {reading.get('kWh_Tot')}"
        )
    print(f"{len(found)} meter(s) answered between {first:012d} and {last:012d}")
    return 0


async def _month_table(args: argparse.Namespace) -> int:
    async with _bus(args) as bus:
        table = await bus.read_month_table(args.meter, reverse=args.reverse)
    if args.json:
        print(json.dumps(asdict(table)))
        return 0
    direction = "reverse" if table.reverse else "forward"
    print(f"table {table.register} ({direction} kWh), rows as the meter sends them")
    for row, month in enumerate(table.months, start=1):
        tariffs = " ".join(f"{t:.2f}" for t in month.tariffs)
        print(f"  row {row}: total {month.total:.2f}  tariffs 1-4: {tariffs}")
    return 0


def _write(action: BusAction) -> Handler:
    """A handler running one settings write and printing the read-back."""

    async def handler(args: argparse.Namespace) -> int:
        async with _bus(args) as bus:
            try:
                reading = await action(bus, args)
            except WriteUnconfirmedError as err:
                print(f"warning: {err}", file=sys.stderr)
                if err.reading is not None:
                    _print_reading(err.reading, args.json)
                return 3
        print(f"ok: meter {reading.address} acknowledged the change", file=sys.stderr)
        _print_reading(reading, args.json)
        return 0

    return handler


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--time must be an ISO date and time, got {text!r}") from None


def _lcd_items(text: str) -> list[int | str]:
    return [int(item) if item.strip().isdigit() else item.strip() for item in text.split(",") if item.strip()]


def _relay_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--relay", type=int, choices=[1, 2], required=True)
    p.add_argument("--state", choices=["on", "off"], required=True, help="on = closed")
    p.add_argument("--seconds", type=int, default=0, help="flip back after N s (0 = hold)")


def _option(*flags: str, **spec: Any) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(*flags, **spec)

    return add


def _no_options(p: argparse.ArgumentParser) -> None:
    pass


def _pulse_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=int, choices=[1, 2, 3], required=True)
    p.add_argument("--ratio", type=int, required=True, help="1..9999")


# command: (help, what it does, its own options)
WRITES: dict[str, tuple[str, BusAction, Callable[[argparse.ArgumentParser], None]]] = {
    "relay": (
        "switch relay 1 or 2, optionally for N seconds",
        lambda bus, a: bus.set_relay(a.meter, a.relay, a.state == "on", a.seconds, password=_password(a)),
        _relay_options,
    ),
    "set-time": (
        "set the meter clock (default: this computer's local time)",
        lambda bus, a: bus.set_time(a.meter, _when(a.time), password=_password(a)),
        _option("--time", default=None, help="ISO date and time, e.g. 2026-05-01T12:00:00"),
    ),
    "ct-ratio": (
        f"set the CT ratio ({', '.join(map(str, commands.CT_RATIOS))})",
        lambda bus, a: bus.set_ct_ratio(a.meter, a.amps, password=_password(a)),
        _option("--amps", type=int, required=True),
    ),
    "pulse-input-ratio": (
        "set the ratio of pulse input 1..3",
        lambda bus, a: bus.set_pulse_input_ratio(a.meter, a.input, a.ratio, password=_password(a)),
        _pulse_input_options,
    ),
    "pulse-output-ratio": (
        f"set the pulse-output ratio ({', '.join(map(str, commands.PULSE_OUTPUT_RATIOS))})",
        lambda bus, a: bus.set_pulse_output_ratio(a.meter, a.ratio, password=_password(a)),
        _option("--ratio", type=int, required=True),
    ),
    "max-demand-period": (
        "set the max-demand period",
        lambda bus, a: bus.set_max_demand_period(a.meter, a.minutes, password=_password(a)),
        _option("--minutes", type=int, choices=[15, 30, 60], required=True),
    ),
    "max-demand-reset": (
        "set the max-demand auto-reset interval",
        lambda bus, a: bus.set_max_demand_auto_reset(a.meter, a.mode, password=_password(a)),
        _option("--mode", choices=[m.name.lower() for m in commands.MaxDemandReset], required=True),
    ),
    "reset-max-demand": (
        "reset the max demand now",
        lambda bus, a: bus.reset_max_demand(a.meter, password=_password(a)),
        _no_options,
    ),
    "zero-kwh": (
        "zero the resettable kWh registers (kWh_Rst, Rev_kWh_Rst)",
        lambda bus, a: bus.zero_resettable_kwh(a.meter, password=_password(a)),
        _no_options,
    ),
    "change-password": (
        "change the meter password (8 digits; a lost password cannot be recovered)",
        lambda bus, a: bus.change_password(a.meter, a.new_password, password=_password(a)),
        _option("--new-password", required=True),
    ),
    "lcd-items": (
        "choose what the LCD shows: item codes or field names, comma separated",
        lambda bus, a: bus.set_lcd_items(a.meter, _lcd_items(a.items), password=_password(a)),
        _option("--items", required=True, help="e.g. 1,2,RMS_Watts_Tot"),
    ),
}


# --- simulate -------------------------------------------------------------------------------


async def _simulate(args: argparse.Namespace) -> int:
    fleet = Fleet.parse(args.meters)
    if not fleet.meters:
        raise ValueError("--meters lists no meter")
    sim = Rs485Simulator(fleet, turnaround=args.turnaround, wire_speed=args.wire_speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    http: Any = None
    try:
        lines = []
        if args.pty or (args.tcp is None and args.http is None):
            lines.append(f"listening on {await sim.start_pty()}")
        if args.tcp is not None:
            lines.append(f"listening on {await sim.start_tcp(args.tcp)}")
        if args.http is not None:
            http, http_lines = await push_cli.start_http_simulation(fleet, args.http)
            lines.extend(http_lines)
        for line in lines:
            print(line, flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        if http is not None:
            await http.close()
    return 0


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ekm", description="EKM Omnimeters over RS-485, the EKM Push cloud, and simulators of both."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bus = argparse.ArgumentParser(add_help=False)
    bus.add_argument(
        "--port", required=True, help="serial device or URL: /dev/ttyUSB0, socket://host:port, rfc2217://..."
    )
    bus.add_argument("--timeout", type=float, default=1.5, help="seconds to wait for a reply to start")
    bus.add_argument("--retries", type=int, default=2, help="read retries on timeouts and bad frames")
    bus.add_argument("--json", action="store_true", help="print JSON")
    meter = argparse.ArgumentParser(add_help=False)
    meter.add_argument("--meter", required=True, help="meter address (up to 12 digits)")
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument(
        "--password", default=None, help=f"meter password (default: ${PASSWORD_ENV}, else 00000000)"
    )

    sim = sub.add_parser("simulate", help="serve virtual meters on a pty / TCP port (and the Push API)")
    sim.add_argument("--meters", required=True, help="ADDRESS:v3|v4, comma separated")
    sim.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (the default)")
    sim.add_argument("--tcp", type=int, default=None, metavar="PORT", help="serve on TCP 127.0.0.1:PORT")
    sim.add_argument("--http", type=int, default=None, metavar="PORT", help="serve the fake Push API")
    sim.add_argument("--wire-speed", action="store_true", help="pace replies at 9600 baud")
    sim.add_argument("--turnaround", type=float, default=0.03, help="meter reply delay, seconds")
    sim.set_defaults(handler=_simulate)

    read = sub.add_parser("read", parents=[bus, meter], help="read one meter")
    read.set_defaults(handler=_read)

    scan = sub.add_parser("scan", parents=[bus], help="find the meters in an address range")
    scan.add_argument("--from", dest="first", required=True, help="first address")
    scan.add_argument("--to", dest="last", required=True, help="last address")
    scan.set_defaults(handler=_scan, timeout=0.3, retries=0)

    table = sub.add_parser("month-table", parents=[bus, meter], help="kWh of the last six months")
    table.add_argument("--reverse", action="store_true", help="reverse (exported) kWh")
    table.set_defaults(handler=_month_table)

    for name, (help_text, action, add_options) in WRITES.items():
        command = sub.add_parser(name, parents=[bus, meter, secret], help=help_text)
        add_options(command)
        command.set_defaults(handler=_write(action))

    push_cli.register(sub)
    return parser


async def _run(args: argparse.Namespace) -> int:
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        print("error: this command is not available", file=sys.stderr)
        return 2
    return await handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except (EkmError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
