"""The preferences window's hidden-profiles list, on Xvfb: every row in view or reachable.

The list was a text widget sized in lines of text, holding check boxes taller than a line: the 4th
entry was cut, with no scroll bar, and the keyboard could tick a box nobody could see.  These tests
read the window tree from the X server: a box is "in view" when it is mapped and no window around it
clips any of it.

Set ``TRAYAPP_SCREENSHOTS=docs/screenshots`` to refresh the README picture.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import save_screenshot, window_box
from tests.support.fixtures import require_tools
from tests.support.procs import wait_until
from tests.support.screen_state import wait_painted
from trayapp import protocol

WINDOW = "Preferences"  # a part of the title free of the em dash
PREFS = {"duration": 3600, "warn-minutes": 10, "notifications": True, "hidden": [], "mfa-session": True}


@pytest.fixture
def screen() -> Iterator[Desktop]:
    require_tools("Xvfb", "dbus-daemon", "xdotool")
    with Desktop(notifications=False, tray=False) as d:
        d.xdisplay  # noqa: B018 - a client of its own keeps Xvfb from resetting between windows
        yield d


class PrefsWindow:
    def __init__(self, desktop: Desktop, profiles: list[str], hidden: tuple[str, ...] = ()) -> None:
        self.desktop = desktop
        self.count = len(profiles)
        self.proc = subprocess.Popen(
            protocol.command("prefs_window"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=protocol.child_env(desktop.env),
        )  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"prefs": {**PREFS, "hidden": list(hidden)}, "profiles": profiles}))
        self.proc.stdin.close()
        self.wid = desktop.wait_for_window(WINDOW, timeout=10)
        wait_painted(desktop, self.wid)

    def boxes(self) -> list[tuple[bool, bool]]:
        """Each profile's check box, top to bottom: (mapped, wholly in view)."""
        from Xlib import X

        dpy = self.desktop.xdisplay
        root = dpy.screen().root

        def rect(win: Any) -> tuple[int, int, int, int]:
            geo = win.get_geometry()
            at = root.translate_coords(win, 0, 0)
            return at.x, at.y, at.x + geo.width, at.y + geo.height

        def walk(win: Any, clip: tuple[int, int, int, int]) -> Iterator[tuple[Any, tuple[int, int, int, int]]]:
            for child in win.query_tree().children:
                r = rect(child)
                inner = (max(clip[0], r[0]), max(clip[1], r[1]), min(clip[2], r[2]), min(clip[3], r[3]))
                yield child, inner
                yield from walk(child, inner)

        top = dpy.create_resource_object("window", self.wid)
        clips = dict(walk(top, rect(top)))
        for win in clips:
            kids = win.query_tree().children
            heights = {k.get_geometry().height for k in kids}
            if len(kids) == self.count and len(heights) == 1:  # the list's rows: one height each
                return [
                    (k.get_attributes().map_state == X.IsViewable, clips[k] == rect(k)) for k in kids
                ]  # fmt: skip
        raise AssertionError(f"no window holds {self.count} rows of one height")

    def settled_boxes(self) -> list[tuple[bool, bool]]:
        """:meth:`boxes` once the window's layout has settled (the same twice in a row): Tk lays the
        rows out and sizes the window a moment after its first paint, and a look in between (a loaded
        CI run) saw every row clipped by a window not yet at its size."""
        seen: list[list[tuple[bool, bool]]] = []

        def probe() -> list[tuple[bool, bool]] | None:
            seen.append(self.boxes())
            return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] else None

        return wait_until("the window's layout to settle", probe, 5, interval=0.1)

    def key(self, *keys: str) -> None:
        self.desktop.xdotool("windowfocus", "--sync", str(self.wid), "key", *keys)

    def saved(self) -> dict[str, Any]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        assert self.proc.wait(timeout=10) == 0, err
        return json.loads(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.desktop
def test_hidden_profiles_list_of_five_shows_every_row_uncut(screen: Desktop) -> None:
    window = PrefsWindow(screen, ["dev", "prod", "qa", "sandbox", "staging"])
    try:
        assert window.settled_boxes() == [(True, True)] * 5  # the 4th and 5th were cut or unmapped
    finally:
        window.kill()


@pytest.mark.desktop
def test_hidden_profiles_list_too_long_for_the_window_scrolls_to_the_box_the_keyboard_reaches(
    screen: Desktop, tmp_path: Path
) -> None:
    names = [f"team-{n:02d}" for n in range(1, 15)]
    window = PrefsWindow(screen, names, hidden=("team-12",))
    try:
        first_view = window.settled_boxes()
        assert first_view[0] == (True, True) and first_view[-1][1] is False  # a long list: the end out of view
        # warning field → notifications → MFA session → first profile; End: the last profile
        window.key("Tab", "Tab", "Tab", "End")
        wait_until("the last profile to scroll into view", lambda: window.boxes()[-1] == (True, True), 5)
        wait_painted(screen, window.wid)
        save_screenshot(screen, "prefs.png", tmp_path, window_box(screen, window.wid))
        window.key("space", "Return")
        assert window.saved()["hidden"] == ["team-12", "team-14"]
    finally:
        window.kill()
