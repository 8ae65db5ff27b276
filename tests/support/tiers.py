"""The suite's tiers, as markers every test gets at collection.

- ``unit``: the core and the tray's logic in this process, with fakes; no child process, no server.
  The whole tier runs in seconds: ``.venv/bin/python -m pytest -m unit``.
- ``integration``: real parts without a screen — child processes (the CLI, the real ``aws``), moto's
  STS, a second uid, the file-system races, the property runs that take seconds.
- ``desktop``: Xvfb, a tray host, a session bus and its notification server (marked in the module).
- ``slow``: long property and soak runs, deselected by default (``-m slow`` runs them).

A test's tier follows from what it uses: the ``desktop`` or ``slow`` marker it carries, an
``integration`` marker, a fixture that starts a real part, or its module being listed in
``INTEGRATION_MODULES``.  Everything else is ``unit``, and a unit test that starts a process fails
at once with a sentence saying where to list it, so the unit tier stays fast by construction.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TIERS = ("unit", "integration", "desktop", "slow")

#: Fixtures that start a real part (a server, a desktop): a test that asks for one is integration.
INTEGRATION_FIXTURES = frozenset({"moto_sts", "fault_sts", "desktop", "desktop_keyring"})

#: Modules whose tests start processes (the CLI as a user runs it, the real ``aws``, a second
#: uid) or take seconds each; every test in them is integration.
INTEGRATION_MODULES = frozenset(
    {
        "test_bench",
        "test_channel_silent_tray",
        "test_cli_channel",
        "test_cli_e2e",
        "test_code_sources",
        "test_code_sources_cli",
        "test_codes_as_typed",
        "test_console",
        "test_credentials_crash",
        "test_demo",
        "test_hostile_files",
        "test_hostile_values",
        "test_i18n",
        "test_one_code_many_roles",
        "test_packaging",
        "test_platform_paths",
        "test_platform_windows_files",
        "test_runtime_folder",
        "test_secrets",
        "test_shell_habits",
        "test_sso",
        "test_sts_failures",
        "test_watch",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: no child process and no server; the fast tier (`-m unit`)")
    config.addinivalue_line("markers", "integration: real parts without a screen (processes, moto, a second uid)")
    # A worker of pytest-xdist adds popen-gwN/ to the base folder: under pytest's default base the
    # paths of some tests' Unix sockets pass the 108-byte limit.  The controller picks a short one
    # (the workers get theirs below it) unless --basetemp was given.
    if not hasattr(config, "workerinput") and config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="ta-")
        config.stash[_OWN_BASETEMP] = config.option.basetemp


_OWN_BASETEMP = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_BASETEMP, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


def tier_of(item: pytest.Item) -> str:
    if item.get_closest_marker("slow"):
        return "slow"
    if item.get_closest_marker("desktop"):
        return "desktop"
    if item.get_closest_marker("integration"):
        return "integration"
    if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "integration"
    if Path(str(item.fspath)).stem in INTEGRATION_MODULES:
        return "integration"
    return "unit"


#: The tiers whose tests drive real processes, servers and an X display: on a loaded machine any of
#: their failures is tried once more (pytest-rerunfailures; the summary names each as RERUN). A unit
#: test is never rerun, and in every tier only a wait that ran out is (``only_rerun`` in pyproject.toml).
RERUN_TIERS = frozenset({"integration", "desktop"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rerun = config.pluginmanager.hasplugin("rerunfailures")
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)
        if rerun and tier in RERUN_TIERS and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=[""]))


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In the unit tier, starting a child process is a mistake in the test's tier, said at once."""
    if tier_of(request.node) == "unit":
        node = request.node.nodeid

        def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
            raise AssertionError(
                f"{node} starts a process but is in the unit tier: mark it integration "
                "(pytest.mark.integration, or its module in tests/support/tiers.py)"
            )

        monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    yield
