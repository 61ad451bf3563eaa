"""The field table is self-consistent and matches the protocol notes."""

from __future__ import annotations

import pytest

from custom_components.ekm.aioekm.fields import (
    B_ONLY,
    FIELDS,
    FRAME_LENGTH,
    Kind,
    Layout,
    Quantity,
    fields_in,
)

# Where each layout's data area ends: v3 trailer at 249, v4 request-type echo at 247.
DATA_END = {Layout.V3: 249, Layout.V4A: 247, Layout.V4B: 247}


@pytest.mark.parametrize("layout", list(Layout))
def test_fields_do_not_overlap_and_stay_inside_the_frame(layout: Layout) -> None:
    taken: dict[int, str] = {}
    for field in fields_in(layout):
        offset, length = field.at[layout]
        assert offset >= 16 and offset + length <= DATA_END[layout], field.name
        for byte in range(offset, offset + length):
            assert byte not in taken, f"{field.name} overlaps {taken[byte]} at {byte}"
            taken[byte] = field.name


@pytest.mark.parametrize(
    ("name", "layout", "place"),
    [
        ("kWh_Tot", Layout.V3, (16, 8)),
        ("RMS_Volts_Ln_3", Layout.V3, (104, 4)),
        ("Amps_Ln_2", Layout.V3, (113, 5)),
        ("RMS_Watts_Tot", Layout.V3, (144, 7)),
        ("Meter_Time", Layout.V3, (172, 14)),
        ("Pulse_Ratio_3", Layout.V3, (222, 4)),
        ("Reactive_Energy_Tot", Layout.V4A, (24, 8)),
        ("Rev_kWh_Ln_3", Layout.V4A, (80, 8)),
        ("Reactive_Pwr_Tot", Layout.V4A, (192, 7)),
        ("Line_Freq", Layout.V4A, (199, 4)),
        ("Pulse_Cnt_3", Layout.V4A, (219, 8)),
        ("kWh_Scale", Layout.V4A, (230, 1)),
        ("Rev_kWh_Tariff_4", Layout.V4B, (72, 8)),
        ("Cos_Theta_Ln_3", Layout.V4B, (143, 4)),
        ("RMS_Watts_Max_Demand", Layout.V4B, (147, 8)),
        ("CF_Ratio", Layout.V4B, (173, 4)),
        ("Meter_Status_Code_C", Layout.V4B, (232, 1)),
    ],
)
def test_offsets_from_the_protocol_notes(name: str, layout: Layout, place: tuple[int, int]) -> None:
    assert FIELDS[name].at[layout] == place


def test_every_kind_has_what_it_needs() -> None:
    for field in FIELDS.values():
        if field.kind is Kind.DERIVED:
            assert not field.at, field.name
        else:
            assert field.at, field.name
        if field.kind is Kind.KWH:
            assert field.unit in ("kWh", "kvarh")
        if field.kind is Kind.DECIMAL:
            assert field.divisor in (10, 100)
    assert FRAME_LENGTH == 255


def test_b_only_fields_are_the_settings_and_tariffs() -> None:
    assert "CT_Ratio" in B_ONLY
    assert "kWh_Tariff_1" in B_ONLY
    assert "kWh_Tot" not in B_ONLY
    assert "RMS_Volts_Ln_1" not in B_ONLY  # A carries it too
    assert all(Layout.V4A not in FIELDS[name].at for name in B_ONLY)


def test_energy_registers_are_energy() -> None:
    assert FIELDS["kWh_Tot"].quantity is Quantity.ENERGY
    assert FIELDS["kWh_Rst"].quantity is Quantity.RESETTABLE_ENERGY


def test_slice() -> None:
    assert FIELDS["kWh_Tot"].slice(Layout.V4A) == slice(16, 24)
    assert FIELDS["kWh_Tariff_1"].slice(Layout.V4A) is None
