"""Windows and macOS code paths that run here with the platform imitated: whether a dialog can
be seen (SSH, session 0), export lines in the user's shell, and the clipboard helper's encoding."""

from __future__ import annotations

import argparse
import sys

import pytest

from trayapp import cli

SSH = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"}


# --- has_display: a dialog nobody sees is worse than a prompt on the terminal -------------


@pytest.mark.parametrize("platform", ["darwin", "win32"])
@pytest.mark.parametrize("ssh", [SSH, {"SSH_TTY": "/dev/ttys003"}, {"SSH_CLIENT": "10.0.0.2 50000 22"}])
def test_over_ssh_a_mac_or_windows_has_no_display(
    monkeypatch: pytest.MonkeyPatch, platform: str, ssh: dict[str, str]
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    for name in ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ssh.items():
        monkeypatch.setenv(name, value)
    assert cli.has_display() is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_at_the_desk_a_mac_or_windows_has_a_display(platform: str) -> None:
    assert cli.has_display({}, platform, session_id=lambda: 1) is True
    assert cli.has_display({"DISPLAY": ""}, platform, session_id=lambda: None) is True


def test_a_windows_service_session_has_no_display() -> None:
    assert cli.has_display({}, "win32", session_id=lambda: 0) is False


def test_linux_still_follows_display_and_wayland() -> None:
    assert cli.has_display({"DISPLAY": ":0"}, "linux") is True
    assert cli.has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is True
    assert cli.has_display(SSH, "linux") is False
    assert cli.has_display({**SSH, "DISPLAY": "localhost:10.0"}, "linux") is True  # ssh -X: a forwarded display


def test_assume_over_ssh_on_a_mac_does_not_open_the_dialog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("SSH_CONNECTION", SSH["SSH_CONNECTION"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    args = argparse.Namespace(code=None, code_stdin=False)
    assert isinstance(cli.choose_prompt(args, "prod"), cli.TerminalPrompt)
