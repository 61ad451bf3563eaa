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

from custom_components.ekm.aioekm.readings import relays_closed
from custom_components.ekm.aioekm.simulator.fleet import Fleet

from .cli_support import LIBRARY_PARENT, ROOT, ekm, ekm_command, ekm_environment

METERS = "300000001:v4,300000002:v4,000000017507:v3"
V5 = "000300000003"  # simulated as `:v5`, which speaks the v4 protocol
V4 = "000300000001"
V3 = "000000017507"
V4_SETTINGS = "000300000002"


class Simulator:
    """`ekm simulate` in its own process; `urls` are the endpoints it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            ekm_command("simulate", *args, "--meters", f"{METERS},{V5}:v5", "--turnaround", "0.005"),
            cwd=ROOT,
            env=ekm_environment(),
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


def test_relay_and_set_time_print_their_result(simulator: Simulator) -> None:
    """One line saying what the meter now reports; `--json` is the whole reading."""
    port = simulator.urls[1]
    result = ekm("relay", "--port", port, "--meter", V5, "--relay", "1", "--state", "on", "--seconds", "600")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"relay 1 of meter {V5} is closed (on), switching back after 600 s\n"
    result = ekm("relay", "--port", port, "--meter", V5, "--relay", "1", "--state", "off")
    assert result.stdout == f"relay 1 of meter {V5} is open (off)\n"
    result = ekm("set-time", "--port", port, "--meter", V5, "--time", "2030-01-02T03:04:05")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"meter {V5} clock is 2030-01-02 03:04:05\n"
    result = ekm("max-demand-period", "--port", port, "--meter", V5, "--minutes", "30")
    assert result.stdout == f"meter {V5} acknowledged: Max_Demand_Period 2\n"


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
    found = [line.split()[:2] for line in result.stdout.splitlines()[:-1]]
    assert found == [[V4, "v4"], ["000300000002", "v4"], [V5, "v4"]]
    assert "3 meter(s) answered" in result.stdout


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
            "the password",
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


def test_read_into_a_closed_pipe_exits_quietly(simulator: Simulator) -> None:
    """`ekm read --json | head -c1`: the reader is gone before the output is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            ekm_command("read", "--port", simulator.urls[1], "--meter", V4, "--json"),
            cwd=ROOT,
            env=ekm_environment(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141  # 128 + SIGPIPE, as a shell reports it
    assert result.stderr == ""


def test_read_loads_neither_simulator_nor_http_server_nor_home_assistant(simulator: Simulator) -> None:
    probe = (
        f"import sys; sys.path.append({str(LIBRARY_PARENT)!r}); "
        "from aioekm.cli.main import main; "
        f"code = main(['read', '--port', {simulator.urls[1]!r}, '--meter', {V4!r}, '--json']); "
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'homeassistant' "
        "or m.startswith(('aioekm.simulator', 'aiohttp.web'))]; "
        "print(code, loaded, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        cwd=ROOT,
        env=ekm_environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stderr.strip() == "0 []"
    assert json.loads(result.stdout)["Meter"] == V4


# --- fault knobs ------------------------------------------------------------------------------

ALL_FAULTS = "crc=0.05,drop=0.02,late=0.1,dup=0.05,garbage=0.02,stray_stx=0.02,slow=0.5"


def test_simulate_faults_reach_the_bus() -> None:
    """`--faults drop=1`: the meter never answers, so the knob is really wired in."""
    sim = Simulator("--tcp", "0", "--faults", "drop=1")
    try:
        (url,) = sim.wait_for(1)
        result = ekm("read", "--port", url, "--meter", V4, "--timeout", "0.2", "--retries", "0")
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    finally:
        assert sim.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("state", ["on", "off"])
def test_simulate_with_every_fault_never_returns_a_wrong_reading(state: str) -> None:
    """One relay write and a read of each meter through every fault; one run per relay state
    (they wait out their timeouts side by side when the suite runs in parallel)."""
    sim = Simulator("--tcp", "0", "--faults", ALL_FAULTS)
    try:
        (url,) = sim.wait_for(1)
        good = 0
        result = ekm(
            "relay", "--port", url, "--meter", V4_SETTINGS, "--relay", "1", "--state", state, "--json"
        )
        if result.returncode == 0:
            relay_1, _ = relays_closed(json.loads(result.stdout)["State_Out"])
            assert relay_1 == (state == "on")
        else:  # a write may go unconfirmed (3) or fail (1); never silently wrong
            assert result.returncode in (1, 3) and "Traceback" not in result.stderr
        for address in (V4, V3):
            read = ekm("read", "--port", url, "--meter", address, "--json")
            if read.returncode == 0:
                good += 1
                reading = json.loads(read.stdout)
                assert reading["Meter"] == address
                assert 110 < reading["RMS_Volts_Ln_1"] < 130
            else:
                assert read.returncode == 1 and len(read.stderr.splitlines()) == 1, read.stderr
        assert good >= 1  # retries get most reads through these rates
    finally:
        assert sim.stop() == 0
