"""`ekm cloud ...` commands and the `simulate --http` face (filled in by the Push API work)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .simulator.fleet import Fleet


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cloud` command and its subcommands to the CLI."""
    cloud = subparsers.add_parser("cloud", help="talk to the EKM Push cloud API")
    cloud.set_defaults(handler=None)


async def start_http_simulation(fleet: Fleet, port: int) -> tuple[object, list[str]]:
    """Serve the fake Push API for `fleet` on 127.0.0.1:port.

    Returns (a handle whose `async close()` stops it, the lines to print:
    'listening on http://127.0.0.1:PORT', then one line per accepted key).
    """
    raise NotImplementedError
