"""The MFA dialog for real: a Tk child on Xvfb, driven by xdotool, read through DialogPrompt."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import (
    Asker,
    dialog_exists,
    error_shown,
    find_window,
    press,
    save_screenshot,
    type_into,
    wait_gone,
    window_box,
)
from tests.support.procs import wait_until
from tests.support.screen_state import wait_changed, wait_painted, window_image
from trayapp import protocol
from trayapp.core.errors import ReusedCode, WrongCode
from trayapp.core.prompts import MfaRequest
from trayapp.tray.dialog_prompt import DialogPrompt, countdown_for

REQUEST = MfaRequest("prod", "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:mfa/alice")
PARENT = MfaRequest("base", "arn:aws:iam::123456789012:role/Base", "arn:aws:iam::123456789012:mfa/alice")


@pytest.fixture
def prompt(desktop: Desktop) -> Iterator[DialogPrompt]:
    p = DialogPrompt(spawn=lambda: protocol.spawn("dialog", env=desktop.env))
    yield p
    p.abort()
    p.close()


@pytest.mark.desktop
def test_typed_code_and_enter_reach_the_parent_and_an_error_allows_a_retry(
    desktop: Desktop, prompt: DialogPrompt, tmp_path: Path
) -> None:
    ask = Asker(lambda: prompt.ask(REQUEST))
    wid = find_window(desktop)  # the exact title, found by xdotool
    wait_painted(desktop, wid)
    blank = window_image(desktop, wid)
    type_into(desktop, "123 45")  # a paste with a space: trimmed
    wait_changed(desktop, wid, blank, "the digits to show")
    save_screenshot(desktop, "dialog.png", tmp_path, window_box(desktop, wid))
    type_into(desktop, "6")
    press(desktop, "Return")
    assert ask.get() == "123456"

    # The service says the code failed: the dialog stays open, shows it, takes another.
    retry = Asker(lambda: prompt.ask(REQUEST, str(WrongCode())))
    wait_until("the error to show", lambda: error_shown(desktop, wid), 5)
    assert dialog_exists(desktop)
    save_screenshot(desktop, "dialog-error.png", tmp_path, window_box(desktop, wid))
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
    wait_until("the refusal to show", lambda: error_shown(desktop, find_window(desktop)), 5)
    assert ask.result == "pending" and dialog_exists(desktop)
    type_into(desktop, "4x56")  # the sixth digit fits, a seventh is refused
    type_into(desktop, "7")
    press(desktop, "Return")
    assert ask.get() == "123456"


@pytest.mark.desktop
def test_six_digits_error_stays_after_the_code_is_fixed(desktop: Desktop, prompt: DialogPrompt) -> None:
    """The refusal of a short code goes as soon as the code changes: it stayed on screen beside the
    six digits that fixed it, until OK was pressed."""
    ask = Asker(lambda: prompt.ask(REQUEST))
    wid = find_window(desktop)
    type_into(desktop, "12345")
    press(desktop, "Return")
    wait_until("the refusal to show", lambda: error_shown(desktop, wid), 5)
    type_into(desktop, "6")
    wait_until("the refusal to go once the code is six digits", lambda: not error_shown(desktop, wid), 5)
    assert ask.result == "pending"  # fixing the code sends nothing by itself
    press(desktop, "Return")
    assert ask.get() == "123456"


@pytest.mark.desktop
def test_one_window_serves_a_chain_of_two_roles(desktop: Desktop, prompt: DialogPrompt) -> None:
    first = Asker(lambda: prompt.ask(PARENT))
    wid = find_window(desktop)
    type_into(desktop, "111111")
    press(desktop, "Return")
    assert first.get() == "111111"
    wait_painted(desktop, wid)
    asked_first = window_image(desktop, wid)
    second = Asker(lambda: prompt.ask(REQUEST))
    wait_changed(desktop, wid, asked_first, "the second role's labels")
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


@pytest.mark.integration
def test_the_countdown_has_no_character_the_installed_fonts_lack() -> None:
    """Every character of the countdown line is in a font fontconfig has (the project installs
    fonts-dejavu-core): the stopwatch U+23F1 was in none and showed as a box."""
    import shutil
    import subprocess

    from trayapp.tk.dialog import countdown_text

    if shutil.which("fc-list") is None:
        pytest.skip("needs fontconfig's fc-list")
    for char in sorted(set(countdown_text(12)) - set(string.printable)):
        found = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True)
        assert found.stdout.strip(), f"no installed font has U+{ord(char):04X} ({char})"
