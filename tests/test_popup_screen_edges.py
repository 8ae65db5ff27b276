"""The xorg popup menu at the screen's edges: a role's submenu opens beside its parent.

Tk posts a cascade at its parent's right edge and then shifts a menu that does not fit back onto
the screen: at the right edge the submenu lay on top of its parent, with "Assume role" under the
pointer, so a double click on the role assumed it.  These tests open the menu where a tray at the
right or bottom edge opens it, and look at where the submenu went and what a second click does.

Set ``TRAYAPP_SCREENSHOTS=docs/screenshots`` to refresh the README picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import save_screenshot
from tests.support.fixtures import require_tools
from tests.support.procs import refused_url
from tests.support.screen_state import KeyboardGrab, wait_changed, wait_painted, window_image
from tests.support.tray_desktop import (
    aws_env,
    click_quit,
    content_box,
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
from trayapp.tk import popup_menu

ITEMS = [
    {"label": "prod — 42 min left", "id": None, "enabled": True, "children": [
        {"label": "Assume role", "id": "assume:prod", "enabled": True},
        {"separator": True},
        {"label": "Copy export AWS_PROFILE=prod-session", "id": "copy-profile:prod", "enabled": True},
        {"label": "Forget session", "id": "forget:prod", "enabled": True},
    ]},
    {"label": "Quit", "id": "quit", "enabled": True},
]  # fmt: skip

SCREEN = (1280, 800)


# --- where a submenu goes (no display) ---------------------------------------------------------


def test_submenu_opens_right_of_its_parent_when_there_is_room() -> None:
    assert popup_menu.beside(parent=(400, 300, 186, 54), entry=(1, 28), size=(329, 97), screen=SCREEN) == (586, 301)


def test_submenu_at_the_right_edge_opens_left_of_its_parent() -> None:
    x, y = popup_menu.beside(parent=(1094, 400, 186, 54), entry=(1, 28), size=(329, 97), screen=SCREEN)
    assert x + 329 <= 1094 and y == 401


def test_submenu_at_the_bottom_edge_opens_above_ending_at_its_entry() -> None:
    x, y = popup_menu.beside(parent=(100, 746, 186, 54), entry=(1, 28), size=(329, 97), screen=SCREEN)
    assert (x, y + 97) == (286, 746 + 28)


def test_submenu_too_wide_for_either_side_stays_on_the_screen_on_the_roomier_side() -> None:
    x, _ = popup_menu.beside(parent=(900, 0, 186, 54), entry=(1, 28), size=(1000, 97), screen=SCREEN)
    assert x == 0  # more room on the left (900) than on the right (194): as far left as it goes


# --- the real popup on Xvfb -----------------------------------------------------------------------


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _pointer(desktop: Desktop) -> tuple[int, int]:
    pointer = desktop.xdisplay.screen().root.query_pointer()
    return pointer.root_x, pointer.root_y


class EdgePopup:
    """The popup child opened with the pointer at (*x*, *y*), as a click on a tray icon there does."""

    def __init__(self, desktop: Desktop, x: int, y: int) -> None:
        desktop.xdotool("mousemove", str(x), str(y))
        self.desktop = desktop
        self.grab = KeyboardGrab(desktop)
        self.grab.arm()
        self.proc = protocol.spawn("popup_menu", env=desktop.env)
        assert protocol.send(self.proc.stdin, {"items": ITEMS})

    def next_message(self) -> dict[str, Any] | None:
        return protocol.receive(self.proc.stdout)

    def choices(self) -> list[object]:
        """What the child chose until it ended (a menu may be announced twice: its Map is told twice
        when the click's motion and its press both post it)."""
        told = []
        while (message := self.next_message()) is not None:
            if "posted" not in message:
                told.append(message.get("choice", message))
        return told

    def posted(self) -> dict[str, Any]:
        message = self.next_message()
        assert message is not None and "posted" in message, message
        return message["posted"]

    def finish(self) -> int:
        self.grab.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=5)


def _centre(posted: dict[str, Any], label: str) -> tuple[int, int]:
    entry = next(e for e in posted["entries"] if e["label"] == label)
    return posted["x"] + posted["width"] // 2, posted["y"] + entry["y"] + entry["height"] // 2


@pytest.mark.desktop
@pytest.mark.parametrize(
    "where", [(1275, 400), (1275, 795), (5, 795), (400, 300)], ids=["right", "bottom-right", "bottom-left", "middle"]
)
def test_submenu_at_a_screen_edge_opens_beside_its_parent_and_a_double_click_assumes_nothing(
    desktop: Desktop, where: tuple[int, int]
) -> None:
    popup = EdgePopup(desktop, *where)
    top = popup.posted()
    popup.grab.wait_taken()
    role = _centre(top, "prod — 42 min left")
    desktop.click(*role)
    sub = popup.posted()

    columns = (top["x"], top["x"] + top["width"]), (sub["x"], sub["x"] + sub["width"])
    assert _overlap(*columns) == 0, f"the submenu {sub} covers its parent {top}"
    assert sub["x"] >= 0 and sub["x"] + sub["width"] <= SCREEN[0]
    assert sub["y"] >= 0 and sub["y"] + sub["height"] <= SCREEN[1]
    px, py = _pointer(desktop)
    assert not (sub["x"] <= px < sub["x"] + sub["width"] and sub["y"] <= py < sub["y"] + sub["height"])

    desktop.click(*role)  # the second click of a double click lands on the role again, not on the submenu
    desktop.xdotool("key", "Escape", "Escape")
    assert popup.choices() == [], "the second click chose an entry of the submenu"
    assert popup.finish() == 0


@pytest.mark.desktop
def test_submenu_at_a_screen_edge_still_takes_a_click_on_its_entry(desktop: Desktop) -> None:
    popup = EdgePopup(desktop, 1275, 795)
    top = popup.posted()
    popup.grab.wait_taken()
    desktop.click(*_centre(top, "prod — 42 min left"))
    sub = popup.posted()
    desktop.click(*_centre(sub, "Copy export AWS_PROFILE=prod-session"))
    assert popup.choices() == ["copy-profile:prod"]
    assert popup.finish() == 0


@pytest.fixture
def right_desktop() -> Iterator[Desktop]:
    """The usual desktop with trayer's panel at the bottom right corner of the screen."""
    require_tools()
    with Desktop(notifications=True, tray=True, tray_align="right") as d:
        yield d


@pytest.mark.desktop
def test_tray_at_the_right_edge_opens_the_role_submenu_beside_the_menu(right_desktop: Desktop, tmp_path: Path) -> None:
    desktop = right_desktop
    write_aws_files(desktop.home)
    tray = start_tray(desktop, aws_env(desktop, refused_url(), PYSTRAY_BACKEND="xorg"))
    icon = wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)[0]
    assert icon[1] > SCREEN[0] - 100, f"the icon docked at {icon}, not at the right edge"

    before = visible_windows(desktop)
    menu = open_menu_with_keyboard(desktop, icon)
    wait_painted(desktop, menu)
    # One key at a time, as a person presses them: Right only once Down has moved the highlight
    # (the menu opens under the pointer, whose entry Tk highlights as it maps).
    shown = max(menu, key=lambda w: desktop.window_geometry(w)[2] * desktop.window_geometry(w)[3])
    looked = window_image(desktop, shown)
    desktop.xdotool("key", "Down")
    wait_changed(desktop, shown, looked, "Down to move the highlight")
    desktop.xdotool("key", "Right")
    sub = wait_for_new_windows(desktop, before | menu)
    wait_painted(desktop, menu | sub)
    (mx, _, mw, _), (sx, sy, sw, sh) = (max((desktop.window_geometry(w) for w in ws), key=lambda g: g[2] * g[3])
                                        for ws in (menu, sub))  # fmt: skip
    assert _overlap((mx, mx + mw), (sx, sx + sw)) == 0, "the submenu covers the menu"
    px, py = _pointer(desktop)
    assert not (sx <= px < sx + sw and sy <= py < sy + sh), "the pointer is over the submenu"
    save_screenshot(desktop, "menu-right-edge.png", tmp_path, content_box(desktop, tmp_path))

    desktop.xdotool("key", "Escape", "Escape")
    wait_until_closed(desktop, menu | sub)
    click_quit(desktop, icon)
    assert exit_status(tray, desktop) == 0, desktop.log("tray")
