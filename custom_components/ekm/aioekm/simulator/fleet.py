"""Virtual Omnimeters: the one fleet behind the RS-485 face and the Push API face.

Each meter's load is a smooth function of wall-clock time, and its energy
registers are that function's exact integral. So the reading at any instant,
past or present, is known in closed form: the Push summaries computed from
"history" agree with the registers the RS-485 face shows, and kWh never go down.
Only the displayed volts, amps and watts carry small noise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time as clock_time
import hashlib
import math
import random
import time

from ..readings import (
    FieldValue,
    MeterReading,
    PowerFactor,
    Protocol,
    format_cos_theta,
    format_meter_time,
    frame_fields,
    make_reading,
    normalize_address,
    state_inputs_code,
    state_out_code,
    watts_dir_code,
)
from ..rs485.commands import DEFAULT_PASSWORD
from ..rs485.tariffs import Holiday, Season, TariffPeriod, TariffSchedule, TariffTables, empty_schedules

DAY = 86400.0
V3_MODEL = "1017"
V4_MODEL = "1024"
# Where the load curves are anchored: registers read `start_kwh` at this instant.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()

# A new simulated meter's time-of-use setup: day (tariff 1) and night (tariff 2) on weekdays
# all year, the whole day in tariff 2 on weekends and two holidays. What real meters ship
# with is not documented.
FACTORY_TARIFFS = TariffTables(
    schedules=(
        TariffSchedule(1, (TariffPeriod(clock_time(7, 0), 1), TariffPeriod(clock_time(23, 0), 2))),
        TariffSchedule(2, (TariffPeriod(clock_time(0, 0), 2),)),
        *empty_schedules()[2:],
    ),
    seasons=(Season(1, 1, 1),),
    holidays=(Holiday(1, 1), Holiday(12, 25)),
    weekend_schedule=2,
    holiday_schedule=2,
)


@dataclass
class LineLoad:
    """One line's load: base watts plus a daily swing, flowing one way."""

    base_w: float
    swing_w: float
    phase: float
    volts: float
    reverse: bool = False

    def watts(self, t: float) -> float:
        return self.base_w + self.swing_w * math.sin(2 * math.pi * t / DAY + self.phase)

    def kwh_since_epoch(self, t: float) -> float:
        """Exact integral of watts() from EPOCH to t, in kWh."""
        w = 2 * math.pi / DAY
        dt = t - EPOCH
        swing = -self.swing_w / w * (math.cos(w * t + self.phase) - math.cos(w * EPOCH + self.phase))
        return (self.base_w * dt + swing) / 3.6e6


@dataclass
class VirtualMeter:
    """One simulated Omnimeter with settings that stay as written."""

    address: str
    protocol: Protocol
    lines: list[LineLoad]
    start_kwh: float = 1000.0
    model: str = ""
    firmware: str = "15"
    password: str = DEFAULT_PASSWORD
    ct_ratio: int = 200
    pulse_ratios: list[int] = field(default_factory=lambda: [1, 1, 1])
    pulse_rates_hz: list[float] = field(default_factory=lambda: [0.5, 0.1, 0.0])
    cf_ratio: int = 800
    max_demand_period: int = 1
    max_demand_rst: int = 0
    max_demand_w: float = 0.0
    relays: list[bool] = field(default_factory=lambda: [False, False])
    relay_until: list[float | None] = field(default_factory=lambda: [None, None])
    rst_baseline_kwh: float = 0.0
    rst_baseline_rev_kwh: float = 0.0
    clock_offset_s: float = 0.0
    lcd_items: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 12])
    # Time-of-use setup: written with 0070-0075, 0080, 00B0, 00C0; read as tables 0070, 0071, 00B0.
    tariffs: TariffTables = field(default_factory=lambda: FACTORY_TARIFFS)
    gateway: str = ""  # MAC of the simulated Push3 gateway it sits behind
    seed: int = 0
    last_tick: float = field(default=float("-inf"), repr=False)

    def __post_init__(self) -> None:
        self.address = normalize_address(self.address)
        if not self.model:
            self.model = V3_MODEL if self.protocol is Protocol.V3 else V4_MODEL

    def noise(self, t: float, salt: int) -> float:
        """Reproducible noise in [-1, 1]: the same meter at the same instant reads the same."""
        key = f"{self.address}/{self.seed}/{salt}/{t:.3f}".encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest()) / 2**63 - 1.0

    # --- registers, exact ---------------------------------------------------

    def kwh_lines(self, t: float) -> list[float]:
        """Energy per line at t (kWh), split of start_kwh over lines by base load."""
        total_base = sum(line.base_w for line in self.lines) or 1.0
        return [self.start_kwh * line.base_w / total_base + line.kwh_since_epoch(t) for line in self.lines]

    def forward_kwh(self, t: float) -> float:
        return sum(k for k, line in zip(self.kwh_lines(t), self.lines, strict=True) if not line.reverse)

    def reverse_kwh(self, t: float) -> float:
        return sum(k for k, line in zip(self.kwh_lines(t), self.lines, strict=True) if line.reverse)

    def total_kwh(self, t: float) -> float:
        """kWh_Tot: forward plus reverse, as EKM defines it."""
        return sum(self.kwh_lines(t))

    def pulse_count(self, n: int, t: float) -> int:
        return int(max(0.0, (t - EPOCH)) * self.pulse_rates_hz[n - 1]) % 100_000_000

    @property
    def kwh_scale(self) -> int:
        """Decimals the meter shows: 2 with small CTs, fewer with large ones."""
        return 2 if self.ct_ratio <= 400 else 1 if self.ct_ratio <= 2000 else 0

    # --- time-dependent state -----------------------------------------------

    def tick(self, t: float) -> None:
        """Expire timed relays and follow max demand up to time t.

        Looking back (a summary of past periods) leaves max demand alone, and a past
        instant is before any relay deadline set since.
        """
        for i, until in enumerate(self.relay_until):
            if until is not None and t >= until:
                self.relays[i] = not self.relays[i]
                self.relay_until[i] = None
        if t >= self.last_tick:
            self.last_tick = t
            demand = sum(line.watts(t) for line in self.lines)
            self.max_demand_w = max(self.max_demand_w, demand)

    def values(self, t: float | None = None) -> dict[str, FieldValue]:
        """Every field this meter's protocol carries, scaled, at time t."""
        t = time.time() if t is None else t
        self.tick(t)  # values are a pure function of t and the meter's settings
        v3 = self.protocol is Protocol.V3
        scale = 1 if v3 else self.kwh_scale

        step = 10.0**scale

        def kwh(x: float) -> float:
            # Truncate, as a register does: a displayed value never runs ahead.
            return round(math.floor(x * step) / step, scale)

        per_line = self.kwh_lines(t)
        out: dict[str, FieldValue] = {}
        fwd = sum(k for k, line in zip(per_line, self.lines, strict=True) if not line.reverse)
        rev = sum(k for k, line in zip(per_line, self.lines, strict=True) if line.reverse)
        out["kWh_Tot"] = kwh(fwd + rev)
        out["Rev_kWh_Tot"] = kwh(rev)
        for n, share in ((1, 0.6), (2, 0.4), (3, 0.0), (4, 0.0)):
            out[f"kWh_Tariff_{n}"] = kwh((fwd + rev) * share)
            out[f"Rev_kWh_Tariff_{n}"] = kwh(rev * share)
        watts_total = 0
        for n in (1, 2, 3):
            line = self.lines[n - 1] if n <= len(self.lines) else None
            watts = round(line.watts(t) * (1 + 0.002 * self.noise(t, n))) if line else 0
            volts = round(line.volts + 0.3 * self.noise(t, 10 + n), 1) if line else 0.0
            pf = PowerFactor(0.97, "lag") if line and watts else PowerFactor(1.0, None)
            amps = round(watts / (volts * pf.value), 1) if line and volts else 0.0
            watts_total += watts
            out[f"RMS_Volts_Ln_{n}"] = volts
            out[f"Amps_Ln_{n}"] = amps
            out[f"RMS_Watts_Ln_{n}"] = watts
            out[f"Cos_Theta_Ln_{n}"] = format_cos_theta(pf)
            out[f"Reactive_Pwr_Ln_{n}"] = round(watts * 0.25)
            out[f"kWh_Ln_{n}"] = kwh(per_line[n - 1]) if line and not line.reverse else 0.0
            out[f"Rev_kWh_Ln_{n}"] = kwh(per_line[n - 1]) if line and line.reverse else 0.0
            out[f"Pulse_Cnt_{n}"] = self.pulse_count(n, t)
            out[f"Pulse_Ratio_{n}"] = self.pulse_ratios[n - 1]
        out["RMS_Watts_Tot"] = watts_total
        out["Reactive_Pwr_Tot"] = round(watts_total * 0.25)
        out["Reactive_Energy_Tot"] = kwh((fwd + rev) * 0.25)
        out["kWh_Rst"] = kwh(fwd - self.rst_baseline_kwh)
        out["Rev_kWh_Rst"] = kwh(rev - self.rst_baseline_rev_kwh)
        out["Line_Freq"] = round(60.0 + 0.03 * self.noise(t, 0), 2)
        out["RMS_Watts_Max_Demand"] = round(self.max_demand_w, 1)
        out["Max_Demand_Period"] = self.max_demand_period
        out["Max_Demand_Rst"] = self.max_demand_rst
        out["CT_Ratio"] = self.ct_ratio
        out["CF_Ratio"] = self.cf_ratio
        high = tuple(self.pulse_count(n, t) % 2 == 1 for n in (1, 2, 3))
        out["State_Inputs"] = state_inputs_code((high[0], high[1], high[2]))
        rev_lines = tuple(bool(n <= len(self.lines) and self.lines[n - 1].reverse) for n in (1, 2, 3))
        out["State_Watts_Dir"] = watts_dir_code((rev_lines[0], rev_lines[1], rev_lines[2]))
        out["State_Out"] = state_out_code(self.relays[0], self.relays[1])
        out["kWh_Scale"] = scale
        for code in (
            "Meter_Status_Code",
            "Meter_Status_Code_A",
            "Meter_Status_Code_B",
            "Meter_Status_Code_C",
        ):
            out[code] = "0"
        local = datetime.fromtimestamp(t + self.clock_offset_s)
        out["Meter_Time"] = format_meter_time(local)
        carried = frame_fields(self.protocol)
        return {name: value for name, value in out.items() if name in carried}

    def reading(self, t: float | None = None) -> MeterReading:
        """The reading a perfect client would get at time t."""
        t = time.time() if t is None else t
        return make_reading(
            self.address,
            self.protocol,
            self.model,
            self.firmware,
            self.values(t),
            timestamp=datetime.fromtimestamp(t, UTC),
        )

    # --- writes (the RS-485 face and sendCommand both land here) ------------

    def set_relay(self, relay: int, closed: bool, seconds: int = 0, t: float | None = None) -> None:
        """Switch relay 1/2; with seconds > 0 it flips back after that long."""
        if self.protocol is Protocol.V3:
            raise ValueError("v3 meters have no relays")
        t = time.time() if t is None else t
        self.relays[relay - 1] = closed
        self.relay_until[relay - 1] = t + seconds if seconds else None

    def set_clock(self, when: datetime, t: float | None = None) -> None:
        t = time.time() if t is None else t
        self.clock_offset_s = (
            when.replace(tzinfo=None).timestamp() - datetime.fromtimestamp(t).replace(tzinfo=None).timestamp()
        )

    def zero_resettable(self, t: float | None = None) -> None:
        t = time.time() if t is None else t
        self.rst_baseline_kwh = self.forward_kwh(t)
        self.rst_baseline_rev_kwh = self.reverse_kwh(t)

    def reset_max_demand(self) -> None:
        self.max_demand_w = 0.0


def make_meter(address: str, protocol: Protocol | str, *, gateway: str = "", index: int = 0) -> VirtualMeter:
    """A plausible meter: two 120 V lines (a 120/240 V split-phase service), importing.

    A line set to `reverse=True` afterwards exports (e.g. solar) and counts in Rev_kWh_*.
    """
    protocol = Protocol(protocol)
    rng = random.Random(int(normalize_address(address)))
    lines = [
        LineLoad(
            base_w=rng.uniform(400, 1500),
            swing_w=rng.uniform(100, 350),
            phase=rng.uniform(0, 6.28),
            volts=120.0,
        ),
        LineLoad(
            base_w=rng.uniform(300, 1200),
            swing_w=rng.uniform(100, 250),
            phase=rng.uniform(0, 6.28),
            volts=120.0,
        ),
    ]
    return VirtualMeter(
        address=address,
        protocol=protocol,
        lines=lines,
        start_kwh=round(rng.uniform(1000, 50000), 1),
        gateway=gateway,
        seed=index + 1,
    )


class ManualClock:
    """A fleet clock that stands still until told to move: reproducible simulations."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Fleet:
    """The virtual meters of a simulation, by 12-digit address."""

    def __init__(self, meters: Iterable[VirtualMeter] = (), clock: Callable[[], float] = time.time) -> None:
        self.meters: dict[str, VirtualMeter] = {m.address: m for m in meters}
        self.clock = clock

    def __contains__(self, address: object) -> bool:
        return address in self.meters

    def get(self, address: str) -> VirtualMeter | None:
        return self.meters.get(address)

    def add(self, meter: VirtualMeter) -> VirtualMeter:
        self.meters[meter.address] = meter
        return meter

    @classmethod
    def parse(cls, spec: str, *, meters_per_gateway: int = 16) -> Fleet:
        """From the CLI form '300000001:v4,000000017507:v3'."""
        fleet = cls()
        for index, item in enumerate(filter(None, (s.strip() for s in spec.split(",")))):
            address, _, version = item.partition(":")
            gateway = f"4016fa{0x100000 + index // meters_per_gateway:06x}"
            fleet.add(make_meter(address, version or "v4", gateway=gateway, index=index))
        return fleet
