"""`ekm cloud ...` handlers, called as the CLI calls them, against the fake server."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
import json

import pytest

from custom_components.ekm.aioekm.cli.push import register
from custom_components.ekm.aioekm.simulator.fleet import Fleet, ManualClock
from custom_components.ekm.aioekm.simulator.push import Fault, PushServer

from ..cli_support import ekm_environment, ekm_simulate, run_ekm
from .cloud_support import GW1, GW2, V3, V4, V4_B, V4_GW2, serving

TOKEN = "cli-token-secret"


@pytest.fixture
async def server(fleet: Fleet) -> AsyncIterator[PushServer]:
    async with serving(fleet, api_token=TOKEN) as server:
        yield server


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ekm")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def run(server: PushServer, *argv: str, key: str | None = None) -> int:
    args = parse(
        ["cloud", *argv, "--key", key or server.keys.account, "--base-url", server.url, "--timeout", "2"]
    )
    code: int = await args.handler(args)
    return code


async def test_read_json_is_exactly_the_reading(
    server: PushServer, fleet: Fleet, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(server, "read", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    expected = [fleet.meters[a].reading(clock.t).as_dict() for a in sorted(fleet.meters)]
    assert printed == expected
    assert [p["Meter"] for p in printed] == sorted([V4, V4_B, V3, V4_GW2])


async def test_read_selected_meters(server: PushServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(server, "read", "--meter", "300000001", "--meter", "17507", "--json") == 0
    assert [p["Meter"] for p in json.loads(capsys.readouterr().out)] == [V3, V4]
    assert server.log[-1].param("meters") == "300000001~17507"
    assert await run(server, "read", "--meter", "17507") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{V3} v3 kWh_Tot=")


async def test_read_warns_about_meters_without_a_good_read(
    server: PushServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.bad_reads.add(V4)
    # A meter asked for without a reading fails the command; the others are still printed.
    assert await run(server, "read", "--meter", V4, "--meter", V3, "--json") == 1
    captured = capsys.readouterr()
    assert [p["Meter"] for p in json.loads(captured.out)] == [V3]
    assert f"warning: no reading for {V4} (bad_reads): every read was flagged Good: 0" in captured.err
    assert captured.err.endswith("error: no reading for 1 of the meters asked for\n")


async def test_read_of_an_unknown_meter_exits_non_zero(
    server: PushServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(server, "read", "--meter", "999999999999") == 1
    captured = capsys.readouterr()
    assert captured.out == "(none)\n"
    assert "warning: no reading for 999999999999 (unknown_meter)" in captured.err
    assert await run(server, "read") == 0  # no meter named: nothing asked for is missing


async def test_errors_are_one_line_without_the_key(
    server: PushServer, capsys: pytest.CaptureFixture[str]
) -> None:
    key = server.keys.gateways[GW2]
    # V4 is not this gateway's: the server answers 1200 and echoes the key; that meter only fails.
    assert await run(server, "read", "--meter", V4, key=key) == 1
    captured = capsys.readouterr()
    assert captured.out == "(none)\n"
    assert captured.err.count("\n") == 2
    assert captured.err.startswith(f"warning: no reading for {V4} (unknown_meter): Found invalid meter")
    assert key not in captured.err
    assert await run(server, "read", key="bogus-key-42") == 1
    err = capsys.readouterr().err
    assert "key or API token refused" in err
    assert "bogus-key-42" not in err


async def test_server_trouble_exits_non_zero(server: PushServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.inject(Fault(status=503, times=None))
    assert await run(server, "account") == 1
    assert "server error (HTTP 503)" in capsys.readouterr().err


async def test_key_from_environment_and_missing_key(
    server: PushServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EKM_PUSH_KEY", server.keys.meters[V3])
    args = parse(["cloud", "read", "--json", "--base-url", server.url])
    assert await args.handler(args) == 0
    assert [p["Meter"] for p in json.loads(capsys.readouterr().out)] == [V3]
    monkeypatch.delenv("EKM_PUSH_KEY")
    args = parse(["cloud", "read", "--base-url", server.url])
    assert await args.handler(args) == 2
    assert "Push key is required" in capsys.readouterr().err


async def test_relay(server: PushServer, fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await run(server, "relay", "--gateway", GW1, "--meter", V4, "--relay", "2", "--state", "on", "--json")
        == 0
    )
    ack = json.loads(capsys.readouterr().out)
    assert set(ack) == {"msg_id", "channel", "host"}
    assert fleet.meters[V4].relays == [False, True]
    assert await run(server, "relay", "--gateway", GW1, "--meter", V4, "--relay", "2", "--state", "off") == 0
    assert fleet.meters[V4].relays == [False, False]
    assert server.requests_to("/sendCommand")[0].body["params"] == {
        "relay": "relay_2",
        "status": "close",
        "duration": 0,
    }
    assert await run(server, "relay", "--gateway", GW1, "--meter", V3, "--relay", "1", "--state", "on") == 1
    assert "no controllable relays" in capsys.readouterr().err


async def test_command(server: PushServer, fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    params = json.dumps({"relay": "relay_1", "status": "close", "duration": 30})
    argv = ["command", "--gateway", GW1, "--target-id", V4_B, "--command", "SetRelay", "--params", params]
    assert await run(server, *argv) == 0
    assert fleet.meters[V4_B].relays == [True, False]
    assert "msg_id" in capsys.readouterr().out
    assert (
        await run(server, "command", "--gateway", GW1, "--target-id", V4_B, "--command", "X", "--params", "{")
        == 1
    )
    assert "--params is not valid JSON" in capsys.readouterr().err


async def test_summary(server: PushServer, fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["summary", "--meter", V4, "--report", "dy", "--start", "2026-11-20", "--end", "2026-11-22"]
    assert await run(server, *argv, "--tz", "America/New_York", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["Start"] for r in rows] == ["2026-11-20T05:00:00+00:00", "2026-11-21T05:00:00+00:00"]
    meter = fleet.meters[V4]
    for row in rows:
        start, end = (datetime.fromisoformat(row[k]).timestamp() for k in ("Start", "End"))
        advanced = meter.values(end)["kWh_Tot"] - meter.values(start)["kWh_Tot"]  # type: ignore[operator]
        assert row["kWh_Tot_Diff"] == round(advanced, 2)
        assert row["kWh_Tot_Max"] >= row["kWh_Tot_Min"]
        assert "RMS_Volts_Ln_1_Average" in row
    assert server.requests_to("/summary")[0].param("start_date") == "202611200000"
    assert await run(server, "summary", "--meter", V4, "--start", "yesterday") == 1
    assert "not an ISO date/time" in capsys.readouterr().err


async def test_account(server: PushServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(server, "account", "--deep", "--json") == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["key_type"] == "account"
    assert [g["mac"] for g in tree["gateways"]] == [GW1, GW2]
    assert server.keys.account not in json.dumps(tree)
    assert await run(server, "account") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "key type: account"
    assert f"gateway {GW1} Push3 100000" not in out  # shallow: no names
    assert f"gateway {GW1}" in out


async def test_trigger_flow(server: PushServer, capsys: pytest.CaptureFixture[str]) -> None:
    async def trigger(*argv: str) -> str:
        assert await run(server, "trigger", *argv, "--token", TOKEN, "--json") == 0
        return capsys.readouterr().out

    created = json.loads(await trigger("create", "--gateway", GW1, "--definition", '{"trigger_name": "Hot"}'))
    uuid = created["trigger_uuid"]
    assert [t["trigger_uuid"] for t in json.loads(await trigger("list", "--gateway", GW1))] == [uuid]
    assert (
        json.loads(await trigger("update", "--uuid", uuid, "--definition", '{"trigger_name": "Hotter"}'))[
            "trigger_name"
        ]
        == "Hotter"
    )
    assert json.loads(await trigger("get", "--uuid", uuid))["trigger_name"] == "Hotter"
    assert json.loads(await trigger("delete", "--uuid", uuid)) == {"deleted": uuid}
    assert await run(server, "trigger", "get", "--uuid", uuid, "--token", TOKEN) == 1
    assert "not found" in capsys.readouterr().err
    assert await run(server, "trigger", "list", "--gateway", GW1, "--token", "wrong-token-9") == 1
    err = capsys.readouterr().err
    assert "wrong-token-9" not in err
    assert "refused" in err
    assert await run(server, "trigger", "create", "--token", TOKEN) == 1
    assert "needs --gateway" in capsys.readouterr().err


async def test_widget(server: PushServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(server, "widget", "--meter", V4, "--tz", "America/New_York") == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://widget.ekmmetering.com/EKM2/?")
    assert "meter=300000001" in url and "timezone=America~New_York" in url


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["cloud", "--help"])
    text = capsys.readouterr().out
    for name in ("read", "summary", "account", "relay", "command", "trigger", "widget"):
        assert name in text


async def test_end_to_end_subprocess(server: PushServer, fleet: Fleet, clock: ManualClock) -> None:
    """`ekm cloud read --json` in a real subprocess."""
    code, out, err = await run_ekm(
        "cloud", "read", "--meter", V4, "--json", "--key", server.keys.account, "--base-url", server.url
    )
    assert code == 0, err
    assert json.loads(out) == [fleet.meters[V4].reading(clock.t).as_dict()]


async def test_cloud_read_resolves_a_host_name(server: PushServer, fleet: Fleet, clock: ManualClock) -> None:
    """`--base-url http://localhost:PORT` needs name resolution: with aiodns 3.2.0 beside
    pycares 5 (HA 2025.4's venv) aiohttp's default resolver failed with a TypeError."""
    url = server.url.replace("127.0.0.1", "localhost")
    code, out, err = await run_ekm(
        "cloud", "read", "--meter", V3, "--json", "--key", server.keys.account, "--base-url", url
    )
    assert code == 0, err
    assert json.loads(out) == [fleet.meters[V3].reading(clock.t).as_dict()]


async def test_deeply_nested_definition_is_one_line(
    server: PushServer, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = '{"a": ' * 100_000 + "1" + "}" * 100_000
    argv = ["trigger", "create", "--gateway", GW1, "--definition", nested, "--token", TOKEN]
    assert await run(server, *argv) == 1
    assert capsys.readouterr().err == "error: --definition is nested too deeply\n"
    assert server.requests_to("/trigger") == []


async def test_simulate_http_then_cloud_read_in_subprocesses() -> None:
    """`ekm simulate --http 0` prints its URL and keys; `ekm cloud read` uses them."""
    async with ekm_simulate("--meters", "300000001:v4,17507:v3", "--http", "0") as output:
        lines = [(await asyncio.wait_for(output.readline(), 20)).decode().strip() for _ in range(4)]
        assert lines[0].startswith("listening on http://127.0.0.1:")
        url = lines[0].removeprefix("listening on ")
        assert lines[1].startswith("account key: ")
        assert lines[2].startswith("gateway key: 4016fa100000 ")
        assert lines[3].startswith("meter key: 000000017507 ")
        key = lines[1].removeprefix("account key: ")
        code, out, err = await run_ekm(
            "cloud", "read", "--json", "--base-url", url, env=ekm_environment(EKM_PUSH_KEY=key)
        )
        assert code == 0, err
        readings = json.loads(out)
        assert [(r["Meter"], r["Protocol"]) for r in readings] == [(V3, "v3"), (V4, "v4")]
        assert all(isinstance(r["kWh_Tot"], float) and r["kWh_Tot"] > 0 for r in readings)
