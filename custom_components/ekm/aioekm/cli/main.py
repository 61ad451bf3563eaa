"""`ekm`: read and configure EKM meters on an RS-485 bus, talk to the Push cloud, simulate.

    ekm simulate --pty --meters 300000001:v4,000000017507:v3 [--tcp PORT] [--wire-speed] [--http PORT]
    ekm read --port URL --meter ADDRESS [--json]
    ekm scan --port URL --from A --to B
    ekm relay --port URL --meter ADDRESS --relay 1 --state on|off [--seconds N] [--password P]
    ekm set-time | ct-ratio | pulse-input-ratio | pulse-output-ratio | max-demand-period |
        max-demand-reset | reset-max-demand | zero-kwh | change-password | lcd-items | month-table
    ekm cloud ...

The commands live in rs485.py (bus), simulate.py and push.py (cloud); args.py holds the
argument types. A bad argument is argparse's usage error (exit 2); any other failure is
one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import os
import sys

from ..errors import EkmError
from . import push, rs485, simulate
from .args import Handler

# 128 + SIGPIPE, what a shell reports for a command whose reader went away.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ekm", description="EKM Omnimeters over RS-485, the EKM Push cloud, and simulators of both."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate.register(sub)
    rs485.register(sub)
    push.register(sub)
    return parser


async def _run(args: argparse.Namespace) -> int:
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        print("error: this command is not available", file=sys.stderr)
        return 2
    return await handler(args)


def _error(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror and not isinstance(err, EkmError):
        # e.g. a simulator port in use: say which address, not the errno dump.
        text = str(err).removeprefix(f"[Errno {err.errno}] ")
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = asyncio.run(_run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        # The reader (`| head`) stopped early; that is not this command's failure to report.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (EkmError, ValueError, OSError, ArithmeticError, RecursionError) as err:
        print(f"error: {_error(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
