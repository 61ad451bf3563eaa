"""Argument types and shared options of the `ekm` command line.

Every value is checked where argparse reads it, so a bad argument ends in argparse's
own one-line usage error (exit 2) before anything touches a bus or a server.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
import math
import os
import re
from typing import Final

type Handler = Callable[[argparse.Namespace], Awaitable[int]]
type SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

PASSWORD_ENV = "EKM_METER_PASSWORD"
MAX_TIMEOUT = 3600.0  # seconds; anything longer is a typo, not a slow meter
MAX_RETRIES = 10
MAX_SCAN = 1000  # addresses `scan` walks without --force (about 0.3 s each when nobody answers)


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts '²' and other Unicode digits, which no meter understands.
    return text.isascii() and text.isdigit()


def address(text: str) -> str:
    """A meter address: 1 to 12 ASCII digits, returned as 12 (left-padded)."""
    text = text.strip()
    if not _ascii_digits(text) or len(text) > 12:
        raise argparse.ArgumentTypeError(f"a meter address is 1 to 12 digits 0-9, got {text!r}")
    return text.zfill(12)


def password(text: str) -> str:
    """A meter password: exactly 8 ASCII digits (never echoed back in the error)."""
    if not _ascii_digits(text) or len(text) != 8:
        raise argparse.ArgumentTypeError("a meter password is exactly 8 digits 0-9")
    return text


def _seconds(text: str, *, zero: bool) -> float:
    try:
        # float() also reads Unicode digits ('١٢٣', '１２'): only ASCII is a number here.
        if not text.isascii():
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    low_ok = value >= 0 if zero else value > 0
    if not math.isfinite(value) or not low_ok or value > MAX_TIMEOUT:
        bound = "at least 0" if zero else "above 0"
        raise argparse.ArgumentTypeError(f"seconds must be {bound} and at most {MAX_TIMEOUT:g}, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds above zero (no nan, inf or negative)."""
    return _seconds(text, zero=False)


def delay(text: str) -> float:
    """A finite number of seconds, zero allowed."""
    return _seconds(text, zero=True)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer of ASCII digits between low and high."""

    def parse(text: str) -> int:
        body = text.strip().removeprefix("-")
        if not _ascii_digits(body) or len(body) > 12:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


retries = bounded_int(0, MAX_RETRIES)
tcp_port = bounded_int(0, 65535)
# host:port, [v6]:port: what a network converter's address looks like without its scheme.
_HOST_PORT: Final = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")


def bus_port(text: str) -> str:
    """A serial device or serialx URL; host:port without a scheme is refused with the fix.

    serialx would take it for a device path and fail with "No such file or directory".
    """
    if "://" not in text and _HOST_PORT.fullmatch(text) and not os.path.exists(text):
        raise argparse.ArgumentTypeError(
            f"{text} is host:port, not a serial device: write socket://{text} (raw TCP) "
            f"or rfc2217://{text} (RFC 2217)"
        )
    return text


def add_bus_options(parser: argparse.ArgumentParser, *, timeout: float = 1.5, retries_: int = 2) -> None:
    """--port, --timeout, --retries, --json on one command.

    Added to each command rather than shared through a parent parser: argparse shares a
    parent's actions, so one command's set_defaults() would change every command's defaults.
    """
    parser.add_argument(
        "--port",
        required=True,
        type=bus_port,
        help="serial device or URL: /dev/ttyUSB0, socket://host:port, rfc2217://...",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=timeout,
        help="seconds to wait for a reply to start (default: %(default)s)",
    )
    parser.add_argument(
        "--retries",
        type=retries,
        default=retries_,
        help=f"read retries on timeouts and bad frames, 0-{MAX_RETRIES} (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_meter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--meter", required=True, type=address, help="meter address (up to 12 digits)")


def add_password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password",
        type=password,
        default=None,
        help=f"meter password, 8 digits (default: ${PASSWORD_ENV}, else 00000000)",
    )
