"""Windows and macOS code paths that run here with the platform imitated: whether a dialog can
be seen (SSH, session 0), export lines in the user's shell, and the clipboard helper's encoding."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import HarnessError, wait_until
from trayapp.cli import common
from trayapp.core import prompts
from trayapp.core import shell as shells
from trayapp.core.code_sources import SourcedPrompt

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
    assert prompts.has_display() is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_at_the_desk_a_mac_or_windows_has_a_display(platform: str) -> None:
    assert prompts.has_display({}, platform, session_id=lambda: 1) is True
    assert prompts.has_display({"DISPLAY": ""}, platform, session_id=lambda: None) is True


def test_a_windows_service_session_has_no_display() -> None:
    assert prompts.has_display({}, "win32", session_id=lambda: 0) is False


def test_linux_still_follows_display_and_wayland() -> None:
    assert prompts.has_display({"DISPLAY": ":0"}, "linux") is True
    assert prompts.has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is True
    assert prompts.has_display(SSH, "linux") is False
    assert prompts.has_display({**SSH, "DISPLAY": "localhost:10.0"}, "linux") is True  # ssh -X: a forwarded display


def test_assume_over_ssh_on_a_mac_does_not_open_the_dialog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("SSH_CONNECTION", SSH["SSH_CONNECTION"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    args = argparse.Namespace(code=None, code_stdin=False)
    prompt = common.choose_prompt(args, "prod")  # a code source first (mfa_process, YubiKey), then…
    assert isinstance(prompt, SourcedPrompt)
    assert isinstance(prompt.fallback, prompts.TerminalPrompt)  # …the terminal, not a dialog nobody sees


# --- export lines in the user's shell ----------------------------------------------------------

USER_PS_MODULES = (
    r"C:\Users\José\Documents\PowerShell\Modules;C:\Program Files\PowerShell\Modules;"
    r"c:\program files\powershell\7\Modules;C:\Program Files\WindowsPowerShell\Modules;"
    r"C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules"
)
SYSTEM_PS_MODULES = r"C:\Program Files\WindowsPowerShell\Modules;C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules"
WIN = {"USERPROFILE": r"C:\Users\José"}


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("posix", "export AWS_PROFILE=prod-session"),
        ("fish", "set -gx AWS_PROFILE prod-session"),
        ("powershell", '$Env:AWS_PROFILE = "prod-session"'),
        ("cmd", "set AWS_PROFILE=prod-session"),
    ],
)
def test_each_shell_gets_its_own_syntax(shell: str, line: str) -> None:
    assert shells.set_line("AWS_PROFILE", "prod-session", shell) == line


def test_awkward_values_are_quoted_for_each_shell() -> None:
    value = 'it\'s $HOME & `x` "q"'
    assert shells.set_line("X", value, "posix") == "export X='it'\"'\"'s $HOME & `x` \"q\"'"
    assert shells.set_line("X", value, "fish") == "set -gx X 'it\\'s $HOME & `x` \"q\"'"
    assert shells.set_line("X", value, "powershell") == "$Env:X = 'it''s $HOME & `x` \"q\"'"
    assert shells.set_line("X", "a&b (c)", "cmd") == 'set "X=a&b (c)"'
    for bad in ("50%", 'say "hi"', "bang!", "two\nlines"):
        with pytest.raises(ValueError):
            shells.set_line("X", bad, "cmd")
    assert shells.set_line("AWS_SESSION_TOKEN", "FwoG/ab+c==", "cmd") == "set AWS_SESSION_TOKEN=FwoG/ab+c=="


@pytest.mark.parametrize("value", ["plain", "it's", "$(id) `id` ${HOME}", "new\nline", "ünï 山田 😀", "-n", "*"])
def test_posix_lines_evaluate_to_the_value_in_a_real_shell(value: str) -> None:
    line = shells.set_line("TRAYAPP_X", value, "posix")
    done = subprocess.run(
        ["sh", "-c", 'eval "$1"; printf %s "$TRAYAPP_X"', "sh", line],
        capture_output=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}, check=True,
    )  # fmt: skip
    assert done.stdout.decode() == value


@pytest.mark.parametrize(
    ("environ", "platform", "shell"),
    [
        ({"SHELL": "/bin/bash"}, "linux", "posix"),
        ({"SHELL": "/usr/bin/zsh"}, "darwin", "posix"),
        ({"SHELL": "/opt/homebrew/bin/fish"}, "darwin", "fish"),
        ({"SHELL": "/usr/bin/pwsh"}, "linux", "powershell"),
        ({}, "linux", "posix"),
        ({**WIN, "PSModulePath": USER_PS_MODULES, "PROMPT": "$P$G"}, "win32", "powershell"),  # pwsh started from cmd
        ({**WIN, "PSModulePath": SYSTEM_PS_MODULES, "PROMPT": "$P$G"}, "win32", "cmd"),  # set system-wide: not proof
        ({**WIN, "PSModulePath": SYSTEM_PS_MODULES}, "win32", "powershell"),  # started by Explorer (the tray)
        ({**WIN, "SHELL": "/usr/bin/bash", "PSModulePath": USER_PS_MODULES}, "win32", "posix"),  # Git Bash
        ({"SHELL": "/bin/bash", "TRAYAPP_SHELL": "fish"}, "linux", "fish"),
        ({**WIN, "PROMPT": "$P$G", "TRAYAPP_SHELL": "PowerShell"}, "win32", "powershell"),
        ({"SHELL": "/bin/bash", "TRAYAPP_SHELL": "tcsh"}, "linux", "posix"),  # unknown: ignored
    ],
)
def test_the_shell_is_detected(environ: dict[str, str], platform: str, shell: str) -> None:
    assert shells.detect(environ, platform) == shell


def test_the_menu_offers_the_powershell_line_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.tray_fakes import NOW, PROD, WARN, FakeService, make_app, run_action
    from trayapp.core.results import RoleEntry
    from trayapp.tray import menu_model

    monkeypatch.setattr(sys, "platform", "win32")
    for name in ("SHELL", "TRAYAPP_SHELL", "PROMPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USERPROFILE", WIN["USERPROFILE"])
    monkeypatch.setenv("PSModulePath", SYSTEM_PS_MODULES)
    app, events = make_app(FakeService())
    menu = menu_model.build_menu([RoleEntry(PROD, None)], {}, NOW, WARN)
    labels = [n.label for n in menu[0].children or () if not n.separator]
    assert 'Copy $Env:AWS_PROFILE = "prod-session"' in labels
    assert 'Copy $Env:AWS_EB_PROFILE = "prod-session"' in labels
    run_action(app, "copy-profile:prod")
    run_action(app, "copy-eb:prod")
    assert events == [("copy", '$Env:AWS_PROFILE = "prod-session"'), ("copy", '$Env:AWS_EB_PROFILE = "prod-session"')]
    monkeypatch.setenv("TRAYAPP_SHELL", "cmd")
    assert menu_model.export_line("AWS_PROFILE", "prod-session") == "set AWS_PROFILE=prod-session"


@pytest.fixture
def session_home(aws_home: Path, moto_sts: Any) -> dict[str, str]:
    from tests.support.aws_files import CONFIG, CREDENTIALS, env_for

    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    env = env_for(aws_home, moto_sts.url, SHELL="/bin/bash")
    env.pop("TRAYAPP_SHELL", None)
    assert trayapp(env, "assume", "dev").returncode == 0
    return env


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_env_in_bash_sets_the_session_keys(session_home: dict[str, str]) -> None:
    env = session_home
    done = subprocess.run(
        ["bash", "-c", f'eval "$({sys.executable} -m trayapp env dev)" && printf "%s\\n" "$AWS_ACCESS_KEY_ID"'],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = done.stdout.strip()
    assert key and f"aws_access_key_id = {key}" in Path(env["AWS_SHARED_CREDENTIALS_FILE"]).read_text()


@pytest.mark.parametrize(
    ("args", "extra", "prefix"),
    [
        (["--shell", "powershell"], {}, "$Env:AWS_ACCESS_KEY_ID = "),
        (["--shell", "cmd"], {}, "set AWS_ACCESS_KEY_ID="),
        ([], {"SHELL": "/usr/bin/fish"}, "set -gx AWS_ACCESS_KEY_ID "),
        ([], {"TRAYAPP_SHELL": "powershell"}, "$Env:AWS_ACCESS_KEY_ID = "),
        (["--shell", "posix"], {"SHELL": "/usr/bin/fish"}, "export AWS_ACCESS_KEY_ID="),
        # the README's own spelling, and TRAYAPP_SHELL's names, work for --shell alike
        (["--shell", "sh"], {"SHELL": "/usr/bin/fish"}, "export AWS_ACCESS_KEY_ID="),
        (["--shell", "pwsh"], {}, "$Env:AWS_ACCESS_KEY_ID = "),
        ([], {"TRAYAPP_SHELL": "sh", "SHELL": "/usr/bin/fish"}, "export AWS_ACCESS_KEY_ID="),
    ],
)
def test_env_speaks_the_chosen_shell(
    session_home: dict[str, str], args: list[str], extra: dict[str, str], prefix: str
) -> None:
    done = trayapp({**session_home, **extra}, "env", "dev", *args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith(prefix)
    assert [line.split("AWS_")[1].split("=")[0].split()[0] for line in lines] == [
        "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"]  # fmt: skip


def test_a_trayapp_shell_that_names_no_shell_is_one_sentence(session_home: dict[str, str]) -> None:
    for env in (session_home, {**session_home, "TRAYAPP_NO_CHANNEL": "1"}):
        done = trayapp({**env, "TRAYAPP_SHELL": "bogus"}, "env", "dev")
        assert done.returncode == 2
        assert done.stderr == (
            "trayapp: TRAYAPP_SHELL is 'bogus', which is not a shell trayapp knows: "
            "set it to posix (or sh, bash, zsh), fish, powershell (or pwsh) or cmd, or unset it.\n"
        )
        assert done.stdout == ""
    # --shell overrides it, as it overrides everything for one command
    assert trayapp({**session_home, "TRAYAPP_SHELL": "bogus"}, "env", "dev", "--shell", "sh").returncode == 0


def test_assume_says_how_to_use_the_session_in_the_users_shell(session_home: dict[str, str]) -> None:
    done = trayapp({**session_home, "TRAYAPP_SHELL": "powershell"}, "assume", "dev")
    assert done.returncode == 0, done.stderr
    assert (
        'Use it with: $Env:AWS_PROFILE = "dev-session"   (EB CLI: $Env:AWS_EB_PROFILE = "dev-session")' in done.stdout
    )


# --- the clipboard helper speaks UTF-8 whatever the code page ---------------------------------

NON_ASCII = "C:\\Users\\José\\山田 — ünïcødé 😀"
COPY = "import sys; from trayapp.tray.clipboard import copy_text; copy_text(sys.argv[1])"
PASTE = (
    "import sys, tkinter; r = tkinter.Tk(); r.withdraw(); sys.stdout.buffer.write(r.clipboard_get().encode('utf-8'))"
)


def test_non_ascii_text_round_trips_through_the_real_clipboard_helper() -> None:
    from tests.support.fixtures import Desktop, require_tools

    require_tools("Xvfb", "dbus-daemon")
    with Desktop(notifications=False, tray=False) as desktop:
        # The tray as Windows runs it: the standard streams in the ANSI code page (cp1252 here).
        env = {**desktop.env, "PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}
        subprocess.run([sys.executable, "-c", COPY, NON_ASCII], env=env, timeout=30, check=True)

        said: list[str] = []

        def paste() -> bytes | None:
            done = subprocess.run([sys.executable, "-c", PASTE], env=desktop.env, capture_output=True, timeout=30)
            said[:] = [done.stderr.decode(errors="replace").strip()[-300:]]
            return done.stdout if done.returncode == 0 and done.stdout else None

        try:
            pasted = wait_until("the clipboard to hold the text", paste, 15, interval=0.2)
        except HarnessError as exc:
            holders = subprocess.run(["pgrep", "-af", "trayapp.tk.clipboard"], capture_output=True, text=True).stdout
            raise AssertionError(f"{exc}; the last paste said {said}; holders: {holders.strip() or 'none'}") from None
        assert pasted.decode("utf-8") == NON_ASCII
