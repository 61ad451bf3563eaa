"""Tests of the HA-free aioekm library."""
