"""The real dialog under Xvfb with a code source: a fake YubiKey (ykman on PATH) and mfa_process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.code_sources import FakeYkman, alive, script
from tests.support.desktop import Desktop
from tests.support.dialog import (
    Asker,
    dialog_exists,
    find_window,
    press,
    save_screenshot,
    type_into,
    wait_gone,
    window_box,
)
from tests.support.procs import wait_until
from tests.support.screen_state import wait_painted
from trayapp import protocol
from trayapp.core.code_sources import SourcedPrompt
from trayapp.core.prompts import MfaRequest
from trayapp.tray.dialog_prompt import DialogPrompt

SERIAL = "arn:aws:iam::123456789012:mfa/alice"
REQUEST = MfaRequest("prod", "arn:aws:iam::123456789012:role/Admin", SERIAL)


@pytest.fixture
def dialog(desktop: Desktop) -> Iterator[DialogPrompt]:
    p = DialogPrompt(spawn=lambda: protocol.spawn("dialog", env=desktop.env))
    yield p
    p.abort()
    p.close()


@pytest.fixture
def yubikey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeYkman:
    fake = FakeYkman(tmp_path, [f"AWS:{SERIAL}"], code="975310", mode="touch")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    return fake


@pytest.mark.desktop
def test_a_touch_fills_the_code_in(desktop: Desktop, dialog: DialogPrompt, yubikey: FakeYkman, tmp_path: Path) -> None:
    ask = Asker(lambda: SourcedPrompt(dialog).ask(REQUEST))
    wid = find_window(desktop)  # shown at once, before the key is touched
    yubikey.wait_for_call("oath accounts code")
    wait_painted(desktop, wid)
    assert ask.result == "pending"  # waiting for the touch
    save_screenshot(desktop, "dialog-touch.png", tmp_path, window_box(desktop, wid))
    yubikey.touch()
    assert ask.get() == "975310"  # nobody typed
    dialog.close()
    wait_gone(desktop)


@pytest.mark.desktop
def test_typing_still_works_and_stops_the_wait(desktop: Desktop, dialog: DialogPrompt, yubikey: FakeYkman) -> None:
    yubikey.mode = "hang"
    ask = Asker(lambda: SourcedPrompt(dialog).ask(REQUEST))
    find_window(desktop)
    grandchild = yubikey.pid_file("grandchild")
    type_into(desktop, "123456")
    press(desktop, "Return")
    assert ask.get() == "123456"
    # the key stops waiting for a touch
    wait_until("ykman to stop waiting after the code was typed", lambda: not alive(grandchild), 5)


@pytest.mark.desktop
def test_no_account_is_todays_dialog(
    desktop: Desktop, dialog: DialogPrompt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeYkman(tmp_path, ["GitHub:alice"], mode="code")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    ask = Asker(lambda: SourcedPrompt(dialog).ask(REQUEST))
    find_window(desktop)
    type_into(desktop, "864200")
    press(desktop, "Return")
    assert ask.get() == "864200"
    assert fake.calls() == ["oath accounts list"]


@pytest.mark.desktop
def test_a_failing_mfa_process_leaves_the_dialog_to_type_in(
    desktop: Desktop, dialog: DialogPrompt, tmp_path: Path
) -> None:
    gen = script(tmp_path, "gen", "sleep 1; echo 'no token here'; exit 2")
    prompt = SourcedPrompt(dialog)
    ask = Asker(lambda: prompt.ask(MfaRequest("prod", REQUEST.role_arn, SERIAL, str(gen))))
    find_window(desktop)  # the process takes longer than a blink: the dialog shows, waiting
    wait_until("the mfa_process to fail", lambda: prompt.last_error is not None, 10)
    assert prompt.last_error == "No MFA code came from mfa_process of profile 'prod': it exited with status 2."
    assert dialog_exists(desktop)
    type_into(desktop, "112233")
    press(desktop, "Return")
    assert ask.get() == "112233"


@pytest.mark.desktop
def test_a_quick_mfa_process_never_shows_the_dialog(desktop: Desktop, dialog: DialogPrompt, tmp_path: Path) -> None:
    gen = script(tmp_path, "gen", "echo 404040")
    assert SourcedPrompt(dialog).ask(MfaRequest("prod", REQUEST.role_arn, SERIAL, str(gen))) == "404040"
    assert not dialog_exists(desktop)
