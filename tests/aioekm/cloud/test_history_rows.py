"""Summary pages parsed straight into the numbers a history import reads (push/history_rows.py).

The lean parse must read every page as the full one (push/summary.parse_rows) followed by
history_rows() does: the same rows, the same values, the same errors (issue #19, speed).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
import math
from typing import Any

import pytest

from custom_components.ekm.aioekm.errors import MalformedResponseError
from custom_components.ekm.aioekm.push.cloud import PushClient
from custom_components.ekm.aioekm.push.history import MEAN_FIELDS, SUM_REGISTERS, columns_for
from custom_components.ekm.aioekm.push.history_rows import (
    Columns,
    HistoryRow,
    history_rows,
    parse_history_rows,
)
from custom_components.ekm.aioekm.push.redaction import holds_secret, redact_value
from custom_components.ekm.aioekm.push.summary import SummaryRow, parse_rows

from .cloud_support import V4

COLUMNS = columns_for(SUM_REGISTERS, MEAN_FIELDS)
START = 1_764_000_000_000  # ms
KEY = "MTAxMDoyMDIwMzA0MDUwNjA3MDgwOTA"


def row(**values: Any) -> dict[str, Any]:
    return {
        "Start_Time_Stamp_UTC_ms": START,
        "End_Time_Stamp_UTC_ms": START + 900_000,
        "Meter": "300000001",
        **values,
    }


def both(payload: Any) -> tuple[list[HistoryRow], list[HistoryRow]]:
    """The lean parse, and the full parse converted."""
    return parse_history_rows(payload, "GET /summary", COLUMNS), history_rows(
        parse_rows(payload, "GET /summary"), COLUMNS
    )


async def test_a_page_of_the_fake_server_reads_the_same_both_ways(client: PushClient) -> None:
    pages: list[Any] = []

    def keep(payload: Any, what: str) -> list[SummaryRow]:
        pages.append(copy.deepcopy(payload))
        return parse_rows(payload, what)

    start = datetime(2026, 11, 24, tzinfo=UTC)
    await client.summary_parsed([V4], "15", start, start + timedelta(hours=6), keep, fields=COLUMNS.fields)
    [page] = pages
    lean, full = both(page)
    assert lean == full
    assert len(lean) == len(page) == 24
    first = lean[0]
    assert first.meter == V4
    assert first.start == start
    assert first.end - first.start == timedelta(minutes=15)
    # kWh_Tot at the row's end is its Max (no Last), at its start its Min (no First).
    assert first.values[COLUMNS.at_end["kWh_Tot"]] == page[0]["kWh_Tot_Max"]
    assert first.values[COLUMNS.at_start["kWh_Tot"]] == page[0]["kWh_Tot_Min"]
    average = COLUMNS.mean_at["RMS_Watts_Tot"]
    assert first.values[average : average + 3] == (
        page[0]["RMS_Watts_Tot_Average"],
        page[0]["RMS_Watts_Tot_Min"],
        page[0]["RMS_Watts_Tot_Max"],
    )


@pytest.mark.parametrize(
    ("values", "end", "start"),
    [
        ({"kWh_Tot_Last": 12.5, "kWh_Tot_Max": 13.0, "kWh_Tot_First": 10.0, "kWh_Tot_Min": 9.0}, 12.5, 10.0),
        ({"kWh_Tot_Max": 13.0, "kWh_Tot_Min": 9.0}, 13.0, 9.0),
        # Texts and integers are numbers; what is no finite number is none, and the next
        # statistic is read instead.
        ({"kWh_Tot_Last": "12.5", "kWh_Tot_Min": 9}, 12.5, 9.0),
        ({"kWh_Tot_Last": "NaN", "kWh_Tot_Max": 13.0, "kWh_Tot_First": "x", "kWh_Tot_Min": 9.0}, 13.0, 9.0),
        ({"kWh_Tot_Last": math.inf, "kWh_Tot_Max": True, "kWh_Tot_First": [1]}, None, None),
        ({"kWh_Tot_Last": 1e400}, None, None),
        ({}, None, None),
    ],
)
def test_a_register_is_read_at_the_end_and_start_of_a_row(
    values: dict[str, Any], end: float | None, start: float | None
) -> None:
    lean, full = both([row(**values)])
    assert lean == full
    assert lean[0].values[COLUMNS.at_end["kWh_Tot"]] == end
    assert lean[0].values[COLUMNS.at_start["kWh_Tot"]] == start


def test_a_mean_without_min_and_max_is_its_average() -> None:
    [lean], [full] = both([row(RMS_Watts_Tot_Average=500.0)])
    place = COLUMNS.mean_at["RMS_Watts_Tot"]
    assert lean.values[place : place + 3] == (500.0, 500.0, 500.0) == full.values[place : place + 3]


def test_times_as_text_floats_and_out_of_range() -> None:
    as_text = row(Start_Time_Stamp_UTC_ms=str(START), End_Time_Stamp_UTC_ms=float(START + 900_000))
    lean, full = both([as_text, {**row(), "Meter": 300000001}, {**row(), "Meter": ""}])
    assert lean == full
    assert [r.meter for r in lean] == ["000300000001", "000300000001", ""]
    for stamps in (
        {"Start_Time_Stamp_UTC_ms": -1},
        {"End_Time_Stamp_UTC_ms": 10**20},
        {"Start_Time_Stamp_UTC_ms": True},
    ):
        with pytest.raises(MalformedResponseError, match="a row has no start/end time stamp"):
            parse_history_rows([row(**stamps)], "GET /summary", COLUMNS)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": [], "b": []}, "expected a list of periods"),
        ("rows", "expected a list of periods"),
        ([row(), 5], "a row is not an object"),
        ([{"Meter": "300000001"}], "a row has no start/end time stamp"),
        ([row(Meter="²")], "is not an address"),
        ([row(Meter="1234567890123")], "is not an address"),
    ],
)
def test_malformed_pages_are_refused_as_by_the_full_parse(payload: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message):
        parse_history_rows(payload, "GET /summary", COLUMNS)
    with pytest.raises(MalformedResponseError, match=message):
        parse_rows(payload, "GET /summary")


def test_an_object_wrapping_the_list_is_read() -> None:
    assert parse_history_rows({"rows": [row()]}, "GET /summary", COLUMNS) == both([row()])[1]


def test_columns_place_each_field_once() -> None:
    columns = Columns(("kWh_Tot", "kWh_Tot", "Rev_kWh_Tot"), ("RMS_Watts_Tot",))
    assert columns.fields == ("kWh_Tot", "Rev_kWh_Tot", "RMS_Watts_Tot")
    assert dict(columns.at_end) == {"kWh_Tot": 0, "Rev_kWh_Tot": 2}
    assert dict(columns.at_start) == {"kWh_Tot": 1, "Rev_kWh_Tot": 3}
    assert dict(columns.mean_at) == {"RMS_Watts_Tot": 4}
    assert columns.keys[0] == ("kWh_Tot_Last", "kWh_Tot_Max")
    assert columns.keys[5:] == (
        ("RMS_Watts_Tot_Min", "RMS_Watts_Tot_Average"),
        ("RMS_Watts_Tot_Max", "RMS_Watts_Tot_Average"),
    )


@pytest.mark.parametrize("name", ["", "Meter", "Start_Time_Stamp_UTC_ms"])
def test_a_row_key_or_nothing_is_no_field(name: str) -> None:
    """ "" would read the bare suffixes (`_Max`), which the full parse keeps as unknown keys."""
    with pytest.raises(ValueError, match="not Summary fields"):
        Columns(("kWh_Tot", name), ())
    with pytest.raises(ValueError, match="not Summary fields"):
        Columns((), (name,))


# --- a secret in a decoded answer ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        [row(Protocol=KEY)],
        [row(extra={"deep": [{"key": f"x{KEY.lower()[5:20]}y"}]})],
        {f"{KEY[:12]}": 1},
        f"the key is {'-'.join(KEY[i : i + 4] for i in range(0, len(KEY), 4))}",
        ["".join(f"%{b:02X}" for b in KEY.encode())],
    ],
)
def test_a_secret_anywhere_in_an_answer_is_found(value: Any) -> None:
    assert holds_secret(value, [None, KEY])
    assert redact_value(copy.deepcopy(value), [KEY]) != value  # it masks in place


@pytest.mark.parametrize(
    "value",
    [
        [row(kWh_Tot_Max=1.0)],
        # Two strings that hold a secret only when put together are two strings.
        [KEY[:6], KEY[6:12]],
        {"a": KEY[1:9]},  # shorter than the FRAGMENT a secret is found by
        None,
        12.5,
    ],
)
def test_no_secret_no_masking(value: Any) -> None:
    assert not holds_secret(value, [KEY])
    assert redact_value(copy.deepcopy(value), [KEY]) == value


def test_no_secrets_to_look_for() -> None:
    assert not holds_secret([KEY], [None, ""])
