"""Shared fixtures: the real parts (moto's STS, a fault-injecting STS, a private desktop)."""

from tests.support.fixtures import *  # noqa: F403
