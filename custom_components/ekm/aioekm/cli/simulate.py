"""`ekm simulate`: virtual meters on a pty / TCP port, and the fake Push API.

The simulator is imported only when this command runs, so the other commands
never load it (nor aiohttp's server side).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
import os
import signal
from typing import TYPE_CHECKING, Any

from .args import SubParsers, address, delay, tcp_port
from .push import start_http_simulation, start_push3_simulation

if TYPE_CHECKING:
    from ..simulator.faults import Faults

# The protocols `--meters` accepts; a v5 meter speaks the v4 protocol.
PROTOCOLS = {"v3": "v3", "v4": "v4", "v5": "v4"}


def meters_spec(text: str) -> str:
    """'300000001:v4,17507:v3,300000003:v5' checked, as the simulator's form (v5 -> v4)."""
    items: dict[str, str] = {}  # address -> protocol
    for item in filter(None, (part.strip() for part in text.split(","))):
        meter, _, version = item.partition(":")
        protocol = PROTOCOLS.get(version.strip().lower() or "v4")
        if protocol is None:
            raise argparse.ArgumentTypeError(f"protocol of {meter!r} must be v3, v4 or v5, got {version!r}")
        checked = address(meter)
        if checked in items:
            raise argparse.ArgumentTypeError(f"meter {checked} is listed twice")
        items[checked] = protocol
    if not items:
        raise argparse.ArgumentTypeError("list at least one meter, e.g. 300000001:v4")
    return ",".join(f"{meter}:{protocol}" for meter, protocol in items.items())


def gateway_mac(text: str) -> str:
    """A gateway MAC: 12 hex digits, with or without ':' or '-' between pairs; lower case, bare."""
    bare = text.strip().replace(":", "").replace("-", "").lower()
    if len(bare) != 12 or not all(c in "0123456789abcdef" for c in bare):
        raise argparse.ArgumentTypeError(f"a gateway MAC is 12 hex digits (e.g. 4016fa0fffff), got {text!r}")
    return bare


@contextmanager
def _listening(what: str, port: int) -> Iterator[None]:
    """Say which port could not be opened, in words (asyncio's message nests the errno)."""
    try:
        yield
    except OSError as err:
        reason = os.strerror(err.errno).lower() if err.errno else str(err)
        raise OSError(f"cannot serve {what} on 127.0.0.1:{port}: {reason}") from None


def faults_spec(text: str) -> Faults:
    """'crc=0.05,drop=0.02,...' as the simulator's Faults (docs/simulator.md lists the knobs)."""
    from ..simulator.faults import Faults  # noqa: PLC0415 (only `simulate` loads the simulator)

    try:
        return Faults.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


async def _simulate(args: argparse.Namespace) -> int:
    # Here, not at the top: only this command may load the simulator.
    from ..simulator.fleet import Fleet  # noqa: PLC0415
    from ..simulator.rs485 import Rs485Simulator  # noqa: PLC0415

    fleet = Fleet.parse(args.meters)
    sim = Rs485Simulator(fleet, turnaround=args.turnaround, wire_speed=args.wire_speed, faults=args.faults)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    http: Any = None
    push3: Any = None
    try:
        lines = []
        if args.pty or (args.tcp is None and args.http is None and args.push3 is None):
            lines.append(f"listening on {await sim.start_pty()}")
        if args.tcp is not None:
            with _listening("TCP", args.tcp):
                lines.append(f"listening on {await sim.start_tcp(args.tcp)}")
        if args.http is not None:
            with _listening("HTTP", args.http):
                http, http_lines = await start_http_simulation(fleet, args.http)
            lines.extend(http_lines)
        if http is None and args.push3 is not None:
            # The gateway's keys and knobs live on a fake cloud, here not served.
            from ..simulator.push import PushServer  # noqa: PLC0415

            http = PushServer(fleet)
        for mac in args.legacy_gateway or ():
            if http is not None:
                if mac not in http.keys.gateways:
                    known = ", ".join(sorted(http.keys.gateways))
                    raise ValueError(
                        f"--legacy-gateway {mac}: no simulated gateway has it (they are {known})"
                    )
                http.make_legacy(mac)
        if args.push3 is not None:
            with _listening("the Push3 local API", args.push3):
                push3, push3_lines = await start_push3_simulation(http, args.push3)
            lines.extend(push3_lines)
        for line in lines:
            print(line, flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        if push3 is not None:
            await push3.close()
        if http is not None:
            await http.close()
    return 0


def register(sub: SubParsers) -> None:
    sim = sub.add_parser("simulate", help="serve virtual meters on a pty / TCP port (and the Push API)")
    sim.add_argument(
        "--meters", required=True, type=meters_spec, help="ADDRESS:v3|v4|v5, comma separated (v5 speaks v4)"
    )
    sim.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (the default)")
    sim.add_argument(
        "--tcp", type=tcp_port, default=None, metavar="PORT", help="serve on TCP 127.0.0.1:PORT (0: any free)"
    )
    sim.add_argument(
        "--http", type=tcp_port, default=None, metavar="PORT", help="serve the fake Push API (0: any free)"
    )
    sim.add_argument(
        "--push3",
        type=tcp_port,
        default=None,
        metavar="PORT",
        help="serve the first Push3 gateway's local API at http://127.0.0.1:PORT/readMeter (0: any free)",
    )
    sim.add_argument(
        "--legacy-gateway",
        action="append",
        type=gateway_mac,
        metavar="MAC",
        help="make this gateway an older, non-Push3 one (no sendCommand, no relays); repeatable",
    )
    sim.add_argument("--wire-speed", action="store_true", help="pace replies at 9600 baud")
    sim.add_argument(
        "--turnaround", type=delay, default=0.03, help="meter reply delay, seconds (default: %(default)s)"
    )
    sim.add_argument(
        "--faults",
        type=faults_spec,
        default=None,
        metavar="KNOB=VALUE,...",
        help="misbehave on the bus, e.g. crc=0.05,drop=0.02,late=0.1,dup=0.05,garbage=0.02,"
        "stray_stx=0.02,slow=0.5 (rates are fractions of replies; see docs/simulator.md)",
    )
    sim.set_defaults(handler=_simulate)
