"""The MFA dialog for real: a Tk child on Xvfb, driven by xdotool, read through DialogPrompt."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.desktop import Desktop
from trayapp import protocol
from trayapp.core.errors import ReusedCode, WrongCode
from trayapp.core.prompts import MfaRequest
from trayapp.tk.dialog import TITLE
from trayapp.tray.dialog_prompt import DialogPrompt, countdown_for

REQUEST = MfaRequest("prod", "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:mfa/alice")
PARENT = MfaRequest("base", "arn:aws:iam::123456789012:role/Base", "arn:aws:iam::123456789012:mfa/alice")
ERROR_BG = (0xFD, 0xEC, 0xEA)  # trayapp.tk.dialog.ERROR_BG


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
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the dialog gave no answer"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def prompt(desktop: Desktop) -> Iterator[DialogPrompt]:
    p = DialogPrompt(spawn=lambda: protocol.spawn("dialog", env=desktop.env))
    yield p
    p.abort()
    p.close()


def find_window(desktop: Desktop, title: str = TITLE, timeout: float = 10) -> int:
    """Poll ``xdotool search`` (its --sync mode dies on BadWindow when windows come and go)."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(["xdotool", "search", "--name", title], env=desktop.env, capture_output=True,
                                text=True, timeout=10)  # fmt: skip
        if result.returncode == 0 and result.stdout.split():
            return int(result.stdout.split()[0])
        assert time.monotonic() < deadline, f"no window named {title!r}"
        time.sleep(0.05)


def type_into(desktop: Desktop, text: str) -> None:
    desktop.xdotool("windowfocus", "--sync", str(find_window(desktop)), "type", "--", text)


def press(desktop: Desktop, *keys: str) -> None:
    desktop.xdotool("windowfocus", "--sync", str(find_window(desktop)), "key", *keys)


def dialog_exists(desktop: Desktop) -> bool:
    result = subprocess.run(["xdotool", "search", "--name", TITLE], env=desktop.env, capture_output=True, timeout=10)
    return result.returncode == 0 and bool(result.stdout.strip())


def wait_gone(desktop: Desktop, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while dialog_exists(desktop):
        assert time.monotonic() < deadline, "the dialog is still open"
        time.sleep(0.05)


@pytest.mark.desktop
def test_typed_code_and_enter_reach_the_parent_and_an_error_allows_a_retry(
    desktop: Desktop, prompt: DialogPrompt, tmp_path: Path
) -> None:
    ask = Asker(lambda: prompt.ask(REQUEST))
    wid = find_window(desktop)  # the exact title, found by xdotool
    type_into(desktop, "123 45")  # a paste with a space: trimmed
    time.sleep(0.2)
    save_screenshot(desktop, "dialog.png", tmp_path, window_box(desktop, wid))
    type_into(desktop, "6")
    press(desktop, "Return")
    assert ask.get() == "123456"

    # The service says the code failed: the dialog stays open, shows it, takes another.
    retry = Asker(lambda: prompt.ask(REQUEST, str(WrongCode())))
    time.sleep(0.6)
    assert dialog_exists(desktop)
    shot = save_screenshot(desktop, "dialog-error.png", tmp_path, window_box(desktop, wid))
    with Image.open(shot) as image:
        colours = dict((rgb, n) for n, rgb in image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
        assert colours.get(ERROR_BG, 0) > 2000, "the error is not shown"
    type_into(desktop, "654321")
    press(desktop, "Return")
    assert retry.get() == "654321"

    prompt.close()
    wait_gone(desktop)


@pytest.mark.desktop
def test_escape_cancels(desktop: Desktop, prompt: DialogPrompt) -> None:
    ask = Asker(lambda: prompt.ask(REQUEST))
    find_window(desktop)
    type_into(desktop, "12")
    press(desktop, "Escape")
    assert ask.get() is None
    wait_gone(desktop)


@pytest.mark.desktop
def test_short_code_is_refused_inline_and_letters_never_enter(desktop: Desktop, prompt: DialogPrompt) -> None:
    ask = Asker(lambda: prompt.ask(REQUEST))
    find_window(desktop)
    type_into(desktop, "12ab3")
    press(desktop, "Return")  # five digits: stays open, nothing sent
    time.sleep(0.3)
    assert ask.result == "pending" and dialog_exists(desktop)
    type_into(desktop, "4x56")  # the sixth digit fits, a seventh is refused
    type_into(desktop, "7")
    press(desktop, "Return")
    assert ask.get() == "123456"


@pytest.mark.desktop
def test_one_window_serves_a_chain_of_two_roles(desktop: Desktop, prompt: DialogPrompt) -> None:
    first = Asker(lambda: prompt.ask(PARENT))
    wid = find_window(desktop)
    type_into(desktop, "111111")
    press(desktop, "Return")
    assert first.get() == "111111"
    second = Asker(lambda: prompt.ask(REQUEST))
    time.sleep(0.3)
    assert find_window(desktop) == wid  # the same window, new labels
    for _ in range(3):  # input is off while the first code is checked: on a busy machine, type again
        type_into(desktop, "222222")
        press(desktop, "Return")
        second._thread.join(3)
        if not second._thread.is_alive():
            break
        press(desktop, "ctrl+a", "BackSpace")
    assert second.get() == "222222"
    prompt.close()
    wait_gone(desktop)


def test_countdown_only_for_errors_cured_by_the_next_code() -> None:
    reused = str(ReusedCode(seconds=12))
    assert countdown_for(reused, now=999_999_990 + 18.0) == 12
    assert countdown_for(str(WrongCode()), now=999_999_990 + 0.5) == 30
    assert countdown_for("AWS STS at http://x can't be reached; check your network connection.", now=0) is None
    assert countdown_for(None, now=0) is None


class _FakeChild:
    """A stand-in for the dialog process: records what the parent writes."""

    def __init__(self, answers: list[str]) -> None:
        import io

        self.written = io.StringIO()
        self.stdin = self.written
        self.stdout = io.StringIO("".join(a + "\n" for a in answers))
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self.returncode = 0
        return 0

    def kill(self) -> None:
        self.returncode = -9


def test_protocol_sends_request_error_countdown_and_done() -> None:
    child = _FakeChild(['{"code": "123456"}', '{"code": "654321"}'])
    p = DialogPrompt(spawn=lambda: child, clock=lambda: 999_999_990 + 5.0)  # type: ignore[arg-type,return-value]
    child.written.close = lambda: None  # type: ignore[method-assign]
    assert p.ask(REQUEST) == "123456"
    reused = str(ReusedCode(seconds=25))
    assert p.ask(REQUEST, reused) == "654321"
    p.close()
    lines = child.written.getvalue().splitlines()
    import json

    assert [json.loads(line) for line in lines] == [
        {"profile": "prod", "role_arn": REQUEST.role_arn, "mfa_serial": REQUEST.mfa_serial},
        {"error": reused, "countdown": 25},
        {"done": True},
    ]
    assert p.last_error == reused
