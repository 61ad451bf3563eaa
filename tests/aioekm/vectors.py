"""Loader for the RS-485 test vectors in tests/aioekm/data/rs485-vectors (its README names each source)."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "data" / "rs485-vectors"


@dataclass(frozen=True)
class NamedFrame:
    """One frame of a vectors file, with whether its CRC is meant to be valid."""

    name: str
    data: bytes
    crc_valid: bool = True


def hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def qtreadekm_frames() -> list[NamedFrame]:
    """Real command frames; one is flagged crc_valid=false."""
    return [
        NamedFrame(f["name"], hex_bytes(f["hex"]), bool(f["crc_valid"]))
        for f in load("command-frames-qtreadekm.json")["frames"]
    ]


def computed_frames() -> list[NamedFrame]:
    return [NamedFrame(f["name"], hex_bytes(f["hex"])) for f in load("computed-frames.json")["frames"]]


def computed_frame(name_start: str) -> bytes:
    """The computed frame whose name starts with `name_start` (exactly one)."""
    matches = [f.data for f in computed_frames() if f.name.startswith(name_start)]
    assert len(matches) == 1, name_start
    return matches[0]


def lua_schedule_frame() -> bytes:
    return hex_bytes(
        load("set-period-table-5-and-crc-checks-lua.json")["set_period_table_5"]["hex_full_frame"]
    )


def crc_check_values() -> list[tuple[bytes, int]]:
    """(data, raw CRC-16/MODBUS) pairs."""
    return [
        (hex_bytes(v["data_hex"]), int(v["crc16_modbus"], 16))
        for v in load("set-period-table-5-and-crc-checks-lua.json")["crc16_modbus_check_values"]
    ]


def ruby_table_read() -> bytes:
    return hex_bytes(load("read-request-0011-ruby.json")["hex"])


def close_string() -> bytes:
    return hex_bytes((VECTORS / "close-string.hex.txt").read_text().strip())


def v4_b_capture() -> dict[str, Any]:
    return dict(load("v4-B-response-forum-t3310.json"))


def v4_b_frame() -> bytes:
    return hex_bytes(v4_b_capture()["reconstructed_full_frame"]["hex"])


def v4_b_published_bytes() -> bytes:
    """Bytes 1..252 exactly as the forum post listed them (decimal list)."""
    return bytes(v4_b_capture()["as_published"]["decimal_byte_list"])


def v4_b_breakdown() -> list[dict[str, Any]]:
    """The capture's field-by-field breakdown: offset, length, name, raw_ascii_repr."""
    return list(v4_b_capture()["fields_by_ekmmeters_v4_B_layout"])
