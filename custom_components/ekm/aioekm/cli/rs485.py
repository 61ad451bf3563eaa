"""The RS-485 bus commands of `ekm`: read, scan, month-table, tariffs and the settings writes.

A write prints one line saying what the meter now reports (`--json`: its whole reading).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
import json
import os
import sys

from ..errors import WriteUnconfirmedError
from ..readings import MeterReading, model_name
from ..rs485 import commands
from ..rs485.bus import EkmBus
from ..rs485.commands import DEFAULT_PASSWORD
from .args import (
    MAX_SCAN,
    PASSWORD_ENV,
    SubParsers,
    add_bus_options,
    add_meter_option,
    add_password_option,
    address,
    bounded_int,
    password,
)

type BusAction = Callable[[EkmBus, argparse.Namespace], Awaitable[MeterReading]]
type Describe = Callable[[MeterReading, argparse.Namespace], str]


# --- output -----------------------------------------------------------------------------


def print_reading(reading: MeterReading, as_json: bool) -> None:
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


def _fields(*names: str) -> Describe:
    """A result line listing what the meter now reports in `names`."""

    def describe(reading: MeterReading, _args: argparse.Namespace) -> str:
        shown = ", ".join(f"{name} {reading.get(name)}" for name in names if name in reading)
        return f"meter {reading.address} acknowledged: {shown or 'done'}"

    return describe


def _relay_result(reading: MeterReading, args: argparse.Namespace) -> str:
    closed = reading.relay_closed(args.relay)
    state = "unknown" if closed is None else "closed (on)" if closed else "open (off)"
    timer = f", switching back after {args.seconds} s" if args.seconds else ""
    return f"relay {args.relay} of meter {reading.address} is {state}{timer}"


def _time_result(reading: MeterReading, _args: argparse.Namespace) -> str:
    when = reading.meter_time.isoformat(sep=" ") if reading.meter_time else "unreadable"
    return f"meter {reading.address} clock is {when}"


def _password_result(reading: MeterReading, _args: argparse.Namespace) -> str:
    return f"meter {reading.address} acknowledged the new password"


# --- bus commands -------------------------------------------------------------------------


def _bus(args: argparse.Namespace) -> EkmBus:
    return EkmBus(args.port, first_byte_timeout=args.timeout, read_retries=args.retries)


def _password(args: argparse.Namespace) -> str:
    given = args.password or os.environ.get(PASSWORD_ENV)
    if given is None:
        return DEFAULT_PASSWORD
    try:
        return password(given)
    except argparse.ArgumentTypeError:
        raise ValueError(f"${PASSWORD_ENV} must be exactly 8 digits 0-9") from None


async def _read(args: argparse.Namespace) -> int:
    async with _bus(args) as bus:
        reading = await bus.read(args.meter)
    print_reading(reading, args.json)
    return 0


async def _scan(args: argparse.Namespace) -> int:
    first, last = int(args.first), int(args.last)
    if last < first:
        raise ValueError("--to must not be below --from")
    count = last - first + 1
    if count > MAX_SCAN and not args.force:
        raise ValueError(f"--from/--to span {count} addresses; at most {MAX_SCAN} without --force")
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


async def _tariffs(args: argparse.Namespace) -> int:
    async with _bus(args) as bus:
        tables = await bus.read_tariffs(args.meter)
    if args.json:
        print(json.dumps(tables.as_dict()))
        return 0
    for schedule in tables.schedules:
        periods = ", ".join(f"{p.start:%H:%M} tariff {p.tariff}" for p in schedule.periods)
        print(f"schedule {schedule.number}: {periods or 'unused'}")
    seasons = ", ".join(f"from {s.month:02d}-{s.day:02d} schedule {s.schedule}" for s in tables.seasons)
    print(f"seasons: {seasons or 'none'}")
    print(f"holidays: {', '.join(f'{h.month:02d}-{h.day:02d}' for h in tables.holidays) or 'none'}")
    print(f"weekends: schedule {tables.weekend_schedule or 'not set'}")
    print(f"holidays follow: schedule {tables.holiday_schedule or 'not set'}")
    return 0


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--time must be an ISO date and time, got {text[:40]!r}") from None


def _lcd_items(text: str) -> list[int | str]:
    items = (item.strip() for item in text.split(","))
    return [int(item) if item.isascii() and item.isdigit() else item for item in items if item]


# --- settings writes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One settings command: its help, the bus call, its own options, its result line."""

    help: str
    action: BusAction
    options: Callable[[argparse.ArgumentParser], None]
    result: Describe


def _handler(write: Write) -> Callable[[argparse.Namespace], Awaitable[int]]:
    async def handler(args: argparse.Namespace) -> int:
        async with _bus(args) as bus:
            try:
                reading = await write.action(bus, args)
            except WriteUnconfirmedError as err:
                print(f"warning: {err}", file=sys.stderr)
                if err.reading is not None:
                    _print_result(write, err.reading, args)
                return 3
        _print_result(write, reading, args)
        return 0

    return handler


def _print_result(write: Write, reading: MeterReading, args: argparse.Namespace) -> None:
    if args.json:
        print_reading(reading, True)
    else:
        print(write.result(reading, args))


def _option(*flags: str, **spec: object) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(*flags, **spec)  # type: ignore[arg-type]

    return add


def _no_options(p: argparse.ArgumentParser) -> None:
    pass


def _relay_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--relay", type=int, choices=[1, 2], required=True)
    p.add_argument("--state", choices=["on", "off"], required=True, help="on = closed")
    p.add_argument(
        "--seconds",
        type=bounded_int(0, commands.MAX_RELAY_SECONDS),
        default=0,
        help="flip back after N s (0 = hold)",
    )


def _pulse_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=int, choices=[1, 2, 3], required=True)
    p.add_argument(
        "--ratio", type=bounded_int(1, commands.MAX_PULSE_INPUT_RATIO), required=True, help="1..9999"
    )


WRITES: dict[str, Write] = {
    "relay": Write(
        "switch relay 1 or 2, optionally for N seconds",
        lambda bus, a: bus.set_relay(a.meter, a.relay, a.state == "on", a.seconds, password=_password(a)),
        _relay_options,
        _relay_result,
    ),
    "set-time": Write(
        "set the meter clock (default: this computer's local time)",
        lambda bus, a: bus.set_time(a.meter, _when(a.time), password=_password(a)),
        _option("--time", default=None, help="ISO date and time, e.g. 2026-05-01T12:00:00"),
        _time_result,
    ),
    "ct-ratio": Write(
        f"set the CT ratio ({', '.join(map(str, commands.CT_RATIOS))})",
        lambda bus, a: bus.set_ct_ratio(a.meter, a.amps, password=_password(a)),
        _option("--amps", type=bounded_int(1, max(commands.CT_RATIOS)), required=True),
        _fields("CT_Ratio"),
    ),
    "pulse-input-ratio": Write(
        "set the ratio of pulse input 1..3",
        lambda bus, a: bus.set_pulse_input_ratio(a.meter, a.input, a.ratio, password=_password(a)),
        _pulse_input_options,
        lambda reading, a: _fields(f"Pulse_Ratio_{a.input}")(reading, a),
    ),
    "pulse-output-ratio": Write(
        f"set the pulse-output ratio ({', '.join(map(str, commands.PULSE_OUTPUT_RATIOS))})",
        lambda bus, a: bus.set_pulse_output_ratio(a.meter, a.ratio, password=_password(a)),
        _option("--ratio", type=bounded_int(1, max(commands.PULSE_OUTPUT_RATIOS)), required=True),
        _fields("CF_Ratio"),
    ),
    "max-demand-period": Write(
        "set the max-demand period",
        lambda bus, a: bus.set_max_demand_period(a.meter, a.minutes, password=_password(a)),
        _option("--minutes", type=int, choices=[15, 30, 60], required=True),
        _fields("Max_Demand_Period"),
    ),
    "max-demand-reset": Write(
        "set the max-demand auto-reset interval",
        lambda bus, a: bus.set_max_demand_auto_reset(a.meter, a.mode, password=_password(a)),
        _option("--mode", choices=[m.name.lower() for m in commands.MaxDemandReset], required=True),
        _fields("Max_Demand_Rst"),
    ),
    "reset-max-demand": Write(
        "reset the max demand now",
        lambda bus, a: bus.reset_max_demand(a.meter, password=_password(a)),
        _no_options,
        _fields("RMS_Watts_Max_Demand"),
    ),
    "zero-kwh": Write(
        "zero the resettable kWh registers (kWh_Rst, Rev_kWh_Rst)",
        lambda bus, a: bus.zero_resettable_kwh(a.meter, password=_password(a)),
        _no_options,
        _fields("kWh_Rst", "Rev_kWh_Rst"),
    ),
    "change-password": Write(
        "change the meter password (8 digits; a lost password cannot be recovered)",
        lambda bus, a: bus.change_password(a.meter, a.new_password, password=_password(a)),
        _option("--new-password", type=password, required=True, help="8 digits"),
        _password_result,
    ),
    "lcd-items": Write(
        "choose what the LCD shows: item codes or field names, comma separated",
        lambda bus, a: bus.set_lcd_items(a.meter, _lcd_items(a.items), password=_password(a)),
        _option("--items", required=True, help="e.g. 1,2,RMS_Watts_Tot"),
        _fields(),
    ),
}


def register(sub: SubParsers) -> None:
    """Add the bus commands to the CLI."""
    read = sub.add_parser("read", help="read one meter")
    add_bus_options(read)
    add_meter_option(read)
    read.set_defaults(handler=_read)

    scan = sub.add_parser("scan", help=f"find the meters in an address range (at most {MAX_SCAN})")
    add_bus_options(scan, timeout=0.3, retries_=0)
    scan.add_argument("--from", dest="first", type=address, required=True, help="first address")
    scan.add_argument("--to", dest="last", type=address, required=True, help="last address")
    scan.add_argument("--force", action="store_true", help=f"allow a range of more than {MAX_SCAN} addresses")
    scan.set_defaults(handler=_scan)

    table = sub.add_parser("month-table", help="kWh of the last six months")
    add_bus_options(table)
    add_meter_option(table)
    table.add_argument("--reverse", action="store_true", help="reverse (exported) kWh")
    table.set_defaults(handler=_month_table)

    tariffs = sub.add_parser("tariffs", help="time-of-use setup: tariff schedules, seasons, holidays")
    add_bus_options(tariffs)
    add_meter_option(tariffs)
    tariffs.set_defaults(handler=_tariffs)

    for name, write in WRITES.items():
        command = sub.add_parser(name, help=write.help)
        add_bus_options(command)
        add_meter_option(command)
        add_password_option(command)
        write.options(command)
        command.set_defaults(handler=_handler(write))
