"""The `ekm` command line: RS-485 meters, the Push cloud, and the simulators."""
