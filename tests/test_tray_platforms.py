"""The tray on macOS and Windows, imitated here: ``sys.platform`` patched and recording fakes
of pystray's darwin and win32 backends; and a windowed build's missing stderr, for real.

* darwin: AppKit may only be touched on the main thread.  The fake backend fails every
  call made on another thread; the tray's start (setup thread) and its refresh after an
  assume (worker thread) must go through the main loop.
* win32: pystray opens the menu on a right click only; a left click must open it too.
* ``pythonw`` / the windowed exe: ``sys.stderr`` is None.  A helper's error must not land in
  its JSON pipe, and a tray that has to leave says why (log file, message box).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import wait_until
from tests.support.tray_fakes import FakePrompt, FakeService, quiet_prefs
from trayapp.tray import menu_model
from trayapp.tray.app import TrayApp
from trayapp.tray.view import icon_title


@pytest.fixture
def pystray_base(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PYSTRAY_BACKEND", os.environ.get("PYSTRAY_BACKEND", "dummy"))
    import pystray._base

    return pystray._base


def fake_pystray(base: Any, icon_class: type) -> types.ModuleType:
    module = types.ModuleType("pystray")
    module.Icon = icon_class  # type: ignore[attr-defined]
    module.Menu = base.Menu  # type: ignore[attr-defined]
    module.MenuItem = base.MenuItem  # type: ignore[attr-defined]
    return module


# --- macOS: AppKit on the main thread only --------------------------------------------------------


@pytest.fixture
def darwin(monkeypatch: pytest.MonkeyPatch, pystray_base: Any) -> Iterator[tuple[type, queue.Queue[Any]]]:
    """A recording fake of pystray's darwin backend and of PyObjC's ``AppHelper.callAfter``."""
    main_loop: queue.Queue[Callable[[], None]] = queue.Queue()

    class DarwinIcon(pystray_base.Icon):  # type: ignore[misc,name-defined]
        HAS_DEFAULT_ACTION = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.calls: list[str] = []
            self.off_main: list[tuple[str, str]] = []
            self.notified: list[tuple[str | None, str]] = []
            self.menu_labels: list[str] = []
            self._stopped = False

        def __del__(self) -> None:
            """Not pystray's hide-on-collect: a fake left visible by a test is collected on whatever
            thread the garbage collector runs, which is no AppKit call the tray made."""

        def _appkit(self, what: str) -> None:
            self.calls.append(what)
            if threading.current_thread() is not threading.main_thread():
                self.off_main.append((what, threading.current_thread().name))
                raise AssertionError(f"AppKit call {what} on thread {threading.current_thread().name}")

        def _show(self) -> None:
            self._appkit("setHidden_(False)")

        def _hide(self) -> None:
            self._appkit("setHidden_(True)")

        def _update_icon(self) -> None:
            self._appkit("setImage_")

        def _update_title(self) -> None:
            self._appkit("setToolTip_")

        def _update_menu(self) -> None:
            self._appkit("setMenu_")
            self.menu_labels = [item.text for item in self.menu] if self.menu else []

        def _notify(self, message: str, title: str | None = None) -> None:
            self._appkit("deliverNotification_")
            self.notified.append((title, message))

        def _run(self) -> None:
            self._appkit("NSApplication.run")
            self._mark_ready()
            while not self._stopped:
                try:
                    work = main_loop.get(timeout=0.02)
                except queue.Empty:
                    continue
                with contextlib.suppress(Exception):  # AppKit logs and carries on; the failure is recorded
                    work()

        def _stop(self) -> None:
            self._appkit("NSApplication.stop_")
            self._stopped = True

    DarwinIcon.__module__ = "pystray._darwin"

    def call_after(fn: Callable[..., None], *args: Any) -> None:
        main_loop.put(lambda: fn(*args))

    app_helper = types.ModuleType("PyObjCTools.AppHelper")
    app_helper.callAfter = call_after  # type: ignore[attr-defined]
    pyobjc = types.ModuleType("PyObjCTools")
    pyobjc.AppHelper = app_helper  # type: ignore[attr-defined]
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setitem(sys.modules, "pystray", fake_pystray(pystray_base, DarwinIcon))
    monkeypatch.setitem(sys.modules, "PyObjCTools", pyobjc)
    monkeypatch.setitem(sys.modules, "PyObjCTools.AppHelper", app_helper)
    yield DarwinIcon, main_loop


def wait(what: str, probe: Callable[[], object], timeout: float = 10) -> None:
    wait_until(what, probe, timeout)


def test_darwin_start_and_refresh_after_an_assume_touch_appkit_on_the_main_thread_only(
    darwin: tuple[type, queue.Queue[Any]],
) -> None:
    _cls, main_loop = darwin
    app = TrayApp(FakeService(), prompt_factory=lambda: FakePrompt("123456"), prefs=quiet_prefs(), watch=False)
    problems: list[str] = []

    def user() -> None:  # clicks arrive on the main thread, as AppKit delivers them
        try:
            wait("the icon to show", lambda: app.icon is not None and app.icon.visible and app.notifier is not None)
            main_loop.put(lambda: app.perform(menu_model.action(menu_model.ASSUME, "prod")))
            wait("the icon to turn 'valid'", lambda: app.icon.title == icon_title("valid"))
            wait("the 'ready' notification", lambda: app.icon.notified)
        except AssertionError as exc:
            problems.append(str(exc))
        main_loop.put(lambda: app.perform(menu_model.QUIT))

    threading.Thread(target=user, daemon=True).start()
    assert threading.current_thread() is threading.main_thread()
    app.run()  # the main thread, as on macOS

    icon = app.icon
    assert icon.off_main == [], "AppKit was called off the main thread"
    assert problems == []
    assert {"setHidden_(False)", "setImage_", "setToolTip_", "setMenu_", "deliverNotification_"} <= set(icon.calls)
    assert icon.calls[-1] == "NSApplication.stop_"
    assert any(label.startswith("prod") for label in icon.menu_labels)
    assert icon.notified[0][0] == "trayapp: prod is ready"


# --- Windows: a left click opens the menu -----------------------------------------------------------

WM_LBUTTONUP, WM_RBUTTONUP = 0x0202, 0x0205


def win32_icon_class(base: Any) -> type:
    class Win32Icon(base.Icon):  # type: ignore[misc,name-defined]
        """pystray 0.19.5's ``_win32.Icon._on_notify``, with TrackPopupMenuEx recorded."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._menu_handle: Any = None
            self.menus_shown: list[list[str]] = []

        def _update_menu(self) -> None:
            self._menu_handle = ("HMENU", [item.text for item in self.menu]) if self.menu else None  # visible ones

        def _on_notify(self, wparam: int, lparam: int) -> None:
            if lparam == WM_LBUTTONUP:
                self()
            elif self._menu_handle and lparam == WM_RBUTTONUP:
                self.menus_shown.append(self._menu_handle[1])  # TrackPopupMenuEx

    Win32Icon.__module__ = "pystray._win32"
    return Win32Icon


def test_win32_left_click_opens_the_menu(monkeypatch: pytest.MonkeyPatch, pystray_base: Any) -> None:
    icon_class = win32_icon_class(pystray_base)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "pystray", fake_pystray(pystray_base, icon_class))
    app = TrayApp(FakeService(), prefs=quiet_prefs(), watch=False, popup=lambda items: pytest.fail("no Tk popup"))
    app.refresh()
    icon = icon_class("trayapp", menu=pystray_base.Menu(app._menu_items))
    app.icon = icon
    icon.update_menu()

    icon._on_notify(0, WM_LBUTTONUP)  # a left click
    assert len(icon.menus_shown) == 1
    assert icon.menus_shown[0][-1] == "Quit" and "Open menu" not in icon.menus_shown[0]
    icon._on_notify(0, WM_RBUTTONUP)  # the right click still does
    assert len(icon.menus_shown) == 2


# --- a windowed build: no stderr ------------------------------------------------------------------


def windowed_env(tmp_path: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.pop("DISPLAY", None) if base is None else None
    env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


def log_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "trayapp" / "trayapp.log"


def no_stderr() -> None:
    os.close(2)  # the child's Python starts with sys.stderr = None, as under pythonw


@pytest.mark.integration
def test_the_dialog_without_stderr_keeps_its_pipe_clean_and_logs_why(tmp_path: Path) -> None:
    """Its error print used to go to stdout, the JSON pipe its parent reads."""
    env = windowed_env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "trayapp.tk.dialog"], env=env, input="", capture_output=True, text=True, timeout=30,
        preexec_fn=no_stderr,
    )  # fmt: skip
    assert out.returncode == 3
    assert out.stdout == "", "nothing but JSON on the pipe"
    assert "the MFA dialog can't open a window" in log_file(tmp_path).read_text()
    assert log_file(tmp_path).stat().st_mode & 0o777 == 0o600


def test_report_never_raises_without_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trayapp import protocol
    from trayapp.core import logfile

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(logfile, "_current", None)  # another test in this worker may have set one up
    monkeypatch.setattr(sys, "stderr", None)
    boxes: list[str] = []
    monkeypatch.setattr(protocol, "spawn", lambda *a, **k: boxes.append("box") or pytest.fail("no box asked"))
    protocol.report("trayapp: one sentence.", box=False)
    assert log_file(tmp_path).read_text().endswith(" trayapp: one sentence.\n")
    assert boxes == []


@pytest.mark.desktop
def test_a_second_windowed_tray_shows_why_it_leaves(desktop: Any, tmp_path: Path) -> None:
    """``trayapp.exe`` started twice: no console to print to — a message box and the log say why."""
    from tests.support.tray_desktop import start_tray, wait_for

    env = windowed_env(desktop.home, desktop.env) | {"PYSTRAY_BACKEND": "xorg"}
    (desktop.home / ".aws").mkdir()
    (desktop.home / ".aws" / "config").write_text("")
    start_tray(desktop, env)
    wait_for("the first icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)

    def windowless() -> None:
        os.close(1)
        os.close(2)

    second = subprocess.run([sys.executable, "-m", "trayapp"], env=env, stdin=subprocess.DEVNULL, timeout=30,
                            preexec_fn=windowless)  # fmt: skip
    assert second.returncode == 1
    assert "trayapp is already running" in log_file(desktop.home).read_text()
    # The message box: a window named exactly "trayapp" (the icon's is "trayapp: no session").
    desktop.xdotool("search", "--sync", "--onlyvisible", "--name", "^trayapp$", timeout=10)
    for pid in message_box_pids(desktop.display):
        os.kill(pid, 15)


def message_box_pids(display: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"trayapp.protocol" in cmdline and f"DISPLAY={display}".encode() in environ:
            found.append(int(entry.name))
    return found


# --- docs/INSTALL.md: the PyGObject the install commands ask for builds on Debian 12 ----------------


def test_every_install_command_for_pygobject_pins_it_like_the_gtk_extra() -> None:
    """`pipx inject trayapp PyGObject` (unpinned) fails on Debian 12: 3.51+ needs girepository-2.0."""
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gtk"]
    pin = re.search(r"PyGObject\s*(<[\d.]+)", extra[0])
    assert pin is not None
    commands = [
        line for line in (root / "docs" / "INSTALL.md").read_text().splitlines()
        if re.search(r"(pipx inject|pip install)\b.*PyGObject", line)
    ]  # fmt: skip
    assert commands, "INSTALL.md says how to add PyGObject"
    for line in commands:
        assert f"PyGObject{pin.group(1)}" in line.replace(" ", ""), line
    assert "libgirepository1.0-dev" in (root / "docs" / "INSTALL.md").read_text()


def test_a_change_to_an_xorg_icon_that_waits_for_a_stuck_loop_is_nudged_through() -> None:
    """python-xlib can lose a wakeup: pystray's xorg loop then waits until another thread completes
    an exchange with the X server, while the thread that asked for the change waits for the loop.
    The change is made while the connection is nudged (a flush), so it gets through."""
    import threading

    from trayapp.tray import backend

    flushed = threading.Event()

    class Display:
        def flush(self) -> None:
            flushed.set()

    class Icon:
        _display = Display()

    Icon.__module__ = "pystray._xorg"
    icon = Icon()
    finished = threading.Event()

    def change_that_waits_for_the_loop() -> None:
        assert flushed.wait(10), "nobody nudged the X connection"  # the loop wakes on a flush
        finished.set()

    worker = threading.Thread(target=lambda: backend.main_thread_caller(icon)(change_that_waits_for_the_loop))
    worker.start()
    worker.join(15)
    assert finished.is_set()
