"""Shared fixtures: the real parts (moto's STS, a fault-injecting STS, a private desktop)."""

import os

# The tests compare exact English sentences: a developer's Japanese locale must not
# change them (LANGUAGE is read by gettext only; tests/test_i18n.py sets ja itself).
os.environ["LANGUAGE"] = "en"

from tests.support.fixtures import *  # noqa: F403
