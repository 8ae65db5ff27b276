"""The tray on a desktop with pieces missing: no session bus (a bare window manager), no
notification server.  Real Xvfb, trayer and dbus-daemon; the tray is a real process.

Without a bus pystray's default backend (appindicator or gtk, whenever PyGObject is
installed) can't start, and its setup thread used to keep the failed process alive for
ever; the tray now docks through pystray's xorg backend, or says in one sentence what to
fix and exits.  Without a notification server, Quit used to end with status 1 and "the
tray icon can't be shown": it is not a tray failure, and Quit exits 0.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.fixtures import require_tools
from tests.support.procs import refused_url
from tests.support.tray_desktop import click_quit, exit_status, start_tray, wait_for

pytestmark = pytest.mark.desktop


@pytest.fixture
def bare_desktop() -> Desktop:
    """Xvfb + trayer (+ a bus the tray is not told about), no notification server."""
    require_tools()
    with Desktop(notifications=False, tray=True) as d:
        yield d  # type: ignore[misc]


def bare_env(desktop: Desktop, tmp_path: Path, **extra: str) -> dict[str, str]:
    """No DBUS_SESSION_BUS_ADDRESS, and a PATH without dbus-launch (only the harness's setpriv)."""
    env = desktop.env
    env.pop("DBUS_SESSION_BUS_ADDRESS")
    bare = tmp_path / "bare-bin"
    bare.mkdir(exist_ok=True)
    setpriv = shutil.which("setpriv")
    if setpriv and not (bare / "setpriv").exists():
        (bare / "setpriv").symlink_to(setpriv)
    env["PATH"] = str(bare)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    (desktop.home / ".aws").mkdir(exist_ok=True)
    (desktop.home / ".aws" / "config").write_text("")
    env.update(extra)
    return env


def test_without_a_session_bus_the_icon_docks_through_xorg_and_sigterm_ends_it(
    bare_desktop: Desktop, tmp_path: Path
) -> None:
    started = time.monotonic()
    tray = start_tray(bare_desktop, bare_env(bare_desktop, tmp_path))
    wait_for("the icon to dock", lambda: bare_desktop.find_tray_icons(), 10, bare_desktop)
    assert time.monotonic() - started < 10
    assert "can't be shown" not in bare_desktop.log("tray")
    tray.send_signal(signal.SIGTERM)
    assert exit_status(tray, bare_desktop, timeout=5) == 128 + signal.SIGTERM


def test_a_dbus_backend_asked_for_without_a_bus_exits_at_once_naming_the_fix(
    bare_desktop: Desktop, tmp_path: Path
) -> None:
    pytest.importorskip("gi", reason="PyGObject is needed for pystray's gtk backend")
    env = bare_env(bare_desktop, tmp_path, PYSTRAY_BACKEND="gtk")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "trayapp"], env=env, capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 10
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "D-Bus session bus" in lines[0] and "PYSTRAY_BACKEND=xorg" in lines[0] and "dbus-run-session" in lines[0]


def test_a_backend_that_fails_to_start_never_leaves_the_process_hanging(bare_desktop: Desktop, tmp_path: Path) -> None:
    """A bus address the quick check trusts (tcp) but nobody answers: GLib fails inside
    pystray's loop; pystray's setup thread must not keep the process alive."""
    pytest.importorskip("gi", reason="PyGObject is needed for pystray's gtk backend")
    port = refused_url().rsplit(":", 1)[1]
    address = f"tcp:host=127.0.0.1,port={port}"
    env = bare_env(bare_desktop, tmp_path, PYSTRAY_BACKEND="gtk", DBUS_SESSION_BUS_ADDRESS=address)
    started = time.monotonic()
    try:
        out = subprocess.run([sys.executable, "-m", "trayapp"], env=env, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the tray hung after its backend failed to start")
    assert time.monotonic() - started < 10
    assert out.returncode == 1
    assert "the tray icon can't be shown" in out.stderr


def test_quit_exits_0_without_a_notification_server(bare_desktop: Desktop) -> None:
    pytest.importorskip("gi", reason="PyGObject is needed for pystray's gtk backend")
    env = bare_desktop.env  # the bus is there, org.freedesktop.Notifications is not
    env["PYSTRAY_BACKEND"] = "gtk"
    (bare_desktop.home / ".aws").mkdir()
    (bare_desktop.home / ".aws" / "config").write_text("")
    from trayapp import protocol

    tray = start_tray(bare_desktop, protocol.child_env(env))
    icon = wait_for("the icon to dock", lambda: bare_desktop.find_tray_icons(), 10, bare_desktop)[0]
    click_quit(bare_desktop, icon)
    assert exit_status(tray, bare_desktop) == 0, bare_desktop.log("tray")
    assert "can't be shown" not in bare_desktop.log("tray")


@pytest.mark.parametrize("backend", ["xorg", "gtk"])
def test_with_no_tray_host_the_tray_says_so_once_and_docks_when_one_starts(tmp_path: Path, backend: str) -> None:
    """X with no system tray: xorg printed seven pystray tracebacks ("Failed to dock icon") and gtk
    ran with no icon at all.  Now one sentence, and the icon appears when a tray starts."""
    require_tools()
    if backend == "gtk":
        pytest.importorskip("gi", reason="PyGObject is needed for pystray's gtk backend")
    with Desktop(notifications=backend == "gtk", tray=False) as desktop:
        if backend == "xorg":
            env = bare_env(desktop, tmp_path, PYSTRAY_BACKEND="xorg")
        else:
            env = {**desktop.env, "PYSTRAY_BACKEND": "gtk", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
            (desktop.home / ".aws").mkdir(exist_ok=True)
            (desktop.home / ".aws" / "config").write_text("")
        tray = start_tray(desktop, env)
        wait_for("the sentence", lambda: "no system tray is running" in desktop.log("tray"), 20, desktop)
        desktop.start_trayer()
        wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 20, desktop)
        log = desktop.log("tray")
        tray.send_signal(signal.SIGTERM)
        exit_status(tray, desktop, timeout=10)
    assert log.count("no system tray is running on display") == 1
    assert "Traceback" not in log and "Failed to dock" not in log
