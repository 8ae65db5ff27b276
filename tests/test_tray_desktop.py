"""The tray for real: Xvfb + trayer + a session bus, moto as STS, the real ``aws`` CLI.

Once on pystray's ``xorg`` backend (clicks patched in, the menu is a Tk popup)
and once on ``gtk`` (native menu), the whole flow: the icon docks, a click opens
the menu, the keyboard picks "Assume role", the dialog takes 123456 + Return,
``[prod-session]`` is written, and ``aws sts get-caller-identity`` with
``AWS_PROFILE=prod-session`` returns the assumed role.

Set ``TRAYAPP_SCREENSHOTS=docs/screenshots`` to refresh the README pictures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import find_window, press, save_screenshot, type_into
from tests.support.procs import wait_until
from tests.support.screen_state import KeyboardGrab, clipboard_text, wait_painted
from tests.support.sts import MotoServer, run_aws
from tests.support.tray_desktop import (
    CREDENTIALS,
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
from trayapp.tk.dialog import TITLE


@pytest.mark.desktop
@pytest.mark.parametrize("backend", ["xorg", "gtk"])
def test_click_role_type_code_and_aws_uses_the_session(
    backend: str, desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    if backend == "gtk":
        pytest.importorskip("gi", reason="PyGObject<3.51 is needed for pystray's gtk backend")
    credentials = write_aws_files(desktop.home)
    env = aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND=backend)
    tray = start_tray(desktop, env)
    icon = wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)[0]

    # Click → menu → first role → "Assume role".  On a loaded machine the first menu may still be
    # the "Reading ~/.aws/config…" one: close it and open it again, as a person would.
    for attempt in range(3):
        before = visible_windows(desktop)
        opened = open_menu_with_keyboard(desktop, icon)
        try:
            _open_first_submenu(desktop, before, timeout=4)
            desktop.xdotool("key", "Return")
            find_window(desktop, timeout=8)
            break
        except AssertionError:
            if attempt == 2:
                raise
            desktop.xdotool("key", "Escape")
            desktop.xdotool("key", "Escape")
            wait_until_closed(desktop, opened | (visible_windows(desktop) - before))
    type_into(desktop, "123456")
    press(desktop, "Return")
    wait_for("[prod-session] in the credentials file", lambda: "[prod-session]" in credentials.read_text(), 15,
             desktop)  # fmt: skip
    assert CREDENTIALS in credentials.read_text()  # the user's part, byte for byte

    aws = run_aws(["sts", "get-caller-identity", "--output", "json"], aws_env(desktop, moto_sts.url,
                  AWS_PROFILE="prod-session"))  # fmt: skip
    assert aws.returncode == 0, aws.stderr
    assert ":assumed-role/Admin/" in json.loads(aws.stdout)["Arn"]

    # The dialog closed; the menu now shows the session's time left.
    wait_for("the dialog to close", lambda: not _dialog_open(desktop), 5, desktop)
    before = visible_windows(desktop)
    menu = open_menu_with_keyboard(desktop, icon)
    menu |= _open_first_submenu(desktop, before)
    wait_painted(desktop, menu)
    save_screenshot(desktop, f"menu-{backend}.png", tmp_path, content_box(desktop, tmp_path))

    # Quit from the menu ends the process with status 0.
    desktop.xdotool("key", "Escape", "Escape")
    wait_until_closed(desktop, menu)
    click_quit(desktop, icon)
    assert exit_status(tray, desktop) == 0, desktop.log("tray")


def _open_first_submenu(desktop: Desktop, before: set[int], timeout: float = 8) -> set[int]:
    """Down, Right: the first entry's submenu; its new windows once shown."""
    opened = visible_windows(desktop) - before
    desktop.xdotool("key", "Down", "Right")
    return wait_for_new_windows(desktop, before | opened, timeout)


def _dialog_open(desktop: Desktop) -> bool:
    result = subprocess.run(["xdotool", "search", "--name", TITLE], env=desktop.env, capture_output=True, timeout=10)
    return bool(result.stdout.strip())


# --- the popup menu on its own ------------------------------------------------------------

POPUP_ITEMS = [
    {"label": "prod — 42 min left", "id": None, "enabled": True, "children": [
        {"label": "Renew session", "id": "assume:prod", "enabled": True},
        {"separator": True},
        {"label": "Copy export AWS_PROFILE=prod-session", "id": "copy-profile:prod", "enabled": True},
        {"label": "Forget session", "id": "forget:prod", "enabled": True},
    ]},
    {"label": "legacy — can't be used: bad ARN", "id": None, "enabled": False},
    {"separator": True},
    {"label": "Quit", "id": "quit", "enabled": True},
]  # fmt: skip


class Popup:
    def __init__(self, desktop: Desktop) -> None:
        desktop.xdotool("mousemove", "400", "300")
        self.grab = KeyboardGrab(desktop)
        self.grab.arm()
        self.proc = protocol.spawn("popup_menu", env=desktop.env)
        assert protocol.send(self.proc.stdin, {"items": POPUP_ITEMS})

    def wait_ready(self) -> None:
        """The menu has taken the keyboard and the pointer: clicks and keys reach it from now on."""
        self.grab.wait_taken()

    def next_message(self) -> dict[str, Any] | None:
        return protocol.receive(self.proc.stdout)

    def entry_centre(self, posted: dict[str, Any], label: str) -> tuple[int, int]:
        for entry in posted["entries"]:
            if entry["label"] == label:
                return posted["x"] + posted["width"] // 2, posted["y"] + entry["y"] + entry["height"] // 2
        raise AssertionError(f"no entry {label!r} in {posted}")

    def finish(self) -> int:
        self.grab.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=5)


@pytest.mark.desktop
def test_popup_menu_item_picked_by_a_click(desktop: Desktop) -> None:
    popup = Popup(desktop)
    top = popup.next_message()
    assert top is not None and "posted" in top
    popup.wait_ready()
    assert [e["label"] for e in top["posted"]["entries"]] == [
        "prod — 42 min left", "legacy — can't be used: bad ARN", "", "Quit"]  # fmt: skip
    desktop.click(*popup.entry_centre(top["posted"], "prod — 42 min left"))
    sub = popup.next_message()
    assert sub is not None and "posted" in sub  # announced once mapped: it takes clicks
    desktop.click(*popup.entry_centre(sub["posted"], "Copy export AWS_PROFILE=prod-session"))
    assert popup.next_message() == {"choice": "copy-profile:prod"}
    assert popup.next_message() is None
    assert popup.finish() == 0


@pytest.mark.desktop
def test_popup_menu_disabled_item_does_nothing_and_escape_closes(desktop: Desktop) -> None:
    popup = Popup(desktop)
    top = popup.next_message()
    assert top is not None
    popup.wait_ready()
    desktop.click(*popup.entry_centre(top["posted"], "legacy — can't be used: bad ARN"))
    desktop.xdotool("key", "Escape")  # after the click: the X server keeps their order
    assert popup.next_message() is None  # no choice, the child just ends
    assert popup.finish() == 0


@pytest.mark.desktop
def test_popup_menu_click_elsewhere_chooses_nothing(desktop: Desktop) -> None:
    popup = Popup(desktop)
    assert popup.next_message() is not None
    popup.wait_ready()
    desktop.click(1000, 100)
    assert popup.next_message() is None
    assert popup.finish() == 0


@pytest.mark.desktop
def test_clipboard_holds_the_text_until_another_client_takes_it(desktop: Desktop) -> None:
    holder = protocol.spawn("clipboard", stdout=subprocess.DEVNULL, env=desktop.env)
    assert holder.stdin is not None
    holder.stdin.write("export AWS_PROFILE=prod-session")
    holder.stdin.close()
    pasted = wait_until("the clipboard to hold the text", lambda: clipboard_text(desktop), 10)
    assert pasted == "export AWS_PROFILE=prod-session"
    assert holder.poll() is None  # still serving the clipboard
    take = "import tkinter; r = tkinter.Tk(); r.clipboard_clear(); r.clipboard_append('other'); r.update()"
    subprocess.run([sys.executable, "-c", take], env=desktop.env, check=True, timeout=10)
    assert holder.wait(timeout=5) == 0


def _tgkill(pid: int, tid: int, signum: int) -> None:
    """Send *signum* to one thread of another process (Linux's tgkill; Python has no wrapper)."""
    import ctypes
    import platform

    numbers = {"x86_64": 234, "aarch64": 131}
    if platform.machine() not in numbers:
        pytest.skip(f"tgkill's number on {platform.machine()} is not known here")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(numbers[platform.machine()], pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill failed")


@pytest.mark.desktop
def test_sigterm_that_lands_on_another_thread_of_an_idle_xorg_tray_still_stops_it(
    desktop: Desktop, moto_sts: MotoServer
) -> None:
    """The main thread waits in a select on the X socket; a signal delivered to another thread used
    to wait for the next X event (seen: a tray that ignored SIGTERM for more than 10 s)."""
    import signal

    write_aws_files(desktop.home)
    tray = start_tray(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg"))
    wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)
    # The behaviour under test is an idle tray: let it settle into its wait (services started,
    # nothing moving) before the signal; no event marks "idle", so this one wait stays a sleep.
    time.sleep(1.5)
    tids = sorted(int(t.name) for t in (Path("/proc") / str(tray.pid) / "task").iterdir() if int(t.name) != tray.pid)
    assert tids, "the tray runs worker threads"
    _tgkill(tray.pid, tids[-1], signal.SIGTERM)
    assert exit_status(tray, desktop, timeout=5) == 128 + signal.SIGTERM
