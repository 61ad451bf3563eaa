"""`ekm cloud ...` commands and the `simulate --http` face.

Every handler is an async function `(args) -> exit code`; errors print one line
on stderr (never the key or token) and exit non-zero. The key may come from
`--key` or the EKM_PUSH_KEY environment variable (which keeps it out of `ps`).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from ..errors import EkmError
from ..push.account import ACCOUNT_TARGETS, Account
from ..push.cloud import DEFAULT_API_URL, DEFAULT_SUMMARY_URL, PushClient
from ..push.dates import load_zone
from ..push.http import split_list
from ..push.redaction import redact
from ..push.summary import STAT_SUFFIXES, Report, SummaryRow
from ..push.trigger import Trigger
from .args import Handler, SubParsers, address, bounded_int, seconds

if TYPE_CHECKING:
    from ..simulator.fleet import Fleet
    from ..simulator.push import Push3Gateway, PushServer


def _meter(text: str) -> str:
    """A meter address checked like the bus commands', but sent as typed."""
    address(text)
    return text.strip()


def base_url(text: str) -> str:
    """An http(s) URL with a host and no credentials (the key and token have their own options)."""
    try:
        url = URL(text.strip())
    except (ValueError, IndexError):  # yarl raises IndexError for "http://[]"
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError("must be an http:// or https:// URL with a host")
    if url.user is not None or url.password is not None:
        raise argparse.ArgumentTypeError("must not carry a user or password (use --key and --token)")
    return str(url)


def register(subparsers: SubParsers) -> None:
    """Add the `cloud` command and its subcommands to the CLI."""
    cloud = subparsers.add_parser("cloud", help="talk to the EKM Push cloud API")
    cloud.set_defaults(handler=_usage(cloud))
    sub = cloud.add_subparsers(
        dest="cloud_command", metavar="{read,summary,account,relay,command,trigger,widget}"
    )

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--key", default=None, help="EKM Push key (default: $EKM_PUSH_KEY)")
    common.add_argument("--token", default=None, help="API bearer token (default: $EKM_API_TOKEN)")
    common.add_argument(
        "--base-url", type=base_url, default=None, help=f"API base URL (default {DEFAULT_API_URL})"
    )
    common.add_argument(
        "--summary-url",
        type=base_url,
        default=None,
        help=f"Summary base URL (default: --base-url if given, else {DEFAULT_SUMMARY_URL})",
    )
    common.add_argument(
        "--timeout", type=seconds, default=20.0, help="seconds per request (default: %(default)s)"
    )
    common.add_argument("--json", action="store_true", help="print JSON")

    read = sub.add_parser("read", parents=[common], help="newest reading of meters (Realtime API)")
    read.add_argument(
        "--meter", type=_meter, action="append", default=None, help="meter address (repeat; default all)"
    )
    read.add_argument(
        "--cnt",
        type=bounded_int(1, 1000),
        default=1,
        help="reads per meter to fetch, newest kept (default: 1)",
    )
    read.add_argument("--fields", default=None, help="fields to ask for, joined by ~ or ,")
    read.set_defaults(handler=_read)

    summary = sub.add_parser("summary", parents=[common], help="summary periods (legacy Summary API)")
    summary.add_argument(
        "--meter", type=_meter, action="append", required=True, help="meter address (repeat)"
    )
    summary.add_argument("--report", choices=[r.value for r in Report], default="dy")
    summary.add_argument("--start", default=None, help="ISO date/time (default: 1 day before --end)")
    summary.add_argument("--end", default=None, help="ISO date/time (default: the current time)")
    summary.add_argument("--tz", default="UTC", help="timezone of the periods and of naive dates")
    summary.add_argument("--fields", default=None, help="fields, joined by ~ or , (wildcards allowed)")
    summary.set_defaults(handler=_summary)

    account = sub.add_parser("account", parents=[common], help="what the key sees (Account API)")
    account.add_argument("--target", choices=ACCOUNT_TARGETS, default="account")
    account.add_argument("--id", action="append", default=[], help="gateway MAC or meter address (repeat)")
    account.add_argument("--deep", action="store_true", help="include device details")
    account.add_argument("--state", action="store_true", help="include last state")
    account.set_defaults(handler=_account)

    relay = sub.add_parser("relay", parents=[common], help="switch a meter relay through its Push3")
    relay.add_argument("--gateway", required=True, help="Push3 MAC address")
    relay.add_argument("--meter", type=_meter, required=True)
    relay.add_argument("--relay", type=int, choices=[1, 2], required=True)
    relay.add_argument("--state", choices=["on", "off"], required=True)
    relay.add_argument(
        "--seconds", type=bounded_int(0, 9999), default=0, help="switch back after N s (0 = hold)"
    )
    relay.set_defaults(handler=_relay)

    command = sub.add_parser("command", parents=[common], help="send a Gateway Settings command")
    command.add_argument("--gateway", required=True, help="Push3 MAC address")
    command.add_argument("--target", default="meter")
    command.add_argument("--target-id", required=True)
    command.add_argument("--command", dest="command_name", required=True, help="e.g. SetRelay")
    command.add_argument("--params", default="{}", help="JSON object")
    command.set_defaults(handler=_command)

    trigger = sub.add_parser("trigger", parents=[common], help="list/get/create/update/delete triggers")
    trigger.add_argument("action", choices=["list", "get", "create", "update", "delete"])
    trigger.add_argument("--gateway", default=None, help="Push3 MAC (list, create)")
    trigger.add_argument("--uuid", default=None, help="trigger uuid (get, update, delete)")
    trigger.add_argument("--definition", default=None, help="JSON object (create, update)")
    trigger.set_defaults(handler=_trigger)

    widget = sub.add_parser("widget", parents=[common], help="print the EKM Widget URL of a meter")
    widget.add_argument("--meter", type=_meter, required=True)
    widget.add_argument("--tz", default=None)
    widget.set_defaults(handler=_widget)


async def start_http_simulation(fleet: Fleet, port: int) -> tuple[PushServer, list[str]]:
    """Serve the fake Push API for `fleet` on 127.0.0.1:port.

    Returns (a handle whose `async close()` stops it, the lines to print:
    'listening on http://127.0.0.1:PORT', then one line per accepted key).
    The Push3 local API of gateway MAC is at http://127.0.0.1:PORT/push3/MAC/readMeter.
    """
    from ..simulator.push import PushServer  # noqa: PLC0415 (server side only when simulating)

    server = PushServer(fleet)
    url = await server.start("127.0.0.1", port)
    return server, [f"listening on {url}", *server.key_lines()]


async def start_push3_simulation(server: PushServer, port: int) -> tuple[Push3Gateway, list[str]]:
    """Serve one gateway's local API (the first Push3 of `server`) at http://127.0.0.1:PORT/readMeter.

    Returns (a handle whose `async close()` stops it, the line to print:
    'push3 gateway: MAC http://127.0.0.1:PORT key: KEY').
    """
    from ..simulator.push import Push3Gateway  # noqa: PLC0415 (server side only when simulating)

    macs = [mac for mac in sorted(server.keys.gateways) if server.is_push3(mac)]
    if not macs:
        raise ValueError("no Push3 gateway to serve: every gateway is a legacy one")
    gateway = Push3Gateway(server, macs[0])
    url = await gateway.start("127.0.0.1", port)
    return gateway, [f"push3 gateway: {gateway.mac} {url} key: {gateway.key}"]


# --- plumbing -------------------------------------------------------------------


def _usage(parser: argparse.ArgumentParser) -> Handler:
    async def show(_args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        print("error: choose a cloud command", file=sys.stderr)
        return 2

    return show


def _secrets(args: argparse.Namespace) -> tuple[str | None, str | None]:
    return (
        args.key or os.environ.get("EKM_PUSH_KEY") or None,
        args.token or os.environ.get("EKM_API_TOKEN") or None,
    )


def _fail(args: argparse.Namespace, message: str) -> int:
    line = " ".join(redact(message, _secrets(args)).split())
    print(f"error: {line}", file=sys.stderr)
    return 1


async def _with_client(args: argparse.Namespace, work: Callable[[PushClient], Awaitable[Any]]) -> int:
    """Run `work` with a client; print its result; one-line errors."""
    key, token = _secrets(args)
    if not key:
        print("error: a Push key is required (--key or EKM_PUSH_KEY)", file=sys.stderr)
        return 2
    api_url = args.base_url or DEFAULT_API_URL
    summary_url = args.summary_url or args.base_url or DEFAULT_SUMMARY_URL
    try:
        # The threaded resolver (getaddrinfo) is the one that always works: aiohttp picks
        # aiodns when it is installed, and some aiodns/pycares pairs cannot resolve at all.
        connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
        async with aiohttp.ClientSession(connector=connector) as session:
            client = PushClient(
                session, key, api_url=api_url, summary_url=summary_url, api_token=token, timeout=args.timeout
            )
            result = await work(client)
    except (EkmError, ValueError) as err:
        return _fail(args, str(err))
    _print(args, result)
    return 0


def _print(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(_jsonable(result), indent=2, default=str))
        return
    for line in _lines(result):
        print(line)


def _jsonable(result: Any) -> Any:
    if isinstance(result, list):
        return [_jsonable(item) for item in result]
    if isinstance(result, SummaryRow):
        row: dict[str, Any] = {
            "Meter": result.meter,
            "Start": result.start.isoformat(),
            "End": result.end.isoformat(),
            "Count": result.count,
        }
        for name, stats in result.stats.items():
            row.update(
                (f"{name}{suffix}", getattr(stats, attr))
                for suffix, attr in STAT_SUFFIXES
                if getattr(stats, attr) is not None
            )
        return row
    if isinstance(result, Trigger):
        return dict(result.definition)
    return _plain(result)


def _plain(value: Any) -> Any:
    """Dataclasses (with mappingproxy members), mappings and sequences as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):  # MappingProxyType
        return {k: _plain(v) for k, v in value.items()}
    return value


def _lines(result: Any) -> list[str]:
    if isinstance(result, list):
        return [line for item in result for line in _lines(item)] or ["(none)"]
    if isinstance(result, SummaryRow):
        diff = result.diff("kWh_Tot")
        kwh = f" kWh_Tot_Diff={diff}" if diff is not None else ""
        return [f"{result.meter} {result.start.isoformat()} .. {result.end.isoformat()}{kwh}"]
    if isinstance(result, Trigger):
        return [f"{result.uuid} {result.name or ''}".rstrip()]
    if isinstance(result, Account):
        lines = [f"key type: {result.key_type}"]
        lines.extend(f"gateway {g.mac} {g.name or ''}".rstrip() for g in result.gateways)
        lines.extend(f"meter {m.address} {m.model or ''}".rstrip() for m in result.meters)
        return lines
    if isinstance(result, str):
        return [result]
    if is_dataclass(result) and not isinstance(result, type):
        result = _plain(result)
    if isinstance(result, dict):
        return [f"{k}: {v}" for k, v in result.items()]
    return [str(result)]


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"{what} is not valid JSON") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


# --- handlers ---------------------------------------------------------------------


async def _read(args: argparse.Namespace) -> int:
    """Exit 1 when a meter asked for with --meter has no reading (the others are still printed)."""
    fields = split_list(args.fields) or None
    missing: list[str] = []

    async def work(client: PushClient) -> Any:
        result = await client.read_meters(args.meter, cnt=args.cnt, fields=fields)
        readings = [result.readings[a] for a in sorted(result.readings)]
        for meter, problem in result.problems.items():
            print(f"warning: no reading for {meter} ({problem.reason}): {problem.message}", file=sys.stderr)
        missing.extend(result.missing)
        if args.json:
            return [r.as_dict() for r in readings]
        lines = []
        for r in readings:
            stamp = r.timestamp.isoformat() if r.timestamp else "?"
            lines.append(
                f"{r.address} {r.protocol} kWh_Tot={r.get('kWh_Tot')} "
                f"RMS_Watts_Tot={r.get('RMS_Watts_Tot')} at {stamp}"
            )
        return lines

    code = await _with_client(args, work)
    if code == 0 and args.meter and missing:
        print(f"error: no reading for {len(missing)} of the meters asked for", file=sys.stderr)
        return 1
    return code


async def _summary(args: argparse.Namespace) -> int:
    fields = split_list(args.fields) or None

    async def work(client: PushClient) -> Any:
        zone = await load_zone(args.tz)

        def when(text: str | None, default: datetime) -> datetime:
            if text is None:
                return default
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an ISO date/time: {text[:40]!r}") from None
            return value if value.tzinfo else value.replace(tzinfo=zone)

        end = when(args.end, datetime.now(UTC))
        start = when(args.start, end - timedelta(days=1))
        return await client.summary(args.meter, args.report, start, end, timezone=zone, fields=fields)

    return await _with_client(args, work)


async def _account(args: argparse.Namespace) -> int:
    async def work(client: PushClient) -> Any:
        return await client.account(args.target, args.id, deep=args.deep, state=args.state)

    return await _with_client(args, work)


async def _relay(args: argparse.Namespace) -> int:
    async def work(client: PushClient) -> Any:
        return await client.set_relay(args.gateway, args.meter, args.relay, args.state == "on", args.seconds)

    return await _with_client(args, work)


async def _command(args: argparse.Namespace) -> int:
    async def work(client: PushClient) -> Any:
        params = _json_object(args.params, "--params")
        return await client.send_command(args.gateway, args.target, args.target_id, args.command_name, params)

    return await _with_client(args, work)


async def _trigger(args: argparse.Namespace) -> int:
    async def work(client: PushClient) -> Any:
        action = args.action
        if action in ("list", "create") and not args.gateway:
            raise ValueError(f"trigger {action} needs --gateway")
        if action in ("get", "update", "delete") and not args.uuid:
            raise ValueError(f"trigger {action} needs --uuid")
        if action in ("create", "update") and not args.definition:
            raise ValueError(f"trigger {action} needs --definition")
        if action == "list":
            return await client.triggers(args.gateway)
        if action == "get":
            return await client.trigger(args.uuid)
        if action == "create":
            return await client.create_trigger(args.gateway, _json_object(args.definition, "--definition"))
        if action == "update":
            return await client.update_trigger(args.uuid, _json_object(args.definition, "--definition"))
        await client.delete_trigger(args.uuid)
        return {"deleted": args.uuid}

    return await _with_client(args, work)


async def _widget(args: argparse.Namespace) -> int:
    async def work(client: PushClient) -> Any:
        return client.widget_url(args.meter, **({"timezone": args.tz} if args.tz else {}))

    return await _with_client(args, work)
