"""Simulators of EKM hardware and of the Push API, for tests, benchmarks and development."""

from .fleet import Fleet, LineLoad, ManualClock, VirtualMeter, make_meter

__all__ = ["Fleet", "LineLoad", "ManualClock", "VirtualMeter", "make_meter"]
