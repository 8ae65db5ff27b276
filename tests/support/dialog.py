"""Driving the real MFA dialog on Xvfb: find it, type into it, screenshot it."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support.desktop import Desktop
from tests.support.procs import scaled, wait_until
from trayapp.tk.dialog import TITLE


def save_screenshot(desktop: Desktop, name: str, tmp_path: Path, box: tuple[int, int, int, int] | None = None) -> Path:
    """Screenshot into tmp_path; also into $TRAYAPP_SCREENSHOTS (docs/screenshots) when set."""
    path = desktop.screenshot(tmp_path / name)
    if box is not None:
        with Image.open(path) as full:
            framed(full.convert("RGB").crop(box)).save(path)
    target = os.environ.get("TRAYAPP_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def framed(shot: Image.Image, pad: int = 18) -> Image.Image:
    """The captured pixels on a light backdrop with a soft shadow (Xvfb's root is black)."""
    from PIL import ImageFilter

    canvas = Image.new("RGB", (shot.width + 2 * pad, shot.height + 2 * pad), (0xE6, 0xE9, 0xED))
    shadow = Image.new("L", canvas.size, 0)
    shadow.paste(90, (pad, pad + 3, pad + shot.width, pad + shot.height + 3))
    canvas.paste((0x9A, 0xA1, 0xAA), (0, 0), shadow.filter(ImageFilter.GaussianBlur(6)))
    canvas.paste(shot, (pad, pad))
    return canvas


def window_box(desktop: Desktop, wid: int, margin: int = 0) -> tuple[int, int, int, int]:
    x, y, w, h = desktop.window_geometry(wid)
    return (max(0, x - margin), max(0, y - margin), x + w + margin, y + h + margin)


class Asker:
    """Runs prompt.ask() on a thread, as the tray's worker does."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = "pending"
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:
            self.error = exc

    def get(self, timeout: float = 10) -> Any:
        self._thread.join(scaled(timeout))
        assert not self._thread.is_alive(), "the dialog gave no answer"
        if self.error is not None:
            raise self.error
        return self.result


def find_window(desktop: Desktop, title: str = TITLE, timeout: float = 10) -> int:
    """Poll ``xdotool search`` (its --sync mode dies on BadWindow when windows come and go)."""

    def found() -> int | None:
        result = subprocess.run(["xdotool", "search", "--name", title], env=desktop.env, capture_output=True,
                                text=True, timeout=10)  # fmt: skip
        ids = result.stdout.split() if result.returncode == 0 else []
        return int(ids[0]) if ids else None

    return wait_until(f"a window named {title!r}", found, timeout)


def type_into(desktop: Desktop, text: str) -> None:
    desktop.xdotool("windowfocus", "--sync", str(find_window(desktop)), "type", "--", text)


def press(desktop: Desktop, *keys: str) -> None:
    desktop.xdotool("windowfocus", "--sync", str(find_window(desktop)), "key", *keys)


ERROR_BG = (0xFD, 0xEC, 0xEA)  # trayapp.tk.dialog.ERROR_BG


def error_shown(desktop: Desktop, wid: int) -> bool:
    """Whether the dialog shows an error: its pale red band covers more than 2000 pixels."""
    from tests.support.screen_state import window_image

    colours = {rgb: n for n, rgb in window_image(desktop, wid).getcolors(maxcolors=1 << 20) or []}
    return int(colours.get(ERROR_BG, 0)) > 2000


def bind_keysyms(desktop: Desktop, text: str) -> None:
    """Give each character of *text* a key of its own on the display's keyboard map.

    ``xdotool type`` maps a character that has no key onto a spare keycode, sends it and maps the
    keycode back at once; a client that reads the key after that (a loaded machine) finds no
    character there and the key is lost.  With a key of its own, xdotool uses it as a keyboard
    with that character would.  Call before the window's client starts (it reads the map then).
    """
    from Xlib import XK

    dpy = desktop.xdisplay
    first, last = dpy.display.info.min_keycode, dpy.display.info.max_keycode
    keymap = dpy.get_keyboard_mapping(first, last - first + 1)
    spare = [first + i for i, syms in enumerate(keymap) if not any(syms)]
    wanted = [0x1000000 | ord(ch) for ch in dict.fromkeys(text) if XK.string_to_keysym(ch) == 0]
    assert len(spare) >= len(wanted), "no spare keycodes on the display"
    for code, keysym in zip(spare, wanted, strict=False):
        dpy.change_keyboard_mapping(code, [(keysym, keysym)])
    dpy.sync()


def dialog_exists(desktop: Desktop) -> bool:
    """Whether the dialog is there; a search that hit a window going away (BadWindow: no answer,
    not "none") is made again."""

    def search() -> tuple[bool] | None:
        result = subprocess.run(["xdotool", "search", "--name", TITLE], env=desktop.env, capture_output=True,
                                text=True, timeout=10)  # fmt: skip
        if "X Error" in result.stderr:
            return None
        return (result.returncode == 0 and bool(result.stdout.strip()),)

    return wait_until("xdotool to look for the dialog", search, 10, interval=0.01)[0]


def wait_gone(desktop: Desktop, timeout: float = 5) -> None:
    wait_until("the dialog to close", lambda: not dialog_exists(desktop), timeout)
