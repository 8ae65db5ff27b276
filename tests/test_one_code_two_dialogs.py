"""A caller the tray asks for, kept waiting; and one code for two open dialogs (issue 29, with
issue 16's one code for many roles).  prod and stage
share a source profile and an MFA device, and both dialogs are open on the tray's desktop (two SDK
processes with nobody at their end asked for them).  The code typed into prod's dialog opens the MFA
session that signs stage too: stage's dialog closes by itself and its caller gets keys, without a
second code.  Before, stage's dialog stayed open, and the same code typed into it was refused as
already used — the person had to wait up to 30 s for the next one.

Real parts: the tray (xorg backend) on Xvfb with moto's STS, its real Tk dialogs, the command line as
separate processes with no display and ``/dev/null`` as standard input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.support.channel import Tray, running_tray
from tests.support.procs import scaled, wait_until
from tests.support.tray_desktop import STAGE

pytestmark = pytest.mark.desktop

#: What would let the command line ask by itself: none of it is there.
NOBODY = ("DISPLAY", "WAYLAND_DISPLAY", "SSH_TTY", "BROWSER", "TRAYAPP_NO_CHANNEL")


@pytest.fixture
def tray() -> Iterator[Tray]:
    with running_tray() as running:
        with open(running.desktop.home / ".aws" / "config", "a") as config:
            config.write(STAGE)
        yield running


def caller(tray: Tray, profile: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in tray.env.items() if k not in NOBODY}
    return subprocess.Popen(
        [sys.executable, "-m", "trayapp", "credential-process", profile],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def dialogs(tray: Tray) -> list[int]:
    """The MFA dialogs on the screen, oldest first (X gives ids in the order windows are made)."""
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--classname", "trayapp-mfa"],
        env=tray.desktop.env, capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    return sorted(int(w) for w in found.stdout.split()) if found.returncode == 0 else []


def test_a_code_typed_into_one_dialog_closes_the_other_that_its_mfa_session_signs(tray: Tray) -> None:
    callers = {"prod": caller(tray, "prod")}
    try:
        (prod,) = wait_until("prod's dialog", lambda: dialogs(tray) or None, 20)
        callers["stage"] = caller(tray, "stage")
        wait_until("stage's dialog beside it", lambda: len(dialogs(tray)) == 2 or None, 20)
        tray.desktop.xdotool("windowfocus", "--sync", str(prod), "type", "--", "424242")
        tray.desktop.xdotool("windowfocus", "--sync", str(prod), "key", "Return")
        results = {name: proc.communicate(timeout=scaled(40)) for name, proc in callers.items()}
    finally:
        for proc in callers.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for name, (out, err) in results.items():
        assert callers[name].returncode == 0, f"{name}: {err}"
        assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    wait_until("no dialog left", lambda: dialogs(tray) == [] or None, 10)
    text = (tray.desktop.home / ".aws" / "credentials").read_text()
    assert "[prod-session]" in text and "[stage-session]" in text
    assert "stage is signed by the MFA session another dialog opened" in tray.log()


def test_a_caller_kept_waiting_past_several_keep_alives_still_gets_its_keys(tray: Tray) -> None:
    """The person takes a while to find the code: the caller waits on.  The tray's look for a
    closed connection waited for the socket's own timeout and took its TimeoutError for a caller
    gone, so every caller was dropped after its first keep-alive and, 10 s later, said "stopped
    answering" while the dialog was still open."""
    from trayapp.core import channel

    waiting = caller(tray, "prod")
    try:
        (prod,) = wait_until("prod's dialog", lambda: dialogs(tray) or None, 20)
        time.sleep(channel.KEEP_ALIVE * 3)  # the behaviour under test: a person who takes a while
        assert waiting.poll() is None, waiting.communicate()[1]
        tray.desktop.xdotool("windowfocus", "--sync", str(prod), "type", "--", "314159")
        tray.desktop.xdotool("windowfocus", "--sync", str(prod), "key", "Return")
        out, err = waiting.communicate(timeout=scaled(40))
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 0, err
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    assert "went away" not in tray.log()
