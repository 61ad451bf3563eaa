"""Tests of the EKM Metering integration and its aioekm library."""
