"""The simulator's fault knobs in their command-line form (Faults.parse)."""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.simulator.faults import KNOBS, Faults


def test_parse_every_knob() -> None:
    faults = Faults.parse("crc=0.05,drop=0.02,late=0.1,dup=0.05,garbage=0.02,stray_stx=0.02,slow=0.5")
    assert faults == Faults(
        crc_error_rate=0.05,
        drop_rate=0.02,
        late_rate=0.1,
        dup_rate=0.05,
        garbage_rate=0.02,
        stray_stx_rate=0.02,
        slow=0.5,
    )
    assert Faults.parse(" late = 1 , late_by=0.25, echo=1 ,") == Faults(
        late_rate=1.0, late_by=0.25, echo=True
    )
    assert Faults.parse("") == Faults()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("crc=0.05,noise=0.1", "unknown fault 'noise'; known faults: crc, drop, late, late_by, dup"),
        ("crc", "fault 'crc' needs a value, like crc=0.1"),
        ("crc=", "fault 'crc' needs a value"),
        ("crc=1.5", "fault 'crc' is a fraction of replies from 0 to 1, got '1.5'"),
        ("drop=-0.1", "fault 'drop' is a fraction of replies from 0 to 1"),
        ("dup=nan", "fault 'dup' is a fraction of replies from 0 to 1, got 'nan'"),
        ("late=x", "fault 'late' is a fraction of replies from 0 to 1, got 'x'"),
        ("slow=inf", "fault 'slow' is seconds from 0 to 60, got 'inf'"),
        ("slow=²", "fault 'slow' is seconds from 0 to 60"),
        ("late_by=-1", "fault 'late_by' is seconds"),
        ("echo=yes", "fault 'echo' is 0 or 1, got 'yes'"),
        ("crc=0.1,crc=0.2", "fault 'crc' is given twice"),
    ],
)
def test_parse_refuses_with_a_clear_message(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        Faults.parse(spec)


def test_every_knob_names_a_field() -> None:
    fields = set(Faults.__dataclass_fields__)
    assert {attribute for attribute, _ in KNOBS.values()} <= fields
