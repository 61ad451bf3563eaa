"""The `ekm` command line, run as a subprocess against a simulator subprocess."""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import select
import signal
import subprocess
import sys
import time

import pytest

from custom_components.ekm.aioekm.simulator.fleet import Fleet

ROOT = Path(__file__).parents[2]
METERS = "300000001:v4,300000002:v4,000000017507:v3"
V4 = "000300000001"
V3 = "000000017507"
V4_SETTINGS = "000300000002"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "custom_components.ekm.aioekm", *args]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("EKM_METER_PASSWORD", None)
    return env


def ekm(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Simulator:
    """`ekm simulate` in its own process; `urls` are the endpoints it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            command("simulate", *args, "--meters", METERS, "--turnaround", "0.005"),
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.urls: list[str] = []
        self._pending = b""

    def wait_for(self, count: int, timeout: float = 20.0) -> list[str]:
        """The first `count` endpoints, read without blocking past `timeout`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while len(self.urls) < count:
            line, newline, rest = self._pending.partition(b"\n")
            if newline:
                self._pending = rest
                text = line.decode()
                assert text.startswith("listening on "), text
                self.urls.append(text.removeprefix("listening on ").strip())
                continue
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"simulator printed {self.urls} only"
            chunk = os.read(fd, 4096)
            assert chunk, f"simulator ended: {self.stderr()}"
            self._pending += chunk
        return self.urls

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read().decode()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    sim = Simulator("--pty", "--tcp", "0")
    try:
        sim.wait_for(2)
        yield sim
    finally:
        sim.stop()


@pytest.fixture(params=["pty", "tcp"])
def port(request: pytest.FixtureRequest, simulator: Simulator) -> str:
    pty_path, tcp_url = simulator.urls
    assert tcp_url.startswith("socket://127.0.0.1:")
    return pty_path if request.param == "pty" else tcp_url


def test_read_json_matches_the_virtual_meter(port: str) -> None:
    meter = Fleet.parse(METERS).meters[V4]  # the same meter the simulator runs
    before = time.time()
    result = ekm("read", "--port", port, "--meter", "300000001", "--json")
    after = time.time()
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["Meter"] == V4 and data["Model"] == "1024" and data["Firmware"] == "15"
    assert data["Protocol"] == "v4"
    assert isinstance(data["kWh_Tot"], float) and isinstance(data["RMS_Watts_Tot"], int)
    assert isinstance(data["CT_Ratio"], int)  # from the B frame
    # The register was read between `before` and `after` (the simulator truncates to 0.01).
    assert meter.total_kwh(before) - 0.01 <= data["kWh_Tot"] <= meter.total_kwh(after)
    assert 110 < data["RMS_Volts_Ln_1"] < 130


def test_read_v3_as_text(port: str) -> None:
    result = ekm("read", "--port", port, "--meter", "17507")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"meter {V3}: Omnimeter I v.3, model 1017")
    assert "protocol v3" in result.stdout
    assert any(line.split()[0] == "kWh_Tot" for line in result.stdout.splitlines()[1:])


def test_relay_and_settings(simulator: Simulator) -> None:
    """On a meter of its own, so that the other tests see default settings."""
    port = simulator.urls[0]
    result = ekm("relay", "--port", port, "--meter", V4_SETTINGS, "--relay", "2", "--state", "on", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["State_Out"] == 2  # relay 2 closed, relay 1 open
    result = ekm("relay", "--port", port, "--meter", V4_SETTINGS, "--relay", "2", "--state", "off", "--json")
    assert json.loads(result.stdout)["State_Out"] == 1
    result = ekm("ct-ratio", "--port", port, "--meter", V4_SETTINGS, "--amps", "800", "--json")
    assert result.returncode == 0, result.stderr
    reading = json.loads(ekm("read", "--port", port, "--meter", V4_SETTINGS, "--json").stdout)
    assert reading["CT_Ratio"] == 800 and reading["kWh_Scale"] == 1
    result = ekm("set-time", "--port", port, "--meter", V3, "--time", "2031-02-03T04:05:06", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Meter_Time"].startswith("310203")


def test_scan(simulator: Simulator) -> None:
    result = ekm(
        "scan", "--port", simulator.urls[1], "--from", "300000000", "--to", "300000003", "--timeout", "0.1"
    )
    assert result.returncode == 0, result.stderr
    found = [line.split()[0] for line in result.stdout.splitlines()[:-1]]
    assert found == [V4, "000300000002"]
    assert "2 meter(s) answered" in result.stdout


def test_month_table_json(simulator: Simulator) -> None:
    result = ekm("month-table", "--port", simulator.urls[1], "--meter", V4, "--json")
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert table["register"] == "0011" and len(table["months"]) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["read", "--port", "/dev/no-such-ekm-port", "--meter", "1"], "cannot open"),
        (["read", "--port", "socket://127.0.0.1:1", "--meter", "1"], "cannot open"),
        (["read", "--port", "{tcp}", "--meter", "123", "--timeout", "0.1"], "answers neither"),
        (["ct-ratio", "--port", "{tcp}", "--meter", V4, "--amps", "333"], "CT ratio must be one of"),
        (["relay", "--port", "{tcp}", "--meter", V3, "--relay", "1", "--state", "on"], "v3 meter"),
        (
            [
                "relay",
                "--port",
                "{tcp}",
                "--meter",
                V4,
                "--relay",
                "1",
                "--state",
                "on",
                "--password",
                "97531864",
            ],
            "did not accept the password",
        ),
        (["scan", "--port", "{tcp}", "--from", "5", "--to", "1"], "--to must not be below --from"),
    ],
)
def test_errors_are_one_line(simulator: Simulator, args: list[str], message: str) -> None:
    result = ekm(*(arg.replace("{tcp}", simulator.urls[1]) for arg in args))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "97531864" not in result.stderr + result.stdout


def test_help_documents_every_command() -> None:
    result = ekm("--help")
    assert result.returncode == 0
    for name in (
        "simulate",
        "read",
        "scan",
        "relay",
        "set-time",
        "ct-ratio",
        "pulse-input-ratio",
        "pulse-output-ratio",
        "max-demand-period",
        "max-demand-reset",
        "reset-max-demand",
        "zero-kwh",
        "change-password",
        "lcd-items",
        "month-table",
        "cloud",
    ):
        assert f"    {name}" in result.stdout, name
    assert "--state {on,off}" in ekm("relay", "--help").stdout


def test_cloud_without_a_subcommand_shows_usage() -> None:
    result = ekm("cloud")
    assert result.returncode == 2 and "usage: ekm cloud" in result.stderr


def test_simulate_exits_cleanly_on_sigterm_and_sigint() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        sim = Simulator("--pty")
        (path,) = sim.wait_for(1)
        assert Path(path).is_symlink()
        sim.process.send_signal(sig)
        assert sim.process.wait(timeout=10) == 0
        assert not os.path.lexists(path)  # cleaned up
        assert "Traceback" not in sim.stderr()


def test_scripts_ekm_runs_the_cli() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "ekm"), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ekm")
