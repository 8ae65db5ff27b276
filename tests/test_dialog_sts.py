"""The dialog against an STS over HTTP: every refusal is shown in place, the dialog stays open,
nothing is written, and the next good code works — `trayapp assume PROFILE` on a display."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.support.aws_files import CREDENTIALS, write_aws_files
from tests.support.desktop import Desktop
from tests.support.dialog import bind_keysyms, dialog_exists, error_shown, find_window, press, type_into
from tests.support.fixtures import aws_env
from tests.support.procs import wait_until
from tests.support.screen_state import wait_changed, wait_painted, window_image
from trayapp import protocol

FAULTS = ["wrong_code", "wrong_serial", "not_authorised", "expired_token", "invalid_token",
          "duration_too_long", "throttling", "malformed"]  # fmt: skip


def _new_sentence(desktop: Desktop, wid: int, last: Image.Image) -> Image.Image | None:
    """The dialog's look once it shows an error that differs from *last*, else None."""
    if not error_shown(desktop, wid):
        return None
    now = window_image(desktop, wid).convert("L")
    return now if ImageChops.difference(now, last).getbbox() is not None else None


@pytest.mark.desktop
def test_each_sts_refusal_is_shown_in_the_dialog_and_the_next_code_works(
    desktop: Desktop, fault_sts: Any, tmp_path: Path
) -> None:
    credentials = write_aws_files(desktop.home)
    env = protocol.child_env(aws_env(desktop.home, fault_sts.url, base=desktop.env))
    cli = subprocess.Popen([sys.executable, "-m", "trayapp", "assume", "prod"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wid = find_window(desktop)
        wait_painted(desktop, wid)
        shots: list[Image.Image] = [window_image(desktop, wid).convert("L")]
        for n, fault in enumerate(FAULTS, start=1):
            fault_sts.push(fault, times=2)  # botocore retries throttling once
            type_into(desktop, f"{n:03d}{n:03d}")
            press(desktop, "Return")
            tries = 2 if fault == "throttling" else 1  # botocore retries throttling once
            wait_until(f"STS to see code {n}", lambda t=tries: len(fault_sts.requests_for("AssumeRole")) >= t, 15)
            fault_sts.clear()  # the queue and the request log
            shown = wait_until(f"the dialog to show the sentence for {fault}", lambda: _new_sentence(desktop, wid,
                               shots[-1]), 10)  # fmt: skip
            assert dialog_exists(desktop), f"the dialog closed after {fault}"
            assert credentials.read_text() == CREDENTIALS
            desktop.screenshot(tmp_path / f"{fault}.png")  # for a person to look at
            shots.append(shown)
        shots.pop(0)  # the dialog before any code
        for i in range(len(shots)):  # each sentence looks different from every other
            for j in range(i):
                assert ImageChops.difference(shots[i], shots[j]).getbbox() is not None, (FAULTS[i], FAULTS[j])
        type_into(desktop, "999999")
        press(desktop, "Return")
        out, err = cli.communicate(timeout=30)
        assert "AWS_PROFILE=prod-session" in out
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert "[prod-session]" in credentials.read_text()
    assert credentials.read_text().startswith(CREDENTIALS)


@pytest.mark.desktop
def test_full_width_digits_typed_into_the_dialog_reach_sts_as_ascii(
    desktop: Desktop, fault_sts: Any, tmp_path: Path
) -> None:
    """A Japanese IME in kana mode types `１２３４５６`: the dialog shows and sends `123456`."""
    credentials = write_aws_files(desktop.home)
    bind_keysyms(desktop, "１２３　４５６")  # a keyboard with these keys, as the IME gives them
    env = protocol.child_env(aws_env(desktop.home, fault_sts.url, base=desktop.env, LANGUAGE="ja"))
    cli = subprocess.Popen([sys.executable, "-m", "trayapp", "assume", "prod"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wid = find_window(desktop, "^trayapp — ", timeout=20)  # the Japanese title
        wait_painted(desktop, wid)
        blank = window_image(desktop, wid)
        desktop.xdotool("windowfocus", "--sync", str(wid), "type", "--", "１２３　４５６")
        wait_changed(desktop, wid, blank, "the digits to show")
        desktop.screenshot(tmp_path / "full-width.png")  # for a person to look at
        desktop.xdotool("windowfocus", "--sync", str(wid), "key", "Return")
        _out, err = cli.communicate(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    [request] = fault_sts.requests_for("AssumeRole")
    assert request["TokenCode"] == "123456"
    assert "[prod-session]" in credentials.read_text()
