"""The xorg popup menu posted while another client still holds the pointer (a slow click).

A button held down on a window gives that window's client the pointer (an implicit grab) until
the button comes up, so the menu cannot grab the pointer and the keyboard as it posts.  Tk's
``grab -global`` tries for about a second and gives up; the menu used to stay up with no grab at
all: keys reached it only if the focus followed the pointer, a click elsewhere did not close it,
and ``TclError: grab failed`` was printed.  These tests hold the button on a focused window of
their own for longer than that, release it away from the menu, and use the menu as a person
would.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.procs import wait_until
from tests.support.screen_state import KeyboardGrab
from tests.support.sts import MotoServer
from tests.support.tray_desktop import (
    aws_env,
    click_quit,
    exit_status,
    open_menu_with_keyboard,
    start_tray,
    visible_windows,
    wait_for,
    wait_for_new_windows,
    wait_until_closed,
    write_aws_files,
)
from trayapp import protocol

ITEMS = [
    {"label": "Assume role", "id": "assume:prod", "enabled": True},
    {"label": "Copy export AWS_PROFILE=prod-session", "id": "copy-profile:prod", "enabled": True},
    {"label": "Quit", "id": "quit", "enabled": True},
]

#: How long the button stays down once the menu is announced (as it posts, before Tk tries to
#: grab): longer than Tk's own second of retries.
HOLD = 2.0


class HeldWindow:
    """A window of this process that has the focus and takes the pointer while a button is down."""

    def __init__(self, desktop: Desktop) -> None:
        from Xlib import X
        from Xlib.display import Display

        assert desktop.display is not None
        self._dpy: Any = Display(desktop.display)
        screen = self._dpy.screen()
        self.window = screen.root.create_window(
            50, 50, 300, 200, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
            background_pixel=screen.white_pixel, override_redirect=True,
            event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.PointerMotionMask | X.StructureNotifyMask,
        )  # fmt: skip
        self.window.map()
        self._dpy.sync()
        wait_until("the test window to map", lambda: self.window.get_attributes().map_state == X.IsViewable, 5)
        self.window.set_input_focus(X.RevertToPointerRoot, X.CurrentTime)
        self._dpy.sync()

    def close(self) -> None:
        self._dpy.close()


class SlowClickPopup:
    """The popup child, started while the button is held down on a :class:`HeldWindow`."""

    def __init__(self, desktop: Desktop, tmp_path: Path) -> None:
        self.desktop = desktop
        self.held = HeldWindow(desktop)
        desktop.xdotool("mousemove", "200", "150", "mousedown", "1")
        self.grab = KeyboardGrab(desktop)
        self.grab.arm()
        self.stderr_path = tmp_path / "popup.stderr"
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                protocol.command("popup_menu"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                text=True, encoding="utf-8", bufsize=1, env=protocol.child_env(desktop.env),
            )  # fmt: skip
        assert protocol.send(self.proc.stdin, {"items": ITEMS})

    def release_away_from(self, posted: dict[str, Any]) -> None:
        """Let go of the button after HOLD seconds, away from the menu (a release on an entry picks it)."""
        x = posted["x"] + posted["width"] + 100
        y = posted["y"] + posted["height"] + 100
        time.sleep(HOLD)  # the slow click under test: the person still holds the button
        self.desktop.xdotool("mousemove", str(x), str(y), "mouseup", "1")

    def next_message(self) -> dict[str, Any] | None:
        return protocol.receive(self.proc.stdout)

    def finish(self) -> tuple[int, str]:
        """The child's exit status and what it printed on standard error."""
        self.grab.close()
        self.held.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            status = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return status, self.stderr_path.read_text()


@pytest.fixture
def slow_click(desktop: Desktop, tmp_path: Path) -> Any:
    popup = SlowClickPopup(desktop, tmp_path)
    yield popup
    if popup.proc.poll() is None:
        popup.proc.kill()
        popup.proc.wait()


@pytest.mark.desktop
def test_keys_pick_an_entry_after_a_slow_click(slow_click: SlowClickPopup) -> None:
    posted = slow_click.next_message()
    assert posted is not None and "posted" in posted
    slow_click.release_away_from(posted["posted"])
    slow_click.grab.wait_taken()  # before: never, the menu gave up its grab while the button was down
    slow_click.desktop.xdotool("key", "Down", "Down", "Return")
    assert slow_click.next_message() == {"choice": "copy-profile:prod"}
    assert slow_click.next_message() is None
    assert slow_click.finish() == (0, "")  # before: "TclError: grab failed: another application has grab"


@pytest.mark.desktop
@pytest.mark.parametrize("close", ["escape", "click elsewhere"])
def test_escape_or_a_click_elsewhere_closes_the_menu_after_a_slow_click(slow_click: SlowClickPopup, close: str) -> None:
    posted = slow_click.next_message()
    assert posted is not None and "posted" in posted
    slow_click.release_away_from(posted["posted"])
    slow_click.grab.wait_taken()
    if close == "escape":
        slow_click.desktop.xdotool("key", "Escape")
    else:
        slow_click.desktop.click(10, 10)
    assert slow_click.next_message() is None  # the menu closed, nothing chosen
    assert slow_click.finish() == (0, "")


@pytest.mark.desktop
def test_a_button_that_stays_down_closes_the_menu_without_a_choice(slow_click: SlowClickPopup) -> None:
    """The menu waits a few seconds for the pointer, then gives up and closes instead of staying
    up for good with no way to close it."""
    posted = slow_click.next_message()
    assert posted is not None and "posted" in posted
    wait_until("the menu to close by itself", lambda: slow_click.proc.poll() is not None, 15)
    slow_click.desktop.xdotool("mouseup", "1")
    assert slow_click.next_message() is None  # nothing chosen
    assert slow_click.finish() == (0, "")


@pytest.mark.desktop
def test_a_slow_click_on_the_tray_icon_opens_a_menu_that_escape_closes(desktop: Desktop, moto_sts: MotoServer) -> None:
    """The tray opens its menu on the press: the icon's own window holds the pointer until the
    release."""
    write_aws_files(desktop.home)
    tray = start_tray(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg"))
    icon = wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)[0]
    opened = open_menu_with_keyboard(desktop, icon)  # a quick click first: the icon is in place
    desktop.xdotool("key", "Escape")
    wait_until_closed(desktop, opened)

    _, x, y, w, h = icon
    grab = KeyboardGrab(desktop)
    try:
        grab.arm()
        before = visible_windows(desktop)
        desktop.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "mousedown", "1")
        menu = wait_for_new_windows(desktop, before)
        time.sleep(HOLD)  # the slow click under test
        right = max(gx + gw for gx, _gy, gw, _gh in map(desktop.window_geometry, menu | {icon[0]}))
        desktop.xdotool("mousemove", str(right + 100), "100", "mouseup", "1")  # away from the icon and the menu
        grab.wait_taken()  # before: never
    finally:
        grab.close()
    desktop.xdotool("key", "Escape")
    wait_until_closed(desktop, menu)  # before: the Escape went to another window, the menu stayed
    click_quit(desktop, icon)
    assert exit_status(tray, desktop) == 0, desktop.log("tray")


@pytest.mark.desktop
def test_a_leave_from_the_grab_between_press_and_release_still_chooses_the_entry(
    desktop: Desktop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Caught in a loaded run: press on Quit, then a Leave at the same spot (no motion: the grab's
    crossing), then the release — Tk had forgotten the entry and closed the menu choosing nothing.
    A role's submenu ("Assume role") the same: a press there grabs again for the whole menu.
    (Both in one test: Tk in this process keeps its X connection, so one display for both.)"""
    import json
    import tkinter as tk

    from trayapp.tk.popup_menu import _Popup

    monkeypatch.setenv("DISPLAY", desktop.env["DISPLAY"])
    role = {"label": "prod", "children": [{"label": "Open AWS console", "id": "console:prod"}, ITEMS[0]]}
    for where in ("menu", "submenu"):
        root = tk.Tk(className="trayapp-menu")
        root.withdraw()
        try:
            popup = _Popup(root, [role, {"label": "Quit", "id": "quit"}])
            menu = popup.menu if where == "menu" else popup.menu.nametowidget(popup.menu.entrycget(0, "menu"))
            wanted = 1  # Quit, or the submenu's "Assume role"
            menu.post(200, 200)
            root.update()
            at = menu.yposition(wanted) + 5
            root.tk.eval(f"set ::tk::Priv(window) {menu}")  # the pointer came in: Tk's Enter
            menu.activate(wanted)
            menu.event_generate("<Leave>", x=30, y=at)  # inside: the grab's crossing
            menu.event_generate("<ButtonRelease-1>", x=30, y=at)
            root.update()
        finally:
            if not popup.done:
                root.destroy()
    choices = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"choice"' in line]
    assert choices == [{"choice": "quit"}, {"choice": "assume:prod"}]
