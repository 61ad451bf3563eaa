"""The command line's arguments: every default is what --help says, and a bad value (even one
that only looks like a number) or a port in use is a one-line error."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import re
import socket

import pytest

from custom_components.ekm.aioekm.cli import args
from custom_components.ekm.aioekm.cli.main import build_parser

from .cli_support import ekm


@pytest.mark.parametrize("text", ["١٢٣", "１２", "٠.٥", "1.５"])
def test_unicode_digits_are_not_seconds(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a number of seconds"):
        args.seconds(text)
    with pytest.raises(argparse.ArgumentTypeError, match="not a number of seconds"):
        args.delay(text)


@pytest.mark.parametrize("text", ["١", "１２", "²"])
def test_unicode_digits_are_not_retries(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a whole number"):
        args.retries(text)


def test_read_refuses_a_unicode_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(
            ["read", "--port", "socket://127.0.0.1:1", "--meter", "1", "--timeout", "١٢٣"]
        )
    assert exc.value.code == 2
    assert "not a number of seconds" in capsys.readouterr().err


def test_ascii_numbers_still_taken() -> None:
    assert args.seconds("0.5") == 0.5
    assert args.delay("0") == 0.0
    assert args.retries("3") == 3


# --- every command's arguments -------------------------------------------------------------

# A valid value for each required argument, to parse every command with its defaults.
SAMPLES = {
    "port": "socket://127.0.0.1:1",
    "meter": "1",
    "meters": "1:v4",
    "first": "1",
    "last": "2",
    "relay": "1",
    "state": "on",
    "amps": "100",
    "input": "1",
    "ratio": "1",
    "minutes": "15",
    "mode": "off",
    "new_password": "12345678",
    "items": "1",
    "gateway": "4016fa100000",
    "target_id": "1",
    "command_name": "SetRelay",
    "action": "list",
}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every runnable command path: ('read',), ('cloud', 'summary') ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
            if path:
                return
    if path and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        yield path


def _subparser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def test_every_default_is_what_help_says() -> None:
    """`scan` used to set timeout 0.3 / retries 0 for every bus command (argparse shares a
    parent parser's actions): `read` then gave a meter 0.3 s and no retry."""
    parser = build_parser()
    paths = list(_commands(parser))
    assert ("read",) in paths and ("cloud", "summary") in paths and ("simulate",) in paths
    checked = 0
    for path in paths:
        command = _subparser(parser, path)
        argv = list(path)
        for action in command._actions:
            if action.required:
                if action.option_strings:
                    argv.append(action.option_strings[0])
                argv.append(SAMPLES[action.dest])
        args = parser.parse_args(argv)
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if not action.option_strings:
                continue
            flag = re.escape(action.option_strings[-1])
            shown = re.search(rf"{flag} [A-Z_]+ (?:(?! -)[^()])*\(default: ([^)]*)\)", text)
            if shown is None:
                continue
            value = getattr(args, action.dest)
            if " " in shown.group(1) or shown.group(1).startswith("$"):
                assert value is None, (path, action.dest)  # worked out when the command runs
            else:
                assert str(value) == shown.group(1), (path, action.dest)
            checked += 1
    assert checked > 30
    read = parser.parse_args(["read", "--port", "x", "--meter", "1"])
    scan = parser.parse_args(["scan", "--port", "x", "--from", "1", "--to", "2"])
    assert (read.timeout, read.retries, scan.timeout, scan.retries) == (1.5, 2, 0.3, 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["read", "--port", "x", "--meter", "²"], "argument --meter: a meter address is 1 to 12 digits 0-9"),
        (["read", "--port", "x", "--meter", "١٢"], "argument --meter: a meter address is 1 to 12 digits 0-9"),
        (["read", "--port", "x", "--meter", "1234567890123"], "argument --meter: a meter address"),
        (["read", "--port", "x", "--meter", "1", "--timeout", "nan"], "argument --timeout: seconds must be"),
        (["read", "--port", "x", "--meter", "1", "--timeout", "inf"], "argument --timeout: seconds must be"),
        (["read", "--port", "x", "--meter", "1", "--timeout", "-1"], "argument --timeout: seconds must be"),
        (["read", "--port", "x", "--meter", "1", "--timeout", "0"], "argument --timeout: seconds must be"),
        (["read", "--port", "x", "--meter", "1", "--retries", "-1"], "argument --retries: must be between 0"),
        (["read", "--port", "x", "--meter", "1", "--retries", "²"], "argument --retries: not a whole number"),
        (
            [
                "relay",
                "--port",
                "x",
                "--meter",
                "1",
                "--relay",
                "1",
                "--state",
                "on",
                "--password",
                "1234567²",
            ],
            "argument --password: a meter password is exactly 8 digits 0-9",
        ),
        (["change-password", "--port", "x", "--meter", "1", "--new-password", "123"], "exactly 8 digits"),
        (["scan", "--port", "x", "--from", "²", "--to", "5"], "argument --from: a meter address"),
        (["simulate", "--meters", "1:v4", "--tcp", "99999"], "argument --tcp: must be between 0 and 65535"),
        (["simulate", "--meters", "1:v9"], "argument --meters: protocol of '1' must be v3, v4 or v5"),
        (["simulate", "--meters", ","], "argument --meters: list at least one meter"),
        (["simulate", "--meters", "1:v4", "--turnaround", "nan"], "argument --turnaround: seconds must be"),
        (["cloud", "read", "--meter", "²"], "argument --meter: a meter address"),
        (["cloud", "read", "--timeout", "inf"], "argument --timeout: seconds must be"),
        (["cloud", "read", "--base-url", ""], "argument --base-url: must be an http:// or https:// URL"),
        (["cloud", "read", "--base-url", "api.ekmpush.com"], "argument --base-url: must be an http://"),
        (["cloud", "read", "--summary-url", "http://"], "argument --summary-url: must be an http://"),
        (["cloud", "read", "--base-url", "http://u:1234567²@h"], "must not carry a user or password"),
        (["simulate", "--meters", "300000001:v4,300000001:v4"], "meter 000300000001 is listed twice"),
        (["simulate", "--meters", "1:v4,000000000001:v3"], "meter 000000000001 is listed twice"),
        (["simulate", "--meters", "1:v4", "--legacy-gateway", "zz"], "a gateway MAC is 12 hex digits"),
        (
            ["read", "--port", "127.0.0.1:4001", "--meter", "1"],
            "argument --port: 127.0.0.1:4001 is host:port, not a serial device: write socket://127.0.0.1:4001"
            " (raw TCP) or rfc2217://127.0.0.1:4001 (RFC 2217)",
        ),
        (
            ["scan", "--port", "[::1]:4001"],
            "write socket://[::1]:4001 (raw TCP) or rfc2217://[::1]:4001 (RFC 2217)",
        ),
    ],
)
def test_bad_arguments_are_argparse_errors(argv: list[str], message: str) -> None:
    result = ekm(*argv, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith(message) or message in result.stderr.splitlines()[-1]
    assert "1234567²" not in result.stderr  # a password is never echoed


def test_scan_range_is_capped_without_force() -> None:
    result = ekm("scan", "--port", "socket://127.0.0.1:1", "--from", "0", "--to", "999999999999")
    assert result.returncode == 1
    assert result.stderr == "error: --from/--to span 1000000000000 addresses; at most 1000 without --force\n"


def test_simulate_on_a_port_in_use_is_one_line(socket_enabled: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for flag in ("--tcp", "--http"):
            result = ekm("simulate", "--meters", "1:v4", flag, str(port))
            kind = flag.removeprefix("--").upper()
            assert result.returncode == 1, result.stderr
            assert (
                result.stderr == f"error: cannot serve {kind} on 127.0.0.1:{port}: address already in use\n"
            )


def test_simulate_refuses_a_legacy_gateway_it_does_not_simulate(socket_enabled: None) -> None:
    result = ekm("simulate", "--meters", "1:v4", "--legacy-gateway", "40:16:FA:10:00:01", "--http", "0")
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "error: --legacy-gateway 4016fa100001: no simulated gateway has it (they are 4016fa100000)\n"
    )
