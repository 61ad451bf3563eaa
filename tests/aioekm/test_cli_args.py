"""The command line's argument types refuse what only looks like a number."""

from __future__ import annotations

import argparse

import pytest

from custom_components.ekm.aioekm.cli import args
from custom_components.ekm.aioekm.cli.main import build_parser


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
