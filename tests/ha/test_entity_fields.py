"""Every field of the library's table has an entity, or a stated reason; each platform's
descriptions say everything about their entities."""

from __future__ import annotations

from custom_components.ekm.aioekm.fields import FIELDS, Quantity
from custom_components.ekm.aioekm.readings import FieldValue, MeterReading, Protocol, make_reading
from custom_components.ekm.binary_sensor import INPUT_LEVELS
from custom_components.ekm.push_source import KEY_FIELDS, MAPPED_FIELDS
from custom_components.ekm.sensor import NOT_SENSORS, SENSOR_DESCRIPTIONS, SENSORS, line_is_live
from custom_components.ekm.switch import RELAYS


def test_every_field_has_a_sensor_or_a_reason() -> None:
    """A field added to aioekm.fields needs a sensor or a line in NOT_SENSORS; a sensor
    without a field is a typo."""
    sensors = [d.key for d in SENSOR_DESCRIPTIONS]
    assert len(sensors) == len(set(sensors)), "two sensors of one field"
    assert set(sensors) - set(FIELDS) == set(), "sensors naming unknown fields"
    assert set(FIELDS) - set(sensors) == set(NOT_SENSORS), "fields without a sensor or reason"
    assert not set(sensors) & set(NOT_SENSORS)


def test_state_fields_are_decoded_not_sensors() -> None:
    states = {name for name, f in FIELDS.items() if f.quantity is Quantity.STATE}
    assert states == set(NOT_SENSORS)
    assert {d.field for d in (*INPUT_LEVELS, *RELAYS)} == {"State_Inputs", "State_Out"}


def test_what_a_push_poll_maps_is_what_entities_show() -> None:
    assert (set(FIELDS) - {"State_Watts_Dir"}) == MAPPED_FIELDS
    assert KEY_FIELDS["Relay_2"] == "State_Out"
    assert KEY_FIELDS["State_Input_1"] == "State_Inputs"
    assert KEY_FIELDS["CT_Ratio"] == "CT_Ratio"


def test_descriptions_give_keys_placeholders_and_precision() -> None:
    by_key = {d.key: d for d in SENSORS[Protocol.V4]}
    assert by_key["kWh_Ln_2"].translation_key == "kwh_ln"
    assert by_key["kWh_Ln_2"].translation_placeholders == {"line": "2"}
    assert by_key["RMS_Volts_Ln_1"].suggested_display_precision == 1
    assert by_key["Line_Freq"].suggested_display_precision == 2
    assert by_key["kWh_Tot"].suggested_display_precision is None
    assert by_key["Meter_Status_Code_A"].translation_placeholders is None
    v3 = {d.key: d for d in SENSORS[Protocol.V3]}
    assert v3["Rev_kWh_Tariff_4"].translation_key == "rev_kwh_tariff"
    assert v3["Rev_kWh_Tariff_4"].translation_placeholders == {"tariff": "4"}
    assert v3["Pulse_Cnt_3"].translation_placeholders == {"input": "3"}
    assert "kWh_Ln_1" not in v3  # v3 frames do not carry it


def test_input_levels_and_relays_decode_their_bits() -> None:
    assert [d.key for d in INPUT_LEVELS] == ["State_Input_1", "State_Input_2", "State_Input_3"]
    assert [(d.key, d.number) for d in RELAYS] == [("Relay_1", 1), ("Relay_2", 2)]
    assert not any(d.entity_registry_enabled_default for d in INPUT_LEVELS)
    assert all(d.entity_registry_enabled_default for d in RELAYS)
    # State_Inputs 6 = inputs 1 and 2 low, 3 high; State_Out 3 = relay 1 on, relay 2 off.
    reading = _reading({"State_Inputs": 6, "State_Out": 3})
    assert [d.is_on_fn(reading) for d in INPUT_LEVELS] == [False, False, True]
    assert [d.is_on_fn(reading) for d in RELAYS] == [True, False]
    assert RELAYS[0].is_on_fn(_reading({"State_Out": 9})) is None  # not a State_Out code
    assert RELAYS[0].is_on_fn(_reading({})) is None
    assert RELAYS[0].is_on_fn(_reading({"State_Out": "x"})) is None


def _reading(values: dict[str, FieldValue]) -> MeterReading:
    return make_reading("000300000001", Protocol.V4, "1024", "15", values)


def test_line_is_live() -> None:
    split_phase = _reading({"RMS_Volts_Ln_1": 120.2, "RMS_Volts_Ln_2": 119.8, "RMS_Volts_Ln_3": 0.0})
    assert [line_is_live(split_phase, n) for n in (1, 2, 3)] == [True, True, False]
    noise = _reading({"RMS_Volts_Ln_1": 230.0, "RMS_Volts_Ln_2": 3.1, "RMS_Volts_Ln_3": 2.4})
    assert [line_is_live(noise, n) for n in (1, 2, 3)] == [True, False, False]
    assert [line_is_live(None, n) for n in (1, 2, 3)] == [True, False, False]
