"""What the codec tests share: meter addresses, a pinned instant, simulated replies, tamper()."""

from __future__ import annotations

from custom_components.ekm.aioekm.fields import Layout
from custom_components.ekm.aioekm.readings import FieldValue
from custom_components.ekm.aioekm.rs485.crc import seal
from custom_components.ekm.aioekm.simulator.fleet import make_meter
from custom_components.ekm.aioekm.simulator.meter_codec import build_reply

B_ADDRESS = "000300000234"
V4_ADDRESS = "000300000001"
V3_ADDRESS = "000000017507"
T = 1_780_000_000.0  # a pinned instant for simulator values


def tamper(frame: bytes, at: int, new: bytes, *, reseal: bool = True) -> bytes:
    """`frame` with bytes at `at` replaced; resealed so only the content is wrong."""
    changed = frame[:at] + new + frame[at + len(new) :]
    return seal(changed[:-2]) if reseal else changed


def v4_frames(ct: int = 200) -> tuple[bytes, bytes, dict[str, FieldValue]]:
    """A and B replies of a simulated v4 meter at T, plus the values they carry."""
    meter = make_meter(V4_ADDRESS, "v4")
    meter.ct_ratio = ct
    values = meter.values(T)
    a = build_reply(Layout.V4A, meter.address, meter.model, meter.firmware, values)
    b = build_reply(Layout.V4B, meter.address, meter.model, meter.firmware, values)
    return a, b, values


def v3_frame() -> tuple[bytes, dict[str, FieldValue]]:
    meter = make_meter(V3_ADDRESS, "v3")
    values = meter.values(T)
    return build_reply(Layout.V3, meter.address, meter.model, meter.firmware, values), values
