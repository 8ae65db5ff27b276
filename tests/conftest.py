"""Shared fixtures: the real parts (moto's STS, a fault-injecting STS, a private desktop), loaded as
a pytest plugin from tests/support/fixtures.py.  Tests share code only through tests/support/."""

import os

# The tests compare exact English sentences: a developer's Japanese locale must not
# change them (LANGUAGE is read by gettext only; tests/test_i18n.py sets ja itself).
os.environ["LANGUAGE"] = "en"

pytest_plugins = ["tests.support.fixtures", "tests.support.tiers"]
