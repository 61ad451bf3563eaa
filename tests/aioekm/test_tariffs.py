"""Time-of-use tables: models, the R1 tables 0070/0071/00B0, the writes, and the bus over the simulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import time
import json

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ekm.aioekm.errors import (
    CommandRejectedError,
    CrcError,
    FieldValueError,
    FrameError,
    FrameLengthError,
    FrameStartError,
    RequestTypeError,
)
from custom_components.ekm.aioekm.rs485 import commands
from custom_components.ekm.aioekm.rs485.bus import EkmBus
from custom_components.ekm.aioekm.rs485.crc import seal
from custom_components.ekm.aioekm.rs485.tariffs import (
    Holiday,
    Season,
    TariffPeriod,
    TariffSchedule,
    TariffTables,
    parse_holiday_table,
    parse_schedule_table,
    tariff_tables,
)
from custom_components.ekm.aioekm.simulator import rs485 as sim_rs485
from custom_components.ekm.aioekm.simulator.fleet import FACTORY_TARIFFS, Fleet, VirtualMeter
from custom_components.ekm.aioekm.simulator.meter_codec import (
    build_holiday_table,
    build_schedule_table,
    build_tariff_tables,
)
from custom_components.ekm.aioekm.simulator.rs485 import Rs485Simulator
from custom_components.ekm.aioekm.simulator.writes import apply_write

from .cli_support import run_ekm
from .conftest import V3, V4
from .test_bus import settled

T = 1_780_000_000.0


def _period(hhmm: str, tariff: int) -> TariffPeriod:
    return TariffPeriod(time(int(hhmm[:2]), int(hhmm[2:])), tariff)


CUSTOM = TariffTables(
    schedules=(
        TariffSchedule(1, (_period("0000", 3), _period("0630", 1), _period("1700", 4), _period("2130", 2))),
        TariffSchedule(2),
        TariffSchedule(3, (_period("1200", 2),)),
        TariffSchedule(4),
        TariffSchedule(5, (_period("0800", 1), _period("2000", 2))),
        TariffSchedule(6, (_period("2359", 4),)),
    ),
    seasons=(Season(1, 1, 1), Season(4, 15, 3), Season(6, 1, 5), Season(10, 31, 6)),
    holidays=tuple(Holiday(m, d) for m, d in [(1, 1), (2, 29), (7, 4), (12, 25), (12, 31)]),
    weekend_schedule=6,
    holiday_schedule=5,
)


def _table(register: str, digits: dict[int, str]) -> bytes:
    """An R1 reply made by hand (not by the simulator's builder): '0' everywhere but `digits`."""
    frame = bytearray(b"0" * 255)
    frame[0:6] = b"\x02" + register.encode() + b"("
    for at, text in digits.items():
        frame[at : at + len(text)] = text.encode()
    frame[251:253] = b")\x03"
    return seal(bytes(frame[:-2]))


# --- tables ---------------------------------------------------------------------------------


def test_schedule_table_read_at_the_documented_offsets() -> None:
    reply = _table(
        "0070",
        {
            6: "063001" + "000000" + "170004" + "000000",  # an unused period between two is absent
            54: "000001",  # midnight, tariff 1: a real period, not an unused one
            150: "235904",
            198: "010101" + "000000" + "061505",
        },
    )
    table = parse_schedule_table(reply, register="0070")
    assert table.schedules == (
        TariffSchedule(1, (_period("0630", 1), _period("1700", 4))),
        TariffSchedule(2, (_period("0000", 1),)),
        TariffSchedule(3),
        TariffSchedule(4, (_period("2359", 4),)),
    )
    assert table.seasons == (Season(1, 1, 1), Season(6, 15, 5))
    second = parse_schedule_table(_table("0071", {6: "080002", 54: "120003"}), register="0071")
    assert second.schedules == (
        TariffSchedule(5, (_period("0800", 2),)),
        TariffSchedule(6, (_period("1200", 3),)),
    )
    assert second.seasons == ()


def test_holiday_table_read_at_the_documented_offsets() -> None:
    reply = _table("00B0", {6: "0101" + "0000" + "1225", 82: "0229", 86: "02", 88: "06"})
    table = parse_holiday_table(reply)
    assert table.holidays == (Holiday(1, 1), Holiday(12, 25), Holiday(2, 29))
    assert (table.weekend_schedule, table.holiday_schedule) == (2, 6)
    assert parse_holiday_table(_table("00B0", {})).weekend_schedule is None  # 00: not set


def test_built_tables_put_the_digits_at_the_documented_offsets() -> None:
    replies = build_tariff_tables(CUSTOM)
    first = replies["0070"]
    assert first[:6] == b"\x020070("
    assert first[6:54] == b"000003063001170004213002" + b"0" * 24
    assert first[102:108] == b"120002"
    assert first[198:222] == b"010101041503060105103106"
    assert first[251:253] == b")\x03"
    assert replies["0071"][6:30] == b"080001200002" + b"0" * 12
    assert replies["0071"][54:60] == b"235904"
    holidays = replies["00B0"]
    assert holidays[6:26] == b"01010229070412251231" and holidays[26:86] == b"0" * 60
    assert holidays[86:90] == b"0605"


def _built_and_parsed(tables: TariffTables) -> TariffTables:
    """`tables` as the meter's replies to 0070, 0071 and 00B0 carry them, parsed back."""
    replies = build_tariff_tables(tables)
    return tariff_tables(
        parse_schedule_table(replies["0070"], register="0070"),
        parse_schedule_table(replies["0071"], register="0071"),
        parse_holiday_table(replies["00B0"]),
    )


@pytest.mark.parametrize("tables", [CUSTOM, FACTORY_TARIFFS])
def test_tables_round_trip(tables: TariffTables) -> None:
    assert _built_and_parsed(tables) == tables


_TIMES = st.builds(time, st.integers(0, 23), st.integers(0, 59))
_PERIODS = st.lists(st.builds(TariffPeriod, _TIMES, st.integers(1, 4)), max_size=4)
_DATES = st.tuples(st.integers(1, 12), st.integers(1, 28))
_SCHEDULE = st.one_of(st.none(), st.integers(1, 6))


@st.composite
def _tables(draw: st.DrawFn) -> TariffTables:
    return TariffTables(
        schedules=tuple(TariffSchedule(n, tuple(draw(_PERIODS))) for n in range(1, 7)),
        seasons=tuple(Season(m, d, draw(st.integers(1, 6))) for m, d in draw(st.lists(_DATES, max_size=4))),
        holidays=tuple(Holiday(m, d) for m, d in draw(st.lists(_DATES, max_size=20))),
        weekend_schedule=draw(_SCHEDULE),
        holiday_schedule=draw(_SCHEDULE),
    )


@settings(max_examples=100, deadline=None)
@given(_tables())
def test_any_tables_round_trip(tables: TariffTables) -> None:
    assert _built_and_parsed(tables) == tables


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300), st.sampled_from(["0070", "0071", "00B0"]))
def test_any_bytes_raise_only_frame_errors(data: bytes, register: str) -> None:
    try:
        if register == "00B0":
            parse_holiday_table(data)
        else:
            parse_schedule_table(data, register=register)
    except FrameError:
        pass


def _resealed(reply: bytes, at: int, text: bytes) -> bytes:
    body = bytearray(reply[:-2])
    body[at : at + len(text)] = text
    return seal(bytes(body))


GOOD_0070 = build_schedule_table("0070", CUSTOM.schedules[:4], CUSTOM.seasons)
GOOD_00B0 = build_holiday_table(CUSTOM.holidays, 6, 5)


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (GOOD_0070[:-1], FrameLengthError, "254 bytes"),
        (b"\x03" + GOOD_0070[1:], FrameStartError, "STX"),
        (GOOD_0070[:-1] + bytes((GOOD_0070[-1] ^ 1,)), CrcError, "CRC"),
        (build_schedule_table("0071", CUSTOM.schedules[4:]), RequestTypeError, "echoes register"),
        (_resealed(GOOD_0070, 5, b"0"), FieldValueError, "'\\('"),
        (_resealed(GOOD_0070, 8, b"3a"), FieldValueError, "ASCII digits"),
        (_resealed(GOOD_0070, 6, b"240001"), FieldValueError, "schedule 1: period 240001"),
        (_resealed(GOOD_0070, 6, b"006001"), FieldValueError, "period 006001"),
        (_resealed(GOOD_0070, 54, b"080005"), FieldValueError, "tariff must be 1..4"),
        (_resealed(GOOD_0070, 54, b"080100"), FieldValueError, "tariff must be 1..4"),  # time, no tariff
        (_resealed(GOOD_0070, 198, b"043101"), FieldValueError, "season 043101: day must be 1..30"),
        (_resealed(GOOD_0070, 198, b"130101"), FieldValueError, "month must be 1..12"),
        (_resealed(GOOD_0070, 198, b"010107"), FieldValueError, "season schedule must be 1..6"),
    ],
)
def test_bad_schedule_tables_are_rejected(reply: bytes, error: type[FrameError], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_schedule_table(reply, register="0070")


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (GOOD_0070, RequestTypeError, "echoes register"),
        (_resealed(GOOD_00B0, 6, b"0230"), FieldValueError, "holiday 0230: day must be 1..29"),
        (_resealed(GOOD_00B0, 6, b"0001"), FieldValueError, "month must be 1..12"),
        (_resealed(GOOD_00B0, 86, b"07"), FieldValueError, "weekend schedule must be 00..06"),
        (_resealed(GOOD_00B0, 88, b" 1"), FieldValueError, "ASCII digits"),
    ],
)
def test_bad_holiday_tables_are_rejected(reply: bytes, error: type[FrameError], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_holiday_table(reply)


def test_caller_mistakes_are_value_errors() -> None:
    with pytest.raises(ValueError, match="0070 and 0071"):
        parse_schedule_table(GOOD_0070, register="00B0")
    first = parse_schedule_table(GOOD_0070, register="0070")
    with pytest.raises(ValueError, match="in that order"):
        tariff_tables(first, first, parse_holiday_table(GOOD_00B0))
    with pytest.raises(ValueError, match="holds schedules 5, 6"):
        build_schedule_table("0071", CUSTOM.schedules[:2])


# --- models ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TariffPeriod(time(7, 0, 30), 1), "whole minute"),
        (lambda: TariffPeriod("07:00", 1), "time of day"),  # type: ignore[arg-type]
        (lambda: TariffPeriod(time(7), 0), "tariff must be 1..4"),
        (lambda: TariffPeriod(time(7), True), "whole number"),
        (lambda: TariffSchedule(7), "schedule must be 1..6"),
        (lambda: TariffSchedule(1, (_period("0100", 1),) * 5), "up to 4"),
        (lambda: Season(2, 30, 1), "day must be 1..29"),
        (lambda: Season(2, 1, 0), "season schedule must be 1..6"),
        (lambda: Holiday(0, 1), "month must be 1..12"),
        (lambda: replace(CUSTOM, schedules=CUSTOM.schedules[:5]), "schedules 1..6"),
        (lambda: replace(CUSTOM, weekend_schedule=7), "weekend schedule must be 1..6"),
    ],
)
def test_models_refuse_impossible_values(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_as_dict_is_plain_json() -> None:
    data = CUSTOM.as_dict()
    assert data["schedules"][0] == {  # type: ignore[index]
        "number": 1,
        "periods": [
            {"start": "00:00", "tariff": 3},
            {"start": "06:30", "tariff": 1},
            {"start": "17:00", "tariff": 4},
            {"start": "21:30", "tariff": 2},
        ],
    }
    assert data["seasons"][1] == {"month": 4, "day": 15, "schedule": 3}  # type: ignore[index]
    assert data["holidays"][1] == {"month": 2, "day": 29}  # type: ignore[index]
    assert (data["weekend_schedule"], data["holiday_schedule"]) == (6, 5)
    assert CUSTOM.schedule(3).periods == (_period("1200", 2),)


# --- writes ---------------------------------------------------------------------------------


def test_write_commands() -> None:
    assert commands.tariff_schedule(3, [_period("0630", 1), (17, 0, 4)]) == (
        "0072",
        "063001170004" + "0" * 36,
    )
    assert commands.seasons([(1, 1, 1), Season(6, 15, 5)]) == ("0080", "010101061505" + "0" * 36)
    assert commands.holidays([(12, 25), Holiday(1, 1)]) == ("00B0", "12250101" + "0" * 72)
    assert commands.holidays([]) == ("00B0", "0" * 80)
    assert commands.weekend_holiday_schedules(2, 6) == ("00C0", "0206")
    assert commands.frame(commands.weekend_holiday_schedules(2, 6)) == seal(b"\x01W1\x0200C0(0206)\x03")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: commands.seasons([]), "1..4 seasons"),
        (lambda: commands.seasons([(1, 1, 1)] * 5), "1..4 seasons"),
        (lambda: commands.seasons([(6, 1, 1), (1, 1, 2)]), "date order"),
        (lambda: commands.seasons([(6, 1, 1), (6, 1, 2)]), "different dates"),
        (lambda: commands.seasons([(2, 30, 1)]), "day must be 1..29"),
        (lambda: commands.seasons([(1, 1, 7)]), "season schedule must be 1..6"),
        (lambda: commands.seasons([(1, 1)]), "values to unpack"),
        (lambda: commands.holidays([(1, 1)] * 21), "up to 20 holidays"),
        (lambda: commands.holidays([(1, 1), (1, 1)]), "different dates"),
        (lambda: commands.holidays([(4, 31)]), "day must be 1..30"),
        (lambda: commands.weekend_holiday_schedules(0, 1), "weekend schedule must be 1..6"),
        (lambda: commands.weekend_holiday_schedules(1, 7), "holiday schedule must be 1..6"),
        (lambda: commands.weekend_holiday_schedules(1.0, 1), "whole number"),
        (lambda: commands.tariff_schedule(1, [_period("0800", 1), (7, 0, 2)]), "in order"),
    ],
)
def test_write_commands_refuse_bad_arguments(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.fixture
def meter() -> VirtualMeter:
    return Fleet.parse(f"{V3}:v3").meters[V3]  # a v3 meter: it takes the time-of-use registers too


def test_simulator_keeps_what_is_written(meter: VirtualMeter) -> None:
    assert meter.tariffs == FACTORY_TARIFFS
    for command in (
        commands.tariff_schedule(6, [(23, 59, 4)]),
        commands.seasons([(1, 1, 1), (4, 15, 3)]),
        commands.holidays([(7, 4)]),
        commands.weekend_holiday_schedules(6, 5),
    ):
        assert apply_write(meter, *command, T)
    assert meter.tariffs == replace(
        FACTORY_TARIFFS,
        schedules=(*FACTORY_TARIFFS.schedules[:5], TariffSchedule(6, (_period("2359", 4),))),
        seasons=(Season(1, 1, 1), Season(4, 15, 3)),
        holidays=(Holiday(7, 4),),
        weekend_schedule=6,
        holiday_schedule=5,
    )


@pytest.mark.parametrize(
    ("register", "data"),
    [
        ("0070", "0" * 48),  # no period
        ("0070", "080001" + "0" * 41),
        ("0070", "080001" + "0" * 41 + "1"),  # padding not zero
        ("0070", "250001" + "0" * 42),
        ("0080", "010107" + "0" * 42),
        ("0080", "013201" + "0" * 42),
        ("0080", "010101" + "0" * 41 + "1"),
        ("00B0", "0230" + "0" * 76),
        ("00B0", "0101"),
        ("00C0", "0007"),
        ("00C0", "0001"),
        ("00C0", "01"),
    ],
)
def test_simulator_refuses_bad_writes(meter: VirtualMeter, register: str, data: str) -> None:
    assert not apply_write(meter, register, data, T)
    assert meter.tariffs == FACTORY_TARIFFS


# --- the bus over the simulator ---------------------------------------------------------------


@pytest.mark.parametrize("address", [V4, V3])
async def test_read_tariffs_in_one_session(bus: EkmBus, sim: Rs485Simulator, address: str) -> None:
    await bus.read(address)  # the protocol is known: the session opens with one read
    await settled(sim)
    sim.log.clear()
    tables = await bus.read_tariffs(address)
    await settled(sim)
    assert tables == FACTORY_TARIFFS
    assert [(r.kind, r.register) for r in sim.log] == [
        ("read", None),
        ("table", "0070"),
        ("table", "0071"),
        ("table", "00B0"),
        ("sign_off", None),
    ]


@pytest.mark.parametrize("address", [V4, V3])
async def test_written_tables_read_back(bus: EkmBus, fleet: Fleet, address: str) -> None:
    for number, schedule in enumerate(CUSTOM.schedules, start=1):
        if schedule.periods:
            await bus.set_tariff_schedule(address, number, schedule.periods)
    await bus.set_seasons(address, CUSTOM.seasons)
    await bus.set_holidays(address, CUSTOM.holidays)
    reading = await bus.set_weekend_holiday_schedules(address, 6, 5)
    assert reading.address == address
    expected = replace(
        CUSTOM,
        schedules=tuple(s if s.periods else FACTORY_TARIFFS.schedule(s.number) for s in CUSTOM.schedules),
    )
    assert await bus.read_tariffs(address) == expected
    assert fleet.meters[address].tariffs == expected


async def test_writes_send_the_documented_frames(bus: EkmBus, sim: Rs485Simulator) -> None:
    await bus.set_seasons(V4, [(3, 1, 2)])
    await bus.set_holidays(V4, [])
    await bus.set_weekend_holiday_schedules(V4, 1, 1)
    writes = [(r.register, r.data) for r in sim.log if r.kind == "write"]
    assert writes == [("0080", "030102" + "0" * 42), ("00B0", "0" * 80), ("00C0", "0101")]
    tables = await bus.read_tariffs(V4)
    assert (tables.seasons, tables.holidays) == ((Season(3, 1, 2),), ())


async def test_wrong_password_leaves_the_tables(bus: EkmBus, fleet: Fleet) -> None:
    fleet.meters[V4].password = "99999999"
    with pytest.raises(CommandRejectedError):
        await bus.set_holidays(V4, [(7, 4)])
    with pytest.raises(CommandRejectedError):
        await bus.set_weekend_holiday_schedules(V4, 3, 3, password="00000000")
    assert await bus.set_seasons(V4, [(2, 1, 2)], password="99999999")
    tables = await bus.read_tariffs(V4)
    assert tables.holidays == FACTORY_TARIFFS.holidays and tables.weekend_schedule == 2
    assert tables.seasons == (Season(2, 1, 2),)


async def test_bad_arguments_fail_before_any_io(bus: EkmBus, sim: Rs485Simulator) -> None:
    with pytest.raises(ValueError, match="date order"):
        await bus.set_seasons(V4, [(6, 1, 1), (1, 1, 1)])
    with pytest.raises(ValueError, match="holiday schedule"):
        await bus.set_weekend_holiday_schedules(V4, 1, 9)
    with pytest.raises(ValueError, match="8 digits"):
        await bus.set_holidays(V4, [(1, 1)], password="1234")
    with pytest.raises(ValueError, match="12 digits"):
        await bus.read_tariffs("meter")
    assert sim.log == []


async def test_a_bad_table_reply_is_retried(
    bus: EkmBus, sim: Rs485Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sim_rs485.table_for
    spoiled: list[str] = []

    def once_corrupt(meter: VirtualMeter, register: str, t: float) -> bytes | None:
        reply = real(meter, register, t)
        if register == "0071" and not spoiled and reply is not None:
            spoiled.append(register)
            return reply[:-1] + bytes((reply[-1] ^ 0x55,))
        return reply

    monkeypatch.setattr(sim_rs485, "table_for", once_corrupt)
    assert await bus.read_tariffs(V4) == FACTORY_TARIFFS
    assert [r.register for r in sim.log if r.kind == "table"] == ["0070", "0071", "0071", "00B0"]
    assert bus.stats(V4).crc_errors == 1


# --- the CLI ------------------------------------------------------------------------------------


async def test_cli_tariffs(sim: Rs485Simulator, fleet: Fleet, socket_enabled: None) -> None:
    url = await sim.start_tcp()
    fleet.meters[V3].tariffs = CUSTOM
    code, out, err = await run_ekm("tariffs", "--port", url, "--meter", V3, "--json")
    assert code == 0, err
    assert json.loads(out) == CUSTOM.as_dict()
    code, out, err = await run_ekm("tariffs", "--port", url, "--meter", V4)
    assert code == 0, err
    assert out.splitlines() == [
        "schedule 1: 07:00 tariff 1, 23:00 tariff 2",
        "schedule 2: 00:00 tariff 2",
        *(f"schedule {n}: unused" for n in range(3, 7)),
        "seasons: from 01-01 schedule 1",
        "holidays: 01-01, 12-25",
        "weekends: schedule 2",
        "holidays follow: schedule 2",
    ]
