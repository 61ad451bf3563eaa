"""Tests of the Push API client, the Push3 client, the fake Push server and `ekm cloud`."""
