"""Simulators of EKM hardware and of the Push API, for tests, benchmarks and development."""

from .fleet import Fleet, LineLoad, VirtualMeter, make_meter

__all__ = ["Fleet", "LineLoad", "VirtualMeter", "make_meter"]
